"""A service stands in the ledger by its token's id, never by the name someone gave the token
(a free label: it could be a person's name, and the ledger's tiles are public forever)."""

from __future__ import annotations

from tests.support.api import Api


def test_a_customer_write_names_the_service_by_token_id_not_by_name(api: Api) -> None:
    body = {"customer_id": "C9", "name": "Nina New", "email": "nina@mail.example"}
    response = api.client.post(
        "/v1/customers", json=body, headers={"Authorization": f"Bearer {api.token}"}
    )
    assert response.status_code == 201, response.text
    (entry,) = api.entries("customer.create")
    assert "support-tool" not in str(entry)
    assert str(entry["actor"]).startswith("svc:")
    refusal_actors = {e["actor"] for e in api.entries("employee.authenticate")}
    assert all(str(a).startswith("svc:") for a in refusal_actors)
