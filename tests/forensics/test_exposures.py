"""Every exposure the door serves carries its own canaries (search pages, executed reveal and
export requests), installed through the exposure hook; a canary never appears in two
exposures, is masked like a real result, is recorded in its exposure's manifest, is never
counted as a customer, and a reveal of one is a hit naming the exposure that showed it."""

from __future__ import annotations

import json
import threading

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from custodes.forensics.canaries import Minting, assign, canary_ids, stock
from custodes.forensics.exposures import CanaryExposures
from custodes.forensics.models import Canary, CanaryHit, Exposure
from custodes.marketplace.models import Customer
from custodes.store.engine import transaction
from custodes.vault.keyring import FileKeyring
from custodes.vault.service import vault_stats
from tests.support.api import Api
from tests.support.api import approve_change as _approve
from tests.support.api import request_change as _request
from tests.support.marketplace import seed

SEARCH = {"email": "quentin.q@mailbox.example", "case_id": "K1"}
DOMAINS = Minting(domains=("mailbox.example", "inbox.example"))  # as real-looking as the rest


def _install(api: Api, keyring: FileKeyring) -> list[dict[str, object]]:
    alerts: list[dict[str, object]] = []
    hook = CanaryExposures(api.engine, keyring, minting=DOMAINS, alert=alerts.append)
    api.client.app.state.exposures = hook  # type: ignore[attr-defined]
    return alerts


def _exposures(engine: Engine) -> list[Exposure]:
    with Session(engine) as session:
        return list(session.scalars(select(Exposure).order_by(Exposure.created_at)))


def test_each_search_page_carries_its_own_masked_canaries(api: Api, keyring: FileKeyring) -> None:
    _install(api, keyring)
    stock(api.engine, keyring, 3, DOMAINS)  # fewer than two pages need: the rest are minted
    pages = []
    for _ in range(2):
        found = api.call("POST", "/v1/customers/search", "A1", json=SEARCH)
        assert found.status_code == 200, found.text
        pages.append(found.json()["results"])
    canaries = canary_ids(api.engine)
    for page in pages:
        ids = [r["customer_id"] for r in page]
        assert "C1" in ids and len(ids) == 3
        planted = [r for r in page if r["customer_id"] in canaries]
        assert len(planted) == 2
        real = next(r for r in page if r["customer_id"] == "C1")
        for canary in planted:  # the same shape and the same masking as a real result
            assert set(canary) == set(real) and not canary["erased"]
            assert canary["email"].count("***") == 2 and canary["email"].endswith(".example")
            assert canary["customer_id"].startswith("C") and canary["pseudonym"]
        assert "quentin" not in json.dumps(page)
    first = {r["customer_id"] for r in pages[0]} & canaries
    second = {r["customer_id"] for r in pages[1]} & canaries
    assert first and second and not first & second  # never in two exposures
    exposures = _exposures(api.engine)
    assert [(e.kind, e.employee_id) for e in exposures] == [("search", "A1")] * 2
    with Session(api.engine) as session:
        c1 = session.get(Customer, "C1")
        assert c1 is not None
        for exposure, planted_ids in zip(exposures, (first, second), strict=True):
            manifest = json.loads(exposure.manifest or "{}")
            assert manifest["canaries"] == sorted(planted_ids)
            assert manifest["customers"] == [c1.pseudonym]  # pseudonyms, never details
            assert exposure.ledger_index is not None
            owners = session.scalars(
                select(Canary.exposure_id).where(Canary.customer_id.in_(planted_ids))
            ).all()
            assert set(owners) == {exposure.exposure_id}


def test_an_executed_export_carries_its_own_canaries_with_values(
    api: Api, keyring: FileKeyring
) -> None:
    _install(api, keyring)
    body = {
        "action": "customer.export",
        "resource": {"kind": "customer", "ids": ["C1", "C2"], "fields": ["email"]},
        "justification": {"code": "legal", "text": "subject access request"},
    }
    request_id, digest = _request(api, body, employee="P1")
    assert _approve(api, request_id, digest, "P2").status_code == 200
    result = api.call("POST", f"/v1/requests/{request_id}/execute", "P1").json()["result"]
    canaries = canary_ids(api.engine)
    assert set(result) - canaries == {"C1", "C2"}
    planted = {cid: v for cid, v in result.items() if cid in canaries}
    assert len(planted) == 3
    assert all(set(v) == {"email"} and "@" in v["email"] for v in planted.values())
    (exposure,) = _exposures(api.engine)
    assert (exposure.kind, exposure.employee_id, exposure.reference) == ("export", "P1", request_id)
    assert json.loads(exposure.manifest or "{}")["canaries"] == sorted(planted)


def test_revealing_a_canary_is_a_hit_on_the_page_that_showed_it(
    api: Api, keyring: FileKeyring
) -> None:
    alerts = _install(api, keyring)
    page = api.call("POST", "/v1/customers/search", "A1", json=SEARCH).json()["results"]
    canary = next(r["customer_id"] for r in page if r["customer_id"] != "C1")
    reveal = {"fields": ["email"], "justification": {"code": "customer_contact", "case_id": "K1"}}
    real = api.call("POST", "/v1/customers/C1/reveal", "A1", json=reveal)
    assert real.status_code == 200 and not alerts  # a real customer is no hit
    # The case covers C1 only; the canary is revealed the way any other customer outside a
    # case is: break-glass (immediate, reviewed).
    glass = {"customer_id": canary, "reason": "customer locked out, fraud call"}
    assert api.call("POST", "/v1/break-glass", "A1", json=glass).status_code == 200
    reveal = {"fields": ["email"], "justification": {"code": "customer_contact"}}
    shown = api.call("POST", f"/v1/customers/{canary}/reveal", "A1", json=reveal)
    with Session(api.engine) as session:
        hits = session.scalars(select(CanaryHit)).all()
    assert shown.status_code == 200, shown.text  # revealed like any customer: it looks real
    (exposure,) = _exposures(api.engine)
    assert [(h.customer_id, h.exposure_id, h.employee_id) for h in hits] == [
        (canary, exposure.exposure_id, "A1")
    ]
    assert alerts and alerts[0]["exposure"] == exposure.exposure_id


def test_racing_exposures_never_share_a_stocked_canary(
    engine: Engine, keyring: FileKeyring
) -> None:
    seed(engine, keyring)
    stock(engine, keyring, 12)
    taken: list[list[str]] = []
    start = threading.Barrier(4)

    def take(n: int) -> None:
        start.wait()
        for k in range(3):
            with transaction(engine) as session:
                exposure = CanaryExposures._exposure(f"ex_race_{n}_{k}", "search", "A1", _now(), 1)
                session.add(exposure)
                session.flush()
                taken.append(assign(session, exposure.exposure_id, 1, _now()))

    threads = [threading.Thread(target=take, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    flat = [c for got in taken for c in got]
    assert len(flat) == len(set(flat)) == 12


def test_canaries_are_not_counted_as_customers_in_vault_stats(
    engine: Engine, keyring: FileKeyring
) -> None:
    seed(engine, keyring)
    with Session(engine) as session:
        before = vault_stats(session)["records"]
    stock(engine, keyring, 4)
    with Session(engine) as session:
        stats = vault_stats(session, canary_ids(engine))
    assert stats["records"] == before and stats["synthetic"] == 4


def _now():  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    return datetime.now(UTC)
