"""Ledger tables. Complete-subtree hashes are keyed by one integer so appends stay cheap.

`node_key(level, index) = level << 48 | index`: a single-integer primary key is SQLite's rowid
(fastest insert and lookup) and a plain BIGINT in PostgreSQL; a C2SP tile is one range scan.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from custodes.store.base import Base, UTCDateTime

INDEX_BITS = 48
# INTEGER PRIMARY KEY is SQLite's rowid alias (BIGINT would add a second index); 64-bit anyway.
Key64 = BigInteger().with_variant(Integer(), "sqlite")


def node_key(level: int, index: int) -> int:
    return (level << INDEX_BITS) | index


class LedgerEntryRow(Base):
    __tablename__ = "ledger_entries"

    idx: Mapped[int] = mapped_column(Key64, primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class LedgerNode(Base):
    __tablename__ = "ledger_nodes"

    node_key: Mapped[int] = mapped_column(Key64, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class LedgerHead(Base):
    """The committed size and root; updating it first in a batch serialises sequencers."""

    __tablename__ = "ledger_head"

    log_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    size: Mapped[int] = mapped_column(BigInteger)
    root: Mapped[bytes] = mapped_column(LargeBinary(32))


class LedgerCheckpoint(Base):
    __tablename__ = "ledger_checkpoints"

    size: Mapped[int] = mapped_column(Key64, primary_key=True, autoincrement=False)
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LedgerCosignature(Base):
    __tablename__ = "ledger_cosignatures"

    size: Mapped[int] = mapped_column(
        ForeignKey("ledger_checkpoints.size"), primary_key=True, autoincrement=False
    )
    witness: Mapped[str] = mapped_column(String(200), primary_key=True)
    line: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LedgerAccessIndex(Base):
    """Who touched which subject under which entry: written in the same commit as the entry.

    Private to this database (never published): it answers "who accessed this customer" for
    the transparency page and "how many distinct customers today" for rate limits, and each row
    points at the ledger entry that proves it.
    """

    __tablename__ = "ledger_access_index"
    __table_args__ = (
        Index("ix_ledger_access_index_actor_time", "actor", "time"),
        Index("ix_ledger_access_index_subject", "subject_kind", "subject_id"),
    )

    row_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    idx: Mapped[int] = mapped_column(BigInteger, index=True)
    actor: Mapped[str] = mapped_column(String(64))
    subject_kind: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    decision: Mapped[str] = mapped_column(String(16))
    time: Mapped[datetime] = mapped_column(UTCDateTime())


class LedgerWitnessStatus(Base):
    """How witnessing goes, per witness: shown by `ledger status`, `/readyz` and metrics."""

    __tablename__ = "ledger_witness_status"

    witness: Mapped[str] = mapped_column(String(200), primary_key=True)
    cosigned_size: Mapped[int] = mapped_column(BigInteger)
    last_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(200))
