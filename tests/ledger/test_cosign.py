"""The log and a witness together: cosignatures stored, exported and checked by verify."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from custodes.ledger.cosign import request_cosignature
from custodes.ledger.export import export_log
from custodes.ledger.note import Signer, generate_signer_key
from custodes.ledger.sequencer import Sequencer
from custodes.ledger.storage import LedgerReader
from custodes.ledger.verify import folder_fetcher, verify_log
from custodes.ledger.witness import (
    Witness,
    WitnessState,
    WitnessUnprocessable,
    generate_witness_key,
)
from custodes.ledger.witness.http import create_witness_app

ORIGIN = "custodes.test/ledger"


def test_cosign_grow_cosign_export_verify(engine: Engine, tmp_path: Path) -> None:
    signer = Signer.from_skey(generate_signer_key(ORIGIN)[0])
    key = generate_witness_key("witness.test")
    witness = Witness(WitnessState(tmp_path / "state.json"), key, {ORIGIN: signer.verifier()})
    client = TestClient(create_witness_app(witness))
    url = "http://127.0.0.1"

    with Sequencer(engine, signer) as seq:
        seq.append_batch([b'{"n":%d}' % i for i in range(10)])
        assert request_cosignature(engine, url, key.cosigner_key, client)[0] == 10
        seq.append_batch([b'{"n":%d}' % i for i in range(10, 37)])
        size, line = request_cosignature(engine, url, key.cosigner_key, client)
        assert size == 37 and line.startswith("— witness.test ")
        # Asking again at the same size is answered from what we stored.
        assert request_cosignature(engine, url, key.cosigner_key, client) == (37, line)

    assert LedgerReader(engine).last_cosigned_size("witness.test") == 37
    export_log(LedgerReader(engine), tmp_path / "export")
    report = verify_log(folder_fetcher(tmp_path / "export"), signer.verifier(), [key.cosigner_key])
    assert report.ok and report.cosigned_by == ["witness.test"]


def test_witness_refuses_a_forked_log(engine: Engine, tmp_path: Path, db_url: str) -> None:
    signer = Signer.from_skey(generate_signer_key(ORIGIN)[0])
    key = generate_witness_key("witness.test")
    witness = Witness(WitnessState(tmp_path / "state.json"), key, {ORIGIN: signer.verifier()})
    client = TestClient(create_witness_app(witness))
    with Sequencer(engine, signer) as seq:
        seq.append_batch([b"a", b"b", b"c"])
    request_cosignature(engine, "http://127.0.0.1", key.cosigner_key, client)

    # Another database with the same key but different history: a split view.
    from custodes.store.engine import make_engine
    from custodes.store.migrate import upgrade

    other = make_engine(f"sqlite:///{tmp_path / 'fork.db'}")
    upgrade(other)
    with Sequencer(other, signer) as seq:
        seq.append_batch([b"a", b"b", b"X", b"d"])
    # The witness holds size 3 with another root: the proof from there cannot verify.
    with pytest.raises(WitnessUnprocessable):
        request_cosignature(other, "http://127.0.0.1", key.cosigner_key, client)
    other.dispose()
