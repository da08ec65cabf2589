"""Seller authentication for the relay: SMTP AUTH with a per-seller secret.

The envelope sender is a claim anyone can type, so it never says which seller is writing; a
session says it, once the seller has logged in with the secret `custodes relay credentials`
issued (random, shown once, argon2id at rest; issuing and revoking are ledgered, see
`relay.credentials`). Verification runs off the event loop, costs the same for unknown sellers,
and a successful check is remembered for a few minutes under a keyed digest of (login, secret,
stored hash), so a rotated secret stops working at once.
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

REMEMBER = 300.0  # seconds a verified (login, secret) pair skips argon2 on the next session
MAX_LOGIN = 64


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
        digest = hmac.new(
            self._key, b"\0".join((login, secret, (stored or "").encode())), hashlib.sha256
        ).digest()
        now = time.monotonic()
        with self._lock:
            if stored is not None and self._verified.get(digest, 0.0) > now:
                return seller_id
        if not verify_password(stored, password):  # same cost for unknown sellers
            return None
        with self._lock:
            if len(self._verified) > 10_000:
                self._verified = {k: v for k, v in self._verified.items() if v > now}
            self._verified[digest] = now + REMEMBER
        return seller_id
