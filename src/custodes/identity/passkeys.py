"""WebAuthn (py_webauthn) plumbing: options, verification, and challenge bookkeeping.

Only ES256 and EdDSA credentials are accepted: their COSE public keys are small enough to live
in a ledger entry, which is what lets an auditor check approvals offline.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import webauthn
from sqlalchemy import update
from sqlalchemy.orm import Session
from webauthn.helpers import parse_authentication_credential_json
from webauthn.helpers.cose import COSEAlgorithmIdentifier
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from custodes.identity._codec import b64url, from_b64url, new_id
from custodes.identity._db import rows_changed
from custodes.identity.errors import CredentialRefused
from custodes.identity.models import Challenge
from custodes.identity.settings import WebAuthnSettings

ALGORITHMS = [COSEAlgorithmIdentifier.ECDSA_SHA_256, COSEAlgorithmIdentifier.EDDSA]
MAX_CREDENTIAL_JSON = 64 * 1024
MAX_CREDENTIAL_ID = 192  # bytes; its base64url fits the 256-character column


def user_handle(employee_id: str) -> bytes:
    """The WebAuthn user.id: stable per employee, derived, never a name or e-mail."""
    return hashlib.sha256(b"custodes/user/" + employee_id.encode()).digest()[:16]


def _uv(settings: WebAuthnSettings) -> UserVerificationRequirement:
    return (
        UserVerificationRequirement.REQUIRED
        if settings.user_verification
        else UserVerificationRequirement.PREFERRED
    )


def registration_options(
    settings: WebAuthnSettings, employee_id: str, challenge: bytes, existing: list[bytes]
) -> str:
    options = webauthn.generate_registration_options(
        rp_id=settings.rp_id,
        rp_name=settings.rp_name,
        user_name=employee_id,
        user_id=user_handle(employee_id),
        user_display_name=employee_id,
        challenge=challenge,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED, user_verification=_uv(settings)
        ),
        exclude_credentials=[PublicKeyCredentialDescriptor(id=c) for c in existing],
        supported_pub_key_algs=ALGORITHMS,
    )
    return webauthn.options_to_json(options)


def authentication_options(
    settings: WebAuthnSettings, challenge: bytes, allowed: list[bytes]
) -> str:
    options = webauthn.generate_authentication_options(
        rp_id=settings.rp_id,
        challenge=challenge,
        allow_credentials=[PublicKeyCredentialDescriptor(id=c) for c in allowed],
        user_verification=_uv(settings),
    )
    return webauthn.options_to_json(options)


@dataclass(frozen=True)
class NewCredential:
    credential_id: bytes
    public_key: bytes
    alg: int
    sign_count: int


def verify_registration(
    settings: WebAuthnSettings, credential: str | dict[str, Any], challenge: bytes
) -> NewCredential:
    try:
        verified = webauthn.verify_registration_response(
            credential=_json(credential),
            expected_challenge=challenge,
            expected_rp_id=settings.rp_id,
            expected_origin=settings.origins,
            require_user_verification=settings.user_verification,
            supported_pub_key_algs=ALGORITHMS,
        )
    except (WebAuthnException, ValueError, KeyError, TypeError):
        raise CredentialRefused(
            "bad_registration", "the passkey registration did not verify"
        ) from None
    if len(verified.credential_id) > MAX_CREDENTIAL_ID:
        raise CredentialRefused(
            "credential_id_too_long", "this authenticator's credential id is too long"
        )
    alg = _cose_alg(verified.credential_public_key)
    return NewCredential(
        verified.credential_id, verified.credential_public_key, alg, verified.sign_count
    )


def _cose_alg(public_key: bytes) -> int:
    from webauthn.helpers import decode_credential_public_key

    return int(decode_credential_public_key(public_key).alg)


@dataclass(frozen=True)
class Assertion:
    """The parts of a WebAuthn assertion that are signed or identify the key."""

    credential_id: bytes
    authenticator_data: bytes
    client_data_json: bytes
    signature: bytes


def parse_assertion(credential: str | dict[str, Any]) -> Assertion:
    try:
        parsed = parse_authentication_credential_json(_json(credential))
    except (WebAuthnException, ValueError, KeyError, TypeError):
        raise CredentialRefused("malformed_assertion", "the passkey answer is malformed") from None
    return Assertion(
        parsed.raw_id,
        parsed.response.authenticator_data,
        parsed.response.client_data_json,
        parsed.response.signature,
    )


def verify_assertion(
    settings: WebAuthnSettings | None,
    assertion: Assertion,
    challenge: bytes,
    public_key: bytes,
    current_sign_count: int,
    *,
    rp_id: str | None = None,
    origins: list[str] | None = None,
    require_user_verification: bool | None = None,
) -> int:
    """Checks the assertion (type, challenge, origin, RP id hash, user presence/verification,
    signature) and returns its sign count. The counter rule here is py_webauthn's (strictly
    greater unless both are zero), the same as `approvals.counter_ok`."""
    payload = {
        "id": b64url(assertion.credential_id),
        "rawId": b64url(assertion.credential_id),
        "type": "public-key",
        "response": {
            "authenticatorData": b64url(assertion.authenticator_data),
            "clientDataJSON": b64url(assertion.client_data_json),
            "signature": b64url(assertion.signature),
        },
    }
    if settings is not None:
        rp_id = settings.rp_id if rp_id is None else rp_id
        origins = settings.origins if origins is None else origins
        if require_user_verification is None:
            require_user_verification = settings.user_verification
    if rp_id is None or origins is None or require_user_verification is None:
        raise TypeError("verify_assertion needs settings, or rp_id, origins and uv")
    try:
        verified = webauthn.verify_authentication_response(
            credential=payload,
            expected_challenge=challenge,
            expected_rp_id=rp_id,
            expected_origin=origins,
            credential_public_key=public_key,
            credential_current_sign_count=current_sign_count,
            require_user_verification=require_user_verification,
        )
    except (WebAuthnException, ValueError, KeyError, TypeError) as exc:
        reason = "replayed_or_cloned" if "sign count" in str(exc) else "bad_assertion"
        raise CredentialRefused(reason, "the passkey answer did not verify") from None
    return int(verified.new_sign_count)


def new_challenge(
    db: Session,
    purpose: str,
    challenge: bytes,
    now: datetime,
    expires_at: datetime,
    *,
    challenge_id: str | None = None,
    **bound: str | bytes | None,
) -> Challenge:
    """A one-time challenge; `bound` is what its answer must later match (employee_id,
    enrollment_id, request_id, digest, decision: the `Challenge` columns)."""
    row = Challenge(
        challenge_id=challenge_id or new_id("wc"),
        purpose=purpose,
        challenge=challenge,
        created_at=now,
        expires_at=expires_at,
        **bound,
    )
    db.add(row)
    return row


def consume_challenge(db: Session, challenge_id: str, purpose: str, now: datetime) -> Challenge:
    """Marks the challenge used (once, atomically) and returns it; refuses expired or reused."""
    if not isinstance(challenge_id, str) or len(challenge_id) > 40:
        raise CredentialRefused("unknown_challenge", "start again: the challenge is unknown")
    claimed = rows_changed(
        db,
        update(Challenge)
        .where(
            Challenge.challenge_id == challenge_id,
            Challenge.purpose == purpose,
            Challenge.used_at.is_(None),
            Challenge.expires_at > now,
        )
        .values(used_at=now),
    )
    if claimed != 1:
        raise CredentialRefused("stale_challenge", "start again: the challenge expired or was used")
    row = db.get(Challenge, challenge_id)
    assert row is not None
    return row


def credential_id_of(credential: str | dict[str, Any]) -> bytes:
    """The raw id a browser's answer names (before any verification)."""
    raw = _json(credential)
    try:
        data = json.loads(raw)
        ident = from_b64url(str(data["rawId"]))
    except (ValueError, KeyError, TypeError):
        raise CredentialRefused("malformed_assertion", "the passkey answer is malformed") from None
    if not ident or len(ident) > MAX_CREDENTIAL_ID:
        raise CredentialRefused("malformed_assertion", "the passkey answer is malformed")
    return ident


def _json(credential: str | dict[str, Any]) -> str:
    text = credential if isinstance(credential, str) else json.dumps(credential)
    if len(text) > MAX_CREDENTIAL_JSON:
        raise CredentialRefused("malformed_assertion", "the passkey answer is too large")
    return text
