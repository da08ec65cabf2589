"""Signing in with a passkey or the optional password, the session behind a cookie, signing out.
A known employee's refused attempt is on the record, like every sign-in and sign-out."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import delete, update

from custodes.identity import events as ev
from custodes.identity import passkeys, passwords
from custodes.identity._codec import b64url, sha256
from custodes.identity._db import rows_changed
from custodes.identity.core import ServiceCore, WebAuthnOptions
from custodes.identity.errors import CredentialRefused, EmployeeRefused
from custodes.identity.events import IdentityEvent
from custodes.identity.models import Challenge, Credential, Password, PendingLogin, WebSession
from custodes.identity.sessions import (
    EmployeeSession,
    NewSession,
    find_session,
    session_ref,
    store_session,
    view_of,
)
from custodes.store.engine import transaction


class SignInSteps(ServiceCore):
    def signin_options(self, employee_id: str | None = None) -> WebAuthnOptions:
        """Discoverable-credential sign-in (no id typed), or limited to one employee's keys."""
        now = self.clock()
        challenge = secrets.token_bytes(32)
        with transaction(self.engine, immediate=True) as db:
            allowed = self.passkey_ids(db, employee_id) if employee_id else []
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
            self._refused(cred_id, exc.reason, assertion.credential_id)
            raise
        session = self.record_sign_in(employee_id, "passkey", now, assertion.credential_id, count)
        with transaction(self.engine) as db:
            self.advance_count(db, cred_id, previous, count, now)
            store_session(db, session, cred_id, now)
        return session

    def _refused(self, cred_id: str, reason: str, raw: bytes) -> None:
        with transaction(self.engine) as db:
            row = db.get(Credential, cred_id)
            owner = row.employee_id if row is not None else None
        if owner is not None:
            self.record_refusal(owner, "passkey", reason, self.clock(), raw)

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
                self.record_refusal(employee_id, "password", "bad_password", now)
            raise CredentialRefused("bad_password", "wrong employee id or password")
        self.directory.require_active(employee_id)
        session = self.record_sign_in(employee_id, "password", now)
        with transaction(self.engine) as db:
            if stored is not None and passwords.needs_rehash(stored):
                self.write_password(db, employee_id, passwords.hash_password(password), now)
            store_session(db, session, None, now)
        return session

    def session(self, cookie: str | None) -> EmployeeSession:
        """The signed-in employee behind a cookie; refuses expired, revoked, inactive."""
        now = self.clock()
        with transaction(self.engine) as db:
            row = find_session(db, cookie, now, self.settings.session_idle.total_seconds())
            self.directory.require_active(row.employee_id)
            assert cookie is not None  # find_session refuses an absent cookie
            return view_of(row, cookie)

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
        """Delete spent or expired challenges and provider sign-ins, and ended sessions (the
        ledger keeps the events); for a periodic job. Returns the number of rows removed."""
        now = self.clock()
        with transaction(self.engine) as db:
            gone = rows_changed(
                db,
                delete(Challenge).where(
                    (Challenge.expires_at <= now) | Challenge.used_at.isnot(None)
                ),
            )
            gone += rows_changed(
                db,
                delete(WebSession).where(
                    (WebSession.expires_at <= now) | WebSession.revoked_at.isnot(None)
                ),
            )
            gone += rows_changed(
                db,
                delete(PendingLogin).where(
                    (PendingLogin.expires_at <= now) | PendingLogin.used_at.isnot(None)
                ),
            )
        return gone
