"""RFC 9457 problem details for every error the API returns."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from custodes.errors import InputError

PROBLEM = "application/problem+json"
log = logging.getLogger(__name__)


def problem(status: int, detail: str, title: str | None = None, **extra: object) -> JSONResponse:
    body = {
        "type": "about:blank",
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def _location(error: Mapping[str, object]) -> list[str]:
    """Where the error is; an unknown key is named by the caller, so it is not echoed."""
    loc = [str(p) for p in error.get("loc", ()) or ()]  # type: ignore[attr-defined]
    if error.get("type") == "extra_forbidden" and loc:
        loc[-1] = "(unknown key)"
    return loc


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem(exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        # Field locations and messages only: never echo the submitted values (they may be PII).
        errors = [{"loc": _location(e), "msg": e.get("msg", "")} for e in exc.errors()]
        return problem(422, "the request does not match the schema", errors=errors)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        # Problem+json even here, and nothing of the exception but its type: database and
        # library messages can carry the values (PII) they choked on.
        log.error("unexpected %s while serving a request", type(exc).__name__)
        return problem(500, "internal error; nothing was revealed")

    @app.exception_handler(InputError)
    async def bad_input(_: Request, exc: InputError) -> JSONResponse:
        return problem(400, str(exc))


_PROBLEM_SCHEMA = {
    "type": "object",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
    },
    "required": ["type", "title", "status"],
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, object]]:
    """OpenAPI entries for the problem+json answers a route may give."""
    return {
        status: {
            "description": HTTPStatus(status).phrase,
            "content": {PROBLEM: {"schema": _PROBLEM_SCHEMA}},
        }
        for status in statuses
    }
