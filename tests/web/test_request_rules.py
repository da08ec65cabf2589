"""Generic request rules: undeclared query parameters, media types, malformed JSON, unknown keys."""

from __future__ import annotations

from pydantic import BaseModel

from tests.support.api import Api


class Body(BaseModel):
    n: int


REVEAL = {"fields": ["email"], "justification": {"code": "customer_contact", "case_id": "K1"}}


def _headers(api: Api, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api.token}", "X-Custodes-Employee": "A1", **extra}


def test_a_body_without_content_type_is_read_as_json(api: Api) -> None:
    import json

    response = api.client.post(
        "/v1/customers/C1/reveal", content=json.dumps(REVEAL).encode(), headers=_headers(api)
    )
    assert response.status_code == 200, response.text
    assert response.json()["values"] == {"email": "quentin.q@mailbox.example"}


def test_a_body_in_another_media_type_is_415_not_422(api: Api) -> None:
    response = api.client.post(
        "/v1/customers/C1/reveal",
        content=b"fields=email",
        headers=_headers(api, **{"Content-Type": "application/x-www-form-urlencoded"}),
    )
    assert response.status_code == 415
    assert response.headers["content-type"] == "application/problem+json"
    assert "application/json" in response.json()["detail"]
    assert "valid dictionary" not in response.text


def test_json_media_type_with_charset_and_suffix_is_accepted(api: Api) -> None:
    import json

    for media in ("application/json; charset=utf-8", "application/merge-patch+json"):
        response = api.client.post(
            "/v1/customers/C1/reveal",
            content=json.dumps(REVEAL).encode(),
            headers=_headers(api, **{"Content-Type": media}),
        )
        assert response.status_code == 200, (media, response.text)


def test_malformed_json_is_400(api: Api) -> None:
    response = api.client.post(
        "/v1/customers/C1/reveal",
        content=b'{"fields": ["email"], ',
        headers=_headers(api, **{"Content-Type": "application/json"}),
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert "not valid JSON" in response.json()["detail"]


def test_an_unknown_query_parameter_is_refused_and_named(api: Api) -> None:
    response = api.call("GET", "/v1/decisions?subject=R000003")
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert "subject" in detail and "subject_id" in detail  # names it and what is accepted
    ok = api.call("GET", "/v1/decisions?subject_kind=review&subject_id=R1&limit=5")
    assert ok.status_code == 200


def test_a_pii_shaped_query_parameter_name_is_not_echoed(api: Api) -> None:
    response = api.call("GET", "/v1/decisions?ros.rev%40inbox.example=1&subject_id=R1")
    assert response.status_code == 400
    assert "inbox.example" not in response.text and "(unnamed)" in response.text


def test_unknown_body_key_is_named_when_safe(api: Api) -> None:
    body = {**REVEAL, "fieldz": ["email"]}
    response = api.call("POST", "/v1/customers/C1/reveal", "A1", json=body)
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert any(e["loc"][-1] == "fieldz" and "fieldz" in e["msg"] for e in errors), errors


def test_unknown_body_key_shaped_like_pii_is_not_echoed(api: Api) -> None:
    for key in ("ros.rev@inbox.example", "+14155552671", "4155552671"):
        body = {**REVEAL, key: 1}
        response = api.call("POST", "/v1/customers/C1/reveal", "A1", json=body)
        assert response.status_code == 422
        assert key not in response.text
        assert "(unknown key)" in response.text


def test_undocumented_routes_are_left_alone(api: Api) -> None:
    assert api.client.get("/healthz?probe=1").status_code == 200


def test_rules_apply_to_any_route_without_code_of_its_own() -> None:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient
    from pydantic import BaseModel

    from custodes.problems import install_problem_handlers
    from custodes.web.request_rules import install_request_rules

    class Body(BaseModel):
        n: int

    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/items")
    def items(colour: str = "red") -> dict[str, str]:
        return {"colour": colour}

    @app.post("/items")
    def add(body: Body) -> dict[str, int]:
        return {"n": body.n}

    install_request_rules(app)
    client = TestClient(app)
    assert client.get("/items?colour=blue").json() == {"colour": "blue"}
    refused = client.get("/items?color=blue")
    assert refused.status_code == 400 and "color" in refused.json()["detail"]
    assert client.post("/items", content=b'{"n": 3}').json() == {"n": 3}
    assert (
        client.post("/items", content=b"n=3", headers={"content-type": "text/plain"}).status_code
        == 415
    )
