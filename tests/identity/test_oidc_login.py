"""Sign-in through the identity provider (authorization code + PKCE S256, state, nonce) against
a real provider on loopback (conftest's `provider`, `idp`): the round trip, then every refusal.
On SQLite and PostgreSQL."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from custodes.errors import ConfigError
from custodes.identity.models import PendingLogin
from custodes.identity.oidc_login import (
    BINDING_COOKIE,
    OIDCLogin,
    login_verifier,
    pkce_challenge,
    pkce_verifier,
)
from custodes.identity.pages import identity_pages
from custodes.identity.service import IdentityService
from custodes.identity.sessions import COOKIE_NAME
from custodes.identity.settings import OIDCLoginSettings, OIDCSettings, WebAuthnSettings
from custodes.store.engine import transaction
from tests.support.identity import Provider, add_employees
from tests.support.identity_worlds import Ledger
from tests.support.idp import CLIENT_ID, CLIENT_SECRET, ISSUER

ORIGIN = "https://localhost:8000"
CALLBACK = "/signin/oidc/callback"


@dataclass
class Flow:
    client: TestClient
    provider: Provider
    ledger: Ledger
    service: IdentityService
    engine: Engine
    now: list[datetime]

    def browser(self) -> TestClient:
        """Another browser on the same server (its own cookie jar)."""
        return TestClient(self.client.app, base_url=ORIGIN)

    def start(self, client: TestClient | None = None) -> str:
        """Begin a sign-in; returns the provider's authorization URL."""
        response = (client or self.client).get("/signin/oidc", follow_redirects=False)
        assert response.status_code == 303, response.text
        return response.headers["location"]

    def at_provider(self, authorize_url: str) -> str:
        """The provider signs its employee in and redirects back: the callback's path+query."""
        response = httpx.get(authorize_url, follow_redirects=False)
        assert response.status_code == 302, response.text
        back = urlsplit(response.headers["location"])
        assert f"{back.scheme}://{back.netloc}{back.path}" == ORIGIN + CALLBACK
        return f"{back.path}?{back.query}"

    def sign_in(self, client: TestClient | None = None) -> httpx.Response:
        client = client or self.client
        return client.get(self.at_provider(self.start(client)))

    def signins(self, decision: str) -> list[tuple[str, str | None]]:
        return [
            (e.employee_id, e.reason)
            for e in self.ledger.events
            if e.action == "employee.signin" and e.decision == decision and e.method == "oidc"
        ]


def _login_settings(provider: Provider) -> OIDCLoginSettings:
    return OIDCLoginSettings(
        authorization_url=provider.base + "/authorize",
        token_url=provider.base + "/token",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        redirect_uri=ORIGIN + CALLBACK,
    )


@pytest.fixture
def flow(engine: Engine, provider: Provider) -> Flow:
    add_employees(engine, ("E0003", "active"), ("E0006", "suspended"))
    now = [datetime.now(UTC)]
    ledger = Ledger()
    settings = WebAuthnSettings(origin=ORIGIN, rp_id="localhost")
    service = IdentityService(engine, settings, ledger.record, clock=lambda: now[0])
    # The API's ID tokens have their own audience; sign-in's are issued to our client id.
    oidc = OIDCSettings(issuer=ISSUER, jwks_url=provider.url, audience="custodes-api")
    login_settings = _login_settings(provider)
    login = OIDCLogin(
        service, login_settings, login_verifier(oidc, login_settings, service.directory)
    )
    app = FastAPI()
    app.include_router(identity_pages(engine, settings=settings, service=service, login=login))
    client = TestClient(app, base_url=ORIGIN)
    return Flow(client, provider, ledger, service, engine, now)


def _refused(response: httpx.Response, reason: str, status: int = 401) -> None:
    assert response.status_code == status, response.text
    assert f"({reason})" in response.text
    assert COOKIE_NAME not in response.headers.get("set-cookie", "")


def test_pkce_s256_matches_rfc7636_appendix_b() -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert pkce_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    derived = pkce_verifier("binding", "state")
    assert len(derived) == 43 and derived != pkce_verifier("binding", "other state")


def test_round_trip_signs_in_and_is_ledgered(flow: Flow) -> None:
    start = flow.client.get("/signin/oidc", follow_redirects=False)
    binding = start.headers["set-cookie"]
    assert BINDING_COOKIE in binding and "HttpOnly" in binding and "Secure" in binding
    assert "samesite=lax" in binding.lower() and "Path=/signin/oidc" in binding
    authorize = start.headers["location"]
    query = {k: v[0] for k, v in parse_qs(urlsplit(authorize).query).items()}
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert query["state"] and query["nonce"] and query["scope"] == "openid"
    assert "E0003" not in authorize  # no employee, no PII in the URL
    done = flow.client.get(flow.at_provider(authorize))
    assert done.status_code == 200, done.text
    cookie = done.headers["set-cookie"]
    assert f"{COOKIE_NAME}=" in cookie and "samesite=strict" in cookie.lower()
    assert 'http-equiv="refresh"' in done.text and "/inbox" in done.text
    inbox = flow.client.get("/inbox")
    assert inbox.status_code == 200 and 'id="who">E0003<' in inbox.text and "(oidc)" in inbox.text
    assert flow.signins("recorded") == [("E0003", None)]
    event = next(e for e in flow.ledger.events if e.method == "oidc")
    assert str(event.details["proof_ref"]).startswith("jwt:")
    assert flow.provider.auth.refusals == []
    blob = b"\n".join(flow.ledger.entries)
    assert query["state"].encode() not in blob and query["nonce"].encode() not in blob


def test_signin_page_offers_the_provider(flow: Flow) -> None:
    page = flow.client.get("/signin")
    assert 'href="/signin/oidc"' in page.text


def test_wrong_state_is_refused(flow: Flow) -> None:
    callback = flow.at_provider(flow.start())
    query = parse_qs(urlsplit(callback).query)
    forged = urlencode({"code": query["code"][0], "state": "not-the-state"})
    _refused(flow.client.get(f"{CALLBACK}?{forged}"), "unknown_state")
    missing = urlencode({"code": query["code"][0]})
    _refused(flow.client.get(f"{CALLBACK}?{missing}"), "unknown_state")
    assert flow.provider.auth.grants[query["code"][0]].used is False  # never sent to redeem


def test_callback_in_another_browser_is_refused(flow: Flow) -> None:
    """A login-CSRF or a stolen redirect: the state was begun by another browser."""
    callback = flow.at_provider(flow.start())
    _refused(flow.browser().get(callback), "wrong_browser")


def test_replayed_callback_and_replayed_code_are_refused(flow: Flow) -> None:
    authorize = flow.start()
    binding = flow.client.cookies[BINDING_COOKIE]
    callback = flow.at_provider(authorize)
    assert flow.client.get(callback).status_code == 200
    _refused(flow.client.get(callback), "wrong_browser")  # the binding cookie is gone, and
    flow.client.cookies.set(BINDING_COOKIE, binding)
    _refused(flow.client.get(callback), "stale_state")  # with it back, the state is spent
    old_code = parse_qs(urlsplit(callback).query)["code"][0]
    browser = flow.browser()  # the code replayed into a fresh sign-in of its own
    fresh_state = parse_qs(urlsplit(flow.start(browser)).query)["state"][0]
    replay = urlencode({"code": old_code, "state": fresh_state})
    _refused(browser.get(f"{CALLBACK}?{replay}"), "code_refused")
    assert flow.provider.auth.refusals == ["code_reused"]
    assert flow.signins("recorded") == [("E0003", None)]


def test_code_with_another_logins_verifier_is_refused(flow: Flow) -> None:
    """PKCE: a code redeemed with a verifier it was not issued for (here: another sign-in's,
    as an attacker injecting a stolen code into their own sign-in would)."""
    stolen = parse_qs(urlsplit(flow.at_provider(flow.start())).query)["code"][0]
    own_state = parse_qs(urlsplit(flow.start()).query)["state"][0]
    injected = urlencode({"code": stolen, "state": own_state})
    _refused(flow.client.get(f"{CALLBACK}?{injected}"), "code_refused")
    assert flow.provider.auth.refusals == ["pkce_mismatch"]


@pytest.mark.parametrize("verifier", [None, "x" * 43])
def test_provider_refuses_missing_or_wrong_verifier(flow: Flow, verifier: str | None) -> None:
    """The provider the tests run against really checks PKCE (so the refusals above are PKCE's)."""
    callback = flow.at_provider(flow.start())
    query = parse_qs(urlsplit(callback).query)
    form = {
        "grant_type": "authorization_code",
        "code": query["code"][0],
        "redirect_uri": ORIGIN + CALLBACK,
        "client_id": CLIENT_ID,
    }
    if verifier is not None:
        form["code_verifier"] = verifier
    answer = httpx.post(
        flow.provider.base + "/token", data=form, auth=(CLIENT_ID, CLIENT_SECRET), timeout=5
    )
    assert answer.status_code == 400
    assert flow.provider.auth.refusals == ["pkce_missing" if verifier is None else "pkce_mismatch"]
    _refused(flow.client.get(callback), "code_refused")  # the code is spent by the attempt


def test_wrong_nonce_is_refused_and_recorded(flow: Flow) -> None:
    flow.provider.auth.claims = {"nonce": "another sign-in's nonce"}
    _refused(flow.sign_in(), "wrong_nonce")
    flow.provider.auth.claims = {"nonce": None}
    _refused(flow.sign_in(), "wrong_nonce")
    assert flow.signins("deny") == [("E0003", "wrong_nonce")] * 2
    assert flow.signins("recorded") == []


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"iss": "https://evil.example.test"}, "wrong_issuer"),
        ({"aud": "custodes-api"}, "wrong_audience"),  # the API's audience is not our client's
        ({"aud": "someone-else"}, "wrong_audience"),
        ({"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}, "token_expired"),
        ({"azp": "another-client", "aud": [CLIENT_ID, "another-client"]}, "wrong_azp"),
        ({"aud": [CLIENT_ID, "another-client"]}, "missing_azp"),
    ],
)
def test_token_claims_refused(flow: Flow, claims: dict[str, object], reason: str) -> None:
    flow.provider.auth.claims = claims
    _refused(flow.sign_in(), reason)
    assert flow.signins("recorded") == []


def test_suspended_employee_is_refused_and_recorded(flow: Flow) -> None:
    flow.provider.auth.login_as = "E0006"
    _refused(flow.sign_in(), "employee_suspended", status=403)
    assert flow.signins("deny") == [("E0006", "employee_suspended")]


def test_unknown_employee_is_refused_and_not_named_in_the_ledger(flow: Flow) -> None:
    """Whatever the provider calls a user who is no employee (here a person's name) must not
    land in the public ledger, not even as the refusal's actor."""
    for claimed in ("E9999", "carolyn.mcmahon"):
        flow.provider.auth.login_as = claimed
        _refused(flow.sign_in(), "employee_unknown", status=403)
        assert flow.signins("deny") == []
        assert not any(claimed.encode() in data for data in flow.ledger.entries)


def test_provider_error_and_expired_state(flow: Flow) -> None:
    state = parse_qs(urlsplit(flow.start()).query)["state"][0]
    denied = urlencode({"error": "access_denied", "state": state})
    _refused(flow.client.get(f"{CALLBACK}?{denied}"), "provider_error")
    callback = flow.at_provider(flow.start())
    flow.now[0] += timedelta(minutes=11)
    _refused(flow.client.get(callback), "stale_state")
    with transaction(flow.engine) as db:
        assert db.scalar(select(func.count()).select_from(PendingLogin)) == 2
    assert flow.service.purge_expired() == 2


def test_login_settings_from_env() -> None:
    env = {
        "CUSTODES_OIDC_AUTHORIZATION_URL": "https://idp.example.test/authorize",
        "CUSTODES_OIDC_TOKEN_URL": "https://idp.example.test/token",
        "CUSTODES_OIDC_CLIENT_ID": "custodes-web",
        "CUSTODES_WEB_ORIGIN": "https://custodes.example.test",
    }
    settings = OIDCLoginSettings.from_env(env)
    assert settings is not None and settings.client_secret is None
    assert settings.redirect_uri == "https://custodes.example.test/signin/oidc/callback"
    assert OIDCLoginSettings.from_env({}) is None
    with pytest.raises(ConfigError):
        OIDCLoginSettings.from_env({**env, "CUSTODES_OIDC_TOKEN_URL": "http://idp.example.test/t"})
    with pytest.raises(ConfigError):
        OIDCLoginSettings.from_env({**env, "CUSTODES_OIDC_CLIENT_ID": ""})


class Appended:
    """A ledger's append, for pages built the way `serve` builds them."""

    def __init__(self) -> None:
        self.entries: list[bytes] = []

    def append(self, data: bytes) -> int:
        self.entries.append(data)
        return len(self.entries) - 1


def test_pages_offer_the_provider_when_configured_by_env(
    engine: Engine, provider: Provider, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What `serve` gets: the pages build the sign-in from CUSTODES_OIDC_* alone."""
    for name, value in {
        "CUSTODES_OIDC_ISSUER": ISSUER,
        "CUSTODES_OIDC_JWKS_URL": provider.url,
        "CUSTODES_OIDC_AUDIENCE": "custodes-api",
        "CUSTODES_OIDC_AUTHORIZATION_URL": provider.base + "/authorize",
        "CUSTODES_OIDC_TOKEN_URL": provider.base + "/token",
        "CUSTODES_OIDC_CLIENT_ID": CLIENT_ID,
        "CUSTODES_OIDC_CLIENT_SECRET": CLIENT_SECRET,
        "CUSTODES_WEB_ORIGIN": ORIGIN,
    }.items():
        monkeypatch.setenv(name, value)
    add_employees(engine, ("E0003", "active"))
    ledger = Appended()
    app = FastAPI()
    app.include_router(identity_pages(engine, ledger))
    client = TestClient(app, base_url=ORIGIN)
    start = client.get("/signin/oidc", follow_redirects=False)
    assert start.status_code == 303 and start.headers["location"].startswith(provider.base)
    back = httpx.get(start.headers["location"], follow_redirects=False).headers["location"]
    done = client.get(back.removeprefix(ORIGIN))
    assert done.status_code == 200, done.text
    assert 'id="who">E0003<' in client.get("/inbox").text
    assert any(b'"employee.signin"' in data for data in ledger.entries)
    monkeypatch.delenv("CUSTODES_OIDC_AUTHORIZATION_URL")
    plain = FastAPI()
    plain.include_router(identity_pages(engine, ledger))
    assert TestClient(plain, base_url=ORIGIN).get("/signin/oidc").status_code == 404
