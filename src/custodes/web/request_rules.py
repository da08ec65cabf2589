"""Rules every API route follows without saying so: declared query parameters only, JSON bodies.

A query parameter a route does not declare is refused (400) rather than silently ignored: a
caller who typed `/v1/decisions?subject=…` for `?subject_id=…` would otherwise read everything
and believe it was filtered. A body without Content-Type is read as JSON (what every client
means); a body in another media type is refused with 415 instead of a confusing 422.

It is keyed on each route's declared parameters (FastAPI's dependant tree), so endpoints need
no code of their own. The hot path (no query string, a JSON body) costs one header scan.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

from custodes.web.problems import problem, safe_name

_BODY_METHODS = frozenset({b"POST", b"PUT", b"PATCH", "POST", "PUT", "PATCH"})


class _RouteFacts:
    """What a route accepts: its query parameter names and whether it takes a JSON body."""

    __slots__ = ("body", "query")

    def __init__(self, route: APIRoute) -> None:
        query: set[str] = set()
        body = False
        stack = [route.dependant]
        while stack:
            dependant = stack.pop()
            for field in dependant.query_params:
                query.add(field.alias)
                annotation = getattr(field.field_info, "annotation", None)
                fields = getattr(annotation, "model_fields", None)
                if isinstance(fields, dict):  # a Pydantic model of query parameters
                    query.update(f.alias or n for n, f in fields.items())
            body = body or bool(dependant.body_params)
            stack.extend(dependant.dependencies)
        self.query = frozenset(query)
        self.body = body


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


class RequestRules:
    """Pure ASGI middleware enforcing the rules above on FastAPI routes (others pass through)."""

    def __init__(self, app: ASGIApp, routes: Any) -> None:
        self.app = app
        self.routes = routes  # the application's live route list
        self._facts: dict[int, _RouteFacts] = {}

    def _route_facts(self, scope: Scope) -> _RouteFacts | None:
        for route in self.routes:
            if not isinstance(route, APIRoute):
                continue
            match, _ = route.matches(scope)
            if match is Match.FULL:
                facts = self._facts.get(id(route))
                if facts is None:
                    facts = self._facts[id(route)] = _RouteFacts(route)
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
    app.add_middleware(RequestRules, routes=app.router.routes)
