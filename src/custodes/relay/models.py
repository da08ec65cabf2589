"""Relay tables: pair aliases, seller contact addresses, the durable outbound queue, and the
record of every message (verdict and finding kinds, never the matched text).

Message bodies in the queue and held messages are sealed (AES-256-GCM under a data key the
vault keyring wraps): a reply from a customer may carry their own contact details.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from custodes.store.base import Base, UTCDateTime


class RelayAlias(Base):
    """The one address a seller knows a customer by (and the customer knows the seller by)."""

    __tablename__ = "relay_aliases"
    __table_args__ = (UniqueConstraint("seller_id", "customer_id", name="seller_customer"),)

    alias: Mapped[str] = mapped_column(String(64), primary_key=True)  # local part
    seller_id: Mapped[str] = mapped_column(ForeignKey("sellers.seller_id"))
    customer_id: Mapped[str] = mapped_column(
        ForeignKey("customers.customer_id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SellerContact(Base):
    """Where a seller receives relayed mail and which sender address proves it is them.
    A business contact the seller registered, not a customer's address."""

    __tablename__ = "relay_seller_contacts"

    seller_id: Mapped[str] = mapped_column(ForeignKey("sellers.seller_id"), primary_key=True)
    address: Mapped[str] = mapped_column(String(254), unique=True)


class OutboundMessage(Base):
    """A message accepted for delivery. Claimed with a lease, marked sent in its own commit."""

    __tablename__ = "relay_outbound"
    __table_args__ = (Index("ix_relay_outbound_status_due", "status", "next_attempt_at"),)

    message_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    direction: Mapped[str] = mapped_column(String(16))  # to_customer | to_seller
    alias: Mapped[str] = mapped_column(String(64))
    envelope_from: Mapped[str] = mapped_column(String(254))  # always a relay address
    kek_version: Mapped[int] = mapped_column(Integer)
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    body_ct: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16))  # queued | sending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(200))


class RelayMessage(Base):
    """Every message the relay saw and what it did: forwarded, redacted, held, blocked, refused."""

    __tablename__ = "relay_messages"

    message_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    direction: Mapped[str] = mapped_column(String(16))
    seller_id: Mapped[str | None] = mapped_column(String(64), index=True)
    alias: Mapped[str | None] = mapped_column(String(64))
    verdict: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(64))
    smtp_code: Mapped[int] = mapped_column(Integer)
    findings: Mapped[str] = mapped_column(Text, default="[]")  # JSON [{kind, part, action}]
    kek_version: Mapped[int | None] = mapped_column(Integer)
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    held_ct: Mapped[bytes | None] = mapped_column(LargeBinary)  # only while held for review


class SellerCredential(Base):
    """A seller's SMTP AUTH secret, argon2id-hashed: what proves a session is that seller
    (the envelope sender proves nothing). Issued by `custodes relay credentials`."""

    __tablename__ = "relay_seller_credentials"

    seller_id: Mapped[str] = mapped_column(ForeignKey("sellers.seller_id"), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
