"""Conditions checked where entries are sequenced, so "at most once" and "at most N" hold across
threads, API worker processes and both database backends.

A guard rides with an entry to the sequencer, which evaluates it against the access index inside
the batch transaction, after every earlier entry of the batch is in the index. The one writer of
the log is the serialisation point: two approvals of one request, a fourth break-glass grant or a
31st customer in an hour cannot both pass on a stale count. An entry whose guard fails is not
appended; its caller learns `GuardRefused` and records the refusal instead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
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
    """Evaluate one guard in the sequencer's transaction. Driver SQL: every guarded entry runs
    this in the one writer's thread, where building SQLAlchemy expressions cost more than the
    indexed query itself (bench/README.md)."""
    where, params = _where(conn, guard)
    if guard.kind == "absent":
        sql = f"SELECT 1 FROM ledger_access_index WHERE {where} LIMIT 1"
        return conn.exec_driver_sql(driver_sql(conn.dialect, sql), tuple(params)).first() is None
    if guard.kind == "below":
        sql = f"SELECT count(*) FROM ledger_access_index WHERE {where}"
        count = conn.exec_driver_sql(driver_sql(conn.dialect, sql), tuple(params)).scalar()
        return int(count or 0) < guard.limit
    # One row back, not the list: distinct subjects so far, and how many of the new ones
    # are among them (those do not count twice).
    new = list(dict.fromkeys(guard.new_subjects))
    repeated = (
        f"count(DISTINCT CASE WHEN subject_id IN ({_marks(new)}) THEN subject_id END)"
        if new
        else "0"
    )
    sql = f"SELECT count(DISTINCT subject_id), {repeated} FROM ledger_access_index WHERE {where}"
    total, already = conn.exec_driver_sql(driver_sql(conn.dialect, sql), (*new, *params)).one()
    return int(total) + len(new) - int(already) <= guard.limit


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
    return all(holds(conn, guard) for guard in guards)
