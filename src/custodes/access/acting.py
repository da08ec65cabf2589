"""The `/v1` dependencies that say who is calling: the service (its bearer token and scope) and
the employee it acts for, with how that employee was proven (see `access.principal`).

Refused employee proofs are recorded before the 401 is sent: which service token, which method,
the identity error's reason code; never the token or the name it claimed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, NoReturn

from fastapi import Depends, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session
from starlette.routing import BaseRoute

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
from custodes.access.tokens import TokenInfo, authenticate, cached_token
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
    presented = authorization.removeprefix("Bearer ").strip()
    token = cached_token(presented)
    if token is False:
        with Session(request.app.state.engine) as session:
            token = authenticate(session, presented)
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
    ID token, a session, or (legacy tokens only) the plain header; the call's `Principal`.

    The headers are read here rather than declared as FastAPI parameters: on every request
    FastAPI re-inspects each declared parameter's annotation, which cost more than the whole
    proof (bench/README.md). They are checked as the declarations did (422, never the value)
    and documented by `document_proof_headers`."""

    async def resolve(request: Request) -> Principal:
        return await employee_of(request, scope)

    resolve.proves_employee = True  # type: ignore[attr-defined]
    return Depends(resolve)


async def employee_of(request: Request, scope: str) -> Principal:
    """What `employee(scope)` resolves to, for a caller outside FastAPI's dependencies."""
    headers = request.headers
    id_token = _checked(headers.get(TOKEN_HEADER), TOKEN_HEADER, 0, MAX_ID_TOKEN)
    named = _checked(headers.get(EMPLOYEE_HEADER), EMPLOYEE_HEADER, 1, 64, _ID)
    token = await service_token(request, headers.get("authorization"), scope)
    principal = await prove(request, token, id_token, named)
    set_acting(principal)
    return principal


_ID = re.compile(ID_CHARS)


def _checked(
    value: str | None, name: str, shortest: int, longest: int, shape: re.Pattern[str] | None = None
) -> str | None:
    if value is None:
        return None
    if len(value) < shortest:
        _invalid(name, "string_too_short", f"String should have at least {shortest} characters")
    if len(value) > longest:
        _invalid(name, "string_too_long", f"String should have at most {longest} characters")
    # fullmatch: the declared pattern ends in `$`, which Python's `match` also lets match
    # before a trailing newline ("A1\n"); pydantic's engine, which the declaration used, does not.
    if shape is not None and shape.fullmatch(value) is None:
        _invalid(name, "string_pattern_mismatch", f"String should match pattern '{shape.pattern}'")
    return value


def _invalid(name: str, kind: str, message: str) -> NoReturn:
    raise RequestValidationError([{"type": kind, "loc": ("header", name), "msg": message}])


def _header_doc(name: str, schema: dict[str, Any], description: str | None) -> dict[str, Any]:
    doc: dict[str, Any] = {"name": name, "in": "header", "required": False}
    doc["schema"] = {"anyOf": [{"type": "string", **schema}, {"type": "null"}], "title": name}
    if description:
        doc["schema"]["description"] = doc["description"] = description
    return doc


PROOF_HEADERS = [
    _header_doc("authorization", {}, None),
    _header_doc(TOKEN_HEADER, {"maxLength": MAX_ID_TOKEN}, "The employee's OIDC ID token (JWT)"),
    _header_doc(
        EMPLOYEE_HEADER,
        {"minLength": 1, "maxLength": 64, "pattern": ID_CHARS},
        "Legacy: the employee a --trust-employee-header token asserts",
    ),
]


def document_proof_headers(routes: Sequence[BaseRoute]) -> None:
    """Document the headers `employee()` reads on each route that depends on it (once)."""
    for route in routes:
        if not isinstance(route, APIRoute) or not _proves(route.dependant):
            continue
        extra = dict(route.openapi_extra or {})
        present = {p.get("name") for p in extra.get("parameters", [])}
        missing = [doc for doc in PROOF_HEADERS if doc["name"] not in present]
        extra["parameters"] = [*extra.get("parameters", []), *missing]
        route.openapi_extra = extra


def _proves(dependant: Dependant) -> bool:
    return any(
        getattr(d.call, "proves_employee", False) or _proves(d) for d in dependant.dependencies
    )


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


__all__ = [
    "MissingScope",
    "Unauthenticated",
    "document_proof_headers",
    "employee",
    "employee_of",
    "prove",
    "require",
    "service_token",
]
