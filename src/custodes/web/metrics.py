"""Prometheus metrics at `/metrics` (prometheus-client).

Counted where they happen:
- `custodes_decisions_total{action, outcome}` and `custodes_rate_limit_refusals_total{reason}`:
  every decision the door ledgers passes through its ledger appender, which this module wraps;
  the entry is already canonical JSON without PII, so action, decision and reason are read
  from it after the append succeeded (a decision that was not recorded is not counted).
  Every decision appended through the door's ledger is therefore counted already: do not also
  increment `DECISIONS` for those. It is public for decisions recorded some other way.
- `custodes_ledger_append_seconds`: the same wrapper times each append as a request sees it.
- `custodes_http_requests_total{method, route, status}` / `custodes_http_request_seconds{route}`:
  route templates only, never raw paths.
Read from the database at scrape time (correct whichever process appended):
- `custodes_ledger_size`, `custodes_checkpoint_age_seconds`, `custodes_witness_lag{witness}`.

With `serve --workers N`, each worker is its own process: `serve` points
PROMETHEUS_MULTIPROC_DIR at a fresh folder under CUSTODES_HOME/run before the workers start, and
every worker's `/metrics` then answers with the sum over all workers (prometheus multiprocess
mode). Without that variable (one process) the default registry is used.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from fastapi import FastAPI, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from custodes.web.access_log import route_template

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
RATE_LIMIT_REASONS = frozenset({"rate_limit", "break_glass_limit"})

DECISIONS = Counter(
    "custodes_decisions", "Ledgered decisions of the one door.", ["action", "outcome"]
)
RATE_LIMIT_REFUSALS = Counter(
    "custodes_rate_limit_refusals",
    "Decisions held or refused because a rate limit or cap was reached.",
    ["reason"],
)
APPEND_SECONDS = Histogram(
    "custodes_ledger_append_seconds",
    "Time from handing an entry to the ledger to its committed index.",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
)
HTTP_REQUESTS = Counter(
    "custodes_http_requests", "HTTP requests by route template.", ["method", "route", "status"]
)
HTTP_SECONDS = Histogram(
    "custodes_http_request_seconds",
    "HTTP request latency by route template.",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
)


def count_entry(data: bytes, index: Sequence[Mapping[str, object]] = ()) -> None:
    """Count one recorded ledger entry by its action and decision (and rate-limit reason).

    The entry's index rows carry its action and decision, so the JSON is parsed only for an
    entry without rows or one that may name a rate-limit reason (every reveal passes here)."""
    first = index[0] if index else {}
    if "action" in first and "decision" in first and b"_limit" not in data:
        action, outcome, reason = first["action"], first["decision"], None
    else:
        try:
            entry = json.loads(data)
            action, outcome, reason = entry["action"], entry["decision"], entry.get("reason")
        except (ValueError, KeyError, TypeError):
            return
    _decisions(str(action), str(outcome)).inc()
    if reason in RATE_LIMIT_REASONS:
        RATE_LIMIT_REFUSALS.labels(str(reason)).inc()


@lru_cache(maxsize=1024)
def _decisions(action: str, outcome: str) -> Any:
    """The counter child of one (action, outcome): `labels()` locks and looks it up anew."""
    return DECISIONS.labels(action, outcome)


class _TimedLedger:
    """The door's ledger, timed and counted; everything else is delegated untouched."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def append(self, data: bytes, *args: Any, **kwargs: Any) -> Any:
        # Arguments and answer (an index, a receipt) pass through untouched.
        started = time.perf_counter()
        result = self._inner.append(data, *args, **kwargs)
        APPEND_SECONDS.observe(time.perf_counter() - started)
        count_entry(data, args[0] if args else kwargs.get("index", ()))
        return result


class _TimedAsyncLedger(_TimedLedger):
    async def append_async(self, data: bytes, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        result = await self._inner.append_async(data, *args, **kwargs)
        APPEND_SECONDS.observe(time.perf_counter() - started)
        count_entry(data, args[0] if args else kwargs.get("index", ()))
        return result


def timed_ledger(inner: Any) -> Any:
    if isinstance(inner, _TimedLedger):
        return inner
    return _TimedAsyncLedger(inner) if hasattr(inner, "append_async") else _TimedLedger(inner)


class LedgerCollector(Collector):
    """Ledger gauges read from the database when scraped."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from custodes.ledger.models import LedgerCheckpoint, LedgerCosignature
        from custodes.ledger.storage import LedgerReader

        try:
            size = LedgerReader(self.engine).head().size
            with self.engine.connect() as conn:
                latest = conn.execute(
                    select(func.max(LedgerCheckpoint.created_at))
                ).scalar_one_or_none()
                cosigned = conn.execute(
                    select(LedgerCosignature.witness, func.max(LedgerCosignature.size)).group_by(
                        LedgerCosignature.witness
                    )
                ).all()
        except Exception:  # a scrape must answer even when the database does not
            return
        yield GaugeMetricFamily("custodes_ledger_size", "Entries in the log.", value=size)
        if latest is not None:
            if latest.tzinfo is None:
                latest = latest.replace(tzinfo=UTC)
            age = max(0.0, (datetime.now(UTC) - latest).total_seconds())
            yield GaugeMetricFamily(
                "custodes_checkpoint_age_seconds",
                "Seconds since the newest signed checkpoint.",
                value=age,
            )
        lag = GaugeMetricFamily(
            "custodes_witness_lag",
            "Log entries not yet covered by a cosignature, per witness.",
            labels=["witness"],
        )
        for witness, witnessed in cosigned:
            lag.add_metric([str(witness)], max(0, size - int(witnessed or 0)))
        yield lag


def _registry(engine: Engine) -> CollectorRegistry:
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry = CollectorRegistry()
        registry.register(_DefaultRegistry())
    registry.register(LedgerCollector(engine))
    return registry


class _DefaultRegistry(Collector):
    """This process's counters (and the client's process/platform collectors)."""

    def collect(self) -> Iterator[Any]:
        yield from REGISTRY.collect()


class HttpMetrics:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # Label children looked up once per (method, route, status): `labels()` validates and
        # locks on every call, which is most of a counter's cost. Bounded by the route table.
        self._requests: dict[tuple[str, str, int], Any] = {}
        self._seconds: dict[str, Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            elapsed = time.perf_counter() - started
            route = route_template(scope)
            key = (scope["method"], route, status)
            counter = self._requests.get(key)
            if counter is None:
                counter = self._requests[key] = HTTP_REQUESTS.labels(key[0], route, str(status))
            counter.inc()
            histogram = self._seconds.get(route)
            if histogram is None:
                histogram = self._seconds[route] = HTTP_SECONDS.labels(route)
            histogram.observe(elapsed)


def install_metrics(app: FastAPI) -> None:
    """`/metrics`, request metrics, and the counting wrapper around the door's ledger."""
    door = getattr(app.state, "door", None)
    if door is not None and getattr(door, "ledger", None) is not None:
        door.ledger = timed_ledger(door.ledger)
    registry = _registry(app.state.engine)

    @app.get("/metrics", include_in_schema=False)
    def metrics(_: Request) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    app.add_middleware(HttpMetrics)


def prepare_multiprocess(folder: os.PathLike[str] | str) -> None:
    """Before starting several workers: an empty folder for their metric files, in the env."""
    import shutil
    from pathlib import Path

    path = Path(folder)
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True, mode=0o700)
    os.environ[MULTIPROC_ENV] = str(path)
