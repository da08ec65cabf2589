"""One database helper the identity modules share: how many rows a guarded UPDATE or DELETE
changed (the compare-and-set that makes one-time links, challenges and counters single-use)."""

from __future__ import annotations

from sqlalchemy import CursorResult
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import Executable


def rows_changed(db: Session, statement: Executable) -> int:
    result = db.execute(statement)
    if not isinstance(result, CursorResult):  # pragma: no cover - DML always has a cursor
        raise TypeError("a data-changing statement was expected")
    return int(result.rowcount)
