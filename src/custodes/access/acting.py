"""The `/v1` dependencies that say who is calling: the service (its bearer token and scope) and
the employee it acts for, with how that employee was proven (see `access.principal`).

Refused employee proofs are recorded before the 401 is sent: which service token, which method,
the identity error's reason code; never the token or the name it claimed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, NoReturn

from fastapi import Depends, Header, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from custodes.access.principal import (
    ASSERT_SCOPE,
    CSRF_HEADER,
    EMPLOYEE_HEADER,
    PROOF_ASSERTED,
    PROOF_OIDC,
    PROOF_SESSION,
    SAFE_METHODS,
    TOKEN_HEADER,
    Principal,
    VerifiedTokens,
    make_principal,
    refusal_entry,
    set_acting,
)
from custodes.access.tokens import TokenInfo, authenticate
from custodes.errors import ForbiddenError, UnauthenticatedError
from custodes.ledger.sequencer import LedgerUnavailable

ID_CHARS = r"^[A-Za-z0-9_.:-]+$"
MAX_ID_TOKEN = 16 * 1024


class Unauthenticated(UnauthenticatedError):
    """401: no live service token, or no acceptable proof of the employee."""


class MissingScope(ForbiddenError):
    """403: the service token lacks the scope this endpoint needs."""


async def service_token(request: Request, authorization: str | None, scope: str) -> TokenInfo:
    """The live bearer token carrying `scope`. Async on purpose: a sync dependency costs every
    request an extra thread hop, and the lookup is cached (a miss is one indexed query)."""
    if not authorization or not authorization.startswith("Bearer "):
        raise Unauthenticated("a bearer token is required")
    with Session(request.app.state.engine) as session:
        token = authenticate(session, authorization.removeprefix("Bearer ").strip())
    if token is None:
        raise Unauthenticated("the token is unknown or revoked")
    if scope not in token.scopes:
        raise MissingScope(f"the token lacks scope {scope}")
    return token


def require(scope: str) -> Any:
    """Dependency: a live bearer token carrying `scope` (401 without one, 403 without scope)."""

    async def check(
        request: Request, authorization: Annotated[str | None, Header()] = None
    ) -> TokenInfo:
        return await service_token(request, authorization, scope)

    return Depends(check)


def employee(scope: str) -> Any:
    """Dependency: the service token (with `scope`) and the employee it acts for, proven by an
    ID token, a session, or (legacy tokens only) the plain header; the call's `Principal`."""

    async def resolve(
        request: Request,
        authorization: Annotated[str | None, Header()] = None,
        id_token: Annotated[
            str | None,
            Header(
                alias=TOKEN_HEADER,
                max_length=MAX_ID_TOKEN,
                description="The employee's OIDC ID token (JWT)",
            ),
        ] = None,
        named: Annotated[
            str | None,
            Header(
                alias=EMPLOYEE_HEADER,
                min_length=1,
                max_length=64,
                pattern=ID_CHARS,
                description="Legacy: the employee a --trust-employee-header token asserts",
            ),
        ] = None,
    ) -> Principal:
        token = await service_token(request, authorization, scope)
        principal = await prove(request, token, id_token, named)
        set_acting(principal)
        return principal

    return Depends(resolve)


async def prove(
    request: Request, token: TokenInfo, id_token: str | None, named: str | None
) -> Principal:
    """ID token, else session cookie, else a trusted service's word; anything else is refused
    (and recorded). A name sent beside a proof must be the proven one."""
    door = request.app.state.door
    if door is None:
        raise LedgerUnavailable("this server runs without the access service")
    key = door.keyring.pseudonym_key
    if id_token is not None:
        tokens: VerifiedTokens | None = getattr(request.app.state, "id_tokens", None)
        if tokens is None:
            await _refuse(request, token, PROOF_OIDC, "oidc_not_configured")
        assert tokens is not None
        who = tokens.cached(id_token)
        if who is None:
            from custodes.identity.errors import IdentityError

            try:
                who = await run_in_threadpool(tokens.verify, id_token)
            except IdentityError as exc:
                await _refuse(request, token, PROOF_OIDC, exc.reason)
            assert who is not None
        if named is not None and named != who.employee_id:
            await _refuse(request, token, PROOF_OIDC, "employee_mismatch")
        reference = "jwt:" + who.token_sha256[:32]
        return make_principal(key, who.employee_id, PROOF_OIDC, token, reference)
    from custodes.identity.sessions import COOKIE_NAME

    cookie = request.cookies.get(COOKIE_NAME)
    if cookie:
        return await _by_session(request, token, cookie, named, key)
    if named is not None:
        if ASSERT_SCOPE in token.scopes:
            return make_principal(key, named, PROOF_ASSERTED, token, None)
        await _refuse(request, token, PROOF_ASSERTED, "employee_header_not_trusted")
    await _refuse(request, token, "none", "no_employee_proof")
    raise AssertionError("unreachable")  # _refuse raises


async def _by_session(
    request: Request, token: TokenInfo, cookie: str, named: str | None, key: bytes
) -> Principal:
    from custodes.identity.errors import IdentityError
    from custodes.identity.sessions import check_csrf

    service = getattr(request.app.state, "identity", None)
    if service is None:
        await _refuse(request, token, PROOF_SESSION, "sessions_not_configured")
    try:
        session = await run_in_threadpool(service.session, cookie)
        if request.method not in SAFE_METHODS:
            check_csrf(session, request.headers.get(CSRF_HEADER))
    except IdentityError as exc:
        await _refuse(request, token, PROOF_SESSION, exc.reason)
    if named is not None and named != session.employee_id:
        await _refuse(request, token, PROOF_SESSION, "employee_mismatch")
    return make_principal(key, session.employee_id, PROOF_SESSION, token, session.session_ref)


_MESSAGES = {
    "no_employee_proof": (
        f"send the employee's ID token ({TOKEN_HEADER}) or their session; a service names an "
        f"employee in {EMPLOYEE_HEADER} only with a --trust-employee-header token"
    ),
    "employee_header_not_trusted": (
        f"this token may not name an employee in {EMPLOYEE_HEADER}: send the employee's ID token "
        f"({TOKEN_HEADER}) or their session"
    ),
    "employee_mismatch": "the named employee is not the one proven",
    "oidc_not_configured": "this server trusts no identity provider (CUSTODES_OIDC_ISSUER)",
}


async def _refuse(request: Request, token: TokenInfo, method: str, reason: str) -> NoReturn:
    """Record the refused proof, then answer 401."""
    door = request.app.state.door
    data, rows = refusal_entry(door.keyring.pseudonym_key, token, method, reason, datetime.now(UTC))
    await run_in_threadpool(door.ledger.append, data, rows)
    message = _MESSAGES.get(reason, "the employee's proof was refused")
    raise Unauthenticated(f"{message} ({reason})")


__all__ = ["MissingScope", "Unauthenticated", "employee", "prove", "require", "service_token"]
