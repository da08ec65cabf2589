"""A denial says what the caller can fix (which case problem, or that the role cannot), and an
unknown case looks exactly like someone else's, so case ids cannot be probed."""

from __future__ import annotations

import pytest

from tests.support.api import Api


@pytest.mark.parametrize(
    ("employee", "customer", "case", "reason"),
    [
        ("A1", "C1", None, "no_case_cited"),
        ("A1", "C2", "K2", "case_closed"),
        ("A1", "C2", "K3", "case_not_assigned_to_you"),
        ("A1", "C2", "K404", "case_not_assigned_to_you"),
        ("A1", "C2", "K1", "case_does_not_cover_this_record"),
        ("D1", "C1", "K1", "role_not_permitted"),
    ],
)
def test_denials_say_which(
    api: Api, employee: str, customer: str, case: str | None, reason: str
) -> None:
    why = {"code": "customer_contact", **({"case_id": case} if case else {})}
    response = api.call(
        "POST",
        f"/v1/customers/{customer}/reveal",
        employee,
        json={"fields": ["email"], "justification": why},
    )
    assert response.status_code == 403
    assert response.json()["decision"]["reason"] == reason


def test_justification_text_with_contact_details_is_refused(api: Api) -> None:
    for text in ("mail her at shohei08.ezweb.ne.jp", "call 415 555 2671", "x@y.example"):
        why = {"code": "customer_contact", "case_id": "K1", "text": text}
        response = api.call(
            "POST",
            "/v1/customers/C1/reveal",
            "A1",
            json={"fields": ["email"], "justification": why},
        )
        assert response.status_code in (400, 422), text
    why = {"code": "customer_contact", "case_id": "K1", "text": "order O-2026-04-17-0042 is late"}
    ok = api.call(
        "POST", "/v1/customers/C1/reveal", "A1", json={"fields": ["email"], "justification": why}
    )
    assert ok.status_code == 200
