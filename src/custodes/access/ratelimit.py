"""Distinct customers each employee revealed in the last hour and day, kept in memory.

The process that holds the sequencer is the only one recording reveals, so it can keep these
windows itself: seeded once per employee from the ledger access index, then updated as it
records. That takes two aggregate queries off every reveal.

API workers keep the same windows as an estimate (they see only their own reveals after the
seed; `InFlight` adds those allowed but not yet recorded). The exact count there is the guard
the sequencer evaluates (`custodes.ledger.window_cache`): counting the index on every reveal
cost a scan of the employee's whole day, twice per reveal (bench/README.md).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from threading import Lock
from typing import Any

from custodes.ledger.models import LedgerAccessIndex
from custodes.store.base import as_utc
from custodes.store.hot_reads import HotReader

HOUR, DAY = timedelta(hours=1), timedelta(days=1)

# Each customer this employee revealed in the last day, with the time of the last reveal.
_SEED = (
    "SELECT subject_id, max(time) FROM ledger_access_index WHERE actor = ? "
    "AND subject_kind = 'customer' AND action = 'customer.view' AND decision = 'allow' "
    "AND time > ? GROUP BY subject_id"
)


def time_param(reads: HotReader, moment: datetime) -> Any:
    """A time bound exactly as the index stores it (SQLite keeps text), for driver SQL."""
    bind = LedgerAccessIndex.__table__.c.time.type._cached_bind_processor(reads.dialect)
    return bind(moment) if bind is not None else moment


class RevealWindows:
    def __init__(self) -> None:
        self._last: dict[str, dict[str, datetime]] = {}  # employee -> customer -> last reveal
        self._lock = Lock()

    def _seed(self, reads: HotReader, employee_id: str, now: datetime) -> dict[str, datetime]:
        rows = reads.rows(_SEED, (employee_id, time_param(reads, now - DAY)))
        return {customer: as_utc(last) for customer, last in rows}  # type: ignore[misc]

    def counts(
        self, reads: HotReader, employee_id: str, customers: set[str], now: datetime
    ) -> tuple[int, int]:
        """(hour, day) distinct customers, counting this request's customers as revealed now."""
        with self._lock:
            seen = self._last.get(employee_id)
        if seen is None:
            seeded = self._seed(reads, employee_id, now)
            with self._lock:
                seen = self._last.setdefault(employee_id, seeded)
        day_ago, hour_ago = now - DAY, now - HOUR
        with self._lock:
            day = {c for c, t in seen.items() if t > day_ago} | customers
            hour = {c for c, t in seen.items() if t > hour_ago} | customers
        return len(hour), len(day)

    def record(self, employee_id: str, customers: list[str], now: datetime) -> None:
        with self._lock:
            seen = self._last.get(employee_id)
            if seen is None:
                return  # not seeded yet: the next count reads the index, which has this reveal
            for customer in customers:
                seen[customer] = now
            if len(seen) > 10_000:  # bound memory: drop what fell out of the day window
                cutoff = now - DAY
                for customer in [c for c, t in seen.items() if t <= cutoff]:
                    del seen[customer]


class InFlight:
    """Allowed reveals between their decision and their commit, per employee (API workers)."""

    def __init__(self) -> None:
        self._customers: dict[str, Counter[str]] = {}
        self._lock = Lock()

    def customers(self, employee_id: str) -> set[str]:
        """This employee's customers in flight: they count as revealed now."""
        with self._lock:
            return set(self._customers.get(employee_id, ()))

    def add(self, employee_id: str, customers: list[str]) -> None:
        with self._lock:
            self._customers.setdefault(employee_id, Counter()).update(customers)

    def remove(self, employee_id: str, customers: list[str]) -> None:
        with self._lock:
            flying = self._customers.get(employee_id)
            if flying is None:
                return
            flying.subtract(customers)
            for customer in [c for c, n in flying.items() if n <= 0]:
                del flying[customer]
            if not flying:
                del self._customers[employee_id]
