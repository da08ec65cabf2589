"""Employee ID tokens (OIDC JWTs) verified with PyJWT against the provider's JWKS.

What is checked, in order: the header (an allowed asymmetric `alg`, a `kid`), the signature
with the key the provider publishes under that `kid` (the key fixes the algorithm, so an HMAC
token "signed" with the public key is refused), `iss`, `aud`, `exp`/`nbf`/`iat` with a small
leeway, the employee claim, and finally that the employee is active.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import jwt
from jwt import PyJWK
from jwt import exceptions as jwt_errors

from custodes.identity.directory import EmployeeDirectory
from custodes.identity.errors import TokenRefused
from custodes.identity.jwks import JWKSCache
from custodes.identity.settings import OIDCSettings
from custodes.identity.token_cache import Remembered, VerifiedTokenCache

MAX_TOKEN_BYTES = 16 * 1024
_REQUIRED = ["iss", "aud", "exp", "iat"]


@dataclass(frozen=True)
class VerifiedEmployee:
    """Who the ID token proves: the employee id, plus a hash of the token (never the token)."""

    employee_id: str
    issuer: str
    expires_at: datetime
    token_sha256: str
    method: str = "oidc"


class IDTokenVerifier:
    """Verifies `X-Custodes-Employee-Token`; one instance per process (it holds the key cache)."""

    def __init__(
        self,
        settings: OIDCSettings,
        directory: EmployeeDirectory,
        *,
        jwks: JWKSCache | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.settings = settings
        self.directory = directory
        self.jwks = jwks or JWKSCache(
            settings.jwks_url,
            settings.algorithms,
            max_age=settings.jwks_max_age.total_seconds(),
            min_refresh=settings.jwks_min_refresh.total_seconds(),
        )
        self._clock = clock
        self._leeway = settings.leeway.total_seconds()
        self._algorithms = list(settings.algorithms)
        self._jwt = jwt.PyJWT(options={"require": _REQUIRED})
        self._verified = VerifiedTokenCache()

    def claims(self, token: str) -> dict[str, object]:
        """The verified claims (signature, iss, aud, times); raises TokenRefused."""
        return self._decode(token)[0]

    def _decode(self, token: str) -> tuple[dict[str, object], str, PyJWK]:
        """The verified claims, and the `kid` and key that verified them."""
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_BYTES:
            raise TokenRefused("malformed_token", "the employee token is missing or too long")
        try:
            header = jwt.get_unverified_header(token)
        except jwt_errors.DecodeError:
            raise TokenRefused("malformed_token", "the employee token is not a JWT") from None
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self._algorithms:
            raise TokenRefused(
                "alg_not_allowed", "the employee token's algorithm is not allowed (asymmetric only)"
            )
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise TokenRefused("missing_kid", "the employee token names no signing key (kid)")
        key = self.jwks.key(kid)
        if key.algorithm_name != alg:
            raise TokenRefused("alg_key_mismatch", "the token's algorithm does not match its key")
        options: dict[str, object] = {"require": _REQUIRED}
        try:
            claims = self._jwt.decode(
                token,
                key,
                algorithms=[alg],
                audience=self.settings.audience,
                issuer=self.settings.issuer,
                leeway=self._leeway,
                options=options,  # type: ignore[arg-type]
            )
        except jwt_errors.PyJWTError as exc:
            reason, message = _refusal(exc)
            raise TokenRefused(reason, message) from None
        return claims, kid, key

    def verify(self, token: str) -> VerifiedEmployee:
        """Claims checked, then the employee: active, not suspended, not departed. A token
        verified before is taken from the cache (`token_cache`) while still acceptable; the
        employee's status is checked again every time."""
        if not isinstance(token, str) or len(token) > MAX_TOKEN_BYTES:
            raise TokenRefused("malformed_token", "the employee token is missing or too long")
        digest = hashlib.sha256(token.encode()).digest()
        seen = self._verified.get(digest, self._now())
        if seen is not None and self.jwks.publishes(seen.kid, seen.key):
            self.directory.require_active(seen.who.employee_id)
            return seen.who
        claims, kid, key = self._decode(token)
        who = self.employee_of(token, claims)
        self._verified.put(digest, Remembered(who, self._good_until(claims), kid, key))
        return who

    def _good_until(self, claims: Mapping[str, object]) -> float:
        """No leeway here: a cached token is never accepted past its expiry or maximum age."""
        exp, iat = claims.get("exp"), claims.get("iat")
        until = float(exp) if isinstance(exp, int | float) else 0.0
        limit = self.settings.max_token_age
        if limit is not None and isinstance(iat, int | float):
            until = min(until, float(iat) + limit.total_seconds())
        return until

    def _now(self) -> float:
        return self._clock() if self._clock else time.time()

    def claimed_employee(self, claims: Mapping[str, object]) -> str:
        """The employee id the (verified) claims name; TokenRefused if none."""
        employee_id = claims.get(self.settings.employee_claim)
        if not isinstance(employee_id, str) or not employee_id or len(employee_id) > 64:
            raise TokenRefused("missing_claim", "the employee token does not name an employee")
        return employee_id

    def employee_of(self, token: str, claims: Mapping[str, object]) -> VerifiedEmployee:
        """Who verified `claims` (from `claims(token)`) prove: the token's age, then an active
        employee; split from `claims` so a sign-in can check its nonce in between."""
        employee_id = self.claimed_employee(claims)
        self._check_age(claims)
        self.directory.require_active(employee_id)
        exp = claims["exp"]
        if not isinstance(exp, int | float):
            raise TokenRefused("invalid_token", "the employee token's expiry is not a number")
        return VerifiedEmployee(
            employee_id=employee_id,
            issuer=self.settings.issuer,
            expires_at=datetime.fromtimestamp(int(exp), UTC),
            token_sha256=hashlib.sha256(token.encode()).hexdigest(),
        )

    def _check_age(self, claims: Mapping[str, object]) -> None:
        limit = self.settings.max_token_age
        iat = claims.get("iat")
        if limit is None or not isinstance(iat, int | float):
            return
        now = self._now()
        if iat > now + self._leeway:
            raise TokenRefused("token_not_yet_valid", "the employee token was issued in the future")
        if now - iat > limit.total_seconds() + self._leeway:
            raise TokenRefused("token_too_old", "the employee token is too old; sign in again")


# PyJWT's refusals, most specific first (subclasses before their bases), as (reason, message).
_REFUSALS: tuple[tuple[type[jwt_errors.PyJWTError], str, str], ...] = (
    (jwt_errors.ExpiredSignatureError, "token_expired", "the employee token has expired"),
    (jwt_errors.ImmatureSignatureError, "token_not_yet_valid", "the token is not valid yet"),
    (jwt_errors.InvalidAudienceError, "wrong_audience", "the token is for another audience"),
    (jwt_errors.InvalidIssuerError, "wrong_issuer", "the token is from another issuer"),
    (jwt_errors.InvalidSignatureError, "bad_signature", "the token's signature does not verify"),
    (jwt_errors.MissingRequiredClaimError, "missing_claim", "the token lacks a required claim"),
    (jwt_errors.InvalidAlgorithmError, "alg_not_allowed", "the token's algorithm is not allowed"),
)


def _refusal(exc: jwt_errors.PyJWTError) -> tuple[str, str]:
    for kind, reason, message in _REFUSALS:
        if isinstance(exc, kind):
            return reason, message
    return "invalid_token", "the employee token is not valid"
