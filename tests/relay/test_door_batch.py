"""The door's batch of relay addresses: each message still its own decision and its own signed
`message.relay` entry, the same answers as one call per message, nothing decrypted without a
recorded allow, and one message's failure stays its own."""

from __future__ import annotations

import json

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from custodes.ledger.errors import LedgerUnavailable
from custodes.ledger.models import LedgerEntryRow
from custodes.marketplace.models import Order
from custodes.relay.errors import DeliveryDeferred, PermanentFailure
from custodes.relay.queue import Claimed
from custodes.store.engine import transaction
from custodes.vault.errors import VaultError
from custodes.vault.service import erase_customer
from tests.support.marketplace import T0
from tests.support.relay import C1_EMAIL, C2_EMAIL, World

PAIRS = [
    ("SA", "C1"),  # an order, seller active: allow
    ("SC", "C2"),  # allow
    ("SA", "C2"),  # no order between them: deny
    ("SB", "C1"),  # an order, but the seller is banned: deny
    ("SA", "C1"),  # the same pair again: its own decision and entry
    ("SA", "C404"),  # no such customer: deny
]


def _relayed(world: World) -> list[dict]:  # type: ignore[type-arg]
    with Session(world.engine) as session:
        rows = session.scalars(select(LedgerEntryRow.data).order_by(LedgerEntryRow.idx)).all()
    return [e for e in map(json.loads, rows) if e["action"] == "message.relay"]


def test_one_decision_and_one_entry_per_message(world: World) -> None:
    with transaction(world.engine) as session:
        session.add(
            Order(order_id="O9", customer_id="C1", product_id="P2", seller_id="SB", ordered_at=T0)
        )
    door = world.relay.door
    batch = door.relay_addresses("relay", PAIRS)
    singles = [door.relay_address("relay", *pair) for pair in PAIRS]
    assert not any(isinstance(o, Exception) for o in batch)
    answers = [(o.decision.outcome, o.decision.reason, o.data) for o in batch]  # type: ignore[union-attr]
    assert answers == [(o.decision.outcome, o.decision.reason, o.data) for o in singles]
    assert [a[2] for a in answers] == [C1_EMAIL, C2_EMAIL, None, None, C1_EMAIL, None]
    entries = _relayed(world)
    assert len(entries) == 2 * len(PAIRS)
    assert [e["decision"] for e in entries[: len(PAIRS)]] == [a[0] for a in answers]
    indices = [o.decision.ledger_index for o in batch]  # type: ignore[union-attr]
    assert len(set(indices)) == len(PAIRS) and None not in indices
    assert C1_EMAIL not in json.dumps(entries) and C2_EMAIL not in json.dumps(entries)
    assert all(e["resources"][0].startswith("customer:cp_") for e in entries[:2])


def test_without_the_ledger_nothing_is_decrypted(world: World) -> None:
    with world.engine.begin() as conn:
        conn.execute(text("DROP TABLE ledger_nodes"))
    batch = world.relay.door.relay_addresses("relay", PAIRS[:2])
    assert all(isinstance(o, LedgerUnavailable) for o in batch)
    claimed = [Claimed(f"msg_{n}", "to_customer", world.a1, "x", b"", 1) for n in range(3)]
    found = world.relay.recipients(claimed)
    assert all(isinstance(f, DeliveryDeferred) for f in found.values())


def test_an_erased_customer_fails_only_their_own_message(world: World) -> None:
    with transaction(world.engine) as session:
        erase_customer(session, "C2")
    batch = world.relay.door.relay_addresses("relay", PAIRS[:2])
    assert batch[0].data == C1_EMAIL  # type: ignore[union-attr]
    assert isinstance(batch[1], VaultError)
    assert [e["decision"] for e in _relayed(world)] == ["allow", "allow"]  # both on the record
    claimed = [
        Claimed("msg_a", "to_customer", world.a1, "x", b"", 1),
        Claimed("msg_b", "to_customer", world.c2, "x", b"", 1),
    ]
    found = world.relay.recipients(claimed)
    assert found["msg_a"] == C1_EMAIL
    assert isinstance(found["msg_b"], PermanentFailure)
