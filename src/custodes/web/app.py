"""The HTTP application: assembles routers and the services behind them; no business logic."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import anyio.to_thread
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI
from sqlalchemy import Engine

from custodes import __version__
from custodes.access.door import Door, DoorConfig, Ledger
from custodes.access.http import access_router, install_access_errors
from custodes.access.notify import Notifier
from custodes.access.policy import Policy
from custodes.ledger.http import ledger_router
from custodes.ledger.note import Signer
from custodes.ledger.sequencer import GroupCommitter, Sequencer
from custodes.vault.keyring import Keyring
from custodes.web.access_log import install_access_log
from custodes.web.api_docs import install_offline_docs
from custodes.web.health import install_health
from custodes.web.metrics import install_metrics
from custodes.web.problems import install_problem_handlers
from custodes.web.request_rules import install_request_rules


@dataclass
class Services:
    """What the one door needs; without it the app serves the ledger read-only."""

    keyring: Keyring
    approval_key: Ed25519PrivateKey
    signer: Signer | None = None
    policy: Policy | None = None
    notifier: Notifier | None = None
    config: DoorConfig | None = None


def create_app(
    engine: Engine,
    services: Services | None = None,
    worker_threads: int = 16,
    ledger: Ledger | None = None,
) -> FastAPI:
    """Build the app. With `services` and no `ledger`, this process becomes the log's
    sequencer; with a `ledger` (a RemoteLedger), it is a stateless worker appending through it."""
    sequencer: Sequencer | None = None
    committer: GroupCommitter | None = None

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
        try:
            yield
        finally:
            gc.unfreeze()  # collectable again once the server stops (tests build many apps)
            if committer is not None:
                committer.close()
            if sequencer is not None:
                sequencer.close()

    app = FastAPI(
        title="custodes",
        version=__version__,
        description="Insider-abuse protection for customer data: vault, one door, Merkle ledger.",
        lifespan=lifespan,
    )
    app.state.engine = engine
    app.state.door = None
    if services is not None:
        if ledger is None:
            sequencer = Sequencer(engine, services.signer).open()
            committer = GroupCommitter(sequencer)
            ledger = committer
        app.state.door = Door(
            engine,
            services.keyring,
            ledger,
            services.policy or Policy.default(),
            services.approval_key,
            services.notifier,
            services.config,
        )
        app.state.committer = committer
        app.state.sequencer = sequencer
    install_problem_handlers(app)
    install_access_errors(app)
    app.include_router(ledger_router())
    app.include_router(access_router())
    install_request_rules(app)
    install_health(app)
    install_metrics(app)
    install_offline_docs(app)
    install_access_log(app)
    return app


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
