"""Seller authentication for the relay: SMTP AUTH with a per-seller secret.

The envelope sender is a claim anyone can type, so it never says which seller is writing; a
session says it, once the seller has logged in with the secret `custodes relay credentials`
issued (random, shown once; issuing and revoking are ledgered, see `relay.credentials`).

At rest the secret is a SHA-256 digest (`secret_digest`), as the API's bearer tokens are: it
is 192 random bits, not a password a person chose, so no guessing attack can use a fast hash,
and a slow one (argon2id, 0.17 s of CPU a login) bought nothing but a per-session cost. A
credential stored before this (argon2id) still verifies, the slow way, and a successful check
is remembered for a few minutes under a keyed digest of (login, secret, stored hash), so a
rotated secret stops working at once. Every check compares in constant time, and an unknown
seller costs what a known one does.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from custodes.identity.passwords import verify_password
from custodes.relay.models import SellerCredential

REMEMBER = 300.0  # seconds a verified legacy (argon2id) login skips argon2 on the next session
MAX_LOGIN = 64
SCHEME = "sha256:"
_NOBODY = SCHEME + "0" * 64  # compared against when a seller has no credential


def new_secret() -> str:
    return secrets.token_urlsafe(24)


def secret_digest(secret: str) -> str:
    """How a seller's secret is stored."""
    return SCHEME + hashlib.sha256(b"custodes/relay-secret|" + secret.encode()).hexdigest()


class SellerAuthenticator:
    """login (the seller id) and secret -> the seller id, or None."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._key = secrets.token_bytes(32)
        self._verified: dict[bytes, float] = {}
        self._lock = threading.Lock()

    def verify(self, login: bytes, secret: bytes) -> str | None:
        try:
            seller_id, password = login.decode("ascii"), secret.decode("utf-8")
        except UnicodeDecodeError:
            return None
        if not seller_id or len(seller_id) > MAX_LOGIN:
            return None
        with Session(self.engine) as session:
            row = session.get(SellerCredential, seller_id)
        stored = row.password_hash if row is not None else None
        if stored is not None and not stored.startswith(SCHEME):
            return seller_id if self._legacy(login, secret, stored, password) else None
        matches = hmac.compare_digest(secret_digest(password), stored or _NOBODY)
        return seller_id if matches and stored is not None else None

    def _legacy(self, login: bytes, secret: bytes, stored: str, password: str) -> bool:
        """A credential issued as argon2id: verified slowly, then remembered a while."""
        digest = hmac.new(self._key, b"\0".join((login, secret, stored.encode())), hashlib.sha256)
        key = digest.digest()
        now = time.monotonic()
        with self._lock:
            if self._verified.get(key, 0.0) > now:
                return True
        if not verify_password(stored, password):
            return False
        with self._lock:
            if len(self._verified) > 10_000:
                self._verified = {k: v for k, v in self._verified.items() if v > now}
            self._verified[key] = now + REMEMBER
        return True
