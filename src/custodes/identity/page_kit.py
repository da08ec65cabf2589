"""What every identity page handler shares: templates, security headers, refusals as RFC 9457
problem+json, the Origin check, bounded bodies, the session cookie and the CSRF check."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any
from urllib.parse import parse_qs

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from custodes.identity.core import WebAuthnOptions
from custodes.identity.errors import BadRequest, CsrfRefused, IdentityError
from custodes.identity.service import IdentityService
from custodes.identity.sessions import COOKIE_NAME, EmployeeSession, NewSession, check_csrf

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

Handler = Callable[[Request], Awaitable[Response]]


def static_file(name: str) -> bytes:
    return resources.files("custodes.identity").joinpath("static", name).read_bytes()


class PageKit:
    def __init__(self, service: IdentityService) -> None:
        self.service = service
        self.settings = service.settings
        self.env = Environment(
            loader=PackageLoader("custodes.identity", "templates"),
            autoescape=select_autoescape(["html"]),
        )

    def page(self, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        html = self.env.get_template(name).render(**context)
        return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)

    @staticmethod
    def problem(exc: IdentityError) -> JSONResponse:
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

    @staticmethod
    def refusals(handler: Handler) -> Handler:
        """The handler, with an identity refusal answered as problem+json."""

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except IdentityError as exc:
                return PageKit.problem(exc)

        return guarded

    def same_origin(self, request: Request) -> None:
        origin = request.headers.get("origin")
        if origin is not None and origin not in self.settings.origins:
            raise CsrfRefused("cross_origin", "requests from other sites are refused")

    async def body_json(self, request: Request) -> dict[str, Any]:
        """The Origin check, then a JSON object body of bounded size."""
        self.same_origin(request)
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

    async def body_form(self, request: Request) -> dict[str, str]:
        """The Origin check, then a urlencoded form body of bounded size."""
        self.same_origin(request)
        raw = await request.body()
        if len(raw) > MAX_BODY:
            raise BadRequest("too_large", "the request is too large")
        return {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}

    @staticmethod
    def options(options: WebAuthnOptions, id_name: str = "challenge_id") -> JSONResponse:
        body = {id_name: options.challenge_id, "options": json.loads(options.options_json)}
        return JSONResponse(body, headers=SECURITY_HEADERS)

    def signed_in(self, new: NewSession, response: Response | None = None) -> Response:
        """The session cookie on `response` (by default the pages' JSON "go to the inbox")."""
        if response is None:
            response = JSONResponse({"ok": True, "next": "/inbox"}, headers=SECURITY_HEADERS)
        response.set_cookie(
            COOKIE_NAME,
            new.cookie,
            max_age=int(self.settings.session_ttl.total_seconds()),
            path="/",
            secure=True,
            httponly=True,
            samesite="strict",
        )
        return response

    def current(self, request: Request) -> EmployeeSession:
        return self.service.session(request.cookies.get(COOKIE_NAME))

    def json_session(self, request: Request) -> EmployeeSession:
        """A state-changing script call: same origin, signed in, the session's CSRF token."""
        self.same_origin(request)
        session = self.current(request)
        check_csrf(session, request.headers.get("x-csrf-token"))
        return session
