"""Server-rendered pages: enroll, sign in, sign out, and the approvals inbox.

Jinja2 templates, one small script for WebAuthn served from this package (nothing from a CDN),
a strict Content-Security-Policy, `Secure; HttpOnly; SameSite=Strict` session cookies, CSRF
tokens on every state change, and an Origin check on every POST. No PII in cookies or URLs:
the cookie is a random secret, paths carry opaque ids, the enrollment secret rides in the
URL fragment (never sent to the server).

The inbox's data comes from the integrator: `inbox(approver_id)` lists what that approver may
decide (masked preview and digest), and `decide(proof, session)` records and applies a verified
approval or refusal, returning a JSON-able outcome.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from typing import Any, Protocol
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from custodes.identity.approvals import ApprovalProof
from custodes.identity.errors import (
    ApprovalRefused,
    BadRequest,
    CsrfRefused,
    IdentityError,
    SessionRefused,
)
from custodes.identity.recording import ledger_recorder, refusing_recorder
from custodes.identity.service import IdentityService
from custodes.identity.sessions import COOKIE_NAME, EmployeeSession, NewSession, check_csrf
from custodes.identity.settings import WebAuthnSettings

MAX_BODY = 64 * 1024
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "Referrer-Policy": "same-origin",  # "no-referrer" would make form POSTs say Origin: null
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class PendingApproval:
    """One item of an approver's inbox, as the integrator supplies it (already masked)."""

    request_id: str
    action: str
    requester_id: str
    digest: bytes
    preview: Mapping[str, str] = field(default_factory=dict)
    expires_at: datetime | None = None


InboxSource = Callable[[str], Sequence[PendingApproval]]
DecisionSink = Callable[[ApprovalProof, EmployeeSession], Mapping[str, Any]]


class _Appends(Protocol):
    def append(self, data: bytes) -> int: ...


def _no_inbox(_: str) -> Sequence[PendingApproval]:
    return ()


def _no_decisions(proof: ApprovalProof, session: EmployeeSession) -> Mapping[str, Any]:
    raise IdentityError("not_wired", "approvals are not connected to the door yet")


def _templates() -> Environment:
    return Environment(
        loader=PackageLoader("custodes.identity", "templates"),
        autoescape=select_autoescape(["html"]),
    )


def _static(name: str) -> bytes:
    return resources.files("custodes.identity").joinpath("static", name).read_bytes()


def identity_pages(
    engine: Engine,
    ledger: _Appends | None = None,
    *,
    settings: WebAuthnSettings | None = None,
    inbox: InboxSource | None = None,
    decide: DecisionSink | None = None,
    service: IdentityService | None = None,
) -> APIRouter:
    """The pages' router. With no ledger every identity change is refused (fail closed)."""
    settings = settings or WebAuthnSettings.from_env()
    if service is None:
        record = (
            ledger_recorder(lambda data: ledger.append(data))
            if ledger is not None
            else refusing_recorder
        )
        service = IdentityService(engine, settings, record)
    return _router(service, inbox or _no_inbox, decide or _no_decisions)


def _router(service: IdentityService, inbox: InboxSource, decide: DecisionSink) -> APIRouter:
    settings = service.settings
    env = _templates()
    scripts = {name: _static(name) for name in ("webauthn.js", "identity.css")}
    router = APIRouter(include_in_schema=False)

    def page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
        html = env.get_template(name).render(**context)
        return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)

    def error(exc: IdentityError) -> JSONResponse:
        body = {
            "type": "about:blank",
            "title": "Refused",
            "status": exc.status,
            "detail": str(exc),
            "reason": exc.reason,
        }
        return JSONResponse(
            body,
            status_code=exc.status,
            media_type="application/problem+json",
            headers=SECURITY_HEADERS,
        )

    def same_origin(request: Request) -> None:
        origin = request.headers.get("origin")
        if origin is not None and origin not in settings.origins:
            raise CsrfRefused("cross_origin", "requests from other sites are refused")

    async def body_json(request: Request) -> dict[str, Any]:
        raw = await request.body()
        if len(raw) > MAX_BODY:
            raise BadRequest("too_large", "the request is too large")
        try:
            data = json.loads(raw)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise BadRequest("bad_request", "the request body must be a JSON object")
        return data

    async def body_form(request: Request) -> dict[str, str]:
        raw = await request.body()
        if len(raw) > MAX_BODY:
            raise BadRequest("too_large", "the request is too large")
        return {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}

    def signed_in(request: Request, cookie: NewSession) -> JSONResponse:
        response = JSONResponse({"ok": True, "next": "/inbox"}, headers=SECURITY_HEADERS)
        _set_cookie(response, cookie.cookie, settings)
        return response

    def current(request: Request) -> EmployeeSession:
        return service.session(request.cookies.get(COOKIE_NAME))

    def json_session(request: Request) -> EmployeeSession:
        same_origin(request)
        session = current(request)
        check_csrf(session, request.headers.get("x-csrf-token"))
        return session

    @router.get("/identity/static/{name}")
    def static(name: str) -> Response:
        if name not in scripts:
            return Response(status_code=404)
        kind = "text/javascript" if name.endswith(".js") else "text/css"
        return Response(
            scripts[name],
            media_type=kind,
            headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"},
        )

    @router.get("/enroll", response_class=HTMLResponse)
    def enroll_page() -> HTMLResponse:
        return page("enroll.html", title="Enroll")

    @router.post("/enroll/options")
    async def enroll_options(request: Request) -> Response:
        try:
            same_origin(request)
            data = await body_json(request)
            options = await run_in_threadpool(
                service.registration_options, str(data.get("token", ""))
            )
        except IdentityError as exc:
            return error(exc)
        return JSONResponse(
            {"challenge_id": options.challenge_id, "options": json.loads(options.options_json)},
            headers=SECURITY_HEADERS,
        )

    @router.post("/enroll/finish")
    async def enroll_finish(request: Request) -> Response:
        try:
            same_origin(request)
            data = await body_json(request)
            password = data.get("password") or None
            new = await run_in_threadpool(
                service.finish_registration,
                str(data.get("token", "")),
                str(data.get("challenge_id", "")),
                data.get("credential") or {},
                str(password) if password else None,
            )
        except IdentityError as exc:
            return error(exc)
        return signed_in(request, new)

    @router.get("/signin", response_class=HTMLResponse)
    def signin_page(request: Request) -> HTMLResponse:
        return page("signin.html", title="Sign in", failed=request.query_params.get("failed"))

    @router.post("/signin/options")
    async def signin_options(request: Request) -> Response:
        try:
            same_origin(request)
            data = await body_json(request)
            employee_id = data.get("employee_id") or None
            options = await run_in_threadpool(
                service.signin_options, str(employee_id) if employee_id else None
            )
        except IdentityError as exc:
            return error(exc)
        return JSONResponse(
            {"challenge_id": options.challenge_id, "options": json.loads(options.options_json)},
            headers=SECURITY_HEADERS,
        )

    @router.post("/signin/finish")
    async def signin_finish(request: Request) -> Response:
        try:
            same_origin(request)
            data = await body_json(request)
            new = await run_in_threadpool(
                service.finish_signin,
                str(data.get("challenge_id", "")),
                data.get("credential") or {},
            )
        except IdentityError as exc:
            return error(exc)
        return signed_in(request, new)

    @router.post("/signin/password")
    async def signin_password(request: Request) -> Response:
        try:
            same_origin(request)
            form = await body_form(request)
            new = await run_in_threadpool(
                service.password_signin, form.get("employee_id", ""), form.get("password", "")
            )
        except IdentityError:
            return RedirectResponse("/signin?failed=1", status_code=303, headers=SECURITY_HEADERS)
        response = RedirectResponse("/inbox", status_code=303, headers=SECURITY_HEADERS)
        _set_cookie(response, new.cookie, settings)
        return response

    @router.post("/signout")
    async def signout(request: Request) -> Response:
        try:
            same_origin(request)
            form = await body_form(request)
            session = await run_in_threadpool(current, request)
            check_csrf(session, form.get("csrf"))
            await run_in_threadpool(service.sign_out, request.cookies.get(COOKIE_NAME))
        except SessionRefused:
            pass
        except IdentityError as exc:
            return error(exc)
        response = RedirectResponse("/signin", status_code=303, headers=SECURITY_HEADERS)
        response.delete_cookie(COOKIE_NAME, path="/", secure=True, httponly=True, samesite="strict")
        return response

    @router.get("/inbox", response_class=HTMLResponse)
    def inbox_page(request: Request) -> Response:
        try:
            session = current(request)
        except IdentityError:
            return RedirectResponse("/signin", status_code=303, headers=SECURITY_HEADERS)
        items = list(inbox(session.employee_id))
        return page("inbox.html", title="Approvals", session=session, items=items)

    @router.post("/inbox/options")
    async def approval_options(request: Request) -> Response:
        try:
            session = await run_in_threadpool(json_session, request)
            data = await body_json(request)
            request_id, decision = str(data.get("request_id", "")), str(data.get("decision", ""))
            items = await run_in_threadpool(inbox, session.employee_id)
            item = next((i for i in items if i.request_id == request_id), None)
            if item is None:
                raise ApprovalRefused("not_in_inbox", "this request is not waiting for you")
            options = await run_in_threadpool(
                service.begin_approval, session.employee_id, request_id, item.digest, decision
            )
        except IdentityError as exc:
            return error(exc)
        return JSONResponse(
            {"approval_id": options.challenge_id, "options": json.loads(options.options_json)},
            headers=SECURITY_HEADERS,
        )

    @router.post("/inbox/finish")
    async def approval_finish(request: Request) -> Response:
        try:
            session = await run_in_threadpool(json_session, request)
            data = await body_json(request)
            proof = await run_in_threadpool(
                service.finish_approval,
                str(data.get("approval_id", "")),
                session.employee_id,
                data.get("credential") or {},
            )
            outcome = dict(await run_in_threadpool(decide, proof, session))
        except IdentityError as exc:
            return error(exc)
        return JSONResponse(
            {"ok": True, "decision": proof.decision, "request_id": proof.request_id, **outcome},
            headers=SECURITY_HEADERS,
        )

    return router


def _set_cookie(response: Response, cookie: str, settings: WebAuthnSettings) -> None:
    response.set_cookie(
        COOKIE_NAME,
        cookie,
        max_age=int(settings.session_ttl.total_seconds()),
        path="/",
        secure=True,
        httponly=True,
        samesite="strict",
    )
