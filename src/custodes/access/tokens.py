"""API tokens for calling services: random, shown once, stored as SHA-256, scoped, revocable."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from custodes.access.models import ApiToken
from custodes.errors import InputError

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


def create_token(session: Session, name: str, scopes: list[str]) -> tuple[str, str]:
    """Returns (token_id, token). The token is shown once; only its hash is kept."""
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise InputError(f"scopes must be among: {', '.join(SCOPES)}")
    if not name or len(name) > 100 or not all(c.isalnum() or c in "-_." for c in name):
        raise InputError("token name: 1-100 letters, digits or -_.")
    token_id = secrets.token_hex(8)
    token = PREFIX + secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            token_id=token_id,
            name=name,
            token_hash=_hash(token),
            scopes=" ".join(sorted(set(scopes))),
            created_at=datetime.now(UTC),
        )
    )
    return token_id, token


@dataclass(frozen=True)
class TokenInfo:
    token_id: str
    name: str
    scopes: frozenset[str]


CACHE_SECONDS = 2.0  # a revocation takes effect within this long
_cache: dict[bytes, tuple[float, TokenInfo | None]] = {}


def authenticate(session: Session, token: str) -> TokenInfo | None:
    """The live token for a presented token, or None (unknown or revoked).

    Lookups are cached for CACHE_SECONDS: the hot path skips a query, revocation still bites fast.
    """
    if not token.startswith(PREFIX) or len(token) > 200:
        return None
    digest = _hash(token)
    now = time.monotonic()
    hit = _cache.get(digest)
    if hit is not None and hit[0] > now:
        return hit[1]
    record = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest))
    info = None
    if record is not None and record.revoked_at is None:
        info = TokenInfo(record.token_id, record.name, frozenset(record.scopes.split()))
    if len(_cache) > 10_000:
        _cache.clear()
    _cache[digest] = (now + CACHE_SECONDS, info)
    return info


def revoke_token(session: Session, token_id: str) -> None:
    changed = session.execute(
        update(ApiToken)
        .where(ApiToken.token_id == token_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
    ).rowcount
    if not changed:
        raise InputError(f"no live token {token_id}")
    _cache.clear()  # in this process, at once
