"""Signals: one module per family, each returning per-employee-day rows plus their evidence.

Every signal yields rows ``(employee_id, day, signal, value, expected, contribution, ref,
fire_ts)``: ``value`` is what was seen, ``expected`` the baseline it was held against,
``contribution`` its share of the score, ``ref`` an optional id (a seller, a partner's
pseudonymised id is added later) and ``fire_ts`` the time of the day's last new evidence
(null when the day brought none). Evidence rows ``(employee_id, day, signal, source, ref_id,
ts, window)`` point at events (``source = "event"``) or outside signals (``"signal"``); an
alert on day D cites the rows of days ``D - window + 1 .. D``.

Contributions are in log10 units of surprise: a Chernoff bound on how unlikely the count is
under its baseline (Poisson or binomial), weighted and capped per signal. Adding them treats the
signals as independent evidence, which is what makes several weak ones add up.
"""

from __future__ import annotations

from collections.abc import Callable

from custodes.detect.features import Features
from custodes.detect.signals import (
    concentration,
    outcomes,
    pairs,
    privileged,
    unexplained,
    volume,
)
from custodes.detect.signals.base import SignalOutput

__all__ = ["Compute", "SignalOutput", "all_signals"]

Compute = Callable[[Features], list[SignalOutput]]


def all_signals() -> list[Compute]:
    """Every signal family, in a fixed order (the order of signals in an alert)."""
    return [
        unexplained.compute,
        volume.compute,
        concentration.compute,
        privileged.compute,
        pairs.compute,
        outcomes.compute,
    ]
