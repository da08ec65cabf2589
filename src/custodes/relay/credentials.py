"""Issuing and revoking sellers' SMTP AUTH secrets, each on the record before it takes effect.

A credential decides who may write as a seller, so handing one out is an operator's decision
like creating an API token: the ledger names the seller and the credential by a reference (a
digest of what is stored, so an auditor can match the entry to the row), never the secret.
Rotation names the credential it replaced; a refused attempt (no such seller, nothing to
revoke) is recorded as a deny.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

from sqlalchemy import Engine, delete
from sqlalchemy.orm import Session

from custodes.access.recording import ledger_id
from custodes.ledger.entry import LedgerEntry
from custodes.marketplace.models import Seller
from custodes.relay.auth import new_secret, secret_digest
from custodes.relay.errors import RelayInputError
from custodes.relay.models import SellerCredential
from custodes.store.engine import transaction
from custodes.vocabulary import Verdict

ISSUE = "relay.credentials.issue"
REVOKE = "relay.credentials.revoke"
Append = Callable[[bytes], object]  # the ledger's append: raises if it cannot record


def credential_ref(password_hash: str) -> str:
    """The credential as the ledger names it: a digest of its stored hash (salted, so every
    issue differs), which says nothing about the secret."""
    digest = hashlib.sha256(b"relay-credential|" + password_hash.encode()).digest()
    return "rc_" + base64.b32encode(digest[:20]).decode().lower()


class Credentials:
    """`custodes relay credentials`: read, record, then change. The change runs after the
    append (on SQLite a reading transaction cannot become a writing one once the ledger has
    written), and a change that then fails is recorded as a deny, as operator commands do."""

    def __init__(self, engine: Engine, append: Append, pseudonym_key: bytes, actor: str) -> None:
        self.engine, self.append, self.key, self.actor = engine, append, pseudonym_key, actor

    def issue(self, seller_id: str) -> str:
        """A new secret for the seller (replacing any previous one); returned once."""
        found, old = self._current(seller_id)
        if not found:
            self._record(ISSUE, seller_id, Verdict.DENY, {}, "unknown_seller", known=False)
            raise RelayInputError(f"no seller {seller_id}")
        secret = new_secret()
        hashed = secret_digest(secret)
        extra = {"credential": credential_ref(hashed)}
        if old is not None:
            extra["replaces"] = credential_ref(old)
        with self._recorded(ISSUE, seller_id, extra), transaction(self.engine) as session:
            row = session.get(SellerCredential, seller_id)
            now = datetime.now(UTC)
            if row is None:
                row = SellerCredential(seller_id=seller_id, password_hash=hashed, issued_at=now)
                session.add(row)
            elif row.password_hash != old:
                raise RelayInputError(f"{seller_id}'s credentials changed meanwhile; try again")
            row.password_hash, row.issued_at = hashed, now
        return secret

    def revoke(self, seller_id: str) -> bool:
        """Remove the seller's secret; False (and a recorded deny) if they had none."""
        found, old = self._current(seller_id)
        if old is None:
            reason = "no_credentials" if found else "unknown_seller"
            self._record(REVOKE, seller_id, Verdict.DENY, {}, reason, known=found)
            return False
        extra = {"credential": credential_ref(old)}
        with self._recorded(REVOKE, seller_id, extra), transaction(self.engine) as session:
            session.execute(
                delete(SellerCredential).where(
                    SellerCredential.seller_id == seller_id, SellerCredential.password_hash == old
                )
            )
        return True

    def _current(self, seller_id: str) -> tuple[bool, str | None]:
        """Whether the seller exists, and the stored hash of their credential if any."""
        with Session(self.engine) as session:
            found = session.get(Seller, seller_id) is not None
            row = session.get(SellerCredential, seller_id) if found else None
            return found, row.password_hash if row is not None else None

    @contextlib.contextmanager
    def _recorded(self, action: str, seller_id: str, extra: dict[str, str]) -> Iterator[None]:
        self._record(action, seller_id, Verdict.RECORDED, extra)
        try:
            yield
        except Exception:
            with contextlib.suppress(Exception):
                self._record(action, seller_id, Verdict.DENY, extra, "failed")
            raise

    def _record(
        self,
        action: str,
        seller_id: str,
        decision: str,
        extra: dict[str, str],
        reason: str | None = None,
        known: bool = True,
    ) -> None:
        """Append the entry (raises if the ledger cannot record: then nothing changes). An id
        the operator typed that names no seller appears as a keyed digest."""
        entry = LedgerEntry(
            time=datetime.now(UTC),
            actor=ledger_id(self.key, self.actor, True),
            action=action,
            decision=decision,
            resources=[f"seller:{ledger_id(self.key, seller_id, known)}"],
            reason=reason,
            kind="admin",
            extra=extra,
        )
        self.append(entry.encode())
