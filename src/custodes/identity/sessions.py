"""Server-side sessions: the cookie holds 256 random bits, the table only their SHA-256.

The CSRF token is an HMAC of the session secret, so it needs no storage, changes with every
session, and cannot be computed from anything in the database.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from custodes.identity._codec import b64url, new_secret, sha256
from custodes.identity.errors import CsrfRefused, SessionRefused
from custodes.identity.models import WebSession

COOKIE_NAME = "custodes_session"
TOUCH_EVERY_SECONDS = 60  # idle-timeout bookkeeping without a write on every request


@dataclass(frozen=True)
class EmployeeSession:
    """A live session: who, how they signed in, until when, and the CSRF token for forms."""

    employee_id: str
    method: str
    expires_at: datetime
    csrf_token: str
    session_ref: str  # from the stored hash: lets the ledger and logs correlate, opens nothing


@dataclass(frozen=True)
class NewSession:
    """Returned once at sign-in: `cookie` is the secret to put in the Set-Cookie header."""

    cookie: str
    session: EmployeeSession


def session_ref(stored: bytes) -> str:
    """A short public name for a session (ss_ + base32 of its hash's first 10 bytes)."""
    return "ss_" + base64.b32encode(stored[:10]).decode().lower()


def csrf_token(cookie: str) -> str:
    return b64url(hmac.digest(cookie.encode(), b"custodes/csrf/v1", hashlib.sha256))


def mint_session(employee_id: str, method: str, now: datetime, expires_at: datetime) -> NewSession:
    """A new session's secret and view; stored by `store_session` once the sign-in is ledgered."""
    cookie = new_secret("cs")
    return NewSession(cookie, _view(employee_id, method, expires_at, cookie, sha256(cookie)))


def store_session(db: Session, new: NewSession, credential_id: str | None, now: datetime) -> None:
    db.add(
        WebSession(
            session_hash=sha256(new.cookie),
            employee_id=new.session.employee_id,
            method=new.session.method,
            credential_id=credential_id,
            created_at=now,
            expires_at=new.session.expires_at,
            last_seen_at=now,
        )
    )


def find_session(db: Session, cookie: str | None, now: datetime, idle_seconds: float) -> WebSession:
    if not cookie or not isinstance(cookie, str) or len(cookie) > 128:
        raise SessionRefused("no_session", "sign in first")
    row = db.get(WebSession, sha256(cookie))
    if row is None or row.revoked_at is not None:
        raise SessionRefused("no_session", "sign in first")
    if row.expires_at <= now or (now - row.last_seen_at).total_seconds() > idle_seconds:
        raise SessionRefused("session_expired", "the session has expired; sign in again")
    if (now - row.last_seen_at).total_seconds() > TOUCH_EVERY_SECONDS:
        row.last_seen_at = now
    return row


def view_of(row: WebSession, cookie: str) -> EmployeeSession:
    return _view(row.employee_id, row.method, row.expires_at, cookie, row.session_hash)


def revoke_session(db: Session, cookie: str, now: datetime) -> WebSession | None:
    row = db.execute(
        select(WebSession).where(
            WebSession.session_hash == sha256(cookie), WebSession.revoked_at.is_(None)
        )
    ).scalar_one_or_none()
    if row is not None:
        row.revoked_at = now
    return row


def revoke_all(db: Session, employee_id: str, now: datetime) -> None:
    db.execute(
        update(WebSession)
        .where(WebSession.employee_id == employee_id, WebSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def check_csrf(session: EmployeeSession, token: str | None) -> None:
    if not token or not hmac.compare_digest(session.csrf_token.encode(), str(token).encode()):
        raise CsrfRefused("csrf", "the form is stale or forged; reload the page")


def _view(
    employee_id: str, method: str, expires_at: datetime, cookie: str, stored: bytes
) -> EmployeeSession:
    return EmployeeSession(employee_id, method, expires_at, csrf_token(cookie), session_ref(stored))
