"""The HTTP application: assembles routers; no business logic lives here."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import Engine

from custodes import __version__
from custodes.ledger.http import ledger_router
from custodes.web.problems import install_problem_handlers


def create_app(engine: Engine) -> FastAPI:
    app = FastAPI(
        title="custodes",
        version=__version__,
        description="Insider-abuse protection for customer data: vault, one door, Merkle ledger.",
    )
    app.state.engine = engine
    install_problem_handlers(app)
    app.include_router(ledger_router())
    return app
