"""A signed-in employee's own credentials: set the password, list and retire passkeys. Each
change is on the record before it is made; retiring a passkey ends that employee's sessions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from custodes.identity import events as ev
from custodes.identity import passwords
from custodes.identity._codec import from_b64url
from custodes.identity.core import ServiceCore
from custodes.identity.errors import CredentialRefused
from custodes.identity.events import IdentityEvent
from custodes.identity.models import Credential
from custodes.identity.sessions import EmployeeSession, revoke_all
from custodes.store.engine import transaction


@dataclass(frozen=True)
class CredentialInfo:
    credential_id: str  # base64url
    created_at: datetime
    last_used_at: datetime | None
    ledger_index: int | None


class CredentialSteps(ServiceCore):
    def set_password(self, session: EmployeeSession, password: str) -> None:
        """Set or change the signed-in employee's password (ledgered)."""
        now = self.clock()
        hashed = passwords.hash_password(password)
        self.record(IdentityEvent(ev.PASSWORD_SET, session.employee_id, now, method="password"))
        with transaction(self.engine) as db:
            self.write_password(db, session.employee_id, hashed, now)

    def revoke_credential(self, session: EmployeeSession, credential_id: str) -> None:
        """Retire one of the signed-in employee's own passkeys; their sessions end with it."""
        now = self.clock()
        with transaction(self.engine) as db:
            row = db.get(Credential, credential_id) if isinstance(credential_id, str) else None
            if row is None or row.employee_id != session.employee_id or row.revoked_at:
                raise CredentialRefused("unknown_credential", "no such passkey of yours")
        self.record(
            IdentityEvent(
                ev.CREDENTIAL_REVOKE,
                session.employee_id,
                now,
                credential_id=from_b64url(credential_id),
            )
        )
        with transaction(self.engine) as db:
            db.execute(
                update(Credential)
                .where(Credential.credential_id == credential_id)
                .values(revoked_at=now)
            )
            revoke_all(db, session.employee_id, now)

    def credentials(self, employee_id: str) -> list[CredentialInfo]:
        with transaction(self.engine) as db:
            rows = (
                db.execute(
                    select(Credential)
                    .where(Credential.employee_id == employee_id, Credential.revoked_at.is_(None))
                    .order_by(Credential.created_at)
                )
                .scalars()
                .all()
            )
            return [
                CredentialInfo(r.credential_id, r.created_at, r.last_used_at, r.ledger_index)
                for r in rows
            ]
