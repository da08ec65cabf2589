"""`/v1`: the HTTP face of the one door. Services call with a scoped token, acting for an
employee who proves who they are (an ID token or a session; legacy tokens may assert a name for
reads, see `access.principal`). Every outcome is a ledgered decision; errors are RFC 9457
problem+json.

Routes are declared in one module per resource (`http_customers`, `http_records`,
`http_cases`, `http_requests`, `http_policy`, `http_erasure`, `approvals_api`); the rules they
apply live in the services.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from custodes.access import (
    approvals_api,
    http_cases,
    http_customers,
    http_erasure,
    http_policy,
    http_records,
    http_requests,
)
from custodes.access.acting import document_proof_headers
from custodes.ledger.errors import FormatError
from custodes.ledger.sequencer import LedgerUnavailable
from custodes.problems import error_problem


def access_routers() -> list[APIRouter]:
    """The `/v1` routers, each included by the app itself: a router included into another
    reports its own path template, without the outer prefix, to metrics and access logs."""
    modules = (
        http_customers,
        http_records,
        http_cases,
        http_requests,
        http_policy,
        http_erasure,
        approvals_api,
    )
    routers = [p.router for p in modules]
    for router in routers:
        document_proof_headers(router.routes)
    return routers


def install_access_errors(app: Any) -> None:
    """Answer the errors that come from below `custodes.errors`' categories as problem+json
    (custodes errors carry their own status; `custodes.problems` answers those)."""
    handlers: list[tuple[type[BaseException], int]] = [
        (FormatError, 400),
        (LedgerUnavailable, 503),
    ]
    for exc_type, status in handlers:
        app.add_exception_handler(exc_type, _handler(status))


def _handler(status: int) -> Any:
    async def handle(_: Request, exc: Exception) -> JSONResponse:
        return error_problem(status, exc)

    return handle
