"""What the operator-facing middlewares cost: request rules, request metrics and the access log.

The same app is driven in-process over ASGI (no sockets, so the figures are the Python work
itself) with and without the three middlewares, interleaved, best of several rounds. The
figure is the time they add per request (the bound that matters whatever the route costs); the
ratio is the throughput they leave on that route. Two routes: `/healthz` (nothing else to
do, the worst case for a relative cost) and `/v1/decisions?subject_id=…` (token check, a
query string the rules must match against the OpenAPI operations, one indexed read).
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from bench.report import Row
from custodes.access.tokens import create_token
from custodes.store.engine import make_engine
from custodes.store.migrate import upgrade
from custodes.web.access_log import AccessLog
from custodes.web.app import create_app
from custodes.web.logs import configure_logging
from custodes.web.metrics import HttpMetrics
from custodes.web.request_rules import RequestRules

OPS = (AccessLog, HttpMetrics, RequestRules)


def _app(url: str, with_ops: bool) -> Any:
    app = create_app(make_engine(url))
    if not with_ops:
        app.user_middleware[:] = [m for m in app.user_middleware if m.cls not in OPS]
    return app


async def _drive(app: Any, path: str, headers: list[tuple[bytes, bytes]], n: int) -> float:
    raw, _, query = path.partition("?")
    scope_base = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": raw,
        "raw_path": raw.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    start = time.perf_counter()
    for _ in range(n):
        await app(dict(scope_base), receive, send)
    elapsed = time.perf_counter() - start
    if any(s != 200 for s in statuses):
        raise RuntimeError(f"{path}: unexpected statuses {set(statuses)}")
    return n / elapsed


def _best(measure: Callable[[], float], rounds: int) -> float:
    return max(measure() for _ in range(rounds))


def run(quick: bool = False) -> list[Row]:
    n, rounds = (300, 3) if quick else (2000, 5)
    tmp = Path(tempfile.mkdtemp(prefix="custodes-web-bench-"))
    # The access log writes JSON lines as in production, to a sink rather than the terminal.
    handler = configure_logging("info", open("/dev/null", "w"))  # noqa: SIM115
    try:
        url = f"sqlite:///{tmp / 'bench.db'}"
        engine = make_engine(url)
        upgrade(engine)
        with Session(engine) as session, session.begin():
            _, token = create_token(session, "bench", ["decisions:read"])
        engine.dispose()
        auth = [(b"authorization", f"Bearer {token}".encode())]
        apps = {True: _app(url, True), False: _app(url, False)}
        rows = []
        for label, path, headers in (
            ("/healthz", "/healthz", []),
            ("/v1/decisions?subject_id=…", "/v1/decisions?subject_id=C000001&limit=5", auth),
        ):
            for app in apps.values():  # warm: routes, OpenAPI table, token cache
                asyncio.run(_drive(app, path, headers, 50))
            rates: dict[bool, list[float]] = {True: [], False: []}
            for _ in range(rounds):
                for with_ops in (False, True):
                    rates[with_ops].append(asyncio.run(_drive(apps[with_ops], path, headers, n)))
            with_ops, without = max(rates[True]), max(rates[False])
            rows.append(
                Row(
                    f"ops middlewares (rules, metrics, access log) on {label}, in-process ASGI",
                    (1 / with_ops - 1 / without) * 1e6,
                    "µs added per request",
                    f"{with_ops:,.0f}/s with, {without:,.0f}/s without",
                    with_ops / without,
                    "<= 50 µs",
                )
            )
        return rows
    finally:
        logging.getLogger().removeHandler(handler)
        shutil.rmtree(tmp, ignore_errors=True)
