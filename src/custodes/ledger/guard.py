"""Conditions checked where entries are sequenced, so "at most once" and "at most N" hold across
threads, API worker processes and both database backends.

A guard rides with an entry to the sequencer, which evaluates it against the access index inside
the batch transaction, after every earlier entry of the batch is in the index. The one writer of
the log is the serialisation point: two approvals of one request, a fourth break-glass grant or a
31st customer in an hour cannot both pass on a stale count. An entry whose guard fails is not
appended; its caller learns `GuardRefused` and records the refusal instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect

from custodes.ledger.errors import FormatError
from custodes.ledger.errors import GuardRefused as GuardRefused
from custodes.ledger.models import LedgerAccessIndex
from custodes.store.engine import driver_sql
from custodes.vocabulary import ID

KINDS = ("absent", "below", "distinct")
MAX_SUBJECTS = 10_000


@dataclass(frozen=True)
class Guard:
    """`absent`: no index row matches. `below`: fewer than `limit` rows match.
    `distinct`: matching subjects plus `new_subjects` number at most `limit`."""

    kind: str
    actions: tuple[str, ...]
    decisions: tuple[str, ...]
    actor: str | None = None
    subject_kind: str | None = None
    subject_id: str | None = None
    since: datetime | None = None
    limit: int = 0
    new_subjects: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise FormatError(f"guard kind must be one of {', '.join(KINDS)}")
        values = [*self.actions, *self.decisions, *self.new_subjects]
        values += [v for v in (self.actor, self.subject_kind, self.subject_id) if v is not None]
        if not self.actions or not self.decisions or not all(ID.fullmatch(v) for v in values):
            raise FormatError("guard values are ids")
        if len(self.new_subjects) > MAX_SUBJECTS or not 0 <= self.limit <= 1_000_000:
            raise FormatError("guard out of range")
        if self.since is not None and self.since.tzinfo is None:
            raise FormatError("guard times carry a time zone")

    def to_wire(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "actions": list(self.actions),
            "decisions": list(self.decisions),
            "actor": self.actor,
            "subject_kind": self.subject_kind,
            "subject_id": self.subject_id,
            "since": self.since.isoformat() if self.since else None,
            "limit": self.limit,
            "new_subjects": list(self.new_subjects),
        }

    @classmethod
    def from_wire(cls, raw: Any) -> Guard:
        """A guard from another process, every value checked."""
        try:
            since = raw["since"]
            return cls(
                kind=str(raw["kind"]),
                actions=tuple(str(a) for a in raw["actions"]),
                decisions=tuple(str(d) for d in raw["decisions"]),
                actor=_optional(raw["actor"]),
                subject_kind=_optional(raw["subject_kind"]),
                subject_id=_optional(raw["subject_id"]),
                since=datetime.fromisoformat(since) if since is not None else None,
                limit=int(raw["limit"]),
                new_subjects=tuple(str(s) for s in raw["new_subjects"]),
            )
        except (KeyError, TypeError, ValueError):
            raise FormatError("not a guard") from None


def _optional(value: Any) -> str | None:
    return None if value is None else str(value)


def holds(conn: Connection, guard: Guard) -> bool:
    """Evaluate one guard in the sequencer's transaction. Driver SQL on the connection's own
    cursor: every guarded entry runs this in the one writer's thread, where building
    SQLAlchemy expressions and results cost more than the indexed query (bench/README.md)."""
    if guard.kind == "distinct":
        return _windows_hold(conn, [guard])
    where, params = _where(conn, guard)
    if guard.kind == "absent":
        sql = f"SELECT 1 FROM ledger_access_index WHERE {where} LIMIT 1"
        return _one(conn, sql, params) is None
    sql = f"SELECT count(*) FROM ledger_access_index WHERE {where}"
    row = _one(conn, sql, params)
    return int(row[0] if row else 0) < guard.limit


def _windows_hold(conn: Connection, windows: Sequence[Guard]) -> bool:
    """`distinct` guards that differ only in window and cap (a reveal's hour and day), in one
    query: per window, the distinct subjects so far and how many of the new ones are among
    them (those do not count twice)."""
    first = windows[0]
    new = list(dict.fromkeys(first.new_subjects))
    bind = _bind_time(conn.dialect)
    bounds = [w.since for w in windows]
    earliest = None if None in bounds else min(b for b in bounds if b is not None)
    where, params = _where(conn, replace(first, since=earliest))
    columns: list[str] = []
    column_params: list[object] = []
    for window in windows:
        inside = "1 = 1" if window.since is None else '"time" > ?'
        since = [] if window.since is None else [bind(window.since)]
        columns.append(f"count(DISTINCT CASE WHEN {inside} THEN subject_id END)")
        column_params += since
        if new:
            columns.append(
                f"count(DISTINCT CASE WHEN {inside} AND subject_id IN ({_marks(new)}) "
                "THEN subject_id END)"
            )
            column_params += [*since, *new]
        else:
            columns.append("0")
    sql = f"SELECT {', '.join(columns)} FROM ledger_access_index WHERE {where}"
    row = _one(conn, sql, [*column_params, *params])
    assert row is not None  # an aggregate always answers one row
    return all(
        int(row[2 * i]) + len(new) - int(row[2 * i + 1]) <= window.limit
        for i, window in enumerate(windows)
    )


def seed_rows(conn: Connection, guard: Guard) -> list[tuple[str, object]]:
    """Each subject the guard's window matches, with the time of its newest row (as the
    driver returns it): what the sequencer's window memory starts from."""
    where, params = _where(conn, guard)
    sql = (
        f'SELECT subject_id, max("time") FROM ledger_access_index WHERE {where} GROUP BY subject_id'
    )
    with _executed(conn, sql, params) as cursor:
        return [(str(subject), time) for subject, time in cursor.fetchall()]


def _one(conn: Connection, sql: str, params: Sequence[object]) -> Any:
    with _executed(conn, sql, params) as cursor:
        return cursor.fetchone()


@contextmanager
def _executed(conn: Connection, sql: str, params: Sequence[object]) -> Iterator[Any]:
    """`sql` run on the DBAPI cursor of `conn` (same connection, same transaction)."""
    cursor = conn.connection.cursor()
    try:
        cursor.execute(driver_sql(conn.dialect, sql), tuple(params))
        yield cursor
    finally:
        cursor.close()


def _marks(values: Sequence[object]) -> str:
    return ", ".join("?" for _ in values)


def _where(conn: Connection, guard: Guard) -> tuple[str, list[object]]:
    """The guard's conditions on the access index, with `?` placeholders, and their values.
    Every value is an id (checked when the guard was made) and goes in as a parameter."""
    conditions = [
        f"action IN ({_marks(guard.actions)})",
        f"decision IN ({_marks(guard.decisions)})",
    ]
    params: list[object] = [*guard.actions, *guard.decisions]
    for column, value in (
        ("actor", guard.actor),
        ("subject_kind", guard.subject_kind),
        ("subject_id", guard.subject_id),
    ):
        if value is not None:
            conditions.append(f"{column} = ?")
            params.append(value)
    if guard.since is not None:
        conditions.append('"time" > ?')
        params.append(_bind_time(conn.dialect)(guard.since))
    return " AND ".join(conditions), params


@lru_cache(maxsize=8)
def _bind_time(dialect: Dialect) -> Callable[[object], object]:
    """How the index's time column stores a datetime on this dialect (text on SQLite)."""
    time_type = LedgerAccessIndex.__table__.c.time.type
    return time_type._cached_bind_processor(dialect) or (lambda value: value)


def all_hold(conn: Connection, guards: Sequence[Guard]) -> bool:
    """Every guard holds. Window guards on the same subjects (an hour and a day) are asked
    together, one query for both."""
    windows: dict[tuple[object, ...], list[Guard]] = {}
    for guard in guards:
        if guard.kind == "distinct":
            windows.setdefault(_same_subjects(guard), []).append(guard)
        elif not holds(conn, guard):
            return False
    # Two windows a query at most: each repeats the new subjects as parameters, and SQLite
    # builds may take as few as 32,766 parameters a statement (psycopg 65,535).
    return all(
        _windows_hold(conn, group[start : start + 2])
        for group in windows.values()
        for start in range(0, len(group), 2)
    )


def _same_subjects(guard: Guard) -> tuple[object, ...]:
    return (
        guard.actions,
        guard.decisions,
        guard.actor,
        guard.subject_kind,
        guard.subject_id,
        guard.new_subjects,
    )
