"""HTTP: trust & safety read a held message through the one door; the order view names the
pair's relay alias, never an address."""

from __future__ import annotations

import json

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from custodes.access.tokens import create_token
from custodes.ledger.models import LedgerEntryRow
from custodes.marketplace.models import Case
from custodes.relay.aliases import alias_for
from custodes.relay.models import SellerContact
from custodes.relay.service import Relay
from custodes.relay.types import RelayConfig
from custodes.store.engine import transaction
from custodes.vault.keyring import FileKeyring
from tests.support.api import Api, api  # noqa: F401 - the fixtures
from tests.support.identity import provider  # noqa: F401 - the fixtures
from tests.support.marketplace import OPEN
from tests.support.relay import ACME, mail

K9 = {"justification": "review_report", "case_id": "K9"}


def _held(api: Api, keyring: FileKeyring) -> tuple[str, str]:  # noqa: F811
    with transaction(api.engine) as session:
        session.add(SellerContact(seller_id="SA", address=ACME))
        session.add(
            Case(
                case_id="K9",
                kind="review_report",
                employee_id="T1",
                customer_id="C1",
                seller_id="SA",
                opened_at=OPEN,
            )
        )
    door = api.client.app.state.door  # type: ignore[attr-defined]
    relay = Relay(api.engine, keyring, door, RelayConfig(domain="relay.test"))
    alias = alias_for(api.engine, "SA", "C1")
    address = f"{alias}@relay.test"
    accepted = relay.receive(
        relay.route(ACME, address, "SA"), mail(ACME, address, "Cheaper at www.acme-direct.com")
    )
    assert accepted.verdict == "held"
    return accepted.message_id, alias


def test_held_message_is_read_through_the_door(api: Api, keyring: FileKeyring) -> None:  # noqa: F811
    message_id, _ = _held(api, keyring)
    path = f"/v1/messages/{message_id}"
    denied = api.call(
        "GET", path, "A1", "oidc", params={"justification": "customer_contact", "case_id": "K1"}
    )
    assert denied.status_code == 403
    assert denied.headers["content-type"].startswith("application/problem+json")
    shown = api.call("GET", path, "T1", "oidc", params=K9)
    assert shown.status_code == 200, shown.text
    body = shown.json()
    assert "acme-direct" in body["message"]["raw"]
    assert {f["kind"] for f in body["message"]["findings"]} == {"url"}
    with Session(api.engine) as session:
        data = session.scalar(
            select(LedgerEntryRow.data).where(
                LedgerEntryRow.idx == body["decision"]["ledger_index"]
            )
        )
    assert b'"action":"message.view"' in data and b'"decision":"allow"' in data
    assert (
        api.call(
            "GET",
            "/v1/messages/msg_nothing",
            "T1",
            "oidc",
            params=K9,
        ).status_code
        == 404
    )


def _entries(api: Api, after: int) -> list[dict[str, object]]:  # noqa: F811
    with Session(api.engine) as session:
        rows = session.scalars(
            select(LedgerEntryRow.data)
            .where(LedgerEntryRow.idx > after)
            .order_by(LedgerEntryRow.idx)
        ).all()
    return [json.loads(row) for row in rows]


def _size(api: Api) -> int:  # noqa: F811
    with Session(api.engine) as session:
        return int(session.scalar(select(func.coalesce(func.max(LedgerEntryRow.idx), -1))))


def test_a_named_employee_does_not_read_message_content(api: Api, keyring: FileKeyring) -> None:  # noqa: F811
    """The attack: a service token that may name employees (the legacy header) names the
    trust & safety agent who owns the case and asks for the held message. Reading a message is
    a reveal of what a customer or seller wrote: it needs the employee's own proof, and the
    attempt is a recorded deny, not a read."""
    message_id, _ = _held(api, keyring)
    before = _size(api)
    asserted = api.call("GET", f"/v1/messages/{message_id}", "T1", "header", params=K9)
    assert asserted.status_code == 403, asserted.text
    assert asserted.headers["content-type"].startswith("application/problem+json")
    assert "acme-direct" not in asserted.text
    denials = [e for e in _entries(api, before) if e["action"] == "message.view"]
    assert [(e["decision"], e["reason"]) for e in denials] == [("deny", "own_proof_required")]
    assert denials[0]["extra"]["proof"] == "asserted"


def test_a_token_that_may_not_name_employees_is_refused_on_the_record(
    api: Api,  # noqa: F811
    keyring: FileKeyring,
) -> None:
    message_id, _ = _held(api, keyring)
    with Session(api.engine) as session, session.begin():
        _, plain = create_token(session, "reader", ["customers:reveal"])
    before = _size(api)
    got = api.client.get(
        f"/v1/messages/{message_id}",
        params=K9,
        headers={"Authorization": f"Bearer {plain}", "X-Custodes-Employee": "T1"},
    )
    assert got.status_code == 401, got.text
    assert "acme-direct" not in got.text
    reasons = [e["reason"] for e in _entries(api, before)]
    assert reasons == ["employee_header_not_trusted"]


def test_order_view_shows_the_alias(api: Api, keyring: FileKeyring) -> None:  # noqa: F811
    _, alias = _held(api, keyring)
    got = api.call(
        "GET", "/v1/orders/O1", "A1", params={"justification": "customer_contact", "case_id": "K1"}
    )
    assert got.status_code == 200, got.text
    result = got.json()["result"]
    assert result["relay_alias"] == alias
    assert "@" not in got.text
