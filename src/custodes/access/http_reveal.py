"""`POST /v1/customers/{id}/reveal` without FastAPI's per-request machinery.

The reveal is the route every support agent calls all day, and on it FastAPI's routing and
dependency solving cost more than the decision, the vault and the ledger together
(bench/README.md). This ASGI layer sits inside every custodes middleware (access log, metrics,
request rules, size limits) and answers that one route itself: the same proof
(`acting.employee_of`), the same validation of the path and the body as FastAPI does (same
errors, same problem+json), the same `reveal_answer`, and the app's own exception handlers.
Anything else goes on to the router, where the documented route stays as the reference.
"""

from __future__ import annotations

import email.message
import json
import re
from functools import lru_cache
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from pydantic import TypeAdapter, ValidationError
from starlette.types import ASGIApp, Receive, Scope, Send

from custodes.access import http_customers
from custodes.access.acting import employee_of
from custodes.access.api_models import PathId, RevealIn

_PATH = re.compile(r"/v1/customers/([^/]+)/reveal")
_CUSTOMER_ID: TypeAdapter[str] = TypeAdapter(PathId)  # the documented route's own rule
_BODY: TypeAdapter[RevealIn] = TypeAdapter(RevealIn)


class RevealFastPath:
    def __init__(self, app: ASGIApp, api: FastAPI) -> None:
        self.app = app
        self.api = api
        # Metrics and the access log label requests by the route the router would have set.
        self.route = next(
            r
            for r in http_customers.router.routes
            if getattr(r, "endpoint", None) is http_customers.reveal
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = None
        if scope["type"] == "http" and scope["method"] == "POST":
            path = scope["path"]
            root = scope.get("root_path", "")
            if root and path.startswith(root):
                path = path[len(root) :]
            match = _PATH.fullmatch(path)
        if match is None:
            await self.app(scope, receive, send)
            return
        scope["route"] = self.route
        scope["path_params"] = {"customer_id": match.group(1)}
        request = Request(scope, receive)
        try:
            response = await _answer(request, match.group(1))
        except Exception as exc:
            handler = self._handler(exc)
            if handler is None:
                raise
            response = await handler(request, exc)
        await response(scope, receive, send)

    def _handler(self, exc: Exception) -> Any:
        """The app's handler for this exception, looked up the way Starlette's
        ExceptionMiddleware does (by MRO, leaving the catch-all `Exception` handler to the
        outer ServerErrorMiddleware, which answers and then re-raises so the server logs the
        traceback, as on the router's path)."""
        handlers = self.api.exception_handlers
        for kind in type(exc).__mro__:
            if kind is Exception:
                return None
            if kind in handlers:
                return handlers[kind]
        return None


async def _answer(request: Request, raw_id: str) -> Any:
    """In FastAPI's order: the body is read and parsed before any dependency (a body that is
    not JSON is a 400 even without a token); then the proof (401/403 before any 422), since a
    sub-dependency runs before the route's own parameters are validated; then the path and the
    body."""
    data = await _read_body(request)
    who = await employee_of(request, "customers:reveal")
    errors: list[dict[str, Any]] = []
    try:
        customer_id = _CUSTOMER_ID.validate_python(raw_id)
    except ValidationError as exc:
        errors += _located(exc, ("path", "customer_id"))
    body = _validated(data, errors)
    if errors or body is None:
        raise RequestValidationError(errors)
    return await http_customers.reveal_answer(request, who, customer_id, body)


_MISSING = object()


async def _read_body(request: Request) -> Any:
    """What FastAPI validates for a required JSON body: nothing, the parsed JSON when the media
    type is JSON by FastAPI's own test, else the raw bytes (which the model refuses, 422)."""
    raw = await request.body()
    if not raw:
        return _MISSING
    if not _json_media(request.headers.get("content-type", "")):
        return raw
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        error = {"type": "json_invalid", "loc": ("body", exc.pos), "msg": "JSON decode error"}
        raise RequestValidationError([{**error, "ctx": {"error": exc.msg}}]) from None
    except Exception:  # not UTF-8, an integer too long to convert, …: FastAPI's 400
        raise HTTPException(400, "There was an error parsing the body") from None


@lru_cache(maxsize=64)
def _json_media(content_type: str) -> bool:
    """FastAPI's test, not the request rules' looser one: "application/a/b+json" passes those
    rules but FastAPI reads its body as bytes."""
    if not content_type:
        return False  # FastAPI's strict content type (the request rules add one anyway)
    message = email.message.Message()
    message["content-type"] = content_type
    if message.get_content_maintype() != "application":
        return False
    subtype = message.get_content_subtype()
    return subtype == "json" or subtype.endswith("+json")


def _validated(data: Any, errors: list[dict[str, Any]]) -> RevealIn | None:
    if data is _MISSING:
        errors.append({"type": "missing", "loc": ("body",), "msg": "Field required"})
        return None
    try:
        return _BODY.validate_python(data, from_attributes=True)  # as FastAPI does
    except ValidationError as exc:
        errors += _located(exc, ("body",))
        return None


def _located(exc: ValidationError, where: tuple[str, ...]) -> list[dict[str, Any]]:
    return [
        {"type": e["type"], "loc": (*where, *e["loc"]), "msg": e["msg"]}
        for e in exc.errors(include_url=False, include_input=False)
    ]


def install_reveal_fast_path(app: FastAPI) -> None:
    """Innermost of the custodes middlewares: add before them (Starlette wraps in reverse)."""
    app.add_middleware(RevealFastPath, api=app)
