"""Canaries, fingerprinted exports and the canary intake, on both backends: canaries look real
and are sealed, never shared between exposures, never counted; a leaked export names its
exporter; mail to a canary raises an alert naming the exposure and the employee."""

from __future__ import annotations

import csv
import io
import json
import smtplib
from collections.abc import Iterator
from pathlib import Path

import phonenumbers
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from custodes.access.door import Door
from custodes.access.model import Justification, Resource
from custodes.access.policy import Policy
from custodes.detect.alerts import shower
from custodes.forensics.attribute import attribute, findings
from custodes.forensics.canaries import Minting, canary_ids, issue
from custodes.forensics.exports import match_file, write_export
from custodes.forensics.intake import Intake, start
from custodes.forensics.leaks import parse_leak
from custodes.forensics.models import Canary, CanaryHit
from custodes.forensics.store import DatabaseReads, DatabaseSource
from custodes.ledger.note import Signer, generate_signer_key
from custodes.ledger.sequencer import GroupCommitter, Sequencer
from custodes.vault.keyring import FileKeyring
from tests.support.marketplace import seed
from tests.support.relay import free_port


@pytest.fixture
def door(engine: Engine, keyring: FileKeyring) -> Iterator[Door]:
    seed(engine, keyring)
    signer = Signer.from_skey(generate_signer_key("custodes.test/ledger")[0])
    with Sequencer(engine, signer) as sequencer:
        ledger = GroupCommitter(sequencer)
        yield Door(engine, keyring, ledger, Policy.default(), Ed25519PrivateKey.generate())
        ledger.close()


def test_canaries_look_real_are_sealed_and_never_shared(
    engine: Engine, keyring: FileKeyring, door: Door
) -> None:
    before = DatabaseReads(engine).population
    first, people = issue(
        engine, keyring, "search", "A1", 5, minting=Minting(countries=("DE", "JP", "BR"))
    )
    second, others = issue(engine, keyring, "reveal", "A2", 5)
    assert not {p.customer_id for p in people} & {p.customer_id for p in others}
    for person in people + others:
        number = phonenumbers.parse(person.pii.phone or "")
        assert phonenumbers.is_valid_number(number)
        assert phonenumbers.region_code_for_number(number) == person.country
        assert person.pii.name and person.pii.address and "@" in (person.pii.email or "")
        assert person.pii.email not in repr(person)
    with Session(engine) as session:
        assigned = dict(session.execute(select(Canary.customer_id, Canary.exposure_id)).all())
    assert {assigned[p.customer_id] for p in people} == {first}
    assert {assigned[p.customer_id] for p in others} == {second}
    assert canary_ids(engine) == set(assigned)
    assert DatabaseReads(engine).population == before  # never counted as customers
    with engine.connect() as conn:
        dump = " ".join(str(r) for r in conn.execute(text("SELECT * FROM vault_records")))
    for person in people:
        assert (person.pii.email or "") not in dump and (person.pii.phone or "") not in dump


def test_a_leaked_export_names_its_exporter(
    engine: Engine, keyring: FileKeyring, door: Door, tmp_path: Path
) -> None:
    why = Justification("legal", text="subject access request")
    asked = door.request(
        "P1", "customer.export", Resource("customer", ("C1", "C2"), ("name", "email")), why
    )
    request_id = asked.decision.request_id
    assert request_id
    digest = door.preview(request_id)["digest"]
    from custodes.cli.demo_story import Passkeys as _Passkeys

    proof = _Passkeys(engine, door.ledger).approval("P2", request_id, bytes.fromhex(digest))
    assert door.approve(proof).decision.allowed
    out = tmp_path / "export.csv"
    result = write_export(engine, keyring, door, "P1", request_id, out, canaries=3)
    assert result.decision.allowed and result.rows == 5
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert len(rows) == 5 and set(rows[0]) == {"customer_id", "email", "name"}
    assert match_file(engine, out)["exposure_id"] == result.exposure_id  # type: ignore[index]
    assert door.execute("P1", request_id).decision.outcome == "deny"  # executed once only
    # A copy leaks with its rows reordered and two of them dropped: the canaries still speak.
    leaked = "\n".join(r["email"].upper() for r in reversed(rows[:4])) + "\n"
    source = DatabaseSource(engine, keyring)
    doc = findings(
        attribute(parse_leak("leak", leaked), source), source, shower(keyring.pseudonym_key, ["P1"])
    )
    top = doc["suspects"][0]
    assert (top["employee_id"], top["role"], top["score"]) == ("P1", "canary", 1.0)
    assert top["evidence"][0]["kind"] == "export"
    assert top["evidence"][0]["ledger_index"] == result.decision.ledger_index
    assert doc["canaries"] >= 1 and "@" not in json.dumps(doc)


def test_mail_to_a_canary_is_an_alert(engine: Engine, keyring: FileKeyring, door: Door) -> None:
    exposure_id, people = issue(engine, keyring, "export", "A1", 2)
    alerts: list[dict[str, object]] = []
    port = free_port()
    controller = start(
        Intake(engine, keyring, alerts.append, shower(keyring.pseudonym_key)), "127.0.0.1", port
    )
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.sendmail(
                "spammer@bulk.example",
                [people[0].pii.email or ""],
                b"Subject: great offer\r\nMessage-ID: <1@bulk.example>\r\n\r\nbuy\r\n",
            )
            with pytest.raises(smtplib.SMTPRecipientsRefused):
                client.sendmail("spammer@bulk.example", ["someone.real@post.example"], b"x")
    finally:
        controller.stop()
    assert len(alerts) == 1
    alert = alerts[0]
    assert alert["exposure"] == exposure_id and alert["exposure_kind"] == "export"
    assert str(alert["employee_id"]).startswith("ep_") and alert["sender_domain"] == "bulk.example"
    with Session(engine) as session:
        hit = session.scalars(select(CanaryHit)).one()
    assert hit.employee_id == "A1" and hit.exposure_id == exposure_id
    assert b"spammer" not in (hit.sender_digest or b"") and "spammer" not in hit.headers


def test_signals_become_evidence(engine: Engine, keyring: FileKeyring, door: Door) -> None:
    from datetime import UTC, datetime

    from custodes.forensics.signals import ingest_canary_signals
    from custodes.marketplace.models import OutsideSignal
    from custodes.store.engine import transaction
    from custodes.vault.pseudonym import blind_index
    from tests.support.marketplace import CUSTOMERS

    exposure_id, people = issue(engine, keyring, "search", "T1", 1)
    now = datetime.now(UTC)
    digest = blind_index(keyring.blind_index_key, "email", (people[0].pii.email or "").lower())
    c1 = blind_index(keyring.blind_index_key, "email", CUSTOMERS["C1"].email or "")
    with transaction(engine) as session:
        session.add(OutsideSignal(source_line=3, time=now, kind="canary_hit", email_index=digest))
        session.add(
            OutsideSignal(
                source_line=4,
                time=now,
                kind="offplatform_contact",
                seller_id="SB",
                customer_id="C2",
            )
        )
        session.add(
            OutsideSignal(
                source_line=5, time=now, kind="offplatform_contact", seller_id="SB", email_index=c1
            )
        )
    alerts: list[dict[str, object]] = []
    show = shower(keyring.pseudonym_key, ["T1"])
    assert ingest_canary_signals(engine, alerts.append, show) == 1
    assert ingest_canary_signals(engine, alerts.append, show) == 0  # once per signal line
    assert alerts[0]["exposure"] == exposure_id and alerts[0]["employee_id"] == "T1"
    source = DatabaseSource(engine, keyring)
    leak = f"{CUSTOMERS['C1'].email}\n{CUSTOMERS['C2'].email}\n"
    doc = findings(attribute(parse_leak("l", leak), source), source, show)
    assert doc["signals"] == [
        {
            "kind": "offplatform_contact",
            "seller_id": "SB",
            "customers": 2,
            "evidence": ["signals.jsonl:4", "signals.jsonl:5"],
        }
    ]
