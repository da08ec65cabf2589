"""No PII in cookies, tokens, sessions, pages' URLs or logs, through sign-in with the identity
provider: the provider's ID token carries the employee's e-mail, name and phone (as real ones
do), and none of it, nor the token itself, the employee's directory name or the secrets of the
sign-in, reaches a cookie, a URL, a page, a stored row, the ledger or a log line. A refused
sign-in (a suspended employee) is held to the same. On SQLite and PostgreSQL."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import Engine

from custodes.identity.oidc_login import http_exchange
from custodes.identity.sessions import COOKIE_NAME
from tests.identity.oidc_door import ORIGIN, login_settings, oidc_door
from tests.support.dataset import snapshot
from tests.support.identity import Provider, add_employees

PII = {
    "email": "priya.privacy@corp.example",
    "name": "Priya Quinlan-Privacy",
    "given_name": "Priya",
    "phone_number": "+442079460999",
    "preferred_username": "pquinlan",
}
DIRECTORY_NAMES = ("Employee E0003", "Employee E0006")  # what the employees table holds


class Seen:
    """Everything the sign-in put where PII must not go."""

    def __init__(self) -> None:
        self.urls: list[str] = []
        self.cookies: list[str] = []
        self.pages: list[str] = []
        self.id_tokens: list[str] = []

    def response(self, response: httpx.Response) -> httpx.Response:
        self.urls.append(str(response.request.url))
        if "location" in response.headers:
            self.urls.append(response.headers["location"])
        self.cookies += response.headers.get_list("set-cookie")
        self.pages.append(response.text)
        return response

    def exchange(self, provider: Provider) -> object:
        real = http_exchange(login_settings(provider))

        def exchange(code: str, verifier: str) -> Mapping[str, object]:
            answer = real(code, verifier)
            self.id_tokens.append(str(answer["id_token"]))
            return answer

        return exchange


def _sign_in(client: object, seen: Seen) -> httpx.Response:
    start = seen.response(client.get("/signin/oidc", follow_redirects=False))  # type: ignore[attr-defined]
    back = seen.response(httpx.get(start.headers["location"], follow_redirects=False))
    callback = urlsplit(back.headers["location"])
    return seen.response(client.get(f"{callback.path}?{callback.query}"))  # type: ignore[attr-defined]


def _secrets(seen: Seen) -> list[str]:
    """The ID tokens and their signed parts (the claims travel base64url-encoded in them)."""
    parts = [p for token in seen.id_tokens for p in token.split(".") if len(p) > 16]
    return [*seen.id_tokens, *parts]


@pytest.mark.parametrize("who", ["E0003", "E0006"])  # signed in; refused (suspended)
def test_no_pii_in_cookies_urls_pages_rows_ledger_or_logs(
    engine: Engine, provider: Provider, caplog: pytest.LogCaptureFixture, who: str
) -> None:
    add_employees(engine, ("E0003", "active"), ("E0006", "suspended"))
    seen = Seen()
    door = oidc_door(engine, provider, exchange=seen.exchange(provider))  # type: ignore[arg-type]
    provider.auth.login_as = who
    provider.auth.claims = dict(PII)
    client = door.client()
    caplog.set_level(logging.DEBUG)
    done = _sign_in(client, seen)
    if who == "E0003":
        assert done.status_code == 200, done.text
        seen.response(client.get("/inbox"))
        session = client.cookies[COOKIE_NAME]
        csrf = seen.pages[-1].split('name="csrf" value="')[1].split('"')[0]
        seen.response(client.post("/signout", data={"csrf": csrf}, headers={"Origin": ORIGIN}))
    else:
        assert done.status_code == 403 and "employee_suspended" in done.text
        session = ""
    assert seen.id_tokens, "the provider issued no ID token: the test proves nothing"
    forbidden = [*PII.values(), *DIRECTORY_NAMES, *_secrets(seen)]
    places = {
        "cookie": seen.cookies,
        "url": seen.urls,
        "page": seen.pages,
        "stored row": [repr(rows) for t, rows in snapshot(engine).items() if t != "employees"],
        "ledger entry": [data.decode() for data in door.ledger.entries],
        "log line": [f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records],
    }
    for place, texts in places.items():
        for text in texts:
            for value in forbidden:
                assert value not in text, f"{place} carries PII or the ID token"
    for text in [*seen.cookies, *seen.urls]:
        assert who not in text, "an employee id in a cookie or a URL"
        assert "eyJ" not in text, "a JWT in a cookie or a URL"
    custodes_logs = [line for line in places["log line"] if line.startswith("custodes")]
    for secret in (session, client.cookies.get("custodes_oidc") or ""):
        if secret:
            assert not any(secret in line for line in custodes_logs)
