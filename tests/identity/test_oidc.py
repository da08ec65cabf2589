"""Employee ID tokens against a real JWKS on loopback: every acceptance and every refusal."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from sqlalchemy import Engine

from custodes.errors import ConfigError
from custodes.identity.directory import EmployeeDirectory
from custodes.identity.errors import EmployeeRefused, JWKSUnavailable, TokenRefused
from custodes.identity.jwks import JWKSCache
from custodes.identity.oidc import IDTokenVerifier
from custodes.identity.settings import OIDCSettings
from tests.support.identity import Provider, ProviderKey, add_employees, make_key

ISSUER = "https://idp.example.test"
AUDIENCE = "custodes"


class ActiveSet:
    """A directory that trusts a fixed set (the database-backed one is tested further down)."""

    def __init__(self, *ids: str) -> None:
        self.ids = set(ids)

    def require_active(self, employee_id: str) -> None:
        if employee_id not in self.ids:
            raise EmployeeRefused("employee_unknown", "no such employee")


def settings(url: str, **kw: Any) -> OIDCSettings:
    return OIDCSettings(issuer=ISSUER, jwks_url=url, audience=AUDIENCE, **kw)


class FromNow(int):
    """A claim time given as seconds from when the token is made: parameters are built at
    collection, and a suite that runs longer than the offset would turn "later" into "past"."""


def token(key: ProviderKey, **overrides: Any) -> str:
    now = int(time.time())
    overrides = {k: now + v if isinstance(v, FromNow) else v for k, v in overrides.items()}
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "u-17",
        "employee_id": "E0003",
        "iat": now,
        "nbf": now,
        "exp": now + 300,
    }
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, key.private, algorithm=key.alg, headers={"kid": key.kid})


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def verifier(provider: Provider, directory: Any = None, **kw: Any) -> IDTokenVerifier:
    return IDTokenVerifier(settings(provider.url, **kw), directory or ActiveSet("E0003"))


def reason(v: IDTokenVerifier, tok: str) -> str:
    with pytest.raises(TokenRefused) as caught:
        v.verify(tok)
    return caught.value.reason


@pytest.mark.parametrize("kid", ["rsa-1", "ec-1", "ed-1"])
def test_each_algorithm_verifies(provider: Provider, kid: str) -> None:
    key = next(k for k in provider.keys if k.kid == kid)
    who = verifier(provider).verify(token(key))
    assert who.employee_id == "E0003" and who.issuer == ISSUER
    assert len(who.token_sha256) == 64


def test_cached_keys_are_fetched_once(provider: Provider) -> None:
    v = verifier(provider)
    for key in provider.keys * 3:
        v.verify(token(key))
    assert provider.hits == 1


def test_alg_none_refused(provider: Provider) -> None:
    header = b64(json.dumps({"alg": "none", "kid": "rsa-1", "typ": "JWT"}).encode())
    body = b64(
        json.dumps(
            {
                "iss": ISSUER,
                "aud": AUDIENCE,
                "employee_id": "E0003",
                "iat": int(time.time()),
                "exp": int(time.time()) + 60,
            }
        ).encode()
    )
    assert reason(verifier(provider), f"{header}.{body}.") == "alg_not_allowed"


def _hmac_token(secret: bytes, kid: str) -> str:
    header = b64(json.dumps({"alg": "HS256", "kid": kid, "typ": "JWT"}).encode())
    now = int(time.time())
    body = b64(
        json.dumps(
            {"iss": ISSUER, "aud": AUDIENCE, "employee_id": "E0003", "iat": now, "exp": now + 60}
        ).encode()
    )
    sig = hmac.new(secret, f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{b64(sig)}"


def test_hmac_signed_with_the_public_key_refused(provider: Provider) -> None:
    rsa_key = provider.keys[0]
    pem = rsa_key.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    jwk_json = json.dumps(rsa_key.public_jwk()).encode()
    v = verifier(provider)
    assert reason(v, _hmac_token(pem, "rsa-1")) == "alg_not_allowed"
    assert reason(v, _hmac_token(jwk_json, "rsa-1")) == "alg_not_allowed"


def test_hmac_key_published_in_the_jwks_is_ignored(provider: Provider) -> None:
    secret = b"shared-secret-known-to-the-attacker"
    provider.extra_jwks.append({"kty": "oct", "kid": "hs-1", "k": b64(secret), "alg": "HS256"})
    v = verifier(provider, algorithms=("RS256", "ES256", "EdDSA"))
    assert reason(v, _hmac_token(secret, "hs-1")) == "alg_not_allowed"
    assert "hs-1" not in v.jwks._snapshot.keys if v.jwks._snapshot else True


def test_hmac_algorithms_cannot_be_configured(provider: Provider) -> None:
    with pytest.raises(ConfigError):
        settings(provider.url, algorithms=("HS256",))
    with pytest.raises(ConfigError):
        settings("http://idp.example.test/jwks.json")  # plain http off loopback


def test_token_alg_must_match_the_key(provider: Provider) -> None:
    ec_key = provider.keys[1]
    forged = jwt.encode(
        {"iss": ISSUER}, ec_key.private, algorithm="ES256", headers={"kid": "rsa-1"}
    )
    assert reason(verifier(provider), forged) == "alg_key_mismatch"


def test_signature_by_another_key_under_a_published_kid(provider: Provider) -> None:
    impostor = make_key("ec-1", "ES256")
    assert reason(verifier(provider), token(impostor)) == "bad_signature"


def test_tampered_payload_refused(provider: Provider) -> None:
    header, body, sig = token(provider.keys[2]).split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["employee_id"] = "E0099"
    assert reason(verifier(provider), f"{header}.{b64(json.dumps(claims).encode())}.{sig}") == (
        "bad_signature"
    )


def clocked(provider: Provider, clock: list[float], **kw: Any) -> IDTokenVerifier:
    return IDTokenVerifier(
        settings(provider.url),
        ActiveSet("E0003"),
        jwks=JWKSCache(
            provider.url,
            ("RS256", "ES256", "EdDSA"),
            max_age=600,
            min_refresh=30,
            clock=lambda: clock[0],
        ),
    )


def test_unknown_kid_refused_after_one_refresh(provider: Provider) -> None:
    clock = [1000.0]
    v = clocked(provider, clock)
    v.verify(token(provider.keys[0]))
    clock[0] += 31
    stranger = make_key("never-published", "RS256")
    assert reason(v, token(stranger)) == "unknown_kid"
    assert provider.hits == 2  # the first load, then exactly one refresh
    for n in range(5):
        assert reason(v, token(make_key(f"also-unknown-{n}", "ES256"))) == "unknown_kid"
    assert provider.hits == 2  # rate-limited: no further refresh inside min_refresh
    clock[0] += 31
    assert reason(v, token(stranger)) == "unknown_kid"
    assert provider.hits == 3


def test_provider_key_rotation(provider: Provider) -> None:
    clock = [1000.0]
    v = clocked(provider, clock)
    old = provider.keys[0]
    v.verify(token(old))
    new = make_key("rsa-2", "RS256")
    provider.keys.append(new)  # the provider publishes the next key and starts using it
    clock[0] += 60
    v.verify(token(new))
    assert provider.hits == 2
    provider.keys.remove(old)  # ... and retires the old one
    v.verify(token(old))  # still cached until max_age
    clock[0] += 600
    assert reason(v, token(old)) == "unknown_kid"
    v.verify(token(new))
    assert provider.hits == 3


def test_jwks_unavailable_fails_closed(provider: Provider) -> None:
    provider.failing = True
    with pytest.raises(JWKSUnavailable) as caught:
        verifier(provider).verify(token(provider.keys[0]))
    assert caught.value.reason == "jwks_unavailable"


def test_keys_kept_when_a_refresh_fails(provider: Provider) -> None:
    v = verifier(provider, jwks_min_refresh=__import__("datetime").timedelta(seconds=0))
    v.verify(token(provider.keys[0]))
    provider.failing = True
    assert reason(v, token(make_key("x", "RS256"))) == "unknown_kid"
    v.verify(token(provider.keys[1]))


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"iss": "https://evil.example.test"}, "wrong_issuer"),
        ({"aud": "someone-else"}, "wrong_audience"),
        ({"exp": int(time.time()) - 120}, "token_expired"),
        ({"nbf": FromNow(600)}, "token_not_yet_valid"),
        ({"iat": FromNow(600)}, "token_not_yet_valid"),
        ({"iat": int(time.time()) - 86400, "nbf": None}, "token_too_old"),
        ({"exp": None}, "missing_claim"),
        ({"iss": None}, "missing_claim"),
        ({"aud": None}, "missing_claim"),
        ({"employee_id": None}, "missing_claim"),
        ({"employee_id": 3}, "missing_claim"),
    ],
)
def test_claim_refusals(provider: Provider, overrides: dict[str, Any], expected: str) -> None:
    for key in provider.keys:
        assert reason(verifier(provider), token(key, **overrides)) == expected


def test_leeway_absorbs_small_skew(provider: Provider) -> None:
    v = verifier(provider)
    v.verify(token(provider.keys[0], exp=int(time.time()) - 10))
    v.verify(token(provider.keys[0], nbf=int(time.time()) + 10))


def test_aud_list_and_custom_claim(provider: Provider) -> None:
    v = verifier(provider, employee_claim="sub")
    who = v.verify(token(provider.keys[1], aud=["other", AUDIENCE], sub="E0003"))
    assert who.employee_id == "E0003"


@pytest.mark.parametrize("garbage", ["", "a.b", "a.b.c", "x" * 20000, "..."])
def test_garbage_refused(provider: Provider, garbage: str) -> None:
    with pytest.raises(TokenRefused):
        verifier(provider).verify(garbage)


def test_employee_status_from_the_database(provider: Provider, engine: Engine) -> None:
    add_employees(engine, ("E0003", "active"), ("E0004", "suspended"), ("E0005", "departed"))
    v = verifier(provider, directory=EmployeeDirectory(engine))
    assert v.verify(token(provider.keys[0])).employee_id == "E0003"
    for employee_id, expected in (
        ("E0004", "employee_suspended"),
        ("E0005", "employee_departed"),
        ("E9999", "employee_unknown"),
    ):
        with pytest.raises(EmployeeRefused) as caught:
            v.verify(token(provider.keys[0], employee_id=employee_id))
        assert caught.value.reason == expected


def test_settings_from_env(provider: Provider) -> None:
    assert OIDCSettings.from_env({}) is None
    s = OIDCSettings.from_env(
        {
            "CUSTODES_OIDC_ISSUER": ISSUER,
            "CUSTODES_OIDC_JWKS_URL": provider.url,
            "CUSTODES_OIDC_AUDIENCE": AUDIENCE,
            "CUSTODES_OIDC_LEEWAY": "10",
            "CUSTODES_OIDC_ALGORITHMS": "ES256,EdDSA",
        }
    )
    assert s is not None and s.algorithms == ("ES256", "EdDSA") and s.leeway.total_seconds() == 10
    with pytest.raises(ConfigError):
        OIDCSettings.from_env({"CUSTODES_OIDC_ISSUER": ISSUER, "CUSTODES_OIDC_LEEWAY": "x"})


class Counting(IDTokenVerifier):
    """Counts full verifications (signature and claims), to tell a cache hit from a miss."""

    decoded = 0

    def _decode(self, token: str) -> Any:
        self.decoded += 1
        return super()._decode(token)


def test_verified_token_cache_skips_the_signature_not_the_employee(provider: Provider) -> None:
    active = ActiveSet("E0003", "E0004")
    v = Counting(settings(provider.url), active)
    tok = token(provider.keys[1])
    first = v.verify(tok)
    assert v.verify(tok) == first and v.decoded == 1
    assert v.verify(token(provider.keys[1], employee_id="E0004")).employee_id == "E0004"
    assert v.decoded == 2
    active.ids.discard("E0003")  # suspended after the token was verified
    with pytest.raises(EmployeeRefused):
        v.verify(tok)


def test_verified_token_cache_ends_at_expiry_and_max_age(provider: Provider) -> None:
    now = [time.time()]
    v = Counting(settings(provider.url), ActiveSet("E0003"), clock=lambda: now[0])
    tok = token(provider.keys[1], exp=int(now[0]) + 60)
    v.verify(tok)
    now[0] += 59
    v.verify(tok)
    assert v.decoded == 1
    now[0] += 2  # past exp by our clock: verified afresh (PyJWT's own clock still accepts it)
    v.verify(tok)
    assert v.decoded == 2
    now[0] = time.time()
    aged = Counting(
        settings(provider.url, max_token_age=timedelta(seconds=30), leeway=timedelta(0)),
        ActiveSet("E0003"),
        clock=lambda: now[0],
    )
    old = token(provider.keys[1], iat=int(now[0]) - 10)
    aged.verify(old)
    now[0] += 25  # 35 s after iat: past the maximum age, though not past exp
    with pytest.raises(TokenRefused) as caught:  # not served from the cache
        aged.verify(old)
    assert caught.value.reason == "token_too_old" and aged.decoded == 2


def test_verified_token_cache_drops_tokens_of_a_withdrawn_key(provider: Provider) -> None:
    clock = [1000.0]
    jwks = JWKSCache(
        provider.url, ("RS256", "ES256", "EdDSA"), min_refresh=0, clock=lambda: clock[0]
    )
    v = Counting(settings(provider.url), ActiveSet("E0003"), jwks=jwks)
    withdrawn = provider.keys[0]
    tok = token(withdrawn)
    v.verify(tok)
    provider.keys.remove(withdrawn)  # the provider withdraws the key ...
    clock[0] += 1
    assert reason(v, token(make_key("fresh", "ES256"))) == "unknown_kid"  # ... a refresh sees it
    assert reason(v, tok) == "unknown_kid"  # and the cached token is no longer accepted
    assert v.decoded == 3


def test_verified_token_cache_is_bounded() -> None:
    from custodes.identity.token_cache import Remembered, VerifiedTokenCache

    cache = VerifiedTokenCache(size=2)
    entry = Remembered(None, time.time() + 60, "k", None)  # type: ignore[arg-type]
    for n in range(3):
        cache.put(bytes([n]) * 32, entry)
    assert len(cache) == 2 and cache.get(bytes([0]) * 32, time.time()) is None
    assert cache.get(bytes([2]) * 32, time.time()) is entry
    assert cache.get(bytes([2]) * 32, time.time() + 61) is None
