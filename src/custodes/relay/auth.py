"""Seller authentication for the relay: SMTP AUTH with a per-seller secret.

The envelope sender is a claim anyone can type, so it never says which seller is writing; a
session says it, once the seller has logged in with the secret `custodes relay credentials`
issued (random, shown once, argon2id at rest). Verification runs off the event loop, costs the
same for unknown sellers, and a successful check is remembered for a few minutes under a keyed
digest of (login, secret, stored hash), so a rotated secret stops working at once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from custodes.identity.passwords import hash_password, verify_password
from custodes.marketplace.models import Seller
from custodes.relay.errors import RelayInputError
from custodes.relay.models import SellerCredential
from custodes.store.engine import transaction

REMEMBER = 300.0  # seconds a verified (login, secret) pair skips argon2 on the next session
MAX_LOGIN = 64


def issue_credentials(engine: Engine, seller_id: str) -> str:
    """A new secret for the seller (replacing any previous one); returned once, stored hashed."""
    secret = secrets.token_urlsafe(24)
    with transaction(engine) as session:
        if session.get(Seller, seller_id) is None:
            raise RelayInputError(f"no seller {seller_id}")
        row = session.get(SellerCredential, seller_id)
        hashed = hash_password(secret)
        if row is None:
            session.add(
                SellerCredential(
                    seller_id=seller_id, password_hash=hashed, issued_at=datetime.now(UTC)
                )
            )
        else:
            row.password_hash, row.issued_at = hashed, datetime.now(UTC)
    return secret


def revoke_credentials(engine: Engine, seller_id: str) -> bool:
    with transaction(engine) as session:
        row = session.get(SellerCredential, seller_id)
        if row is not None:
            session.delete(row)
    return row is not None


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
