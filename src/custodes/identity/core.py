"""What every step of the identity service shares: the engine, the relying party's settings,
the ledger recorder, the clock and the employee directory, plus the few writes several steps
make (a sign-in on the record, a passkey's counter, a password).

Every operation runs in three steps: check (read-only), record the event through
`record(event) -> int` (the ledger; committed), then write. If the ledger refuses, nothing
changes (record before effect, fail closed). Nothing is written before the record, so an
SQLite ledger in the same database is never blocked by our own open write transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from custodes.identity import events as ev
from custodes.identity._codec import from_b64url
from custodes.identity._db import rows_changed
from custodes.identity.directory import EmployeeDirectory
from custodes.identity.errors import CredentialRefused
from custodes.identity.events import IdentityEvent, Recorder
from custodes.identity.models import Credential, Password
from custodes.identity.sessions import NewSession, mint_session
from custodes.identity.settings import WebAuthnSettings
from custodes.vocabulary import Verdict


@dataclass(frozen=True)
class WebAuthnOptions:
    """A challenge id to send back, and the options JSON for navigator.credentials."""

    challenge_id: str
    options_json: str


class ServiceCore:
    def __init__(
        self,
        engine: Engine,
        settings: WebAuthnSettings,
        record: Recorder,
        *,
        directory: EmployeeDirectory | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.record = record
        self.clock = clock or (lambda: datetime.now(UTC))
        self.directory = directory or EmployeeDirectory(engine, self.clock)

    def record_sign_in(
        self,
        employee_id: str,
        method: str,
        now: datetime,
        raw_cred: bytes | None = None,
        sign_count: int | None = None,
        details: dict[str, str | int | None] | None = None,
    ) -> NewSession:
        """A new session's secret, once its sign-in is on the record (store it afterwards)."""
        new = mint_session(employee_id, method, now, now + self.settings.session_ttl)
        self.record(
            IdentityEvent(
                ev.SIGN_IN,
                employee_id,
                now,
                method=method,
                credential_id=raw_cred,
                sign_count=sign_count,
                details={**(details or {}), "session": new.session.session_ref},
            )
        )
        return new

    def record_refusal(
        self, employee_id: str, method: str, reason: str, now: datetime, raw: bytes | None = None
    ) -> None:
        """A refused sign-in of a known employee goes on the record. An id that names nobody
        (whatever an identity provider calls a user who is no employee) is not recorded: the
        ledger is public and forever, and such an id can be a person's name."""
        if not self.directory.exists(employee_id):
            return
        self.record(
            IdentityEvent(
                ev.SIGN_IN,
                employee_id,
                now,
                decision=Verdict.DENY,
                method=method,
                credential_id=raw,
                reason=reason,
            )
        )

    @staticmethod
    def advance_count(db: Session, cred_id: str, previous: int, count: int, now: datetime) -> None:
        """Compare-and-set: two answers verified against the same count cannot both win."""
        moved = rows_changed(
            db,
            update(Credential)
            .where(
                Credential.credential_id == cred_id,
                Credential.sign_count == previous,
                Credential.revoked_at.is_(None),
            )
            .values(sign_count=count, last_used_at=now),
        )
        if moved != 1:
            raise CredentialRefused("replayed_or_cloned", "the passkey was used concurrently")

    @staticmethod
    def passkey_ids(db: Session, employee_id: str) -> list[bytes]:
        return [
            from_b64url(c)
            for c in db.execute(
                select(Credential.credential_id).where(
                    Credential.employee_id == employee_id, Credential.revoked_at.is_(None)
                )
            ).scalars()
        ]

    @staticmethod
    def write_password(db: Session, employee_id: str, hashed: str, now: datetime) -> None:
        row = db.get(Password, employee_id)
        if row is None:
            db.add(Password(employee_id=employee_id, password_hash=hashed, updated_at=now))
        else:
            row.password_hash, row.updated_at = hashed, now
