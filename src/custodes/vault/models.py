"""Vault tables: one encrypted record per customer and the blind index. No plaintext PII."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from custodes.store.base import Base, UTCDateTime

PII_FIELDS = ("name", "email", "phone", "address")


class VaultRecord(Base):
    """A customer's wrapped data key and field ciphertexts (AES-256-GCM, id+field bound as AAD).

    Masks are display projections computed on write (j***@e***.com) so search results never need
    a decryption. Erasure nulls the key, salt, ciphertexts and masks: crypto-shredding.
    """

    __tablename__ = "vault_records"

    customer_id: Mapped[str] = mapped_column(
        ForeignKey("customers.customer_id", ondelete="CASCADE"), primary_key=True
    )
    kek_version: Mapped[int | None] = mapped_column(Integer, index=True)
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    pseudonym_salt: Mapped[bytes | None] = mapped_column(LargeBinary)
    name_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    email_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    address_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    name_mask: Mapped[str | None] = mapped_column(String(200))
    email_mask: Mapped[str | None] = mapped_column(String(200))
    phone_mask: Mapped[str | None] = mapped_column(String(64))
    shredded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class BlindIndexEntry(Base):
    """HMAC-SHA256 of a normalised e-mail or E.164 phone, for exact-match lookup only."""

    __tablename__ = "vault_blind_index"
    __table_args__ = (Index("ix_vault_blind_index_digest", "kind", "digest"),)

    customer_id: Mapped[str] = mapped_column(
        ForeignKey("customers.customer_id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    digest: Mapped[bytes] = mapped_column(LargeBinary(32))
