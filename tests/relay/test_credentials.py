"""Issuing and revoking sellers' SMTP AUTH secrets is on the record: the seller and a reference
to the credential, never the secret; refused attempts as denies; nothing changes unrecorded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from custodes.ledger.errors import LedgerUnavailable
from custodes.ledger.models import LedgerEntryRow
from custodes.marketplace.models import Seller
from custodes.relay.credentials import ISSUE, REVOKE, Credentials, credential_ref
from custodes.relay.errors import RelayInputError
from custodes.relay.models import SellerCredential
from custodes.store.engine import make_engine, transaction
from tests.support.cli import home, run  # noqa: F401 - the fixture
from tests.support.marketplace import T0
from tests.support.relay import World


def _entries(engine, after: int = -1) -> list[tuple[dict, bytes]]:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        rows = session.scalars(
            select(LedgerEntryRow.data)
            .where(LedgerEntryRow.idx > after)
            .order_by(LedgerEntryRow.idx)
        ).all()
    return [(json.loads(row), bytes(row)) for row in rows]


def _last(engine) -> int:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        return int(session.scalar(select(func.coalesce(func.max(LedgerEntryRow.idx), -1))))


def _stored(engine, seller_id: str) -> str | None:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        row = session.get(SellerCredential, seller_id)
        return row.password_hash if row is not None else None


def test_issue_rotate_revoke_are_ledgered(world: World) -> None:
    issuer = Credentials(world.engine, world.ledger.append, world.keyring.pseudonym_key, "os:ops")
    before = _last(world.engine)
    old = _stored(world.engine, "SA")
    assert old is not None  # the fixture issued one
    secret = issuer.issue("SA")
    new = _stored(world.engine, "SA")
    assert new is not None and new != old
    assert issuer.revoke("SA") and _stored(world.engine, "SA") is None
    entries = _entries(world.engine, before)
    issued, revoked = (entry for entry, _ in entries)
    assert (issued["action"], issued["decision"], issued["resources"]) == (
        ISSUE,
        "recorded",
        ["seller:SA"],
    )
    assert issued["actor"] == "os:ops"
    assert issued["extra"]["credential"] == credential_ref(new)
    assert issued["extra"]["replaces"] == credential_ref(old)
    assert (revoked["action"], revoked["decision"]) == (REVOKE, "recorded")
    assert revoked["extra"]["credential"] == credential_ref(new)
    for _, data in entries:  # never the secret, nor its hash
        assert secret.encode() not in data and new.encode() not in data


def test_refusals_are_recorded(world: World) -> None:
    issuer = Credentials(world.engine, world.ledger.append, world.keyring.pseudonym_key, "os:ops")
    before = _last(world.engine)
    with pytest.raises(RelayInputError):
        issuer.issue("S404")
    assert issuer.revoke("SB")
    assert not issuer.revoke("SB")  # nothing left to revoke
    entries = [entry for entry, _ in _entries(world.engine, before)]
    assert [(e["action"], e["decision"], e.get("reason")) for e in entries] == [
        (ISSUE, "deny", "unknown_seller"),
        (REVOKE, "recorded", None),
        (REVOKE, "deny", "no_credentials"),
    ]
    # An id the operator typed that names no seller is a keyed digest, not itself.
    assert entries[0]["resources"][0].startswith("seller:id_")


def test_nothing_changes_unrecorded(world: World) -> None:
    def down(data: bytes) -> object:
        raise LedgerUnavailable("the ledger is away")

    issuer = Credentials(world.engine, down, world.keyring.pseudonym_key, "os:ops")
    old = _stored(world.engine, "SA")
    with pytest.raises(LedgerUnavailable):
        issuer.issue("SA")
    with pytest.raises(LedgerUnavailable):
        issuer.revoke("SA")
    assert _stored(world.engine, "SA") == old


def test_the_command_records_issue_and_revoke(home: Path) -> None:  # noqa: F811
    engine = make_engine(f"sqlite:///{home / 'custodes.db'}")
    with transaction(engine) as session:
        session.add(Seller(seller_id="S0042", name="Shop", status="active", created_at=T0))
    issued = run(home, "relay", "credentials", "S0042")
    secret = issued.stdout.split("secret: ")[1].split()[0]
    run(home, "relay", "credentials", "S0042", "--revoke")
    missing = run(home, "relay", "credentials", "S0042", "--revoke", ok=False)
    assert missing.returncode != 0 and len(missing.stderr.strip().splitlines()) == 1
    entries = _entries(engine)
    mine = [e for e, _ in entries if e["action"].startswith("relay.credentials")]
    assert [(e["action"], e["decision"]) for e in mine] == [
        (ISSUE, "recorded"),
        (REVOKE, "recorded"),
        (REVOKE, "deny"),
    ]
    assert mine[0]["extra"]["credential"] == mine[1]["extra"]["credential"]
    assert all(secret.encode() not in data for _, data in entries)
    engine.dispose()
