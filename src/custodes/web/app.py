"""The HTTP application: assembles routers and the services behind them; no business logic."""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio.to_thread
from fastapi import FastAPI
from sqlalchemy import Engine

from custodes import __version__
from custodes.access.door import Door, Ledger
from custodes.access.http import access_routers, install_access_errors
from custodes.access.http_reveal import install_reveal_fast_path
from custodes.access.policy import Policy
from custodes.identity.pages import identity_pages
from custodes.identity.settings import OIDCSettings, WebAuthnSettings
from custodes.ledger.errors import LedgerError
from custodes.ledger.http import ledger_router
from custodes.ledger.note import Verifier
from custodes.ledger.sequencer import GroupCommitter, Sequencer
from custodes.ledger.witnessing import WitnessLoop
from custodes.problems import install_problem_handlers
from custodes.relay.http import relay_router
from custodes.runtime import Services
from custodes.web.access_log import install_access_log
from custodes.web.api_docs import install_offline_docs
from custodes.web.health import install_health
from custodes.web.limits import RequestLimits
from custodes.web.metrics import install_metrics
from custodes.web.request_rules import install_request_rules

log = logging.getLogger(__name__)


def create_app(
    engine: Engine,
    services: Services | None = None,
    worker_threads: int = 16,
    ledger: Ledger | None = None,
) -> FastAPI:
    """Build the app. With `services` and no `ledger`, this process becomes the log's
    sequencer; with a `ledger` (a RemoteLedger), it is a stateless worker appending through it."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Few worker threads: request work is short Python between SQLite calls, and dozens of
        # threads fighting for the GIL cost more than they overlap (measured: bench/README.md).
        anyio.to_thread.current_default_thread_limiter().total_tokens = worker_threads
        # Everything built so far (routes, models, policy, caches) lives as long as the server:
        # frozen, the collector stops rescanning it, and full collections under load drop from
        # tens of milliseconds to a few (bench/README.md).
        gc.collect()
        gc.freeze()
        stop = threading.Event()
        holds_log = app.state.sequencer is not None
        loops = _start_background(app, services, holds_log, stop)
        try:
            yield
        finally:
            stop.set()
            for loop in loops:
                loop.stop()
            gc.unfreeze()  # collectable again once the server stops (tests build many apps)
            _close_ledger(app)

    app = FastAPI(
        title="custodes",
        version=__version__,
        description="Insider-abuse protection for customer data: vault, one door, Merkle ledger.",
        lifespan=lifespan,
        # custodes exports Prometheus metrics and JSON logs, not OpenTelemetry: FastAPI's own
        # telemetry would otherwise look up three global OTel providers on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.engine = engine
    ledger = _install_door(app, engine, services, ledger)
    _install_routes(app, engine, services, ledger)
    return app


def _install_door(
    app: FastAPI, engine: Engine, services: Services | None, ledger: Ledger | None
) -> Ledger | None:
    """The one door, over this process's own sequencer or the given remote ledger."""
    app.state.door = None
    app.state.committer = None
    app.state.sequencer = None
    app.state.exposures = services.exposures if services is not None else None  # canaries
    if services is None:
        return ledger
    if ledger is None:
        if services.signer is None:
            raise LedgerError("the sequencer needs the log's signing key: record, sign, answer")
        sequencer = Sequencer(engine, services.signer, state=services.signer_state).open()
        ledger = app.state.committer = GroupCommitter(sequencer)
        app.state.sequencer = sequencer
    app.state.door = Door(
        engine,
        services.keyring,
        ledger,
        services.policy or Policy.default(),
        services.approval_key,
        services.notifier,
        services.config,
    )
    return ledger


def _close_ledger(app: FastAPI) -> None:
    if app.state.committer is not None:
        app.state.committer.close()
    if app.state.sequencer is not None:
        app.state.sequencer.close()


def _install_routes(
    app: FastAPI, engine: Engine, services: Services | None, ledger: Ledger | None
) -> None:
    install_problem_handlers(app)
    install_access_errors(app)
    install_reveal_fast_path(app)  # innermost: inside the limits, rules, metrics and log
    app.add_middleware(RequestLimits)
    for router in access_routers():  # first: the reveal is the busiest route to match
        app.include_router(router)
    app.include_router(ledger_router())
    app.include_router(_identity(app, engine, services, ledger))
    app.include_router(relay_router())
    install_request_rules(app)
    install_health(app)
    install_metrics(app)
    install_offline_docs(app)
    install_access_log(app)


def _identity(
    app: FastAPI, engine: Engine, services: Services | None, ledger: Ledger | None
) -> Any:
    """Who employees are: the session service and ID-token verifier `/v1` proves employees
    with, and the pages (enroll, sign in, the approvals inbox backed by the door)."""
    from custodes.access.inbox import door_decide, door_inbox
    from custodes.access.principal import VerifiedTokens
    from custodes.identity.directory import EmployeeDirectory
    from custodes.identity.oidc import IDTokenVerifier
    from custodes.identity.recording import ledger_recorder
    from custodes.identity.service import IdentityService

    app.state.identity = None
    app.state.id_tokens = None
    door = app.state.door
    if services is None or door is None or ledger is None:
        return identity_pages(engine, None)
    appender = ledger
    settings = services.webauthn or WebAuthnSettings.from_env()
    service = IdentityService(
        engine, settings, ledger_recorder(lambda data: appender.append(data).index)
    )
    oidc = services.oidc or OIDCSettings.from_env()
    app.state.identity = service
    if oidc is not None:
        app.state.id_tokens = VerifiedTokens(IDTokenVerifier(oidc, EmployeeDirectory(engine)))
    return identity_pages(
        engine, None, service=service, inbox=door_inbox(door), decide=door_decide(door)
    )


class _Sweeper:
    """Expires requests (and unreviewed break-glass grants' reviews) on a timer, each on the
    record; every worker may run one, the ledger's guards make each expiry happen once."""

    def __init__(self, door: Door, interval: float, stop: threading.Event) -> None:
        self.door, self.interval, self._stop = door, interval, stop
        self._thread = threading.Thread(target=self._run, name="request-expiry", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.door.expire()
            except Exception:  # the ledger or database is away: the next sweep tries again
                log.warning("request expiry sweep failed; retrying later")

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def _start_background(
    app: FastAPI, services: Services | None, holds_log: bool, stop: threading.Event
) -> list[WitnessLoop | _Sweeper | _PolicyWatcher | _SocketServer]:
    loops: list[WitnessLoop | _Sweeper | _PolicyWatcher | _SocketServer] = []
    if services is None or app.state.door is None:
        return loops
    if holds_log and services.witnesses:
        loops.append(WitnessLoop(app.state.engine, services.witnesses).start())
    if holds_log and services.socket_path is not None:
        loops.append(_SocketServer(app.state.committer, services.socket_path))
    if services.expiry_interval > 0:
        loops.append(_Sweeper(app.state.door, services.expiry_interval, stop))
    if services.policy_interval > 0:
        loops.append(
            _PolicyWatcher(app.state.door, services.log_verifier, services.policy_interval, stop)
        )
    return loops


class _SocketServer:
    """Operator commands (`policy apply`, `tokens create`, …) append through this process's
    sequencer while it serves, as API workers do."""

    def __init__(self, committer: GroupCommitter, path: Path) -> None:
        from custodes.ledger.remote import SequencerServer

        self.server = SequencerServer(committer, path)
        self._thread = threading.Thread(
            target=self.server.serve_forever, name="sequencer-socket", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self.server.stop()
        self._thread.join(timeout=10)


class _PolicyWatcher:
    """Follows policy changes applied while the server runs (by any process): the newest
    ledgered apply becomes the policy; one that does not check out makes the door deny all."""

    def __init__(
        self, door: Door, verifier: Verifier | None, interval: float, stop: threading.Event
    ) -> None:
        self.door, self.verifier, self.interval, self._stop = door, verifier, interval, stop
        self._seen = door.policy.sha256
        self._thread = threading.Thread(target=self._run, name="policy-watch", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        from custodes.access.policy_store import PolicyIntegrityError, current_policy

        while not self._stop.wait(self.interval):
            try:
                policy = current_policy(self.door.engine, self.verifier)
            except PolicyIntegrityError as exc:
                log.critical("policy integrity: %s; denying everything", exc)
                policy = Policy("// the stored policy failed its ledger check: deny all\n")
            except Exception as exc:  # the database is away: keep the policy in force
                log.warning("policy check failed (%s); keeping the policy in force", exc)
                continue
            if policy.sha256 != self._seen:
                self._seen = policy.sha256
                self.door.policy = policy
                log.warning("policy %s now in force", policy.sha256[:12])

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def close_app(app: FastAPI) -> None:
    """Stop the sequencer of an app built outside a server (tests, scripts)."""
    committer = getattr(app.state, "committer", None)
    sequencer = getattr(app.state, "sequencer", None)
    if committer is not None:
        committer.close()
        app.state.committer = None
    if sequencer is not None:
        sequencer.close()
        app.state.sequencer = None
