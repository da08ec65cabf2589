"""The shared vocabulary of signals: surprise measures, baselines and the row schema.

Every signal family module builds on these; ``signals/__init__`` only lists the families.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import ibis
from ibis import _
from ibis.expr.types import NumericValue, Table

from custodes.detect.features import Features

LN10 = math.log(10)


@dataclass
class SignalOutput:
    daily: Table
    evidence: Table


def poisson_surprise(k: ibis.Value, lam: ibis.Value) -> NumericValue:
    """-log10 of the Chernoff bound on P(X >= k) for X ~ Poisson(lam); 0 when k <= lam."""
    kf, lf = k.cast("float64"), lam.cast("float64")
    return ibis.ifelse(kf > lf, (kf * (kf / lf).ln() - kf + lf) / LN10, 0.0)


def binomial_surprise(k: ibis.Value, n: ibis.Value, p: ibis.Value) -> NumericValue:
    """-log10 of the Chernoff bound on P(K >= k) for K ~ Binomial(n, p); 0 when k <= n p."""
    kf, nf, pf = k.cast("float64"), n.cast("float64"), p.cast("float64")
    head = kf * (kf / (nf * pf)).ln()
    rest = nf - kf
    tail = ibis.ifelse(rest > 0, rest * (rest / (nf * (1.0 - pf))).ln(), 0.0)
    return ibis.ifelse(kf > nf * pf, (head + tail) / LN10, 0.0)


def capped(weight: float, cap: float, surprise: ibis.Value) -> NumericValue:
    return (ibis.least(surprise, cap) * weight).round(4)


def on_grid(f: Features, daily: Table, columns: tuple[str, ...]) -> Table:
    """The employee-day grid with ``daily``'s columns (0 where the day had none)."""
    g = f.grid
    j = g.left_join(daily, [g.employee_id == daily.employee_id, g.day == daily.day])
    keep = [g.employee_id, g.day, g.role, g.team, g.left_ts]
    return j.select(
        *keep,
        *[daily[c].fill_null(0).name(c) for c in columns],
        *[daily[c] for c in daily.columns if c.endswith("_ts") and c != "left_ts"],
    )


def rolling_sum(t: Table, column: str, days: int) -> NumericValue:
    w = ibis.window(group_by=t.employee_id, order_by=t.day, preceding=days - 1, following=0)
    return t[column].sum().over(w)


def peer_loo_mean(t: Table, column: str, *, active: bool = False) -> NumericValue:
    """Mean of ``column`` over the rest of the role that day (leave-one-out; null if alone).

    With ``active``, only colleagues with a non-zero value count (workload per working person,
    so weekends and part-time days do not drag the baseline down).
    """
    w = ibis.window(group_by=[t.role, t.day])
    v = t[column].cast("float64")
    if active:
        n = (t[column] > 0).cast("int64").sum().over(w) - (t[column] > 0).cast("int64")
    else:
        n = t.count().over(w) - 1
    total = v.sum().over(w) - v
    return ibis.ifelse(n > 0, total / n.cast("float64"), ibis.null("float64"))


def own_trailing_mean(t: Table, column: str, days: int = 14) -> NumericValue:
    """The person's mean on their active days among the previous ``days`` (null if none)."""
    w = ibis.window(group_by=t.employee_id, order_by=t.day, preceding=days, following=0)
    v = t[column].cast("float64")
    total = v.sum().over(w) - v
    n = (t[column] > 0).cast("int64").sum().over(w) - (t[column] > 0).cast("int64")
    return ibis.ifelse(n > 0, total / n.cast("float64"), ibis.null("float64"))


def daily_rows(
    t: Table,
    name: str,
    value: ibis.Value,
    expected: ibis.Value,
    contribution: ibis.Value,
    fire_ts: ibis.Value,
    ref: ibis.Value | None = None,
) -> Table:
    """Project to the common signal schema, keeping rows that contribute."""
    out = t.select(
        employee_id=t.employee_id,
        day=t.day.cast("int64"),
        signal=ibis.literal(name),
        value=value.cast("float64"),
        expected=expected.cast("float64"),
        contribution=contribution.cast("float64"),
        ref=(ref if ref is not None else ibis.null("string")).cast("string"),
        fire_ts=fire_ts.cast("int64"),
    )
    return out.filter(_.contribution > 0)


def above_own_and_peers(
    f: Features, daily: Table, name: str, slack: float, weight: float, cap: float
) -> Table:
    """Signal rows for a daily count `k` (with `fire_ts`) judged against the higher of the
    person's own trailing mean and their active peers' mean, times `slack`."""
    g = on_grid(f, daily, ("k",))
    g = g.mutate(own=own_trailing_mean(g, "k"), peer=peer_loo_mean(g, "k", active=True))
    expected = ibis.greatest(g.own.fill_null(0.0), g.peer.fill_null(0.0), 1.0) * slack
    surprise = capped(weight, cap, poisson_surprise(g.k, expected))
    return daily_rows(g, name, g.k, expected, surprise, g.fire_ts)


def evidence_rows(t: Table, name: str, source: str, ref_id: ibis.Value, window: int) -> Table:
    return t.select(
        employee_id=t.employee_id,
        day=t.day.cast("int64"),
        signal=ibis.literal(name),
        source=ibis.literal(source),
        ref_id=ref_id.cast("int64"),
        ts=t.ts.cast("int64"),
        window=ibis.literal(window).cast("int64"),
    )
