"""Typed refusals: each carries a short reason code (ledgerable) and the HTTP status it maps to.

Messages say what to do and never carry PII, token contents or key material.
"""

from __future__ import annotations

from custodes.errors import CustodesError


class IdentityError(CustodesError):
    """Base of every identity refusal; `reason` is a short lowercase code for the ledger."""

    status = 401

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class TokenRefused(IdentityError):
    """An employee ID token failed verification (signature, issuer, audience, time, alg, kid)."""


class JWKSUnavailable(TokenRefused):
    """The identity provider's key set could not be fetched or parsed; fail closed."""


class LoginRefused(IdentityError):
    """A sign-in through the identity provider failed before any ID token was verified: an
    unknown, spent or expired `state`, another browser's callback, a code the provider refused."""


class TooManySignIns(LoginRefused):
    """Sign-ins are begun faster than this client may, or the store of pending sign-ins is
    full (an anonymous flood): try again after `retry_after` seconds."""

    status = 429

    def __init__(self, reason: str, message: str, retry_after: float = 60.0) -> None:
        super().__init__(reason, message)
        self.retry_after = retry_after


class EmployeeRefused(IdentityError):
    """The identity is genuine but names no active employee (unknown, suspended, departed)."""

    status = 403


class EnrollmentRefused(IdentityError):
    """An enrollment link is unknown, expired or already used."""

    status = 400


class CredentialRefused(IdentityError):
    """A passkey or password was not accepted (bad signature, unknown credential, replay)."""


class SessionRefused(IdentityError):
    """No valid session: absent, unknown, expired or signed out."""


class CsrfRefused(IdentityError):
    """A state-changing form came without the session's CSRF token."""

    status = 403


class ApprovalRefused(IdentityError):
    """An approval assertion does not match its challenge, approver, credential or counter."""

    status = 403


class BadRequest(IdentityError):
    """The request body is not what the page's script sends."""

    status = 400
