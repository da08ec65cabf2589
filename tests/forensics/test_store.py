"""Attribution on the database (both backends): the read index from imported events and from
the ledger, canaries decisive, agreement with the dataset-folder path."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from custodes.access.door import Door
from custodes.access.model import Justification
from custodes.access.policy import Policy
from custodes.dataset.loader import import_dataset
from custodes.detect.alerts import shower
from custodes.forensics.attribute import attribute, findings
from custodes.forensics.folder import folder_source
from custodes.forensics.leaks import parse_leak
from custodes.forensics.models import Canary, EmailRead, Exposure, ReaderTotal
from custodes.forensics.store import DatabaseSource, refresh_index
from custodes.ledger.note import Signer, generate_signer_key
from custodes.ledger.sequencer import GroupCommitter, Sequencer
from custodes.ledger.service import proof_document, verify_proof_document
from custodes.store.engine import transaction
from custodes.vault.keyring import FileKeyring
from tests.support.forensics import Folder
from tests.support.marketplace import CUSTOMERS, seed

NOW = datetime(2026, 2, 1, tzinfo=UTC)


def _leak(folder: Folder, employee: str, n: int) -> str:
    return "\n".join(folder.emails[c].upper() for c in folder.reads[employee][:n]) + "\n"


def test_imported_events_agree_with_the_folder(
    engine: Engine, keyring: FileKeyring, folder: Folder
) -> None:
    import_dataset(engine, folder.path, keyring)
    merged = refresh_index(engine)
    assert merged > 0
    assert refresh_index(engine) == 0  # incremental: nothing new, nothing merged twice
    with Session(engine) as session:
        pairs = session.scalar(select(func.count()).select_from(EmailRead))
        total = session.scalar(select(func.sum(ReaderTotal.customers)))
    assert pairs == total == sum(len(v) for v in folder.reads.values())
    who = folder.busiest()
    leak = parse_leak("l", _leak(folder, who, 20) + "stranger@nowhere.example\n")
    show = shower(keyring.pseudonym_key, [who])
    db = findings(
        attribute(leak, DatabaseSource(engine, keyring)), DatabaseSource(engine, keyring), show
    )
    fs_source = folder_source(folder.path)
    fs = findings(attribute(leak, fs_source), fs_source, show)
    assert db["suspects"][0]["employee_id"] == who == fs["suspects"][0]["employee_id"]
    assert (db["matched"], db["unknown"]) == (fs["matched"], fs["unknown"]) == (20, 1)
    assert [s["covered"] for s in db["suspects"]] == [s["covered"] for s in fs["suspects"]]
    assert db["suspects"][0]["evidence"][0]["source"].startswith("access.jsonl:")
    text = json.dumps(db)
    assert "@" not in text and "cp_" in text  # customers by pseudonym, never by address


def test_ledger_reads_are_indexed_with_their_entry(engine: Engine, keyring: FileKeyring) -> None:
    seed(engine, keyring)
    signer = Signer.from_skey(generate_signer_key("custodes.test/ledger")[0])
    with Sequencer(engine, signer) as sequencer:
        ledger = GroupCommitter(sequencer)
        door = Door(engine, keyring, ledger, Policy.default(), Ed25519PrivateKey.generate())
        shown = door.reveal("A1", "C1", ("email",), Justification("customer_contact", "K1"))
        phone = door.reveal("A1", "C1", ("phone",), Justification("customer_contact", "K1"))
        denied = door.reveal("X1", "C1", ("email",), Justification("customer_contact", "K7"))
        ledger.close()
    assert shown.decision.allowed and phone.decision.allowed and not denied.decision.allowed
    refresh_index(engine)
    with Session(engine) as session:
        rows = session.execute(select(EmailRead.employee_id, EmailRead.ledger_index)).all()
    assert rows == [("A1", shown.decision.ledger_index)]  # the phone read and the denial are not
    source = DatabaseSource(engine, keyring)
    leak = parse_leak("l", CUSTOMERS["C1"].email or "")
    proofs: dict[str, str] = {}

    def proof(index: int) -> str:  # what --proofs does: a tlog-proof per cited entry
        proofs[f"proofs/{index}.proof"] = proof_document(engine, index)
        return f"proofs/{index}.proof"

    doc = findings(attribute(leak, source), source, shower(keyring.pseudonym_key, ["A1"]), proof)
    assert doc["suspects"][0]["employee_id"] == "A1"
    cited = doc["suspects"][0]["evidence"][0]
    assert cited["ledger_index"] == shown.decision.ledger_index
    _, entry = verify_proof_document(proofs[cited["proof"]], signer.verifier(), signer.name)
    assert json.loads(entry)["action"] == "customer.view"


def test_a_canary_is_decisive_and_not_counted(engine: Engine, keyring: FileKeyring) -> None:
    seed(engine, keyring)
    with transaction(engine) as session:
        session.add(Exposure(exposure_id="ex1", kind="search", employee_id="T1", created_at=NOW))
        session.flush()
        session.add(Canary(customer_id="C2", created_at=NOW, exposure_id="ex1", assigned_at=NOW))
    source = DatabaseSource(engine, keyring)
    leak = parse_leak("l", f"{CUSTOMERS['C1'].email}\n{CUSTOMERS['C2'].email}\n")
    doc = findings(attribute(leak, source), source, shower(keyring.pseudonym_key, ["T1"]))
    assert doc["canaries"] == 1 and doc["matched"] == 1
    top = doc["suspects"][0]
    assert (top["employee_id"], top["role"], top["score"]) == ("T1", "canary", 1.0)
    assert top["evidence"][0]["exposure"] == "ex1"
