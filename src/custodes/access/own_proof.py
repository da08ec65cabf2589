"""The employee as the caller: their own proof with no service in between, for the few `/v1`
steps an employee takes in person (a privacy officer's policy change, see `http_policy`).

Accepted, in order: the employee's OIDC ID token (`X-Custodes-Employee-Token`, verified like
every ID token: JWKS, issuer, audience, times, an active employee) -> proof "oidc"; else their
signed-in session (the `custodes_session` cookie, with the session's CSRF token in
`X-CSRF-Token`, and our Origin when the browser sends one) -> proof "session". No service
token is involved, so the ledger names no `svc`, and no name is ever taken from the request.

A refusal that proves who it was for (a live session without its CSRF token or from another
site, a genuine ID token of a suspended employee) comes back as `Attributed`, for the caller
to record as that employee's deny. Anything else names nobody: a 401 answered, not ledgered,
since an anonymous caller could otherwise grow the ledger at will.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Header, Request

from custodes.access.acting import MAX_ID_TOKEN, Unauthenticated
from custodes.access.door import Door
from custodes.access.principal import (
    CSRF_HEADER,
    PROOF_OIDC,
    PROOF_SESSION,
    TOKEN_HEADER,
    Principal,
    VerifiedTokens,
    make_principal,
)
from custodes.identity.errors import IdentityError
from custodes.identity.service import IdentityService
from custodes.identity.sessions import COOKIE_NAME, check_csrf

# The headers a route taking the employee's own proof declares (and passes to `own_proof`).
IdToken = Annotated[
    str | None,
    Header(
        alias=TOKEN_HEADER,
        max_length=MAX_ID_TOKEN,
        description="The employee's OIDC ID token (JWT), when not signed in",
    ),
]
Csrf = Annotated[
    str | None,
    Header(alias=CSRF_HEADER, max_length=128, description="The signed-in session's CSRF token"),
]
NO_PROOF = (
    f"sign in at /signin (a passkey) and send the session's CSRF token ({CSRF_HEADER}), or "
    f"send your OIDC ID token ({TOKEN_HEADER})"
)


@dataclass(frozen=True)
class Attributed:
    """A refused proof that still showed who sent it: record it as theirs."""

    employee_id: str
    reason: str


def own_proof(
    request: Request, door: Door, id_token: str | None, csrf: str | None
) -> Principal | Attributed:
    """The proven caller (blocking: may verify a token or read a session); Unauthenticated
    (401) when nothing proves anyone. `id_token` and `csrf` are the routes' declared headers."""
    key = door.keyring.pseudonym_key
    if id_token is not None:
        return _by_id_token(request, id_token, key)
    service: IdentityService | None = getattr(request.app.state, "identity", None)
    cookie = request.cookies.get(COOKIE_NAME)
    if not cookie or service is None:
        raise Unauthenticated(f"{NO_PROOF} (no_employee_proof)")
    try:
        session = service.session(cookie)
    except IdentityError as exc:
        raise Unauthenticated(f"sign in again: {exc} ({exc.reason})") from None
    origin = request.headers.get("origin")
    if origin is not None and origin not in service.settings.origins:
        return Attributed(session.employee_id, "cross_origin")
    try:
        check_csrf(session, csrf)
    except IdentityError as exc:
        return Attributed(session.employee_id, exc.reason)
    return make_principal(key, session.employee_id, PROOF_SESSION, None, session.session_ref)


def _by_id_token(request: Request, id_token: str, key: bytes) -> Principal | Attributed:
    tokens: VerifiedTokens | None = getattr(request.app.state, "id_tokens", None)
    if tokens is None:
        raise Unauthenticated(
            "this server trusts no identity provider: sign in with your passkey instead "
            "(oidc_not_configured)"
        )
    verifier = tokens.verifier
    try:
        claims = verifier.claims(id_token)  # an unverified token names nobody: stop here
        employee_id = verifier.claimed_employee(claims)
    except IdentityError as exc:
        raise Unauthenticated(f"the ID token was refused: {exc} ({exc.reason})") from None
    try:
        who = verifier.employee_of(id_token, claims)
    except IdentityError as exc:
        return Attributed(employee_id, exc.reason)
    return make_principal(key, who.employee_id, PROOF_OIDC, None, "jwt:" + who.token_sha256[:32])


__all__ = ["NO_PROOF", "Attributed", "Csrf", "IdToken", "own_proof"]
