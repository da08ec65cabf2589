"""Benign confounders: unusual but legitimate work that a detector must not alert on.

New hires and night shifts change employees before the baseline is simulated (``adjust``), so
their ordinary work fits them; the rest are edits of the built world: a team transfer, a peak
week, an investigator reading a seller's buyers, a fake-review ring removed in bulk, analysts'
huge (masked) searches.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

from custodes.sim.activity import AccessEvent
from custodes.sim.config import DAY, HOUR, MINUTE, SimConfig, between, seconds, stream
from custodes.sim.people import Employee
from custodes.sim.scenarios.base import Stage, review_refs

NEW_HIRES = 4
NIGHT_SHIFTS = 3


@dataclasses.dataclass
class Adjustments:
    """Changes made before the baseline runs, remembered so they can be labelled."""

    new_hires: list[str] = dataclasses.field(default_factory=list)
    night_shifts: list[str] = dataclasses.field(default_factory=list)
    hire_day: datetime | None = None
    hires: int = NEW_HIRES
    nights: int = NIGHT_SHIFTS
    spread_hires: bool = False  # each new hire starts on a Monday of their own

    def __call__(self, config: SimConfig, employees: list[Employee]) -> None:
        rng = stream(config.seed, "scenario:adjust")
        agents = [
            e
            for e in employees
            if e.role == "support_agent"
            and e.left_at is None
            and e.hired_at < config.start - 60 * DAY
            and e.region != "PH-00"
        ]
        rng.shuffle(agents)
        day = config.start + timedelta(days=rng.randint(7, max(8, config.days - 10)))
        day = day - timedelta(days=day.weekday())  # people start on a Monday
        self.hire_day = max(day, config.start) + timedelta(hours=9)
        for e in agents[: self.hires]:
            e.hired_at = self.hire_day
            if self.spread_hires:
                start = config.start + timedelta(days=rng.randint(1, max(2, config.days - 5)))
                e.hired_at = start - timedelta(days=start.weekday()) + timedelta(hours=9)
                e.hired_at = max(e.hired_at, config.start + timedelta(hours=9))
            self.new_hires.append(e.employee_id)
        for e in agents[self.hires : self.hires + self.nights]:
            e.night = True
            e.shift_start = rng.choice((21 * 60, 22 * 60, 23 * 60))
            self.night_shifts.append(e.employee_id)


def label_adjusted(stage: Stage, adj: Adjustments) -> None:
    for eid in adj.new_hires:
        e = stage.world.employee(eid)
        stage.taken.add(eid)
        stage.label("new_hire", "confounder", e, e.hired_at, stage.end, "joined mid-window")
    for eid in adj.night_shifts:
        e = stage.world.employee(eid)
        stage.taken.add(eid)
        stage.label("night_shift", "confounder", e, stage.start, stage.end, "works nights")


def team_transfer(stage: Stage) -> None:
    """An agent moves to another support team mid-window and takes over a leaver's queue."""
    rng = stage.rng("team_transfer")
    mover = stage.pick(rng, "support_agent", team="support-na")
    leaver = stage.pick(rng, "support_agent", team="support-emea")
    when = stage.day(rng.uniform(10, stage.world.config.days - 8))
    log = stage.world.log
    handed = {
        k.case_id for k in log.cases if k.employee_id == leaver.employee_id and k.opened_at >= when
    }
    for k in log.cases:
        if k.case_id in handed:
            k.employee_id = mover.employee_id
    kept = []
    for e in log.events:
        if e.time >= when and e.employee_id == mover.employee_id:
            continue  # the old queue is handed over
        if e.time >= when and e.employee_id == leaver.employee_id:
            if e.case_id is None or e.case_id in handed:
                kept.append(dataclasses.replace(e, employee_id=mover.employee_id))
            continue
        kept.append(e)
    log.events = kept
    mover.team, mover.queue = leaver.team, leaver.queue
    leaver.left_at = when
    stage.label("team_transfer", "confounder", mover, when, stage.end, f"moved to {leaver.team}")
    stage.label("team_transfer", "confounder", leaver, when - 7 * DAY, when, "left; queue moved")


def peak_week(stage: Stage) -> None:
    """A sale week: customer contacts double, every agent handles twice the usual."""
    rng = stage.rng("peak_week")
    lo = stage.day(rng.randint(8, max(9, stage.world.config.days - 9)))
    hi = lo + 7 * DAY
    log = stage.world.log
    by_country: dict[str, list[str]] = {}
    for c in stage.world.customers:
        by_country.setdefault(c.country, []).append(c.customer_id)
    events_by_case: dict[str, list[AccessEvent]] = {}
    for e in log.events:
        if e.case_id is not None:
            events_by_case.setdefault(e.case_id, []).append(e)
    agents: set[str] = set()
    for k in list(log.cases):
        if k.kind != "customer_contact" or not lo <= k.opened_at < hi or k.customer_id is None:
            continue
        country = stage.customer_by_id[k.customer_id].country
        other = rng.choice(by_country[country])
        shift = seconds(rng.uniform(10, 90) * 60)
        clone = log.open_case(
            k.kind,
            k.employee_id,
            k.opened_at + shift,
            customer_id=other,
            closed_at=k.closed_at + shift if k.closed_at else None,
        )
        for e in events_by_case.get(k.case_id, []):
            if e.time + shift >= stage.end:
                continue
            ids = tuple(sorted({other if c == k.customer_id else c for c in e.customer_ids}))
            log.add(
                e.time + shift,
                e.employee_id,
                e.action,
                customer_ids=ids,
                seller_id=e.seller_id,
                product_id=e.product_id,
                review_id=e.review_id,
                case_id=clone.case_id,
                fields=e.fields,
                justification=e.justification,
            )
        agents.add(k.employee_id)
    for eid in [a for a in sorted(agents) if a not in stage.taken][:5]:
        stage.taken.add(eid)
        stage.label(
            "peak_week", "confounder", stage.world.employee(eid), lo, hi, "twice the usual contacts"
        )


def legit_investigator(stage: Stage) -> None:
    """An investigator reads many buyers of a suspect seller under an investigation case."""
    rng = stage.rng("legit_investigator")
    inv = stage.pick(rng, "investigator")
    sellers = sorted(s for s, b in stage.buyers.items() if len(b) >= 30)
    seller = rng.choice(sellers or sorted(stage.buyers))
    lo = stage.day(rng.uniform(6, stage.world.config.days - 6))
    case = stage.world.log.open_case(
        "investigation", inv.employee_id, lo, seller_id=seller, closed_at=lo + 10 * DAY
    )
    buyers = stage.buyers[seller][:]
    rng.shuffle(buyers)
    buyers = buyers[: rng.randint(30, 60)]
    times = stage.shift_times(rng, inv, lo + HOUR, lo + 3 * DAY, (8, 20))
    log = stage.world.log
    used = []
    for t, cid in zip(times, buyers, strict=False):
        log.add(
            t,
            inv.employee_id,
            "customer.view",
            customer_ids=(cid,),
            fields=("name", "email", "phone"),
            case_id=case.case_id,
            justification="investigation",
        )
        log.add(
            t + seconds(rng.uniform(20, 200)),
            inv.employee_id,
            "order.view",
            customer_ids=(cid,),
            seller_id=seller,
            case_id=case.case_id,
            justification="investigation",
        )
        used.append(t)
        if rng.random() < 0.3:  # the seller really is contacting buyers off-platform
            stage.signal(
                t + seconds(rng.uniform(1, 5) * 86400),
                "offplatform_contact",
                seller_id=seller,
                customer_id=cid,
            )
    if used:
        stage.label(
            "legit_investigator", "confounder", inv, used[0], used[-1], f"investigated {seller}"
        )


def fake_ring_removal(stage: Stage) -> None:
    """Trust & safety removes a ring of fake five-star reviews in bulk, under a case."""
    rng = stage.rng("fake_ring_removal")
    mod = stage.pick(rng, "trust_safety")
    sellers = sorted(
        s
        for s, rs in stage.reviews_by_seller.items()
        if sum(r.rating == 5 and r.status == "published" for r in rs) >= 15
    )
    seller = rng.choice(sellers or sorted(stage.reviews_by_seller))
    day = rng.uniform(6, stage.world.config.days - 3)
    lo = stage.day(day)
    ring = [
        r
        for r in stage.reviews_by_seller[seller]
        if r.rating == 5 and r.status == "published" and r.created_at < lo
    ]
    rng.shuffle(ring)
    ring = ring[: rng.randint(15, 30)]
    case = stage.world.log.open_case(
        "investigation", mod.employee_id, lo, seller_id=seller, closed_at=lo + 4 * DAY
    )
    windows = stage.world.roster.windows(mod, lo + seconds(1800), lo + 3 * DAY)
    if not windows:
        return
    s, t = windows[0]
    log = stage.world.log
    used = []
    for r in ring:
        when = between(rng, s, t)
        kw = review_refs(r)  # r.seller_id is seller
        log.add(
            when,
            mod.employee_id,
            "review.view",
            case_id=case.case_id,
            justification="investigation",
            **kw,
        )
        log.add(
            when + MINUTE,
            mod.employee_id,
            "review.delete",
            case_id=case.case_id,
            justification="investigation",
            **kw,
        )
        r.status, r.removed_at, r.removed_by = "removed", when + MINUTE, mod.employee_id
        used.append(when)
    if used:
        stage.label(
            "fake_ring_removal",
            "confounder",
            mod,
            min(used),
            max(used),
            f"removed {len(used)} fake reviews of {seller}",
        )


def analyst_huge_search(stage: Stage) -> None:
    """Analysts run a few huge (masked) searches for a quarterly report."""
    rng = stage.rng("analyst_huge_search")
    pool = sorted(stage.customer_by_id)
    log = stage.world.log
    for _ in range(2):
        analyst = stage.pick(rng, "data_analyst")
        lo = stage.day(rng.uniform(5, stage.world.config.days - 3))
        times = stage.shift_times(rng, analyst, lo, lo + 2 * DAY, (1, 2))[:3]
        for t in times:
            ids = sorted(rng.sample(pool, min(len(pool), rng.randint(2000, 8000))))
            log.add(
                t,
                analyst.employee_id,
                "customer.search",
                customer_ids=ids,
                justification="analytics",
            )
        if times:
            stage.label(
                "analyst_huge_search",
                "confounder",
                analyst,
                times[0],
                times[-1],
                "huge masked searches",
            )


CONFOUNDERS = {
    "team_transfer": team_transfer,
    "peak_week": peak_week,
    "legit_investigator": legit_investigator,
    "fake_ring_removal": fake_ring_removal,
    "analyst_huge_search": analyst_huge_search,
}
"""Post-build confounders (new hires and night shifts are ``Adjustments``)."""
