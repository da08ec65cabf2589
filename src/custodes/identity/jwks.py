"""The identity provider's signing keys (JWKS), cached by `kid`.

Refreshed when older than `max_age`, and once on an unknown `kid` (key rotation on the
provider's side), but never more often than `min_refresh`: a flood of tokens with made-up
`kid`s cannot turn custodes into a load generator against the provider. Only asymmetric keys
are kept; an `oct` (HMAC) key in the set is ignored, so a token can never be checked with one.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from jwt import PyJWK
from jwt.exceptions import PyJWTError

from custodes.identity.errors import JWKSUnavailable, TokenRefused

log = logging.getLogger(__name__)
ASYMMETRIC_KTY = ("RSA", "EC", "OKP")
MAX_JWKS_BYTES = 256 * 1024

Fetch = Callable[[str], bytes]


def http_fetch(timeout: float = 3.0) -> Fetch:
    """GET the JWKS document; redirects are not followed (the URL is configuration)."""

    def fetch(url: str) -> bytes:
        response = httpx.get(url, timeout=timeout, follow_redirects=False)
        response.raise_for_status()
        if len(response.content) > MAX_JWKS_BYTES:
            raise ValueError("JWKS document too large")
        return response.content

    return fetch


@dataclass(frozen=True)
class _Snapshot:
    keys: dict[str, PyJWK]
    fetched_at: float


def parse_jwks(document: bytes, algorithms: tuple[str, ...]) -> dict[str, PyJWK]:
    """kid → key for every usable asymmetric key whose algorithm is allowed."""
    raw = json.loads(document)
    if not isinstance(raw, dict) or not isinstance(raw.get("keys"), list):
        raise ValueError("not a JWK Set")
    keys: dict[str, PyJWK] = {}
    for item in raw["keys"]:
        if not isinstance(item, dict) or item.get("kty") not in ASYMMETRIC_KTY:
            continue
        kid = item.get("kid")
        if not isinstance(kid, str) or not kid or item.get("use", "sig") != "sig":
            continue
        try:
            key = PyJWK(item)
        except PyJWTError:
            continue
        if key.algorithm_name in algorithms:
            keys[kid] = key
    return keys


class JWKSCache:
    """Thread-safe kid → key lookups; the hot path is a dict read without a lock."""

    def __init__(
        self,
        url: str,
        algorithms: tuple[str, ...],
        *,
        fetch: Fetch | None = None,
        max_age: float = 3600.0,
        min_refresh: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self.algorithms = algorithms
        self._fetch = fetch or http_fetch()
        self.max_age = max_age
        self.min_refresh = min_refresh
        self._clock = clock
        self._snapshot: _Snapshot | None = None
        self._last_attempt = float("-inf")
        self._lock = threading.Lock()
        self.fetches = 0

    def key(self, kid: str) -> PyJWK:
        snapshot = self._snapshot
        now = self._clock()
        if snapshot is not None and now - snapshot.fetched_at < self.max_age:
            found = snapshot.keys.get(kid)
            if found is not None:
                return found
        return self._slow_key(kid, snapshot)

    def publishes(self, kid: str, key: PyJWK) -> bool:
        """Whether `key` is still what a fresh key set publishes under `kid` (no fetch)."""
        snapshot = self._snapshot
        if snapshot is None or self._clock() - snapshot.fetched_at >= self.max_age:
            return False
        return snapshot.keys.get(kid) is key

    def _slow_key(self, kid: str, seen: _Snapshot | None) -> PyJWK:
        with self._lock:
            snapshot = self._snapshot
            if snapshot is not seen and snapshot is not None and kid in snapshot.keys:
                return snapshot.keys[kid]  # another thread refreshed meanwhile
            now = self._clock()
            expired = snapshot is None or now - snapshot.fetched_at >= self.max_age
            if now - self._last_attempt >= self.min_refresh or snapshot is None:
                self._refresh(now)
            elif expired:
                raise JWKSUnavailable(
                    "jwks_stale",
                    "the identity provider's keys are stale and cannot be refreshed yet",
                )
            snapshot = self._snapshot
            if snapshot is None:
                raise JWKSUnavailable(
                    "jwks_unavailable", "the identity provider's keys could not be fetched"
                )
            if now - snapshot.fetched_at >= self.max_age:
                raise JWKSUnavailable(
                    "jwks_stale", "the identity provider's keys are stale; check its JWKS URL"
                )
            found = snapshot.keys.get(kid)
            if found is None:
                raise TokenRefused(
                    "unknown_kid",
                    "the token was signed by a key the identity provider does not publish",
                )
            return found

    def _refresh(self, now: float) -> None:
        self._last_attempt = now
        self.fetches += 1
        try:
            keys = parse_jwks(self._fetch(self.url), self.algorithms)
        except Exception as exc:  # network, HTTP status, JSON: keep the old keys, fail closed later
            log.warning("JWKS refresh failed: %s", type(exc).__name__)
            return
        self._snapshot = _Snapshot(keys, now)
