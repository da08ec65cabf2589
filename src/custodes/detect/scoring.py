"""One risk score per employee per day: the sum of signal contributions times context.

``score = (sum of contributions) * (1 + 0.5 departing) * (1 + 0.25 off_hours)``. Contributions
are log10 surprise (see ``signals``), so the score reads as "how many orders of magnitude less
likely than the person's and their peers' baseline", and a threshold of 4 means roughly one
employee-day in ten thousand by chance if the signals were independent. The default threshold
was set on training seeds (see ``evaluate``), never on the seeds the evaluation reports.
Only days that brought new evidence can alert: a rolling window alone does not re-fire.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
from ibis import _
from ibis.expr.types import Table

from custodes.detect.features import Features
from custodes.detect.signals import SignalOutput, all_signals
from custodes.detect.signals import context as context_signals

DEFAULT_THRESHOLD = 4.0


@dataclass
class Scored:
    """The day scores, every signal row and every evidence row, as (lazy) Ibis tables."""

    days: Table  # employee_id, day, base, departing, off_hours, score, fire_ts
    signals: Table  # per employee-day signal rows (see ``signals``)
    evidence: Table


def _union(tables: list[Table]) -> Table:
    out = tables[0]
    for t in tables[1:]:
        out = out.union(t)
    return out


def score(f: Features) -> Scored:
    outputs: list[SignalOutput] = [o for compute in all_signals() for o in compute(f)]
    daily = f.engine.materialize("signal_rows", _union([o.daily for o in outputs]))
    evidence = _union([o.evidence for o in outputs])
    per = daily.group_by(["employee_id", "day"]).agg(
        base=_.contribution.sum(), fire_ts=_.fire_ts.max(), n_signals=_.count()
    )
    ctx = context_signals.compute(f)
    j = per.left_join(ctx, [per.employee_id == ctx.employee_id, per.day == ctx.day])
    departing = ctx.departing.fill_null(0).cast("float64")
    off = ctx.off_hours.fill_null(0).cast("float64")
    factor = (1.0 + context_signals.DEPARTING_FACTOR * departing) * (
        1.0 + context_signals.OFF_HOURS_FACTOR * off
    )
    days = j.select(
        per.employee_id,
        per.day,
        base=per.base.round(4),
        fire_ts=per.fire_ts,
        n_signals=per.n_signals,
        departing=departing,
        off_hours=off,
        off_events=ctx.off_events.fill_null(0),
        score=(per.base * factor).round(3),
    )
    return Scored(days=days, signals=daily, evidence=evidence)


def candidates(s: Scored, threshold: float = DEFAULT_THRESHOLD) -> Table:
    """Employee-days at or above ``threshold`` that brought new evidence."""
    return s.days.filter((s.days.score >= threshold) & s.days.fire_ts.notnull()).order_by(
        [ibis.asc("day"), ibis.desc("score"), ibis.asc("employee_id")]
    )
