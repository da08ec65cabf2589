"""Conditions checked where entries are sequenced, so "at most once" and "at most N" hold across
threads, API worker processes and both database backends.

A guard rides with an entry to the sequencer, which evaluates it against the access index inside
the batch transaction, after every earlier entry of the batch is in the index. The one writer of
the log is the serialisation point: two approvals of one request, a fourth break-glass grant or a
31st customer in an hour cannot both pass on a stale count. An entry whose guard fails is not
appended; its caller learns `GuardRefused` and records the refusal instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, case, distinct, func, literal, select

from custodes.ledger.errors import FormatError, LedgerError
from custodes.ledger.models import LedgerAccessIndex
from custodes.vocabulary import ID

KINDS = ("absent", "below", "distinct")
MAX_SUBJECTS = 10_000


class GuardRefused(LedgerError):
    """The entry's condition no longer holds; nothing was appended."""


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
    """Evaluate one guard in the sequencer's transaction."""
    index = LedgerAccessIndex.__table__
    conditions = [index.c.action.in_(guard.actions), index.c.decision.in_(guard.decisions)]
    if guard.actor is not None:
        conditions.append(index.c.actor == guard.actor)
    if guard.subject_kind is not None:
        conditions.append(index.c.subject_kind == guard.subject_kind)
    if guard.subject_id is not None:
        conditions.append(index.c.subject_id == guard.subject_id)
    if guard.since is not None:
        conditions.append(index.c.time > guard.since)
    where = and_(*conditions)
    if guard.kind == "absent":
        return conn.execute(select(index.c.row_id).where(where).limit(1)).first() is None
    if guard.kind == "below":
        count = conn.scalar(select(func.count()).select_from(index).where(where)) or 0
        return int(count) < guard.limit
    # One row back, not the list: distinct subjects so far, and how many of the new ones
    # are among them (those do not count twice).
    new = list(dict.fromkeys(guard.new_subjects))
    repeated = (
        func.count(distinct(case((index.c.subject_id.in_(new), index.c.subject_id))))
        if new
        else literal(0)
    )
    total, already = conn.execute(
        select(func.count(distinct(index.c.subject_id)), repeated).where(where)
    ).one()
    return int(total) + len(new) - int(already) <= guard.limit


def all_hold(conn: Connection, guards: Sequence[Guard]) -> bool:
    return all(holds(conn, guard) for guard in guards)
