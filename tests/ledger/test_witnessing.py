"""Witnessing happens by itself, shows when it fails, and lets a verifier catch a rollback."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, update

from custodes.ledger.compact import CompactRange
from custodes.ledger.cosign import CosignError, request_cosignature
from custodes.ledger.export import export_log
from custodes.ledger.models import LedgerCheckpoint, LedgerCosignature, LedgerEntryRow
from custodes.ledger.note import Signer, generate_signer_key
from custodes.ledger.rfc6962 import leaf_hash
from custodes.ledger.sequencer import Sequencer
from custodes.ledger.storage import LedgerReader
from custodes.ledger.verify import folder_fetcher, verify_log, witnessed_head
from custodes.ledger.witness import Witness, WitnessState, generate_witness_key
from custodes.ledger.witness.http import create_witness_app
from custodes.ledger.witnessing import WitnessConfig, WitnessLoop, witness_status

ORIGIN = "custodes.test/ledger"
URL = "http://127.0.0.1"


@pytest.fixture
def signer() -> Signer:
    return Signer.from_skey(generate_signer_key(ORIGIN)[0])


def test_a_new_log_is_a_clear_error_not_a_cosignature_at_size_zero(engine: Engine) -> None:
    key = generate_witness_key("witness.test")
    with pytest.raises(CosignError, match="no signed checkpoint"):
        request_cosignature(engine, "http://127.0.0.1:9", key.cosigner_key)
    assert LedgerReader(engine).last_cosigned_size("witness.test") is None


def test_the_loop_cosigns_each_new_checkpoint_and_reports_failures(
    engine: Engine, signer: Signer, tmp_path: Path
) -> None:
    key = generate_witness_key("witness.test")
    witness = Witness(WitnessState(tmp_path / "w.json"), key, {ORIGIN: signer.verifier()})
    client = TestClient(create_witness_app(witness))
    loop = WitnessLoop(engine, [WitnessConfig(URL, key.cosigner_key)], client=client)
    with Sequencer(engine, signer) as seq:
        seq.append_batch([b'{"n":%d}' % i for i in range(5)])
        loop.run_once()
        assert LedgerReader(engine).last_cosigned_size("witness.test") == 5
        seq.append_batch([b'{"n":%d}' % i for i in range(5, 30)])
        loop.run_once()
    assert LedgerReader(engine).last_cosigned_size("witness.test") == 30
    (status,) = witness_status(engine)
    assert status.cosigned_size == 30 and status.last_error is None

    # The witness is asked for what it saw: a log truncated to 20 (with its checkpoints,
    # cosignatures and all) no longer passes verify once that is compared.
    seen = witnessed_head(URL, key.cosigner_key, signer.verifier(), ORIGIN, client)
    assert seen is not None and seen.size == 30
    with engine.begin() as conn:
        conn.execute(delete(LedgerCosignature))
        conn.execute(delete(LedgerCheckpoint).where(LedgerCheckpoint.size > 5))
        conn.execute(delete(LedgerEntryRow).where(LedgerEntryRow.idx >= 5))
        tree = CompactRange()
        for data in LedgerReader(engine).entries(0, 5):
            tree.append(leaf_hash(data))
        from custodes.ledger.models import LedgerHead

        conn.execute(update(LedgerHead).values(size=5, root=tree.root()))
    export_log(LedgerReader(engine), tmp_path / "export")
    fetch = folder_fetcher(tmp_path / "export")
    assert verify_log(fetch, signer.verifier()).ok  # alone, an old signed state looks fine
    report = verify_log(fetch, signer.verifier(), trusted=[seen])
    assert not report.ok and "rolled back" in (report.problem or "")

    broken = WitnessLoop(
        engine,
        [WitnessConfig("http://127.0.0.1:9", key.cosigner_key)],
        client=httpx.Client(timeout=0.5),
    )
    with engine.begin() as conn:
        conn.execute(delete(LedgerCosignature))
    broken.run_once()  # never raises
    (status,) = witness_status(engine)
    assert status.last_error is not None
