"""API tokens for calling services: random, shown once, stored as SHA-256, scoped, revocable."""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from custodes.access.models import ApiToken
from custodes.errors import InputError
from custodes.store.engine import rows_changed

SCOPES = (
    "customers:read",
    "customers:reveal",
    "customers:write",
    "cases:write",
    "records:read",
    "requests:write",
    "approvals:write",
    "decisions:read",
    # Legacy: the service may name the employee in X-Custodes-Employee (reads only, and each
    # decision is marked "asserted by service"); `tokens create --trust-employee-header`.
    "employee:assert",
)
PREFIX = "cst_"


def _hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def check_token_request(name: str, scopes: list[str], expires_in: timedelta | None) -> None:
    """What `create_token` refuses (InputError), to ask before anything is recorded."""
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise InputError(f"scopes must be among: {', '.join(SCOPES)}")
    if not name or len(name) > 100 or not all(c.isalnum() or c in "-_." for c in name):
        raise InputError("token name: 1-100 letters, digits or -_.")
    if expires_in is not None and expires_in <= timedelta(0):
        raise InputError("a token's lifetime must be positive")


def new_token_id() -> str:
    return secrets.token_hex(8)


def create_token(
    session: Session,
    name: str,
    scopes: list[str],
    expires_in: timedelta | None = None,
    token_id: str | None = None,
) -> tuple[str, str]:
    """Returns (token_id, token). The token is shown once; only its hash is kept.

    With `expires_in`, the token stops authenticating that long from now; `token_id` is one
    chosen beforehand (`new_token_id`), so the ledger can name the token before it exists.
    """
    check_token_request(name, scopes, expires_in)
    token_id = token_id or new_token_id()
    token = PREFIX + secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    session.add(
        ApiToken(
            token_id=token_id,
            name=name,
            token_hash=_hash(token),
            scopes=" ".join(sorted(set(scopes))),
            created_at=now,
            expires_at=None if expires_in is None else now + expires_in,
        )
    )
    return token_id, token


_DURATION = re.compile(r"^(\d{1,6})([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str) -> timedelta:
    """`30m`, `12h`, `90d`, `2w`: the lifetimes `tokens create --expires-in` accepts."""
    match = _DURATION.match(text.strip().lower())
    if not match or int(match.group(1)) == 0:
        raise InputError(f"--expires-in {text[:20]!r}: use a positive number with m, h, d or w")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


@dataclass(frozen=True)
class TokenRecord:
    """What `tokens list` shows: never the token or its hash."""

    token_id: str
    name: str
    scopes: tuple[str, ...]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None

    def state(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "live"


def list_tokens(session: Session) -> list[TokenRecord]:
    rows = session.scalars(select(ApiToken).order_by(ApiToken.created_at, ApiToken.token_id))
    return [
        TokenRecord(
            r.token_id,
            r.name,
            tuple(r.scopes.split()),
            r.created_at,
            r.expires_at,
            r.revoked_at,
        )
        for r in rows
    ]


@dataclass(frozen=True)
class TokenInfo:
    token_id: str
    name: str
    scopes: frozenset[str]
    expires_at: datetime | None = None


CACHE_SECONDS = 2.0  # a revocation takes effect within this long
_cache: dict[bytes, tuple[float, TokenInfo | None]] = {}


def cached_token(token: str) -> TokenInfo | Literal[False] | None:
    """`authenticate`'s answer if it is cached (a TokenInfo, or None for a refusal); False
    when only the database can say (so the hot path opens no session on a hit)."""
    if not token.startswith(PREFIX) or len(token) > 200:
        return None
    hit = _cache.get(_hash(token))
    if hit is not None and hit[0] > time.monotonic():
        return _unexpired(hit[1])
    return False


def authenticate(session: Session, token: str) -> TokenInfo | None:
    """The live token for a presented token, or None (unknown or revoked).

    Lookups are cached for CACHE_SECONDS: the hot path skips a query, revocation still bites fast.
    """
    cached = cached_token(token)
    if cached is not False:
        return cached
    digest = _hash(token)
    record = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest))
    info = None
    if record is not None and record.revoked_at is None:
        info = TokenInfo(
            record.token_id, record.name, frozenset(record.scopes.split()), record.expires_at
        )
    if len(_cache) > 10_000:
        _cache.clear()
    _cache[digest] = (time.monotonic() + CACHE_SECONDS, info)
    return _unexpired(info)


def _unexpired(info: TokenInfo | None) -> TokenInfo | None:
    """An expired token authenticates as nothing (checked on every call, cached or not)."""
    if info is not None and info.expires_at is not None and info.expires_at <= datetime.now(UTC):
        return None
    return info


def revoke_token(session: Session, token_id: str) -> None:
    changed = rows_changed(
        session.execute(
            update(ApiToken)
            .where(ApiToken.token_id == token_id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=datetime.now(UTC))
        )
    )
    if not changed:
        raise InputError(f"no live token {token_id}")
    _cache.clear()  # in this process, at once
