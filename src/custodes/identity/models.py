"""Identity tables: passkeys, passwords, enrollment links, sessions, WebAuthn challenges, and
sign-ins through the identity provider in flight.

Secrets are stored as SHA-256 (enrollment tokens, session ids) or argon2id (passwords); a stolen
database opens no session and redeems no link. No PII: employees appear by id only.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from custodes.store.base import Base, UTCDateTime


class Credential(Base):
    """A registered passkey: the COSE public key and the last sign count seen."""

    __tablename__ = "identity_credentials"

    credential_id: Mapped[str] = mapped_column(String(256), primary_key=True)  # base64url
    employee_id: Mapped[str] = mapped_column(ForeignKey("employees.employee_id"), index=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)  # COSE_Key
    alg: Mapped[int] = mapped_column(Integer)
    sign_count: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ledger_index: Mapped[int | None] = mapped_column(BigInteger)  # its credential.register entry


class Password(Base):
    """An optional password, argon2id-hashed."""

    __tablename__ = "identity_passwords"

    employee_id: Mapped[str] = mapped_column(ForeignKey("employees.employee_id"), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Enrollment(Base):
    """A one-time enrollment link; only its token's SHA-256 is kept."""

    __tablename__ = "identity_enrollments"

    enrollment_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    employee_id: Mapped[str] = mapped_column(ForeignKey("employees.employee_id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WebSession(Base):
    """A server-side session; the cookie holds a random id, the table its SHA-256."""

    __tablename__ = "identity_sessions"

    session_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    employee_id: Mapped[str] = mapped_column(ForeignKey("employees.employee_id"), index=True)
    method: Mapped[str] = mapped_column(String(16))
    credential_id: Mapped[str | None] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Challenge(Base):
    """A one-time WebAuthn challenge for registration, sign-in or an approval."""

    __tablename__ = "identity_challenges"

    challenge_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(16))
    challenge: Mapped[bytes] = mapped_column(LargeBinary(64))
    employee_id: Mapped[str | None] = mapped_column(ForeignKey("employees.employee_id"))
    enrollment_id: Mapped[str | None] = mapped_column(String(40))
    request_id: Mapped[str | None] = mapped_column(String(64))
    digest: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    decision: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PendingLogin(Base):
    """A sign-in through the identity provider, between the redirect out and the callback.

    Only hashes: of the `state` the provider hands back, and of the browser-binding cookie.
    The PKCE verifier and the nonce are derived from that cookie's secret, so this row alone
    cannot finish a sign-in (nor can a stolen code without the browser that started it)."""

    __tablename__ = "identity_oidc_logins"

    state_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    binding_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
