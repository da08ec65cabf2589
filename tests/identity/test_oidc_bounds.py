"""An anonymous `GET /signin/oidc` stores a pending sign-in each time, so a flood is bounded: a
rate per client address (IPv6 per /64) and a cap on live pending sign-ins, expired ones removed
as new ones begin; both answered 429 problem+json with Retry-After, storing nothing. On SQLite
and PostgreSQL, clocks steered by the test (no sleeping, no timing)."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from custodes.errors import ConfigError
from custodes.identity.oidc_login import BINDING_COOKIE
from custodes.identity.throttle import AddressThrottle, client_key
from tests.identity.oidc_door import OIDCDoor, login_settings, oidc_door
from tests.support.identity import Provider, add_employees


def _door(engine: Engine, provider: Provider, **limits: int) -> OIDCDoor:
    add_employees(engine, ("E0003", "active"))
    return oidc_door(engine, provider, **limits)


def _busy(response: httpx.Response, retry_after: str) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 429 and body["reason"] == "too_many_signins"
    assert response.headers["retry-after"] == retry_after
    assert BINDING_COOKIE not in response.headers.get("set-cookie", "")


def _start(client: TestClient) -> httpx.Response:
    return client.get("/signin/oidc", follow_redirects=False)


def test_one_address_is_throttled_and_others_are_not(engine: Engine, provider: Provider) -> None:
    door = _door(engine, provider, throttle_burst=3, throttle_per_minute=6)
    flooder = door.client("192.0.2.10")
    assert [_start(flooder).status_code for _ in range(3)] == [303, 303, 303]
    _busy(_start(flooder), "10")  # 6 a minute: the next in ten seconds
    _busy(_start(flooder), "10")
    assert door.pending() == 3  # a refused start stores nothing
    assert _start(door.client("198.51.100.7")).status_code == 303  # someone else is let in
    door.tick[0] += 10
    assert _start(flooder).status_code == 303
    _busy(_start(flooder), "10")
    assert door.pending() == 5


def test_ipv6_is_limited_per_64(engine: Engine, provider: Provider) -> None:
    door = _door(engine, provider, throttle_burst=1, throttle_per_minute=1)
    assert _start(door.client("2001:db8:1:2::1")).status_code == 303
    _busy(_start(door.client("2001:db8:1:2:ffff::9")), "60")  # same /64, new interface id
    assert _start(door.client("2001:db8:1:3::1")).status_code == 303


def test_pending_signins_are_capped_and_expired_ones_make_room(
    engine: Engine, provider: Provider
) -> None:
    door = _door(engine, provider, max_pending=3, throttle_burst=100)
    clients = [door.client(f"203.0.113.{n}") for n in range(5)]  # many addresses
    assert [_start(c).status_code for c in clients[:3]] == [303, 303, 303]
    _busy(_start(clients[3]), "60")
    assert door.pending() == 3
    door.now[0] += timedelta(minutes=11)  # past the sign-ins' ten minutes
    assert _start(clients[4]).status_code == 303
    assert door.pending() == 1  # the expired ones went as the new one began


def test_a_spent_signin_still_counts_until_it_expires(engine: Engine, provider: Provider) -> None:
    """Spending one's own sign-ins (a callback with no code) does not make room early."""
    door = _door(engine, provider, max_pending=2, throttle_burst=100)
    client = door.client()
    for _ in range(2):
        state = httpx.URL(_start(client).headers["location"]).params["state"]
        spent = client.get("/signin/oidc/callback", params={"state": state})
        assert spent.status_code == 401 and "missing_code" in spent.text
    _busy(_start(client), "60")


def test_throttle_table_is_bounded_and_keys_addresses() -> None:
    tick = [0.0]
    throttle = AddressThrottle(1, 60, max_clients=2, clock=lambda: tick[0])
    assert throttle.take("192.0.2.1") == 0.0
    assert throttle.take("192.0.2.1") == pytest.approx(1.0)
    throttle.take("192.0.2.2")
    throttle.take("192.0.2.3")  # the table holds two: the least recently seen is forgotten
    assert throttle.take("192.0.2.1") == 0.0
    assert client_key("2001:db8::1") == "2001:db8::/64"
    assert client_key("::ffff:192.0.2.1") == "192.0.2.1"
    assert client_key(None) == "" and client_key("testclient") == "testclient"
    with pytest.raises(ValueError):
        AddressThrottle(0, 1)


def test_limits_must_be_positive(provider: Provider) -> None:
    for limit in ("max_pending", "throttle_burst", "throttle_per_minute"):
        with pytest.raises(ConfigError):
            login_settings(provider, **{limit: 0})
