"""Bounds on what a request may make the server hold, checked before authentication and parsing:
a 400 MB body with no token must cost nothing but its refusal (413, problem+json)."""

from __future__ import annotations

import json
import re
from typing import Any

MAX_BODY_BYTES = 1 << 20  # the largest legitimate body (10,000 ids) is far below this
MAX_JSON_DEPTH = 32

Scope = dict[str, Any]


class _TooLarge(Exception):
    pass


class RequestLimits:
    """Pure ASGI middleware: refuses a declared or streamed body over `max_body` bytes and
    JSON nested deeper than `max_depth`, before any route, dependency or parser runs."""

    def __init__(
        self, app: Any, max_body: int = MAX_BODY_BYTES, max_depth: int = MAX_JSON_DEPTH
    ) -> None:
        self.app = app
        self.max_body = max_body
        self.max_depth = max_depth

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await _problem(send, 400, "Content-Length is not a number")
                return
            if int(declared) > self.max_body:
                await _problem(send, 413, f"the body is larger than {self.max_body} bytes")
                return
        if scope.get("method") not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        # Read the (bounded) body once, check its JSON depth, then replay it to the app.
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                await _problem(send, 413, f"the body is larger than {self.max_body} bytes")
                return
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        if _too_deep(body, self.max_depth):
            await _problem(send, 400, f"JSON nested deeper than {self.max_depth} levels")
            return
        replayed = False

        async def replay() -> dict[str, Any]:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            message: dict[str, Any] = await receive()
            return message

        await self.app(scope, replay, send)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


_STRUCTURE = re.compile(rb'[\[\]{}"\\]')


def _too_deep(body: bytes, limit: int) -> bool:
    """Bracket depth outside strings: linear, no recursion, no parse; only structural bytes
    are visited (a regex scan), so a large flat body costs little."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False  # cannot nest deeper than it opens (brackets in strings only add)
    depth = 0
    in_string = escaped = False
    last = -2
    for match in _STRUCTURE.finditer(body):
        byte, at = body[match.start()], match.start()
        if escaped and at != last + 1:
            escaped = False
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):
            depth -= 1
        last = at
    return False


async def _problem(send: Any, status: int, detail: str) -> None:
    from http import HTTPStatus

    body = json.dumps(
        {
            "type": "about:blank",
            "title": HTTPStatus(status).phrase,
            "status": status,
            "detail": detail,
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
