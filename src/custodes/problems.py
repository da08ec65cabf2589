"""RFC 9457 problem details for every error the API returns."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from custodes.errors import CustodesError
from custodes.pii import id_looks_like_pii

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


_KEY_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


def safe_name(name: str) -> bool:
    """Whether a caller-chosen name (an unknown key, a query parameter) may be echoed back:
    identifier-shaped and passing the ledger's PII guard, so an e-mail or a phone number sent
    as a key never comes back in an error (or lands in a proxy's log)."""
    if not _KEY_NAME.fullmatch(name):
        return False
    return not id_looks_like_pii(name)


def _location(error: Mapping[str, object]) -> list[str]:
    """Where the error is. An unknown key is named when its name is not PII-shaped."""
    loc = [str(p) for p in error.get("loc", ()) or ()]  # type: ignore[attr-defined]
    if error.get("type") == "extra_forbidden" and loc and not safe_name(loc[-1]):
        loc[-1] = "(unknown key)"
    return loc


def _message(error: Mapping[str, object]) -> str:
    if error.get("type") == "extra_forbidden":
        loc = _location(error)
        return f"unknown key {loc[-1]}" if loc and loc[-1] != "(unknown key)" else "unknown key"
    return str(error.get("msg", ""))


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem(exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        # Field locations and messages only: never echo the submitted values (they may be PII).
        raw = exc.errors()
        broken = next((e for e in raw if e.get("type") == "json_invalid"), None)
        if broken is not None:
            # Not a schema mismatch: the body is not JSON at all (RFC 9110: 400).
            where = [str(p) for p in broken.get("loc", ())[1:]]
            at = f" at character {where[0]}" if where else ""
            return problem(400, f"the request body is not valid JSON{at}")
        errors = [{"loc": _location(e), "msg": _message(e)} for e in raw]
        return problem(422, "the request does not match the schema", errors=errors)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        # Problem+json even here, and nothing of the exception but its type: database and
        # library messages can carry the values (PII) they choked on.
        log.error("unexpected %s while serving a request", type(exc).__name__)
        return problem(500, "internal error; nothing was revealed")

    @app.exception_handler(CustodesError)
    async def custodes_error(_: Request, exc: CustodesError) -> JSONResponse:
        return error_problem(exc.status, exc)


def error_problem(status: int, exc: Exception) -> JSONResponse:
    """An error as problem+json. Below 500 the message is the caller's to act on (it never
    carries PII, see `custodes.errors`); above, only the fact: details go to the log."""
    if status >= 500:
        # The type and traceback go to the log (a DecryptionError is a tamper signal); the
        # answer says only what did not happen.
        log.error("unexpected %s while serving a request", type(exc).__name__, exc_info=exc)
        detail = (
            "the ledger could not record; nothing was revealed"
            if status == 503
            else "internal error; nothing was revealed"
        )
    else:
        detail = str(exc)
    response = problem(status, detail)
    if status == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    return response


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
