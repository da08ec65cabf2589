"""`/healthz` (the process answers) and `/readyz` (it can do its job right now).

Readiness checks what a request needs: the database answers, the ledger head is readable and
the appender behind the door is alive (the sequencer socket, for API workers), the keyring
opens a stored data key, and every configured witness (CUSTODES_WITNESS_URL) is reachable.
Failures answer 503 with each check's state; the details name components, never data.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, text

from custodes.config import Settings
from custodes.errors import CustodesError

Check = Callable[[], str | None]  # None when fine, else a short reason


def _database(engine: Engine) -> Check:
    def check() -> str | None:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return None

    return check


def _ledger(engine: Engine, app: FastAPI) -> Check:
    def check() -> str | None:
        from custodes.ledger.storage import LedgerReader

        LedgerReader(engine).head()
        door = getattr(app.state, "door", None)
        appender = getattr(getattr(door, "ledger", None), "_inner", getattr(door, "ledger", None))
        path = getattr(appender, "path", None)
        if path is not None:  # a RemoteLedger: the sequencer's socket must accept
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
                probe.settimeout(1.0)
                probe.connect(str(path))
        thread = getattr(appender, "_thread", None)
        if isinstance(thread, threading.Thread) and not thread.is_alive():
            return "the group committer stopped"
        return None

    return check


def _keyring(engine: Engine, app: FastAPI) -> Check:
    def check() -> str | None:
        door = getattr(app.state, "door", None)
        keyring = getattr(door, "keyring", None)
        if keyring is None:
            return None  # a read-only ledger server holds no keys
        from custodes.vault.health import check_data_keys

        result = check_data_keys(engine, keyring, per_version=1, shuffle=False)
        return None if result.ok else "the keyring does not open stored data keys"

    return check


def _witness(url: str) -> Check:
    def check() -> str | None:
        import httpx

        from custodes.ledger.witness.client import is_loopback_host

        host = httpx.URL(url).host
        if not is_loopback_host(host):
            return "not a loopback address"
        httpx.get(url, timeout=2.0)  # any HTTP answer means it is up
        return None

    return check


def _run(checks: dict[str, Check]) -> tuple[bool, dict[str, Any]]:
    results: dict[str, Any] = {}
    ready = True
    for name, check in checks.items():
        try:
            problem = check()
        except Exception as exc:  # the reason is the type, never a message
            problem = f"unavailable ({type(exc).__name__})"
        results[name] = "ok" if problem is None else problem
        ready = ready and problem is None
    return ready, results


def install_health(app: FastAPI, witness_urls: tuple[str, ...] | None = None) -> None:
    engine: Engine = app.state.engine
    if witness_urls is None:
        try:
            witness_urls = Settings.from_env().witness_urls
        except CustodesError:
            witness_urls = ()
    checks: dict[str, Check] = {
        "database": _database(engine),
        "ledger": _ledger(engine, app),
        "keyring": _keyring(engine, app),
    }
    for number, url in enumerate(witness_urls, start=1):
        checks[f"witness{number}"] = _witness(url)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    @app.get("/readyz", include_in_schema=False)
    def readyz(_: Request) -> JSONResponse:
        ready, results = _run(checks)
        body = {"status": "ready" if ready else "unavailable", "checks": results}
        return JSONResponse(body, status_code=200 if ready else 503)
