"""The identity pages with sign-in through the loopback provider, built as the OIDC page tests
need them: the service's clock and the address throttle's clock steered by the test, limits
and the code exchange replaceable."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from custodes.identity.models import PendingLogin
from custodes.identity.oidc_login import Exchange, OIDCLogin, login_verifier
from custodes.identity.pages import identity_pages
from custodes.identity.service import IdentityService
from custodes.identity.settings import OIDCLoginSettings, OIDCSettings, WebAuthnSettings
from custodes.identity.throttle import AddressThrottle
from custodes.store.engine import transaction
from tests.support.identity import Provider
from tests.support.identity_worlds import Ledger
from tests.support.idp import CLIENT_ID, CLIENT_SECRET, ISSUER

ORIGIN = "https://localhost:8000"
CALLBACK = "/signin/oidc/callback"


@dataclass
class OIDCDoor:
    app: FastAPI
    engine: Engine
    ledger: Ledger
    login: OIDCLogin
    now: list[datetime]  # the service's clock
    tick: list[float]  # the throttle's clock

    def client(self, host: str = "192.0.2.10") -> TestClient:
        return TestClient(self.app, base_url=ORIGIN, client=(host, 40000))

    def pending(self) -> int:
        with transaction(self.engine) as db:
            return int(db.scalar(select(func.count()).select_from(PendingLogin)) or 0)


def login_settings(provider: Provider, **limits: int) -> OIDCLoginSettings:
    settings = OIDCLoginSettings(
        authorization_url=provider.base + "/authorize",
        token_url=provider.base + "/token",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        redirect_uri=ORIGIN + CALLBACK,
    )
    return replace(settings, **limits)


def oidc_door(
    engine: Engine, provider: Provider, exchange: Exchange | None = None, **limits: int
) -> OIDCDoor:
    """The pages over `engine` (its employees added by the caller)."""
    now, tick = [datetime.now(UTC)], [1000.0]
    ledger = Ledger()
    settings = WebAuthnSettings(origin=ORIGIN, rp_id="localhost")
    service = IdentityService(engine, settings, ledger.record, clock=lambda: now[0])
    signin = login_settings(provider, **limits)
    oidc = OIDCSettings(issuer=ISSUER, jwks_url=provider.url, audience="custodes-api")
    throttle = AddressThrottle(
        signin.throttle_burst, signin.throttle_per_minute, clock=lambda: tick[0]
    )
    login = OIDCLogin(
        service,
        signin,
        login_verifier(oidc, signin, service.directory),
        exchange=exchange,
        throttle=throttle,
    )
    app = FastAPI()
    app.include_router(identity_pages(engine, settings=settings, service=service, login=login))
    return OIDCDoor(app, engine, ledger, login, now, tick)
