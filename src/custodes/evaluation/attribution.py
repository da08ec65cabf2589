"""Attribution evaluated on simulated marketplaces: how often the right employee comes first.

Each seed builds a baseline marketplace (`custodes.sim.build`) and adds, through the activity
log's public `add`, what leaks are made of: batches of e-mail reads (100 to 500 customers, half
of them customers others also read), a decoy per batch who read half of the same customers in a
batch of their own (overlapping readers), and one team that works a shared queue (every member
reads the same customers). Leaks are then drawn and written as text the way they are found:

- single: 5 to 500 addresses from one employee's e-mail reads (organic or batch), with 0-30%
  noise (other real customers and addresses unknown to the vault), damaged lines, random case,
  whitespace and duplicates;
- merged: two single leaks from different employees in one list;
- team: 20 customers of the shared queue, leaked by one member (its members are not drawn as
  sources of the other kinds: they read the same customers, so no model can tell them apart);
- canary: a single leak that also carries one canary of an exposure shown to the source.

Every leak goes through the same parser and `attribute` as the CLI. Figures per seed and overall.
"""

from __future__ import annotations

import random
from collections.abc import Collection
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from custodes.forensics.attribute import attribute
from custodes.forensics.leaks import parse_leak
from custodes.forensics.reads import MemoryReads, memory_reads
from custodes.forensics.source import CanaryExposure, SignalRef
from custodes.sim import SimConfig, World, build

SIZES_ORGANIC = (5, 10, 20, 50)
SIZES_BATCH = (20, 100, 200, 500)
BATCHES = (100, 200, 500, 500)
TEAM_QUEUE = 60


@dataclass
class _Source:
    """A `LeakSource` over an in-memory world (addresses stay in memory, as with --data)."""

    reads: MemoryReads
    by_email: dict[str, str]
    canary_map: dict[str, CanaryExposure]

    def resolve(self, addresses: Collection[str]) -> dict[str, str]:
        return {a: self.by_email[a] for a in addresses if a in self.by_email}

    def canaries(self, customer_ids: Collection[str]) -> dict[str, CanaryExposure]:
        return {c: self.canary_map[c] for c in customer_ids if c in self.canary_map}

    def signals(self, customer_ids: Collection[str]) -> list[SignalRef]:
        return []

    def display(self, customer_ids: Collection[str]) -> dict[str, str]:
        return {c: c for c in customer_ids}


def _batch(world: World, rng: random.Random, employee: str, customers: list[str]) -> None:
    """One sitting of e-mail reads: a customer every 10-60 seconds."""
    day = rng.randrange(world.config.days)
    t = world.config.start + timedelta(days=day, hours=rng.uniform(8, 16))
    for customer in customers:
        t += timedelta(seconds=rng.randint(10, 60))
        world.log.add(t, employee, "customer.view", customer_ids=(customer,), fields=("email",))


def _stage(world: World, rng: random.Random) -> tuple[dict[str, list[str]], list[str], list[str]]:
    """Add batches, decoys and a shared team queue; returns batches, the team and its queue."""
    ids = [c.customer_id for c in world.customers]
    read_before = sorted({c for e in world.log.events for c in e.customer_ids})
    staff = [e.employee_id for e in world.employees if e.role != "manager"]
    rng.shuffle(staff)
    batches: dict[str, list[str]] = {}
    for size in BATCHES:
        source, decoy = staff.pop(), staff.pop()
        overlap = rng.sample(read_before, min(size // 2, len(read_before)))
        taken = set(overlap)
        fresh = rng.sample([c for c in ids if c not in taken], size - len(overlap))
        chosen = overlap + fresh
        _batch(world, rng, source, chosen)
        _batch(world, rng, decoy, rng.sample(chosen, len(chosen) // 2))
        batches[source] = chosen
    teams: dict[str, list[str]] = {}
    for e in world.employees:
        if e.employee_id in staff:
            teams.setdefault(e.team, []).append(e.employee_id)
    team = max(teams.values(), key=len)[:5]
    queue = rng.sample(ids, TEAM_QUEUE)
    for member in team:
        _batch(world, rng, member, queue)
    return batches, team, queue


def _text(rng: random.Random, emails: list[str], unknown: int, damaged: float = 0.05) -> str:
    lines = []
    for email in emails:
        line = email.upper() if rng.random() < 0.2 else email
        if rng.random() < damaged:
            line = line.replace("@", " at ", 1)  # damaged in transit: unreadable
        lines.append(" " * rng.randint(0, 2) + line + " " * rng.randint(0, 2))
    lines += [
        f"nobody{rng.randrange(10**9)}@unknown-{rng.randrange(999)}.example" for _ in range(unknown)
    ]
    lines += rng.sample(lines, min(len(lines), rng.randint(0, 3)))  # duplicates
    rng.shuffle(lines)
    return "\n".join(lines) + "\n"


def _noisy(rng: random.Random, picked: list[str], all_ids: list[str]) -> tuple[list[str], int]:
    """Replace 0-30% of a leak with noise: half other real customers, half unknown addresses."""
    noise = round(len(picked) * rng.uniform(0, 0.3))
    real_noise = noise // 2
    kept = picked[: len(picked) - noise]
    return kept + rng.sample(all_ids, real_noise), noise - real_noise


def _ranked(source: _Source, name: str, text: str) -> list[str]:
    return attribute(parse_leak(name, text), source).ranked_employees()


class _Trials:
    """The leaks drawn for one seed, in a fixed order, and whether attribution got each right."""

    def __init__(self, world: World, rng: random.Random, reads: MemoryReads, trials: int) -> None:
        self.world, self.rng, self.trials = world, rng, trials
        self.email = {c.customer_id: c.email for c in world.customers}
        self.source = _Source(reads, {v.lower(): k for k, v in self.email.items()}, {})
        self.all_ids = list(self.email)
        self.hits: dict[str, list[bool]] = {}

    def record(self, kind: str, ok: bool) -> None:
        self.hits.setdefault(kind, []).append(ok)

    def emails(self, customers: list[str]) -> list[str]:
        return [self.email[c] for c in customers]

    def single(self, size: int, pool: dict[str, list[str]]) -> tuple[str, list[str], int] | None:
        """An employee who read at least ``size`` customers, and a noisy leak of ``size``."""
        rng = self.rng
        able = sorted(e for e, s in pool.items() if len(s) >= size)
        if not able:
            return None
        who = rng.choice(able)
        kept, unknown = _noisy(rng, rng.sample(pool[who], size), self.all_ids)
        return who, kept, unknown

    def singles(self, read_sets: dict[str, list[str]], batches: dict[str, list[str]]) -> None:
        rng = self.rng
        for size in SIZES_ORGANIC + SIZES_BATCH:
            pool = read_sets if size in SIZES_ORGANIC else batches
            for _ in range(self.trials // 2 if size in SIZES_BATCH else self.trials):
                drawn = self.single(size, pool)
                if drawn is None:
                    continue
                who, kept, unknown = drawn
                text = _text(rng, self.emails(kept), unknown)
                ranked = _ranked(self.source, "leak", text)
                bucket = "single_20_plus" if size >= 20 else "single_under_20"
                self.record(bucket, bool(ranked) and ranked[0] == who)
                self.record(f"single_{size}", bool(ranked) and ranked[0] == who)

    def merged(self, read_sets: dict[str, list[str]], batches: dict[str, list[str]]) -> None:
        rng = self.rng
        for _ in range(self.trials):
            first = self.single(rng.choice((10, 20, 50)), read_sets)
            second = self.single(50, batches)
            if first is None or second is None or first[0] == second[0]:
                continue
            text = _text(rng, self.emails(first[1] + second[1]), first[2] + second[2])
            top3 = _ranked(self.source, "merged", text)[:3]
            self.record("merged_both_in_top3", first[0] in top3 and second[0] in top3)

    def team(self, team: list[str], queue: list[str]) -> None:
        rng = self.rng
        for _ in range(self.trials):
            who = rng.choice(team)
            text = _text(rng, self.emails(rng.sample(queue, 20)), 0)
            ranked = _ranked(self.source, "team", text)
            self.record("team_source_top1", bool(ranked) and ranked[0] == who)
            self.record("team_source_in_team_block", who in ranked[: len(team)])

    def canaries(self, read_sets: dict[str, list[str]], batches: dict[str, list[str]]) -> None:
        rng, source = self.rng, self.source
        spare = [c for c in self.all_ids if c not in source.reads.by_customer]
        for n in range(self.trials):
            drawn = self.single(rng.choice((5, 20, 100)), batches if n % 2 else read_sets)
            if drawn is None or not spare:
                continue
            who, kept, unknown = drawn
            canary = spare.pop()
            start = self.world.config.start
            source.canary_map = {canary: CanaryExposure(f"ex{n}", "search", who, start, None)}
            text = _text(rng, self.emails([*kept, canary]), unknown, 0)
            ranked = _ranked(source, "canary", text)
            source.canary_map = {}
            self.record("canary_top1", bool(ranked) and ranked[0] == who)


def _read_sets(reads: MemoryReads) -> dict[str, list[str]]:
    """Each employee's e-mail reads, customers in id order."""
    read_sets: dict[str, list[str]] = {}
    for customer_id, readers in sorted(reads.by_customer.items()):
        for employee_id in readers:
            read_sets.setdefault(employee_id, []).append(customer_id)
    return read_sets


def evaluate_seed(seed: int, customers: int, employees: int, trials: int) -> dict[str, Any]:
    world = build(SimConfig(seed=seed, customers=customers, employees=employees, days=30))
    rng = random.Random(f"forensics-eval:{seed}")
    batches, team, queue = _stage(world, rng)
    events = (
        (e.employee_id, e.action, e.customer_ids, e.fields, e.time, f"access.jsonl:{i}")
        for i, e in enumerate(world.log.sorted_events(), start=1)
    )
    reads = memory_reads(len(world.customers), events)
    read_sets = _read_sets(reads)
    # The shared-queue team is its own case (below): its members' reads are indistinguishable
    # by construction, so they are not drawn as single or merged sources.
    for member in team:
        read_sets.pop(member, None)
        batches.pop(member, None)
    run = _Trials(world, rng, reads, trials)
    run.singles(read_sets, batches)
    run.merged(read_sets, batches)
    run.team(team, queue)
    run.canaries(read_sets, batches)
    return {
        k: {"n": len(v), "rate": round(sum(v) / len(v), 4)} for k, v in sorted(run.hits.items())
    }


def evaluate(
    seeds: tuple[int, ...], customers: int = 20_000, employees: int = 200, trials: int = 40
) -> dict[str, Any]:
    per_seed = {seed: evaluate_seed(seed, customers, employees, trials) for seed in seeds}
    kinds = sorted({k for r in per_seed.values() for k in r})
    overall = {}
    for kind in kinds:
        rates = [r[kind]["rate"] for r in per_seed.values() if kind in r]
        n = sum(r[kind]["n"] for r in per_seed.values() if kind in r)
        hits = sum(r[kind]["rate"] * r[kind]["n"] for r in per_seed.values() if kind in r)
        overall[kind] = {
            "n": n,
            "rate": round(hits / n, 4) if n else None,
            "seed_min": min(rates),
            "seed_max": max(rates),
        }
    return {
        "seeds": list(seeds),
        "customers": customers,
        "employees": employees,
        "overall": overall,
        "per_seed": {str(k): v for k, v in per_seed.items()},
    }
