"""Witnessing without anyone remembering to: a background loop in the process that holds the
log asks every configured witness to cosign each new checkpoint within a bounded delay, and
keeps how it went (`ledger status`, `/readyz`, metrics), so a silent witness is visible."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from custodes.ledger.cosign import request_cosignature
from custodes.ledger.errors import LedgerError
from custodes.ledger.models import LedgerWitnessStatus
from custodes.ledger.note import CosignerKey
from custodes.ledger.storage import LedgerReader

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WitnessConfig:
    url: str
    key: CosignerKey


class WitnessLoop:
    """Every `interval` seconds: for each witness behind the latest checkpoint, ask it."""

    def __init__(
        self,
        engine: Engine,
        witnesses: list[WitnessConfig],
        interval: float = 1.0,
        client: httpx.Client | None = None,
    ) -> None:
        self.engine = engine
        self.witnesses = witnesses
        self.interval = interval
        self.client = client  # tests hand in a client bound to an in-process witness
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> WitnessLoop:
        if self.witnesses and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="ledger-witness", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.run_once()

    def run_once(self) -> None:
        """One round; never raises (the loop must outlive any witness outage)."""
        reader = LedgerReader(self.engine)
        try:
            latest = reader.latest_checkpoint(cosigned=False)
        except Exception:  # the database is away: try again next round
            log.warning("witnessing skipped: the checkpoint could not be read")
            return
        if latest is None:
            return
        for witness in self.witnesses:
            name = witness.key.name
            try:
                if reader.last_cosigned_size(name) == latest[0]:
                    continue
                size, _ = request_cosignature(self.engine, witness.url, witness.key, self.client)
                _note(self.engine, name, size, None)
            except Exception as exc:
                message = f"{type(exc).__name__}: {exc}"[:200]
                log.warning("witness %s did not cosign: %s", name, message)
                try:
                    _note(self.engine, name, None, message)
                except Exception:
                    log.warning("witness status could not be stored")


def _note(engine: Engine, witness: str, size: int | None, error: str | None) -> None:
    now = datetime.now(UTC)
    with Session(engine) as session, session.begin():
        row = session.get(LedgerWitnessStatus, witness)
        if row is None:
            row = LedgerWitnessStatus(witness=witness, cosigned_size=0, last_attempt_at=now)
            session.add(row)
        row.last_attempt_at = now
        row.last_error = error
        if size is not None:
            row.cosigned_size = size
            row.last_success_at = now


def witness_status(engine: Engine) -> list[LedgerWitnessStatus]:
    with Session(engine, expire_on_commit=False) as session:
        return list(
            session.scalars(select(LedgerWitnessStatus).order_by(LedgerWitnessStatus.witness))
        )


def parse_witnesses(urls: str, keys: str) -> list[WitnessConfig]:
    """CUSTODES_WITNESS_URLS and CUSTODES_WITNESS_KEYS: comma-separated, same order; a key is
    a verifier key or a file holding one."""
    from pathlib import Path

    url_list = [u.strip() for u in urls.split(",") if u.strip()]
    key_list = [k.strip() for k in keys.split(",") if k.strip()]
    if len(url_list) != len(key_list):
        raise LedgerError("CUSTODES_WITNESS_URLS and CUSTODES_WITNESS_KEYS need one key per URL")
    out = []
    for url, key in zip(url_list, key_list, strict=True):
        path = Path(key)
        text = path.read_text().strip() if path.is_file() else key
        out.append(WitnessConfig(url, CosignerKey.from_vkey(text)))
    return out
