"""Who read whose e-mail: the one question attribution asks of the records, behind one protocol.

Two implementations answer it: `MemoryReads` (built from a dataset folder's access.jsonl, or
from the simulator) and `forensics.store.DatabaseReads` (the read index table). Both answer per
leaked customer from an index, so a leak costs work in its own size, not the log's.
"""

from __future__ import annotations

import bisect
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

EMAIL_READ_ACTIONS = ("customer.view", "customer.export")


def reads_email(action: str, fields: Collection[str]) -> bool:
    """Whether an access handed the e-mail field to a person. An export naming no fields
    exports the e-mail (the door's default), so it counts."""
    if action == "customer.view":
        return "email" in fields
    if action == "customer.export":
        return not fields or "email" in fields
    return False


@dataclass(frozen=True, slots=True)
class Read:
    """An employee's reads of one customer's e-mail: how many, when, and where the first is."""

    employee_id: str
    first_time: datetime
    last_time: datetime
    reads: int
    ref: str  # "ledger:IDX" or "access.jsonl:LINE"


class ReadIndex(Protocol):
    @property
    def population(self) -> int:
        """Real customers a leaked address could have come from (canaries excluded)."""
        ...

    def readers(self, customer_ids: Collection[str]) -> dict[str, list[Read]]:
        """E-mail reads of each of these customers, by employee."""
        ...

    def read_counts(self, employee_ids: Collection[str]) -> dict[str, int]:
        """Distinct customers whose e-mail each employee has read."""
        ...

    def read_count_between(self, employee_id: str, lo: datetime, hi: datetime) -> int:
        """Distinct customers whose e-mail the employee first read in [lo, hi]."""
        ...


@dataclass
class MemoryReads:
    """The read index in memory: per customer its readers, per employee sorted first-read times."""

    customers: int
    by_customer: dict[str, dict[str, Read]] = field(default_factory=dict)
    _times: dict[str, list[datetime]] = field(default_factory=dict)
    _dirty: bool = False

    def add(self, employee_id: str, customer_id: str, time: datetime, ref: str) -> None:
        readers = self.by_customer.setdefault(customer_id, {})
        old = readers.get(employee_id)
        if old is None:
            readers[employee_id] = Read(employee_id, time, time, 1, ref)
            self._dirty = True
            return
        first, last, where = old.first_time, old.last_time, old.ref
        if time < first:
            first, where = time, ref
            self._dirty = True
        readers[employee_id] = Read(employee_id, first, max(last, time), old.reads + 1, where)

    def _index(self) -> dict[str, list[datetime]]:
        if self._dirty or not self._times:
            times: dict[str, list[datetime]] = {}
            for readers in self.by_customer.values():
                for read in readers.values():
                    times.setdefault(read.employee_id, []).append(read.first_time)
            for values in times.values():
                values.sort()
            self._times, self._dirty = times, False
        return self._times

    @property
    def population(self) -> int:
        return self.customers

    def readers(self, customer_ids: Collection[str]) -> dict[str, list[Read]]:
        return {
            c: list(self.by_customer[c].values()) for c in customer_ids if c in self.by_customer
        }

    def read_counts(self, employee_ids: Collection[str]) -> dict[str, int]:
        times = self._index()
        return {e: len(times.get(e, ())) for e in employee_ids}

    def read_count_between(self, employee_id: str, lo: datetime, hi: datetime) -> int:
        times = self._index().get(employee_id, [])
        return bisect.bisect_right(times, hi) - bisect.bisect_left(times, lo)


def memory_reads(
    customers: int,
    events: Iterable[tuple[str, str, Collection[str], Collection[str], datetime, str]],
) -> MemoryReads:
    """Build the index from (employee, action, customer_ids, fields, time, ref) accesses."""
    index = MemoryReads(customers)
    for employee_id, action, customer_ids, fields, time, ref in events:
        if reads_email(action, fields):
            for customer_id in customer_ids:
                index.add(employee_id, customer_id, time, ref)
    return index
