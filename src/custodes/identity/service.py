"""The identity service: enrollment, passkey and password sign-in, sessions, approvals.

Every operation runs in three steps: check (read-only), record the event through
`record(event) -> int` (the ledger; committed), then write. If the ledger refuses, nothing
changes (record before effect, fail closed). Nothing is written before the record, so an
SQLite ledger in the same database is never blocked by our own open write transaction.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, delete, select, update
from sqlalchemy.orm import Session

from custodes.identity import events as ev
from custodes.identity import passkeys, passwords
from custodes.identity._codec import b64url, from_b64url, new_id, new_secret, sha256
from custodes.identity.approvals import (
    ApprovalProof,
    RegisteredCredential,
    approval_challenge,
    check_approval,
)
from custodes.identity.directory import EmployeeDirectory
from custodes.identity.errors import (
    ApprovalRefused,
    CredentialRefused,
    EmployeeRefused,
    EnrollmentRefused,
)
from custodes.identity.events import IdentityEvent, Recorder
from custodes.identity.models import Challenge, Credential, Enrollment, Password, WebSession
from custodes.identity.sessions import (
    EmployeeSession,
    NewSession,
    find_session,
    mint_session,
    revoke_all,
    session_ref,
    store_session,
    view_of,
)
from custodes.identity.settings import WebAuthnSettings
from custodes.store.engine import transaction


@dataclass(frozen=True)
class EnrollmentLink:
    """Printed once by `custodes employees enroll`; the secret sits in the URL's fragment, which
    browsers never send to a server, so it stays out of access logs and Referer headers."""

    token: str
    url: str
    expires_at: datetime


@dataclass(frozen=True)
class WebAuthnOptions:
    """A challenge id to send back, and the options JSON for navigator.credentials."""

    challenge_id: str
    options_json: str


@dataclass(frozen=True)
class CredentialInfo:
    credential_id: str  # base64url
    created_at: datetime
    last_used_at: datetime | None
    ledger_index: int | None


class IdentityService:
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

    # -- enrollment ---------------------------------------------------------------------------

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
            existing = self._passkey_ids(db, enrollment.employee_id)
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
        with transaction(self.engine) as db:  # the challenge is spent whatever happens next
            challenge = passkeys.consume_challenge(db, challenge_id, "register", now)
        with transaction(self.engine) as db:
            enrollment = self._enrollment(db, token, now)
            if challenge.enrollment_id != enrollment.enrollment_id:
                raise EnrollmentRefused("wrong_enrollment", "start again from the enrollment link")
            employee_id, enrollment_id = enrollment.employee_id, enrollment.enrollment_id
            self.directory.require_active(employee_id)
            new = passkeys.verify_registration(self.settings, credential, challenge.challenge)
            cred_id = b64url(new.credential_id)
            if db.get(Credential, cred_id) is not None:
                raise CredentialRefused("credential_exists", "this passkey is already registered")
        hashed = passwords.hash_password(password) if password else None
        index = self.record(
            IdentityEvent(
                ev.CREDENTIAL_REGISTER,
                employee_id,
                now,
                method="passkey",
                credential_id=new.credential_id,
                public_key=new.public_key,
                alg=new.alg,
                sign_count=new.sign_count,
                rp_id=self.settings.rp_id,
                details={"enrollment": enrollment_id},
            )
        )
        if hashed:
            self.record(IdentityEvent(ev.PASSWORD_SET, employee_id, now, method="password"))
        session = self._record_sign_in(employee_id, "passkey", now, new.credential_id)
        with transaction(self.engine) as db:
            claimed = db.execute(
                update(Enrollment)
                .where(Enrollment.enrollment_id == enrollment_id, Enrollment.used_at.is_(None))
                .values(used_at=now)
            ).rowcount
            if claimed != 1:
                raise EnrollmentRefused("enrollment_used", "this enrollment link was already used")
            db.add(
                Credential(
                    credential_id=cred_id,
                    employee_id=employee_id,
                    public_key=new.public_key,
                    alg=new.alg,
                    sign_count=new.sign_count,
                    created_at=now,
                    last_used_at=now,
                    ledger_index=index,
                )
            )
            if hashed:
                self._write_password(db, employee_id, hashed, now)
            store_session(db, session, cred_id, now)
        return session

    # -- sign-in ------------------------------------------------------------------------------

    def signin_options(self, employee_id: str | None = None) -> WebAuthnOptions:
        """Discoverable-credential sign-in (no id typed), or limited to one employee's keys."""
        now = self.clock()
        challenge = secrets.token_bytes(32)
        with transaction(self.engine, immediate=True) as db:
            allowed = self._passkey_ids(db, employee_id) if employee_id else []
            row = passkeys.new_challenge(
                db, "signin", challenge, now, now + self.settings.challenge_ttl
            )
            return WebAuthnOptions(
                row.challenge_id,
                passkeys.authentication_options(self.settings, challenge, allowed),
            )

    def finish_signin(self, challenge_id: str, credential: str | dict[str, Any]) -> NewSession:
        now = self.clock()
        with transaction(self.engine) as db:
            challenge = passkeys.consume_challenge(db, challenge_id, "signin", now)
        assertion = passkeys.parse_assertion(credential)
        cred_id = b64url(assertion.credential_id)
        try:
            with transaction(self.engine) as db:
                row = db.get(Credential, cred_id)
                if row is None or row.revoked_at is not None:
                    raise CredentialRefused("unknown_credential", "this passkey is not registered")
                employee_id, previous = row.employee_id, row.sign_count
                self.directory.require_active(employee_id)
                count = passkeys.verify_assertion(
                    self.settings, assertion, challenge.challenge, row.public_key, previous
                )
        except (CredentialRefused, EmployeeRefused) as exc:
            self._refused(cred_id, "passkey", exc.reason, now, assertion.credential_id)
            raise
        session = self._record_sign_in(employee_id, "passkey", now, assertion.credential_id, count)
        with transaction(self.engine) as db:
            self._advance_count(db, cred_id, previous, count, now)
            store_session(db, session, cred_id, now)
        return session

    def password_signin(self, employee_id: str, password: str) -> NewSession:
        """Sign in with the optional password; a known employee's failure is ledgered."""
        now = self.clock()
        if not isinstance(employee_id, str) or not 0 < len(employee_id) <= 64:
            raise CredentialRefused("bad_password", "wrong employee id or password")
        with transaction(self.engine) as db:
            row = db.get(Password, employee_id)
            stored = row.password_hash if row is not None else None
        if not passwords.verify_password(stored, password):
            if stored is not None:  # a known employee's failed attempt is on the record
                self.record(
                    IdentityEvent(
                        ev.SIGN_IN,
                        employee_id,
                        now,
                        decision="deny",
                        method="password",
                        reason="bad_password",
                    )
                )
            raise CredentialRefused("bad_password", "wrong employee id or password")
        self.directory.require_active(employee_id)
        session = self._record_sign_in(employee_id, "password", now)
        with transaction(self.engine) as db:
            if stored is not None and passwords.needs_rehash(stored):
                self._write_password(db, employee_id, passwords.hash_password(password), now)
            store_session(db, session, None, now)
        return session

    def _record_sign_in(
        self,
        employee_id: str,
        method: str,
        now: datetime,
        raw_cred: bytes | None = None,
        sign_count: int | None = None,
    ) -> NewSession:
        new = mint_session(employee_id, method, now, now + self.settings.session_ttl)
        self.record(
            IdentityEvent(
                ev.SIGN_IN,
                employee_id,
                now,
                method=method,
                credential_id=raw_cred,
                sign_count=sign_count,
                details={"session": new.session.session_ref},
            )
        )
        return new

    def _refused(self, cred_id: str, method: str, reason: str, now: datetime, raw: bytes) -> None:
        with transaction(self.engine) as db:
            row = db.get(Credential, cred_id)
            owner = row.employee_id if row is not None else None
        if owner is not None:
            self.record(
                IdentityEvent(
                    ev.SIGN_IN,
                    owner,
                    now,
                    decision="deny",
                    method=method,
                    credential_id=raw,
                    reason=reason,
                )
            )

    @staticmethod
    def _advance_count(db: Session, cred_id: str, previous: int, count: int, now: datetime) -> None:
        """Compare-and-set: two answers verified against the same count cannot both win."""
        moved = db.execute(
            update(Credential)
            .where(
                Credential.credential_id == cred_id,
                Credential.sign_count == previous,
                Credential.revoked_at.is_(None),
            )
            .values(sign_count=count, last_used_at=now)
        ).rowcount
        if moved != 1:
            raise CredentialRefused("replayed_or_cloned", "the passkey was used concurrently")

    @staticmethod
    def _passkey_ids(db: Session, employee_id: str) -> list[bytes]:
        return [
            from_b64url(c)
            for c in db.execute(
                select(Credential.credential_id).where(
                    Credential.employee_id == employee_id, Credential.revoked_at.is_(None)
                )
            ).scalars()
        ]

    # -- sessions ----------------------------------------------------------------------------

    def session(self, cookie: str | None) -> EmployeeSession:
        """The signed-in employee behind a cookie; refuses expired, revoked, inactive."""
        now = self.clock()
        with transaction(self.engine) as db:
            row = find_session(db, cookie, now, self.settings.session_idle.total_seconds())
            self.directory.require_active(row.employee_id)
            return view_of(row, cookie)  # type: ignore[arg-type]

    def sign_out(self, cookie: str | None) -> None:
        if not cookie or not isinstance(cookie, str) or len(cookie) > 128:
            return
        now = self.clock()
        stored = sha256(cookie)
        with transaction(self.engine) as db:
            row = db.get(WebSession, stored)
            if row is None or row.revoked_at is not None:
                return
            employee_id = row.employee_id
        self.record(
            IdentityEvent(ev.SIGN_OUT, employee_id, now, details={"session": session_ref(stored)})
        )
        with transaction(self.engine) as db:
            db.execute(
                update(WebSession).where(WebSession.session_hash == stored).values(revoked_at=now)
            )

    def purge_expired(self) -> int:
        """Delete spent or expired challenges and ended sessions (the ledger keeps the events);
        for a periodic job. Returns the number of rows removed."""
        now = self.clock()
        with transaction(self.engine) as db:
            gone = db.execute(
                delete(Challenge).where(
                    (Challenge.expires_at <= now) | Challenge.used_at.isnot(None)
                )
            ).rowcount
            gone += db.execute(
                delete(WebSession).where(
                    (WebSession.expires_at <= now) | WebSession.revoked_at.isnot(None)
                )
            ).rowcount
        return int(gone)

    # -- credential changes --------------------------------------------------------------------

    @staticmethod
    def _write_password(db: Session, employee_id: str, hashed: str, now: datetime) -> None:
        row = db.get(Password, employee_id)
        if row is None:
            db.add(Password(employee_id=employee_id, password_hash=hashed, updated_at=now))
        else:
            row.password_hash, row.updated_at = hashed, now

    def set_password(self, session: EmployeeSession, password: str) -> None:
        """Set or change the signed-in employee's password (ledgered)."""
        now = self.clock()
        hashed = passwords.hash_password(password)
        self.record(IdentityEvent(ev.PASSWORD_SET, session.employee_id, now, method="password"))
        with transaction(self.engine) as db:
            self._write_password(db, session.employee_id, hashed, now)

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

    # -- approvals ------------------------------------------------------------------------------

    def begin_approval(
        self,
        approver_id: str,
        request_id: str,
        digest: bytes,
        decision: str,
        approval_id: str | None = None,
    ) -> WebAuthnOptions:
        """An assertion challenge committing to (digest, approval id, decision), limited to the
        approver's own passkeys. `challenge_id` of the answer is the approval id."""
        approval_id = approval_id or new_id("ap")
        challenge = approval_challenge(digest, approval_id, decision)
        now = self.clock()
        with transaction(self.engine, immediate=True) as db:
            self.directory.require_active(approver_id)
            allowed = self._passkey_ids(db, approver_id)
            if not allowed:
                raise ApprovalRefused("no_passkey", "register a passkey before approving")
            passkeys.new_challenge(
                db,
                "approve",
                challenge,
                now,
                now + self.settings.challenge_ttl,
                employee_id=approver_id,
                request_id=request_id,
                digest=digest,
                decision=decision,
                challenge_id=approval_id,
            )
            return WebAuthnOptions(
                approval_id, passkeys.authentication_options(self.settings, challenge, allowed)
            )

    def finish_approval(
        self, approval_id: str, approver_id: str, credential: str | dict[str, Any]
    ) -> ApprovalProof:
        """Verify an approval assertion: the approver's own registered credential, the challenge
        for this approval, origin and RP id, user verification, a strictly increasing count.
        The returned proof goes into the approval's ledger entry (`proof.ledger_extra()`)."""
        now = self.clock()
        try:
            with transaction(self.engine, immediate=True) as db:
                challenge = passkeys.consume_challenge(db, approval_id, "approve", now)
        except CredentialRefused as exc:
            raise ApprovalRefused(exc.reason, "start the approval again") from None
        if challenge.employee_id != approver_id:
            raise ApprovalRefused("not_your_approval", "this approval was started by someone else")
        assert challenge.digest is not None and challenge.decision and challenge.request_id
        try:
            assertion = passkeys.parse_assertion(credential)
        except CredentialRefused as exc:
            raise ApprovalRefused(exc.reason, "the passkey answer is malformed") from None
        cred_id = b64url(assertion.credential_id)
        with transaction(self.engine) as db:
            self.directory.require_active(approver_id)
            row = db.get(Credential, cred_id)
            if row is None or row.revoked_at is not None:
                raise ApprovalRefused("unregistered_credential", "this passkey is not registered")
            registered = RegisteredCredential(
                assertion.credential_id,
                row.employee_id,
                row.public_key,
                self.settings.rp_id,
                row.ledger_index or -1,
            )
            previous = row.sign_count
        proof = ApprovalProof(
            approval_id,
            challenge.request_id,
            challenge.digest,
            challenge.decision,
            approver_id,
            assertion,
            -1,
        ).with_signed_count()
        count = check_approval(proof, registered, previous, self.settings.origins)
        try:
            with transaction(self.engine, immediate=True) as db:
                self._advance_count(db, cred_id, previous, count, now)
        except CredentialRefused as exc:
            raise ApprovalRefused(exc.reason, "the passkey was used concurrently") from None
        return proof
