"""Ledgered decisions are detection input too: evidence points at ledger indices."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine

from custodes.access.door import Door
from custodes.access.model import Justification
from custodes.access.policy import Policy
from custodes.detect.inputs import load_database
from custodes.ledger.sequencer import GroupCommitter, Sequencer
from custodes.vault.keyring import FileKeyring
from tests.support.marketplace import seed


def test_ledger_decisions_become_events(
    engine: Engine, keyring: FileKeyring, tmp_path: Path
) -> None:
    seed(engine, keyring)
    with Sequencer(engine) as seq:
        committer = GroupCommitter(seq)
        door = Door(engine, keyring, committer, Policy.default(), Ed25519PrivateKey.generate())
        allowed = door.reveal("A1", "C1", ("email",), Justification("customer_contact", "K1"))
        denied = door.reveal("A1", "C2", ("email",), Justification("customer_contact"))
        committer.close()
    assert allowed.decision.allowed and not denied.decision.allowed
    inputs = load_database(engine)
    events = inputs.events.to_pylist()
    ledger = [e for e in events if e["evidence"].startswith("ledger:")]
    assert [e["evidence"] for e in ledger] == [f"ledger:{allowed.decision.ledger_index}"]
    assert ledger[0]["employee_id"] == "A1" and ledger[0]["case_id"] == "K1"
    links = [
        r for r in inputs.event_customers.to_pylist() if r["event_id"] == ledger[0]["event_id"]
    ]
    assert [r["customer_id"] for r in links] == ["C1"]
