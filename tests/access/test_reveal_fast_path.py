"""The reveal served in front of FastAPI's router (`access.http_reveal`) answers exactly as the
documented FastAPI route does: same statuses, same problem+json, same values, for valid
requests and for every kind of bad one, with the same labels in metrics."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from custodes.access import http_reveal
from tests.support.api import Api

GOOD = {"fields": ["email"], "justification": {"code": "customer_contact", "case_id": "K1"}}

# (path, employee header, raw body or JSON body, extra headers)
CASES: list[tuple[str, str | None, Any, dict[str, str]]] = [
    ("/v1/customers/C1/reveal", "A1", GOOD, {}),
    ("/v1/customers/C1/reveal", "A1", {**GOOD, "fields": ["email", "phone"]}, {}),
    ("/v1/customers/C2/reveal", "A1", GOOD, {}),  # not covered by the case: refused
    ("/v1/customers/C404/reveal", "A1", GOOD, {}),
    ("/v1/customers/C1/reveal", "A1", {**GOOD, "fields": []}, {}),
    ("/v1/customers/C1/reveal", "A1", {**GOOD, "fields": ["ssn"]}, {}),
    ("/v1/customers/C1/reveal", "A1", {**GOOD, "extra": 1}, {}),
    ("/v1/customers/C1/reveal", "A1", {"fields": ["email"]}, {}),
    ("/v1/customers/C1/reveal", "A1", [], {}),
    ("/v1/customers/C1/reveal", "A1", b"", {}),
    ("/v1/customers/C1/reveal", "A1", b"{not json", {}),
    ("/v1/customers/C1/reveal", "A1", b'{"fields": ["email"], "justification": ', {}),
    ("/v1/customers/" + "C" * 65 + "/reveal", "A1", GOOD, {}),
    ("/v1/customers/C%201/reveal", "A1", GOOD, {}),
    ("/v1/customers/C1@x.org/reveal", "A1", GOOD, {}),
    ("/v1/customers/C1/reveal", "A 1", GOOD, {}),
    ("/v1/customers/C1/reveal", "", GOOD, {}),
    ("/v1/customers/C1/reveal", "A1" * 40, GOOD, {}),
    ("/v1/customers/C1/reveal", None, GOOD, {}),
    ("/v1/customers/C1/reveal", "A1", GOOD, {"Authorization": "Bearer nope"}),
    ("/v1/customers/C1/reveal", "A1", GOOD, {"Authorization": ""}),
    ("/v1/customers/C1/reveal", "A1", GOOD, {"Content-Type": "text/plain"}),
    ("/v1/customers/C1/reveal", "A1", GOOD, {"X-Custodes-Employee-Token": "x.y.z"}),
    ("/v1/customers/C1/reveal?case_id=K1", "A1", GOOD, {}),
    ("/v1/customers/C1/reveal/", "A1", GOOD, {}),
    # Bodies FastAPI reads before it solves any dependency (so before the proof).
    ("/v1/customers/C1/reveal", None, b"{not json", {}),
    ("/v1/customers/C1/reveal", None, b'{"fields": ["\xff"]}', {}),
    ("/v1/customers/C1/reveal", "A1", b'{"fields": ["\xff"]}', {}),
    ("/v1/customers/C1/reveal", "A1", b'{"n": ' + b"1" * 5000 + b"}", {}),
    ("/v1/customers/C1/reveal", "A1", b"null", {}),
    ("/v1/customers/C1/reveal", "A1", b"\xef\xbb\xbf" + json.dumps(GOOD).encode(), {}),
    ("/v1/customers/C1/reveal", "A1", b'"text"', {}),
    # Media types the request rules let through as JSON, which FastAPI may not read as JSON.
    ("/v1/customers/C1/reveal", "A1", GOOD, {"Content-Type": "application/a/b+json"}),
    ("/v1/customers/C1/reveal", "A1", GOOD, {"Content-Type": "application/problem+json"}),
    ("/v1/customers/C1/reveal", "A1", GOOD, {"Content-Type": "Application/JSON; charset=utf-8"}),
    ("/v1/customers/C1/reveal", "A1", GOOD, {"Content-Type": "application/json, text/plain"}),
    # Path shapes: case, doubled slashes, dot segments, percent-encoded slash, a second id.
    ("/V1/customers/C1/reveal", "A1", GOOD, {}),
    ("/v1/customers/C1/REVEAL", "A1", GOOD, {}),
    ("//v1/customers/C1/reveal", "A1", GOOD, {}),
    ("/v1/customers//reveal", "A1", GOOD, {}),
    ("/v1/customers/../reveal", "A1", GOOD, {}),
    ("/v1/customers/C1%2Freveal", "A1", GOOD, {}),
    ("/v1/customers/C1%2F..%2FC2/reveal", "A1", GOOD, {}),
    ("/v1/customers/%C3%871/reveal", "A1", GOOD, {}),
    ("/v1/customers/C1/reveal/reveal", "A1", GOOD, {}),
    # Proof shapes: no token at all with a bad path, a token without the scope's prefix.
    ("/v1/customers/" + "C" * 65 + "/reveal", None, GOOD, {"Authorization": "Basic eA=="}),
    ("/v1/customers/C1/reveal", "A1", GOOD, {"Authorization": "bearer x"}),
]

_RECEIPT = re.compile(r'"(ledger_index|checkpoint_size|request_id)":\s*("[^"]*"|\d+|null)')


def _answers(api: Api) -> list[tuple[int, str, str]]:
    out = []
    for path, employee, body, extra in CASES:
        headers = api.headers(employee, "header") if employee is not None else {}
        if employee == "":
            headers = {"Authorization": f"Bearer {api.token}", "X-Custodes-Employee": ""}
        headers = {**headers, **extra}
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        if "Content-Type" not in headers:
            headers["Content-Type"] = "application/json"
        response = api.client.post(path, content=raw, headers=headers, follow_redirects=False)
        text = _RECEIPT.sub(r'"\1": _', response.text)  # indices move on: compare the rest
        out.append((response.status_code, response.headers.get("content-type", ""), text))
    return out


def test_fast_path_answers_as_the_documented_route(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast = _answers(api)
    monkeypatch.setattr(http_reveal, "_PATH", re.compile(r"(?!)"))  # every reveal to the router
    routed = _answers(api)
    wrong = [
        (case[0], case[1], case[3], got, want)
        for case, got, want in zip(CASES, fast, routed, strict=True)
        if got != want
    ]
    assert not wrong
    statuses = {status for status, _, _ in fast}
    assert {200, 400, 401, 403, 404, 415, 422} <= statuses  # the cases reach every kind


def test_fast_path_requests_are_labelled_by_their_route(api: Api) -> None:
    response = api.call("POST", "/v1/customers/C1/reveal", "A1", json=GOOD)
    assert response.status_code == 200
    metrics = api.client.get("/metrics").text
    assert 'route="/v1/customers/{customer_id}/reveal"' in metrics
    assert "C1" not in "".join(line for line in metrics.splitlines() if "route=" in line)


ROOTED = [
    "/custodes/v1/customers/C1/reveal",
    "/v1/customers/C1/reveal",
    "/custodesv1/customers/C1/reveal",
    "/custodes//v1/customers/C1/reveal",
    "/custodes/custodes/v1/customers/C1/reveal",
]


def test_fast_path_under_a_root_path_answers_as_the_route(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Behind a proxy that mounts the API under a prefix (`--root-path`), the fast path strips
    it as the router does: the same paths are the reveal, the same others are not."""
    client = TestClient(api.client.app, root_path="/custodes")
    headers = api.headers("A1", "header")

    def answers() -> list[tuple[int, str]]:
        sent = [client.post(p, json=GOOD, headers=headers, follow_redirects=False) for p in ROOTED]
        return [(r.status_code, _RECEIPT.sub(r'"\1": _', r.text)) for r in sent]

    fast = answers()
    monkeypatch.setattr(http_reveal, "_PATH", re.compile(r"(?!)"))
    assert fast == answers()
    assert fast[0][0] == 200


def test_an_unexpected_error_is_answered_and_raised_to_the_server_as_on_the_router(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapi.testclient import TestClient

    from custodes.access import http_customers

    async def broken(*_: Any) -> Any:
        raise RuntimeError("boom C1 carol@example.org")

    monkeypatch.setattr(http_customers, "reveal_answer", broken)
    raising = TestClient(api.client.app, raise_server_exceptions=True)
    headers = {**api.headers("A1", "header"), "Content-Type": "application/json"}
    answers = []
    for route in ("fast", "router"):
        if route == "router":
            monkeypatch.setattr(http_reveal, "_PATH", re.compile(r"(?!)"))
        response = api.call("POST", "/v1/customers/C1/reveal", "A1", json=GOOD)
        answers.append((response.status_code, response.text))
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "carol@example.org" not in response.text
        # The exception reaches the server (which logs its traceback), as on the router's path.
        with pytest.raises(RuntimeError):
            raising.post("/v1/customers/C1/reveal", content=json.dumps(GOOD), headers=headers)
    assert answers[0] == answers[1] and answers[0][0] == 500
