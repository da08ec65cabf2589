"""The access log: one JSON line per request, with the route's template, never the raw path.

`/v1/customers/C000123/reveal` is logged as `/v1/customers/{customer_id}/reveal`: paths carry
ids (and, from a careless caller, e-mail addresses), query strings and bodies are never read.
Each request gets an id, returned as `X-Request-ID`; a caller's own id is kept only when it is
id-shaped and passes the ledger's PII guard.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import threading
import time

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from custodes.ledger.entry import check_token
from custodes.ledger.errors import FormatError

log = logging.getLogger("custodes.access")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9_.-]{8,64}$")
UNMATCHED = "(unmatched)"


def route_template(scope: Scope) -> str:
    """The matched route's path template, or a placeholder: never the path as sent."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str) and path:
        return path
    return UNMATCHED


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text = str(value.decode("latin-1"))
            if _REQUEST_ID.fullmatch(text):
                try:
                    check_token("request id", text)  # the ledger's PII guard decides
                    return text
                except FormatError:
                    pass
            break
    return _fresh_id()


class _RandomIds:
    """Request ids from the OS's randomness, drawn a few kilobytes at a time: one `getrandom`
    per 512 requests instead of one per request. A lock keeps two threads off the same
    bytes (ids must never repeat)."""

    def __init__(self) -> None:
        self._pool, self._next = b"", 0
        self._lock = threading.Lock()
        os.register_at_fork(after_in_child=self._forget)  # a forked worker draws its own

    def _forget(self) -> None:
        self._pool, self._next = b"", 0
        self._lock = threading.Lock()

    def __call__(self) -> str:
        with self._lock:
            if self._next >= len(self._pool):
                self._pool, self._next = secrets.token_bytes(4096), 0
            chunk = self._pool[self._next : self._next + 8]
            self._next += 8
        return chunk.hex()


_fresh_id = _RandomIds()


class AccessLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = _request_id(scope)
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = list(message.get("headers", ()))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if log.isEnabledFor(logging.INFO):
                fields = {
                    "method": scope["method"],
                    "route": route_template(scope),
                    "status": status,
                    "ms": round((time.perf_counter() - started) * 1000, 2),
                    "request_id": request_id,
                }
                # `_log` directly: `info` would ask isEnabledFor a second time.
                log._log(logging.INFO, "request", (), extra={"fields": fields})


def install_access_log(app: FastAPI) -> None:
    app.add_middleware(AccessLog)
