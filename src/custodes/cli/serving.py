"""What `custodes serve` says when it starts, and the worker factory that logs like it.

The banner answers an operator's first questions: where is it listening, which home and
database (password hidden), how big is the ledger, which policy is in force, where are the
health, readiness and metrics endpoints.
"""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from custodes.runtime import Runtime


def policy_version(engine: Engine, sha256: str) -> str:
    """`v3 (sha256 1a2b3c4d…)` for an applied policy, or the shipped default."""
    from custodes.access.models import PolicyVersion

    with Session(engine) as session:
        version = session.scalar(
            select(PolicyVersion.version)
            .where(PolicyVersion.sha256 == sha256)
            .order_by(PolicyVersion.version.desc())
            .limit(1)
        )
    label = f"v{version}" if version is not None else "shipped default"
    return f"{label} (sha256 {sha256[:12]}…)"


def banner(
    rt: Runtime, engine: Engine, policy_sha256: str, host: str, port: int, workers: int
) -> list[str]:
    from custodes.ledger.storage import LedgerReader

    reader = LedgerReader(engine)
    size = reader.head().size
    latest = reader.latest_checkpoint(cosigned=False)
    shown_host = f"[{host}]" if ":" in host else host
    base = f"http://{shown_host}:{port}"
    checkpoint = f"checkpoint at size {latest[0]}" if latest else "no checkpoint yet"
    return [
        f"custodes serving on {base} ({workers} worker{'s' if workers > 1 else ''})",
        f"  home:     {rt.settings.home.resolve()}",
        f"  database: {rt.settings.database_display()}",
        f"  ledger:   {size} entries, {checkpoint}; origin {rt.settings.ledger_origin}",
        f"  policy:   {policy_version(engine, policy_sha256)}",
        f"  API docs: {base}/docs · health: /healthz /readyz · metrics: /metrics",
        f"  logs:     JSON lines on stderr at level {rt.settings.log_level} (CUSTODES_LOG_LEVEL)",
    ]


def check_listen(host: str, port: int) -> None:
    """Fail in one line before anything starts if the address cannot be bound (uvicorn would
    log several lines and exit)."""
    import socket

    from custodes.errors import ConfigError

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        raise ConfigError(f"--host {host}: not an address this machine can resolve") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise ConfigError(
                f"cannot listen on {host}:{port} ({exc.strerror}); "
                "is another server running there? choose another --port"
            ) from None


def create_logged_worker_app() -> FastAPI:
    """`serve --workers N`: each worker process sets up the same JSON logs, then the app."""
    from custodes.web.logs import configure_logging
    from custodes.web.worker import create_worker_app

    configure_logging(Runtime.from_env().settings.log_level)
    return create_worker_app()
