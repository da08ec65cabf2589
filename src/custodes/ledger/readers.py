"""Reads of the ledger's rows for analytics (detection), so no other package names its tables."""

from __future__ import annotations

from sqlalchemy import Connection, select

from custodes.ledger.models import LedgerAccessIndex, LedgerEntryRow


def all_entries(conn: Connection) -> list[tuple[int, bytes]]:
    """Every entry as (index, canonical bytes), in log order."""
    rows = conn.execute(
        select(LedgerEntryRow.idx, LedgerEntryRow.data).order_by(LedgerEntryRow.idx)
    )
    return [(int(idx), bytes(data)) for idx, data in rows]


def access_subjects(conn: Connection, kind: str) -> list[tuple[int, str]]:
    """(entry index, subject id) for every access-index row of subject ``kind``, in row order."""
    t = LedgerAccessIndex
    query = select(t.idx, t.subject_id).where(t.subject_kind == kind).order_by(t.row_id)
    return [(int(idx), str(subject)) for idx, subject in conn.execute(query)]
