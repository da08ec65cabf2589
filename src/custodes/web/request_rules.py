"""Rules every API route follows without saying so: declared query parameters only, JSON bodies.

A query parameter a route does not declare is refused (400) rather than silently ignored: a
caller who typed `/v1/decisions?subject=…` for `?subject_id=…` would otherwise read everything
and believe it was filtered. A body without Content-Type is read as JSON (what every client
means); a body in another media type is refused with 415 instead of a confusing 422.

It is keyed on each route's declared parameters as the app's OpenAPI document states them, so
endpoints need no code of their own and the documentation is exactly what is enforced.
The hot path (no query string, a JSON body) costs one header scan.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI
from starlette.routing import compile_path
from starlette.types import ASGIApp, Receive, Scope, Send

from custodes.problems import problem, safe_name

_BODY_METHODS = frozenset({b"POST", b"PUT", b"PATCH", "POST", "PUT", "PATCH"})


class _RouteFacts:
    """What one operation accepts: its query parameter names and whether it takes a body."""

    __slots__ = ("body", "method", "pattern", "query")

    def __init__(self, path: str, method: str, operation: dict[str, Any]) -> None:
        self.pattern = compile_path(path)[0]
        self.method = method.upper()
        parameters = operation.get("parameters", [])
        self.query = frozenset(p["name"] for p in parameters if p.get("in") == "query")
        self.body = "requestBody" in operation


def _operations(app: FastAPI) -> list[_RouteFacts]:
    """Every documented operation, from the app's own OpenAPI document (its public record of
    what each route declares), in route order."""
    methods = {"get", "put", "post", "delete", "patch", "head", "options"}
    return [
        _RouteFacts(path, method, operation)
        for path, item in app.openapi().get("paths", {}).items()
        for method, operation in item.items()
        if method in methods
    ]


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


class RequestRules:
    """Pure ASGI middleware enforcing the rules above on FastAPI routes (others pass through)."""

    def __init__(self, app: ASGIApp, api: FastAPI) -> None:
        self.app = app
        self.api = api
        self._operations: list[_RouteFacts] | None = None

    def _route_facts(self, scope: Scope) -> _RouteFacts | None:
        """The documented operation this request is for; None for undocumented routes
        (health, metrics, docs assets), which are left alone."""
        if self._operations is None:
            self._operations = _operations(self.api)
        path = scope["path"]
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :] or "/"
        method = scope["method"]
        for facts in self._operations:
            if facts.method == method and facts.pattern.fullmatch(path):
                return facts
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query = scope.get("query_string", b"")
        content_type: bytes | None = None
        if scope["method"] in _BODY_METHODS:
            for name, value in scope["headers"]:
                if name == b"content-type":
                    content_type = value
                    break
            if content_type is not None and _is_json(content_type.decode("latin-1")):
                content_type = b"application/json"  # already fine: nothing to look at
        needs_look = bool(query) or (
            scope["method"] in _BODY_METHODS and content_type != b"application/json"
        )
        if not needs_look:
            await self.app(scope, receive, send)
            return
        facts = self._route_facts(scope)
        if facts is None:
            await self.app(scope, receive, send)
            return
        if query:
            names = {n for n, _ in parse_qsl(query.decode("latin-1"), keep_blank_values=True)}
            unknown = sorted(names - facts.query)
            if unknown:
                shown = [n if safe_name(n) else "(unnamed)" for n in unknown]
                allowed = ", ".join(sorted(facts.query)) or "none"
                detail = (
                    f"unknown query parameter(s): {', '.join(shown)}; "
                    f"this endpoint accepts: {allowed}"
                )
                await problem(400, detail)(scope, receive, send)
                return
        if facts.body and scope["method"] in _BODY_METHODS:
            if content_type is None:
                # In place: outer middleware reads what the router writes into this scope.
                scope["headers"] = [*scope["headers"], (b"content-type", b"application/json")]
            elif content_type != b"application/json":
                detail = "send the request body as JSON with Content-Type: application/json"
                await problem(415, detail)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def install_request_rules(app: FastAPI) -> None:
    app.add_middleware(RequestRules, api=app)
