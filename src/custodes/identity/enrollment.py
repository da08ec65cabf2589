"""Enrollment: a one-time, expiring link (`custodes employees enroll`), then the employee's first
passkey (and optional password), which signs them in. Ledgered: employee.enroll,
credential.register (with the COSE public key, for offline approval checks), password.set,
employee.signin."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from custodes.identity import events as ev
from custodes.identity import passkeys, passwords
from custodes.identity._codec import b64url, new_id, new_secret, sha256
from custodes.identity._db import rows_changed
from custodes.identity.core import ServiceCore, WebAuthnOptions
from custodes.identity.errors import CredentialRefused, EnrollmentRefused
from custodes.identity.events import IdentityEvent
from custodes.identity.models import Credential, Enrollment
from custodes.identity.passkeys import NewCredential
from custodes.identity.sessions import NewSession, store_session
from custodes.store.engine import transaction


@dataclass(frozen=True)
class EnrollmentLink:
    """Printed once by `custodes employees enroll`; the secret sits in the URL's fragment, which
    browsers never send to a server, so it stays out of access logs and Referer headers."""

    token: str
    url: str
    expires_at: datetime


@dataclass(frozen=True)
class _Registered:
    """A verified new passkey, for the enrollment it answers."""

    employee_id: str
    enrollment_id: str
    credential: NewCredential


class EnrollmentSteps(ServiceCore):
    def enroll(self, employee_id: str) -> EnrollmentLink:
        """A one-time, expiring enrollment link for an active employee (ledgered)."""
        self.directory.require_active(employee_id)
        now = self.clock()
        token = new_secret("ce")
        expires = now + self.settings.enrollment_ttl
        ttl = int(self.settings.enrollment_ttl.total_seconds())
        enrollment_id = new_id("en")
        self.record(
            IdentityEvent(
                ev.ENROLL, employee_id, now, details={"ttl_s": ttl, "enrollment": enrollment_id}
            )
        )
        with transaction(self.engine) as db:
            db.add(
                Enrollment(
                    enrollment_id=enrollment_id,
                    token_hash=sha256(token),
                    employee_id=employee_id,
                    created_at=now,
                    expires_at=expires,
                )
            )
        return EnrollmentLink(token, f"{self.settings.origin}/enroll#{token}", expires)

    def _enrollment(self, db: Session, token: str, now: datetime) -> Enrollment:
        if not isinstance(token, str) or not token.startswith("ce_") or len(token) > 64:
            raise EnrollmentRefused("unknown_enrollment", "this enrollment link is not valid")
        row = db.execute(
            select(Enrollment).where(Enrollment.token_hash == sha256(token))
        ).scalar_one_or_none()
        if row is None:
            raise EnrollmentRefused("unknown_enrollment", "this enrollment link is not valid")
        if row.used_at is not None:
            raise EnrollmentRefused("enrollment_used", "this enrollment link was already used")
        if row.expires_at <= now:
            raise EnrollmentRefused(
                "enrollment_expired", "this enrollment link has expired; ask for a new one"
            )
        return row

    def enrollment_employee(self, token: str) -> str:
        with transaction(self.engine) as db:
            return self._enrollment(db, token, self.clock()).employee_id

    def registration_options(self, token: str) -> WebAuthnOptions:
        now = self.clock()
        challenge = secrets.token_bytes(32)
        with transaction(self.engine, immediate=True) as db:
            enrollment = self._enrollment(db, token, now)
            self.directory.require_active(enrollment.employee_id)
            existing = self.passkey_ids(db, enrollment.employee_id)
            row = passkeys.new_challenge(
                db,
                "register",
                challenge,
                now,
                now + self.settings.challenge_ttl,
                employee_id=enrollment.employee_id,
                enrollment_id=enrollment.enrollment_id,
            )
            options = passkeys.registration_options(
                self.settings, enrollment.employee_id, challenge, existing
            )
            return WebAuthnOptions(row.challenge_id, options)

    def finish_registration(
        self,
        token: str,
        challenge_id: str,
        credential: str | dict[str, Any],
        password: str | None = None,
    ) -> NewSession:
        """Verify the new passkey, store it (and the password, if any), use up the link and
        sign the employee in. Ledgered: credential.register, password.set, employee.signin."""
        if password:
            passwords.check_new_password(password)
        now = self.clock()
        done = self._verify_registration(token, challenge_id, credential, now)
        new = done.credential
        hashed = passwords.hash_password(password) if password else None
        index = self.record(
            IdentityEvent(
                ev.CREDENTIAL_REGISTER,
                done.employee_id,
                now,
                method="passkey",
                credential_id=new.credential_id,
                public_key=new.public_key,
                alg=new.alg,
                sign_count=new.sign_count,
                rp_id=self.settings.rp_id,
                details={"enrollment": done.enrollment_id},
            )
        )
        if hashed:
            self.record(IdentityEvent(ev.PASSWORD_SET, done.employee_id, now, method="password"))
        session = self.record_sign_in(done.employee_id, "passkey", now, new.credential_id)
        self._store_registration(done, index, hashed, session, now)
        return session

    def _verify_registration(
        self, token: str, challenge_id: str, credential: str | dict[str, Any], now: datetime
    ) -> _Registered:
        with transaction(self.engine) as db:  # the challenge is spent whatever happens next
            challenge = passkeys.consume_challenge(db, challenge_id, "register", now)
        with transaction(self.engine) as db:
            enrollment = self._enrollment(db, token, now)
            if challenge.enrollment_id != enrollment.enrollment_id:
                raise EnrollmentRefused("wrong_enrollment", "start again from the enrollment link")
            self.directory.require_active(enrollment.employee_id)
            new = passkeys.verify_registration(self.settings, credential, challenge.challenge)
            if db.get(Credential, b64url(new.credential_id)) is not None:
                raise CredentialRefused("credential_exists", "this passkey is already registered")
            return _Registered(enrollment.employee_id, enrollment.enrollment_id, new)

    def _store_registration(
        self,
        done: _Registered,
        index: int,
        hashed: str | None,
        session: NewSession,
        now: datetime,
    ) -> None:
        cred_id = b64url(done.credential.credential_id)
        with transaction(self.engine) as db:
            claimed = rows_changed(
                db,
                update(Enrollment)
                .where(Enrollment.enrollment_id == done.enrollment_id, Enrollment.used_at.is_(None))
                .values(used_at=now),
            )
            if claimed != 1:
                raise EnrollmentRefused("enrollment_used", "this enrollment link was already used")
            db.add(
                Credential(
                    credential_id=cred_id,
                    employee_id=done.employee_id,
                    public_key=done.credential.public_key,
                    alg=done.credential.alg,
                    sign_count=done.credential.sign_count,
                    created_at=now,
                    last_used_at=now,
                    ledger_index=index,
                )
            )
            if hashed:
                self.write_password(db, done.employee_id, hashed, now)
            store_session(db, session, cred_id, now)
