"""The sequencer's memory of `distinct` windows: who revealed (or searched) which subjects, when.

A worker's reveal carries an hour and a day guard ("at most N distinct customers"). Asked in
SQL, each guard scans every index row of the employee's day, so its cost grows with how often
the employee repeated themselves (measured: most of the sequencer's CPU per reveal under load,
bench/README.md). The sequencer is the log's one writer, so it can keep, per window key, each
subject's newest time instead: seeded once from the index, then updated with every row it
appends. A check then costs the number of distinct subjects, which the caps bound.

The memory only ever follows what this sequencer committed: a batch that fails, or a head that
someone else moved, empties it, and the next guard seeds again from the index.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from sqlalchemy import Connection

from custodes.ledger.appends import IndexRow
from custodes.ledger.guard import Guard, all_hold, seed_rows
from custodes.store.base import as_utc

# A window holding this many subjects more than twice its cap is pruned to those its latest
# guard can still see: memory, and a check's cost, stay near the caps.
PRUNE_AT = 64
# Windows kept at most (one per employee and kind of guard); past this the memory starts over.
MAX_WINDOWS = 50_000

_EPOCH = datetime.min.replace(tzinfo=UTC)
_Key = tuple[tuple[str, ...], tuple[str, ...], str | None, str | None]


def _key(guard: Guard) -> _Key:
    return (guard.actions, guard.decisions, guard.actor, guard.subject_kind)


@dataclass
class _Window:
    """Every subject with a matching row newer than `since` (all rows when None), each with
    the time of its newest such row."""

    since: datetime | None
    newest: dict[str, datetime] = field(default_factory=dict)

    def covers(self, since: datetime | None) -> bool:
        return self.since is None or (since is not None and since >= self.since)

    def holds(self, guard: Guard) -> bool:
        """Seen subjects inside the guard's window, plus its new ones not among them, within
        the cap: what the SQL guard counts (`guard._windows_hold`)."""
        since = guard.since
        seen = {s for s, t in self.newest.items() if since is None or t > since}
        fresh = set(guard.new_subjects) - seen
        return len(seen) + len(fresh) <= guard.limit

    def prune(self, since: datetime, cap: int) -> None:
        """Forget subjects no window from `since` on can see."""
        if len(self.newest) > 2 * cap + PRUNE_AT and (self.since is None or since > self.since):
            self.newest = {s: t for s, t in self.newest.items() if t > since}
            self.since = since

    def saw(self, subject: str, time: datetime) -> None:
        if self.since is None or time > self.since:
            known = self.newest.get(subject)
            self.newest[subject] = time if known is None else max(known, time)


class WindowCache:
    """`distinct` guards answered from memory; every other guard still goes to SQL."""

    def __init__(self) -> None:
        # Per actor (None: guards on every actor), so an appended row meets only its windows.
        self._windows: dict[str | None, dict[_Key, _Window]] = {}
        self._count = 0

    def clear(self) -> None:
        self._windows.clear()
        self._count = 0

    def all_hold(
        self, conn: Connection, guards: Sequence[Guard], flush: Callable[[], None]
    ) -> bool:
        """Every guard holds. `flush` writes the batch's earlier index rows first whenever
        SQL must be asked (a guard of another kind, or a window not yet seeded)."""
        # A window on one subject is rare and stays in SQL: the memory is keyed per actor.
        windows: list[Guard] = []
        sql: list[Guard] = []
        for guard in guards:
            in_memory = guard.kind == "distinct" and guard.subject_id is None
            (windows if in_memory else sql).append(guard)
        if sql or any(not self._covered(g) for g in windows):
            flush()
        if sql and not all_hold(conn, sql):
            return False
        # The widest window first: its seed covers the narrower ones of the same key.
        widest_first = sorted(windows, key=lambda g: (g.since is not None, g.since or _EPOCH))
        asked = [(self._window(conn, g), g) for g in widest_first]
        held = all(window.holds(g) for window, g in asked)
        # Pruned only now: a window narrowed between two guards of one entry would have to
        # seed again, from an index that lacks the batch's unflushed rows.
        bounds = [g.since for g in windows if g.since is not None]
        if len(bounds) == len(windows) and bounds:
            cap = max(g.limit for g in windows)
            for window, _ in asked:
                window.prune(min(bounds), cap)
        return held

    def add(self, rows: Iterable[IndexRow]) -> None:
        """An accepted entry's index rows, so later guards of the batch count them."""
        if not self._windows:
            return
        for row in rows:
            for actor in (str(row["actor"]), None):
                for (actions, decisions, _, kind), window in self._windows.get(actor, {}).items():
                    if (
                        row["action"] in actions
                        and row["decision"] in decisions
                        and (kind is None or row["subject_kind"] == kind)
                    ):
                        window.saw(str(row["subject_id"]), _utc(row["time"]))

    def _covered(self, guard: Guard) -> bool:
        window = self._windows.get(guard.actor, {}).get(_key(guard))
        return window is not None and window.covers(guard.since)

    def _window(self, conn: Connection, guard: Guard) -> _Window:
        key = _key(guard)
        windows = self._windows.setdefault(guard.actor, {})
        window = windows.get(key)
        if window is None or not window.covers(guard.since):
            if self._count >= MAX_WINDOWS:
                self.clear()  # bound memory: the next guards seed again
                windows = self._windows.setdefault(guard.actor, {})
            seeded = seed_rows(conn, replace(guard, new_subjects=()))
            window = _Window(guard.since, {s: _utc(t) for s, t in seeded})
            self._count += key not in windows
            windows[key] = window
        return window


def _utc(value: object) -> datetime:
    moment = as_utc(value)
    assert moment is not None  # index times are never null
    return moment
