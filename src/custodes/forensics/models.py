"""Forensics tables: the e-mail read index, exposures and their canaries, canary hits, exports.

No plaintext PII: customers appear by id or pseudonym, canaries by customer id (their PII is
sealed in the vault like anyone else's), senders of canary mail by a keyed digest and domain.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from custodes.store.base import Base, UTCDateTime


class EmailRead(Base):
    """Who read whose e-mail: one row per (employee, customer), derived from the ledger's access
    index and imported access events. Attribution looks leaked customers up here by customer
    (an index range per customer), never by scanning the reads."""

    __tablename__ = "forensics_email_reads"
    __table_args__ = (
        Index("ix_forensics_email_reads_customer", "customer_id"),
        Index("ix_forensics_email_reads_employee_time", "employee_id", "first_time"),
    )

    employee_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    reads: Mapped[int] = mapped_column(Integer)
    first_time: Mapped[datetime] = mapped_column(UTCDateTime())
    last_time: Mapped[datetime] = mapped_column(UTCDateTime())
    ledger_index: Mapped[int | None] = mapped_column(BigInteger)  # the first read's entry
    source_line: Mapped[int | None] = mapped_column(Integer)  # or its access.jsonl line


class ReaderTotal(Base):
    """How many distinct customers' e-mails each employee has read (the model's denominator),
    kept with the read index so ranking never counts an employee's reads."""

    __tablename__ = "forensics_reader_totals"

    employee_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customers: Mapped[int] = mapped_column(Integer)


class IndexPosition(Base):
    """How far the read index has consumed each source (ledger index row, imported event)."""

    __tablename__ = "forensics_index_position"

    source: Mapped[str] = mapped_column(String(16), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger)


class Exposure(Base):
    """One occasion on which customers were shown to a person: a search page, an export, a
    reveal session. Its canaries are its own (see `Canary`)."""

    __tablename__ = "forensics_exposures"

    exposure_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    employee_id: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ledger_index: Mapped[int | None] = mapped_column(BigInteger)
    reference: Mapped[str | None] = mapped_column(String(64))  # request id, search digest, …
    # JSON {"customers": [pseudonyms shown], "canaries": [ids]} for pages and sessions.
    manifest: Mapped[str | None] = mapped_column(Text)


class Canary(Base):
    """A synthetic customer who exists only to be leaked. Flagged here and nowhere else; one
    exposure at most (assignment is a conditional update on a null column)."""

    __tablename__ = "forensics_canaries"

    customer_id: Mapped[str] = mapped_column(
        ForeignKey("customers.customer_id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    exposure_id: Mapped[str | None] = mapped_column(
        ForeignKey("forensics_exposures.exposure_id"), index=True
    )
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class CanaryHit(Base):
    """Mail that reached a canary (or a canary_hit signal): the alert's evidence."""

    __tablename__ = "forensics_canary_hits"

    hit_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(String(64), index=True)
    exposure_id: Mapped[str | None] = mapped_column(String(40))
    employee_id: Mapped[str | None] = mapped_column(String(64))
    time: Mapped[datetime] = mapped_column(UTCDateTime())
    source: Mapped[str] = mapped_column(String(64))  # "smtp" or "signals.jsonl:LINE"
    sender_digest: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    sender_domain: Mapped[str | None] = mapped_column(String(255))
    headers: Mapped[str] = mapped_column(Text, default="{}")  # JSON, no addresses
    message_sha256: Mapped[str | None] = mapped_column(String(64))


class ExportManifest(Base):
    """What a fingerprinted export contained: who, when, which customers (pseudonyms), which
    canaries, and the file's hash, so a leaked copy is matched back to it."""

    __tablename__ = "forensics_exports"

    export_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    exposure_id: Mapped[str] = mapped_column(ForeignKey("forensics_exposures.exposure_id"))
    employee_id: Mapped[str] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    customers: Mapped[str] = mapped_column(Text)  # JSON list of pseudonyms
    canaries: Mapped[str] = mapped_column(Text)  # JSON list of canary customer ids
    rows: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
