"""Server-rendered pages: enroll, sign in (passkey, password, or the identity provider), sign
out, and the approvals inbox.

Jinja2 templates, one small script for WebAuthn served from this package (nothing from a CDN),
a strict Content-Security-Policy, `Secure; HttpOnly; SameSite=Strict` session cookies, CSRF
tokens on every state change, and an Origin check on every POST. No PII in cookies or URLs:
the cookie is a random secret, paths carry opaque ids, the enrollment secret rides in the
URL fragment (never sent to the server).

The inbox's data comes from the integrator: `inbox(approver_id)` lists what that approver may
decide (masked preview and digest), and `decide(proof, session)` records and applies a verified
approval or refusal, returning a JSON-able outcome. Each group of routes is its own module
(`pages_passkey`, `pages_inbox`, `pages_oidc`); what they share is `page_kit`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from fastapi import APIRouter
from fastapi.responses import Response
from sqlalchemy import Engine

from custodes.identity.approvals import ApprovalProof
from custodes.identity.errors import IdentityError
from custodes.identity.oidc_login import OIDCLogin
from custodes.identity.page_kit import PageKit, static_file
from custodes.identity.pages_inbox import (
    DecisionSink,
    InboxSource,
    PendingApproval,
    add_inbox_routes,
)
from custodes.identity.pages_oidc import add_oidc_routes
from custodes.identity.pages_passkey import add_enroll_routes, add_signin_routes
from custodes.identity.recording import ledger_recorder, refusing_recorder
from custodes.identity.service import IdentityService
from custodes.identity.sessions import EmployeeSession
from custodes.identity.settings import WebAuthnSettings

STATIC = ("webauthn.js", "identity.css")


class _Appends(Protocol):
    def append(self, data: bytes) -> int: ...


def _no_inbox(_: str) -> list[PendingApproval]:
    return []


def _no_decisions(proof: ApprovalProof, session: EmployeeSession) -> Mapping[str, Any]:
    raise IdentityError("not_wired", "approvals are not connected to the door yet")


def identity_pages(
    engine: Engine,
    ledger: _Appends | None = None,
    *,
    settings: WebAuthnSettings | None = None,
    inbox: InboxSource | None = None,
    decide: DecisionSink | None = None,
    service: IdentityService | None = None,
    login: OIDCLogin | None = None,
) -> APIRouter:
    """The pages' router. With no ledger every identity change is refused (fail closed).
    Sign-in through the identity provider is offered when `login` is given, or configured by
    CUSTODES_OIDC_AUTHORIZATION_URL and its fellows (`OIDCLoginSettings.from_env`)."""
    settings = settings or WebAuthnSettings.from_env()
    if service is None:
        record = (
            ledger_recorder(lambda data: ledger.append(data))
            if ledger is not None
            else refusing_recorder
        )
        service = IdentityService(engine, settings, record)
    login = login or OIDCLogin.from_env(service)
    kit = PageKit(service)
    router = APIRouter(include_in_schema=False)
    _static_routes(router)
    add_enroll_routes(router, kit)
    add_signin_routes(router, kit, provider=login is not None)
    add_inbox_routes(router, kit, inbox or _no_inbox, decide or _no_decisions)
    if login is not None:
        add_oidc_routes(router, kit, login)
    return router


def _static_routes(router: APIRouter) -> None:
    files = {name: static_file(name) for name in STATIC}

    @router.get("/identity/static/{name}")
    def static(name: str) -> Response:
        if name not in files:
            return Response(status_code=404)
        kind = "text/javascript" if name.endswith(".js") else "text/css"
        return Response(
            files[name],
            media_type=kind,
            headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"},
        )


__all__ = ["DecisionSink", "InboxSource", "PendingApproval", "identity_pages"]
