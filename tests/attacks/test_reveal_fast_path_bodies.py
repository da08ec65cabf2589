"""A caller with a valid service token sends the reveal what the documented FastAPI route refuses:
the fast path in front of the router (`access.http_reveal`) must refuse it too, and the same way.

Each of these was answered differently by the fast path: a body FastAPI does not read as JSON
(its media type) revealed PII where the route answers 422; a body that is not UTF-8, or carries
an integer too long to convert, was a logged 500 where the route answers 400; a legacy employee
name with a trailing newline (Python's `$`, not pydantic's) was accepted, ledgered as an actor,
where the header's declared pattern refused it with 422 and nothing recorded.
"""

from __future__ import annotations

import json

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from custodes.ledger.models import LedgerEntryRow
from tests.support.api import Api

GOOD = {"fields": ["email"], "justification": {"code": "customer_contact", "case_id": "K1"}}
PATH = "/v1/customers/C1/reveal"


def _entries(api: Api) -> int:
    with Session(api.engine) as session:
        return int(session.scalar(select(func.count()).select_from(LedgerEntryRow)) or 0)


def _post(api: Api, body: bytes, **headers: str):  # type: ignore[no-untyped-def]
    sent = {**api.headers("A1", "header"), "Content-Type": "application/json", **headers}
    return api.client.post(PATH, content=body, headers=sent)


def test_a_body_fastapi_does_not_read_as_json_reveals_nothing(api: Api) -> None:
    # The request rules take any application/...+json as JSON; FastAPI's own media-type check
    # (one "/" only) does not, and validates the raw bytes against the model: 422.
    before = _entries(api)
    response = _post(api, json.dumps(GOOD).encode(), **{"Content-Type": "application/a/b+json"})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert "values" not in response.json()
    assert _entries(api) == before  # no decision at all, as on the route


def test_a_body_that_does_not_decode_is_a_400_not_a_500(api: Api) -> None:
    for body in (b'{"fields": ["\xff"]}', b'{"n": ' + b"1" * 5000 + b"}"):
        response = _post(api, body)
        assert response.status_code == 400, body[:20]
        assert response.json()["detail"] == "There was an error parsing the body"


def test_an_employee_name_with_a_trailing_newline_is_refused_unrecorded(api: Api) -> None:
    before = _entries(api)
    response = _post(api, json.dumps(GOOD).encode(), **{"X-Custodes-Employee": "A1\n"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["header", "X-Custodes-Employee"]
    assert _entries(api) == before
