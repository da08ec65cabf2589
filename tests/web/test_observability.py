"""Health, readiness, Prometheus metrics, the JSON access log and the offline API docs."""

from __future__ import annotations

import io
import json
import logging
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from custodes.vault.keyring import FileKeyring
from tests.support.api import Api

REVEAL = {"fields": ["email"], "justification": {"code": "customer_contact", "case_id": "K1"}}


def _sample(text: str, name: str, **labels: str) -> float:
    """One sample's value from a Prometheus text exposition (0 when absent)."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        head, _, value = line.rpartition(" ")
        metric, _, rest = head.partition("{")
        if metric != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', rest))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(value)
    return 0.0


def test_healthz_and_readyz(api: Api) -> None:
    assert api.client.get("/healthz").json() == {"status": "ok"}
    ready = api.client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"database": "ok", "ledger": "ok", "keyring": "ok"}


def test_readyz_fails_when_the_keyring_cannot_open_stored_keys(api: Api, tmp_path: Path) -> None:
    door = api.client.app.state.door  # type: ignore[attr-defined]
    door.keyring = FileKeyring.create(tmp_path / "other-keys")  # present, well-formed, wrong
    ready = api.client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["keyring"] != "ok"


def test_readyz_checks_a_configured_witness(engine, keyring, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from custodes.web.app import Services, close_app, create_app

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("CUSTODES_WITNESS_URL", f"http://127.0.0.1:{port}")
    from custodes.ledger.note import Signer, generate_signer_key

    signer = Signer.from_skey(generate_signer_key("custodes.test/ledger")[0])
    services = Services(keyring=keyring, approval_key=Ed25519PrivateKey.generate(), signer=signer)
    app = create_app(engine, services)
    try:
        ready = TestClient(app).get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["witness1"].startswith("unavailable")
    finally:
        close_app(app)


def test_metrics_count_decisions_rate_limits_and_the_ledger(api: Api) -> None:
    before = api.client.get("/metrics").text
    allowed = api.call("POST", "/v1/customers/C1/reveal", "A1", json=REVEAL)
    assert allowed.status_code == 200
    denied = api.call("POST", "/v1/customers/C2/reveal", "A1", json=REVEAL)
    assert denied.status_code == 403
    after = api.client.get("/metrics").text
    action = allowed.json()["decision"]["action"]
    for outcome in ("allow", "deny"):
        delta = _sample(after, "custodes_decisions_total", action=action, outcome=outcome) - (
            _sample(before, "custodes_decisions_total", action=action, outcome=outcome)
        )
        assert delta == 1, (outcome, after)
    appended = _sample(after, "custodes_ledger_append_seconds_count") - _sample(
        before, "custodes_ledger_append_seconds_count"
    )
    assert appended == 2
    assert _sample(after, "custodes_ledger_size") == 2
    assert _sample(after, "custodes_checkpoint_age_seconds") >= 0
    route = "/v1/customers/{customer_id}/reveal"
    assert _sample(after, "custodes_http_requests_total", route=route, status="200") >= 1
    assert "C1" not in "".join(line for line in after.splitlines() if "route=" in line)


def test_rate_limit_refusals_are_counted(engine, keyring) -> None:  # type: ignore[no-untyped-def]
    from custodes.web.metrics import RATE_LIMIT_REFUSALS, count_entry

    before = RATE_LIMIT_REFUSALS.labels("rate_limit")._value.get()
    count_entry(
        json.dumps(
            {"action": "customer.reveal", "decision": "pending", "reason": "rate_limit"}
        ).encode()
    )
    assert RATE_LIMIT_REFUSALS.labels("rate_limit")._value.get() == before + 1


def test_entries_with_index_rows_are_counted_from_their_rows() -> None:
    from custodes.web.metrics import DECISIONS, RATE_LIMIT_REFUSALS, count_entry

    rows = [{"action": "customer.view", "decision": "allow", "subject_id": "C1"}]
    allowed = DECISIONS.labels("customer.view", "allow")
    before = allowed._value.get()
    count_entry(b'{"action":"customer.view","decision":"allow"}', rows)
    assert allowed._value.get() == before + 1
    # A rate-limit reason is still found: such an entry is parsed.
    limited = RATE_LIMIT_REFUSALS.labels("rate_limit")._value.get()
    data = json.dumps({"action": "customer.view", "decision": "pending", "reason": "rate_limit"})
    pending = DECISIONS.labels("customer.view", "pending")._value.get()
    count_entry(data.encode(), [{**rows[0], "decision": "pending"}])
    assert RATE_LIMIT_REFUSALS.labels("rate_limit")._value.get() == limited + 1
    assert DECISIONS.labels("customer.view", "pending")._value.get() == pending + 1


def test_witness_lag_is_size_minus_cosigned(api: Api) -> None:
    from datetime import UTC, datetime

    from custodes.ledger.models import LedgerCosignature
    from custodes.store.engine import transaction

    for cid in ("C1", "C1", "C1"):
        api.call("POST", f"/v1/customers/{cid}/reveal", "A1", json=REVEAL)
    checkpoint = api.client.get("/ledger/checkpoint")
    assert checkpoint.status_code == 200
    size = int(checkpoint.text.splitlines()[1])
    with transaction(api.engine) as session:
        session.add(
            LedgerCosignature(
                size=size, witness="w.test/1", line="— w.test/1 x", created_at=datetime.now(UTC)
            )
        )
    text = api.client.get("/metrics").text
    head = _sample(text, "custodes_ledger_size")
    assert _sample(text, "custodes_witness_lag", witness="w.test/1") == head - size


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    from custodes.web.logs import configure_logging

    stream = io.StringIO()
    handler = configure_logging("info", stream)
    try:
        yield stream
    finally:
        logging.getLogger().removeHandler(handler)


def test_access_log_is_json_with_route_templates_and_no_ids(api: Api, log_lines) -> None:  # type: ignore[no-untyped-def]
    response = api.call("POST", "/v1/customers/C1/reveal", "A1", json=REVEAL)
    assert response.status_code == 200
    request_id = response.headers["x-request-id"]
    lines = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    access = [line for line in lines if line["logger"] == "custodes.access"]
    assert access, lines
    entry = access[-1]
    assert entry["route"] == "/v1/customers/{customer_id}/reveal"
    assert entry["method"] == "POST" and entry["status"] == 200
    assert entry["request_id"] == request_id and entry["ms"] >= 0
    text = log_lines.getvalue()
    for secret in ("C1", "quentin", "mailbox.example", "K1", api.token):
        assert secret not in text


def test_access_log_never_keeps_a_pii_shaped_request_id(api: Api, log_lines) -> None:  # type: ignore[no-untyped-def]
    own = api.client.get("/healthz", headers={"X-Request-ID": "req-abc-def-ghi"})
    assert own.headers["x-request-id"] == "req-abc-def-ghi"
    pii = api.client.get("/healthz", headers={"X-Request-ID": "14155552671"})
    assert "14155552671" not in pii.headers["x-request-id"]
    unmatched = api.client.get("/v1/nothing/ros.rev@inbox.example")
    assert unmatched.status_code == 404
    assert "inbox.example" not in log_lines.getvalue()
    assert '"route": "(unmatched)"' in log_lines.getvalue()


def test_log_level_setting_filters(api: Api) -> None:
    from custodes.web.logs import configure_logging

    stream = io.StringIO()
    handler = configure_logging("warning", stream)
    try:
        api.client.get("/healthz")
        assert stream.getvalue() == ""  # the access log is info
        logging.getLogger("custodes.test").warning("disk nearly full")
        assert json.loads(stream.getvalue())["level"] == "warning"
    finally:
        logging.getLogger().removeHandler(handler)
        logging.getLogger().setLevel(logging.WARNING)


def test_docs_load_without_a_cdn(api: Api) -> None:
    page = api.client.get("/docs")
    assert page.status_code == 200
    urls = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert urls and all(u.startswith("/docs/assets/") for u in urls), urls
    assert "cdn" not in page.text.lower()
    for url in urls:
        asset = api.client.get(url)
        assert asset.status_code == 200 and len(asset.content) > 500
    assert api.client.get("/redoc").status_code == 404
    assert api.client.get("/openapi.json").status_code == 200
