"""Approving with a passkey (transaction authorization): the challenge commits to the request's
digest, the approval id and the decision, only the approver's own passkeys may answer it, and
the verified assertion becomes the proof the approval's ledger entry carries
(`approvals.ApprovalProof`; the pure checks are in `approvals`)."""

from __future__ import annotations

from typing import Any

from custodes.identity import passkeys
from custodes.identity._codec import b64url, new_id
from custodes.identity.approvals import (
    ApprovalProof,
    RegisteredCredential,
    approval_challenge,
    check_approval,
)
from custodes.identity.core import ServiceCore, WebAuthnOptions
from custodes.identity.errors import ApprovalRefused, CredentialRefused
from custodes.identity.models import Challenge, Credential
from custodes.identity.passkeys import Assertion
from custodes.store.engine import transaction


class ApprovalSteps(ServiceCore):
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
            allowed = self.passkey_ids(db, approver_id)
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
        for this approval, origin and RP id, user verification, the sign-count rule
        (`approvals.counter_ok`). The returned proof goes into the approval's ledger entry
        (`proof.ledger_extra()`)."""
        now = self.clock()
        challenge = self._spend_approval(approval_id, approver_id)
        try:
            assertion = passkeys.parse_assertion(credential)
        except CredentialRefused as exc:
            raise ApprovalRefused(exc.reason, "the passkey answer is malformed") from None
        registered, previous = self._registered(approver_id, assertion)
        assert challenge.digest is not None and challenge.decision and challenge.request_id
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
                self.advance_count(db, b64url(assertion.credential_id), previous, count, now)
        except CredentialRefused as exc:
            raise ApprovalRefused(exc.reason, "the passkey was used concurrently") from None
        return proof

    def _spend_approval(self, approval_id: str, approver_id: str) -> Challenge:
        try:
            with transaction(self.engine, immediate=True) as db:
                challenge = passkeys.consume_challenge(db, approval_id, "approve", self.clock())
        except CredentialRefused as exc:
            raise ApprovalRefused(exc.reason, "start the approval again") from None
        if challenge.employee_id != approver_id:
            raise ApprovalRefused("not_your_approval", "this approval was started by someone else")
        return challenge

    def _registered(
        self, approver_id: str, assertion: Assertion
    ) -> tuple[RegisteredCredential, int]:
        """The credential the assertion names, as registered, and its last sign count."""
        with transaction(self.engine) as db:
            self.directory.require_active(approver_id)
            row = db.get(Credential, b64url(assertion.credential_id))
            if row is None or row.revoked_at is not None:
                raise ApprovalRefused("unregistered_credential", "this passkey is not registered")
            registered = RegisteredCredential(
                assertion.credential_id,
                row.employee_id,
                row.public_key,
                self.settings.rp_id,
                row.ledger_index or -1,
            )
            return registered, row.sign_count
