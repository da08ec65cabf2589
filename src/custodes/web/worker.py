"""Stateless API workers (uvicorn `--workers N`): each appends through the sequencer process.

uvicorn imports `create_worker_app` by name in every worker process; everything comes from the
environment, like `custodes serve`.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from fastapi import FastAPI

from custodes.access.door import DoorConfig
from custodes.ledger.pipelined import PipelinedLedger
from custodes.runtime import Runtime
from custodes.web.app import create_app


def sequencer_socket(home: Path) -> Path:
    return home / "run" / "sequencer.sock"


def create_worker_app() -> FastAPI:
    rt = Runtime.from_env()
    services = rt.services()
    config = replace(services.config or DoorConfig(), local_rate_windows=False)
    services = replace(services, config=config, signer=None)
    ledger = PipelinedLedger(sequencer_socket(rt.settings.home))
    return create_app(rt.migrated_engine(), services, ledger=ledger)
