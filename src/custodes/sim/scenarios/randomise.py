"""Held-out worlds: each seed draws its own behaviour (domain randomisation).

A detector tuned on the fixed worlds of ``generate_labelled`` can learn that simulator's
habits. A held-out world draws, from wide ranges, how many people are new (hired on different
Mondays during the window), how many work nights, how many analysts do broad (masked) review
as their job, who is on vacation or on call, who opens cases minutes after the first look, how
noisy the log's clock is and where the log has gaps, and plants one or two insiders per
scenario. Nothing about a held-out world is known to the detector, and no
threshold may be chosen by looking at one (``evaluation.detection`` keeps their seeds apart).
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from custodes.sim.config import DAY, HOUR, SimConfig, between, seconds, stream
from custodes.sim.errors import NoFreeEmployee
from custodes.sim.generate import World, build
from custodes.sim.scenarios.base import Label, Stage
from custodes.sim.scenarios.confounders import CONFOUNDERS, Adjustments, label_adjusted
from custodes.sim.scenarios.insiders import INSIDERS


@dataclass(frozen=True)
class WorldDraw:
    """One held-out world's behaviour, drawn from ``draw``'s ranges."""

    new_hire_share: float  # of steady support agents, hired mid-window
    night_share: float  # of support agents, moved to a night shift
    broad_analysts: int  # analysts whose daily job is broad, masked review
    jitter_s: int  # each event's clock is off by up to this many seconds
    gaps: int  # windows of 2-8 h in which the log lost everything
    insiders_per_scenario: int
    vacation_share: float = 0.0  # of staff away for 5-9 days (their log goes quiet)
    on_call_share: float = 0.0  # of staff with a week of night work on call
    late_case_share: float = 0.0  # of case-holders who open cases minutes after the first look

    @classmethod
    def draw(cls, seed: int) -> WorldDraw:
        rng = stream(seed, "randomise:draw")
        return cls(
            new_hire_share=round(rng.uniform(0.02, 0.15), 3),
            night_share=round(rng.uniform(0.0, 0.12), 3),
            broad_analysts=rng.randint(0, 6),
            jitter_s=rng.choice((0, 30, 120, 600)),
            gaps=rng.randint(0, 3),
            insiders_per_scenario=rng.randint(1, 2),
            vacation_share=round(rng.uniform(0.0, 0.15), 3),
            on_call_share=round(rng.uniform(0.0, 0.05), 3),
            late_case_share=round(rng.uniform(0.0, 0.3), 3),
        )


def broad_analyst(stage: Stage) -> None:
    """An analyst whose job is broad review: searches and masked views of many customers
    every shift, no case, no PII revealed."""
    rng = stage.rng("broad_analyst")
    analyst = stage.pick(rng, "data_analyst")
    pool = sorted(stage.customer_by_id)
    log = stage.world.log
    times = stage.shift_times(rng, analyst, stage.start, stage.end, (3, 8))
    for t in times:
        ids = sorted(rng.sample(pool, min(len(pool), rng.randint(20, 400))))
        if rng.random() < 0.5:
            log.add(
                t,
                analyst.employee_id,
                "customer.search",
                customer_ids=ids,
                justification="analytics",
            )
        else:
            for cid in ids[: rng.randint(3, 25)]:
                log.add(
                    t,
                    analyst.employee_id,
                    "customer.view",
                    customer_ids=(cid,),
                    justification="analytics",
                )
    if times:
        stage.label(
            "broad_analyst",
            "confounder",
            analyst,
            times[0],
            times[-1],
            "broad masked review is the job",
        )


def _habits(world: World, draw: WorldDraw, seed: int, labelled: set[str]) -> None:
    """Vacations, on-call weeks and late case opening, for people no label is about."""
    rng = random.Random(f"{seed}:habits")
    start, end = world.config.start, world.config.end
    staff = sorted(e.employee_id for e in world.employees if e.employee_id not in labelled)
    away: dict[str, tuple[datetime, datetime]] = {}
    for eid in rng.sample(staff, round(len(staff) * draw.vacation_share)):
        lo = between(rng, start, end - 5 * DAY)
        away[eid] = (lo, lo + timedelta(days=rng.randint(5, 9)))
    on_call: dict[str, tuple[datetime, datetime]] = {}
    for eid in rng.sample(staff, round(len(staff) * draw.on_call_share)):
        lo = between(rng, start, end - 7 * DAY)
        on_call[eid] = (lo, lo + 7 * DAY)
    late = set(rng.sample(staff, round(len(staff) * draw.late_case_share)))
    for case in world.log.cases:
        window = on_call.get(case.employee_id)
        if window is not None and window[0] <= case.opened_at < window[1]:
            # A call-out opens its case at night too.
            case.opened_at = case.opened_at + 12 * HOUR
            case.closed_at = None if case.closed_at is None else case.closed_at + 12 * HOUR
        if case.employee_id in late:
            case.opened_at = case.opened_at + seconds(rng.uniform(60, 1800))
            if case.closed_at is not None and case.closed_at < case.opened_at:
                case.closed_at = case.opened_at
    kept = []
    for e in world.log.events:
        window = away.get(e.employee_id)
        if window is not None and window[0] <= e.time < window[1]:
            continue
        window = on_call.get(e.employee_id)
        if window is not None and window[0] <= e.time < window[1]:
            # The same work, done at night (a call-out), still inside the window.
            e = dataclasses.replace(e, time=min(e.time + 12 * HOUR, end - seconds(1)))
        kept.append(e)
    world.log.events = kept


def _jitter_and_gaps(world: World, draw: WorldDraw, seed: int) -> None:
    """Clock noise on every event, and gaps where the log lost everything."""
    rng = random.Random(f"{seed}:noise")
    start, end = world.config.start, world.config.end
    gaps = []
    for _ in range(draw.gaps):
        lo = between(rng, start, end - 8 * HOUR)
        gaps.append((lo, lo + timedelta(hours=rng.uniform(2, 8))))
    kept = []
    for e in world.log.events:
        if any(lo <= e.time < hi for lo, hi in gaps):
            continue
        if draw.jitter_s:
            t = e.time + seconds(rng.uniform(-draw.jitter_s, draw.jitter_s))
            e = dataclasses.replace(e, time=min(max(t, start), end - seconds(1)))
        kept.append(e)
    world.log.events = kept


def build_randomised(config: SimConfig) -> tuple[World, list[Label], WorldDraw]:
    """A held-out world for ``config.seed``: drawn behaviour, every confounder, insiders."""
    draw = WorldDraw.draw(config.seed)
    agents = max(1, round(config.employees * 0.45))  # support agents are about 45% of staff
    adj = Adjustments(
        hires=max(1, round(agents * draw.new_hire_share)),
        nights=round(agents * draw.night_share),
        spread_hires=True,
    )
    world = build(config, adjust=adj)
    stage = Stage(world)
    label_adjusted(stage, adj)
    for name in CONFOUNDERS:
        CONFOUNDERS[name](stage)
    for _ in range(draw.broad_analysts):
        try:
            broad_analyst(stage)
        except NoFreeEmployee:  # no free analyst left in a small world
            break
    for _ in range(draw.insiders_per_scenario):
        for name in INSIDERS:
            try:
                INSIDERS[name](stage)
            except NoFreeEmployee:  # nobody free to play it in a small world
                continue
    _habits(world, draw, config.seed, {lb.employee_id for lb in stage.labels})
    _jitter_and_gaps(world, draw, config.seed)
    return world, stage.labels, draw
