"""Shifts: when each employee works, so simulated work falls inside people's working hours.

Everyone works shifts: a local start time and length per person, five working days (some
support and trust & safety rotas include the weekend, some Manila agents work nights), and the
odd day off.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from custodes.sim.config import SimConfig, stream
from custodes.sim.staff import Employee


class Roster:
    """Each employee's shift windows (UTC) from two weeks before the window to a month after."""

    ABSENCE = 0.04  # share of working days off (leave, sickness)

    def __init__(self, config: SimConfig, employees: Sequence[Employee]) -> None:
        rng = stream(config.seed, "roster")
        self._windows: dict[str, list[tuple[datetime, datetime]]] = {}
        self._ends: dict[str, list[datetime]] = {}
        lo = config.start - timedelta(days=14)
        n_days = config.days + 14 + 31
        for e in employees:
            wins = []
            offset = timedelta(hours=e.utc_offset)
            first = (lo + offset).date()
            for i in range(n_days):
                day = first + timedelta(days=i)
                if day.weekday() not in e.workdays or rng.random() < self.ABSENCE:
                    continue
                midnight = datetime(day.year, day.month, day.day, tzinfo=UTC) - offset
                s = midnight + timedelta(minutes=e.shift_start + rng.randint(-10, 15))
                t = s + timedelta(minutes=e.shift_minutes + rng.randint(-15, 30))
                s = max(s, e.hired_at)
                if e.left_at is not None:
                    t = min(t, e.left_at)
                if s < t:
                    wins.append((s, t))
            self._windows[e.employee_id] = wins
            self._ends[e.employee_id] = [t for _, t in wins]

    def windows(self, emp: Employee, lo: datetime, hi: datetime) -> list[tuple[datetime, datetime]]:
        """Shift windows overlapping ``[lo, hi)``, clipped to it."""
        out = []
        for s, t in self._windows[emp.employee_id]:
            if t > lo and s < hi:
                out.append((max(s, lo), min(t, hi)))
        return out

    def next_work(self, emp: Employee, t: datetime) -> datetime | None:
        """The first instant at or after ``t`` inside one of the employee's shifts."""
        i = bisect.bisect_right(self._ends[emp.employee_id], t)
        wins = self._windows[emp.employee_id]
        if i >= len(wins):
            return None
        return max(t, wins[i][0])

    def on_shift(self, emp: Employee, t: datetime) -> bool:
        return self.next_work(emp, t) == t
