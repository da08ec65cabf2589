"""Identity settings: the OIDC provider, the WebAuthn relying party, TTLs. The environment is
read by `custodes.config.Settings`; here the values are checked and given their types."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlsplit

from custodes.config import Settings
from custodes.errors import ConfigError

# Asymmetric algorithms only: an HMAC algorithm would let anyone holding the (public) JWKS forge.
SAFE_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA")
DEFAULT_ALGORITHMS = ("RS256", "ES256", "EdDSA")


@dataclass(frozen=True)
class OIDCSettings:
    """Who issues employee ID tokens and how they are checked.

    `employee_claim` names the claim holding the employee id (e.g. `employee_id`, or `sub` when
    the provider's subject is the employee id). `leeway` absorbs small clock skew on exp/nbf/iat.
    """

    issuer: str
    jwks_url: str
    audience: str
    employee_claim: str = "employee_id"
    leeway: timedelta = timedelta(seconds=30)
    algorithms: tuple[str, ...] = DEFAULT_ALGORITHMS
    jwks_max_age: timedelta = timedelta(hours=1)
    jwks_min_refresh: timedelta = timedelta(seconds=30)
    max_token_age: timedelta | None = timedelta(hours=12)

    def __post_init__(self) -> None:
        for label, value in (("issuer", self.issuer), ("audience", self.audience)):
            if not value:
                raise ConfigError(f"OIDC {label} is empty; set CUSTODES_OIDC_{label.upper()}")
        if not _https_or_loopback(self.jwks_url):
            raise ConfigError("the OIDC JWKS URL must be https (plain http only on loopback)")
        unsafe = [alg for alg in self.algorithms if alg not in SAFE_ALGORITHMS]
        if unsafe or not self.algorithms:
            raise ConfigError(
                f"OIDC algorithms must be asymmetric, from {', '.join(SAFE_ALGORITHMS)}"
            )
        if self.leeway > timedelta(minutes=5) or self.leeway < timedelta(0):
            raise ConfigError("OIDC leeway must be between 0 and 300 seconds")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> OIDCSettings | None:
        """None when no issuer is configured (the embedded default: passkey sign-in only)."""
        settings = Settings.from_env(env)
        if not settings.oidc_issuer:
            return None
        return cls(
            issuer=settings.oidc_issuer,
            jwks_url=settings.oidc_jwks_url,
            audience=settings.oidc_audience,
            employee_claim=settings.oidc_employee_claim,
            leeway=timedelta(seconds=settings.oidc_leeway),
            algorithms=settings.oidc_algorithms,
        )


@dataclass(frozen=True)
class OIDCLoginSettings:
    """Employee sign-in through the identity provider: authorization code flow with PKCE (S256).

    custodes is the provider's client `client_id`, confidential when `client_secret` is set
    (sent as HTTP Basic, RFC 6749 section 2.3.1), public otherwise (PKCE alone binds the code).
    The ID token's audience is `client_id`; it is verified like every employee ID token."""

    authorization_url: str
    token_url: str
    client_id: str
    redirect_uri: str
    client_secret: str | None = field(default=None, repr=False)
    scope: str = "openid"
    login_ttl: timedelta = timedelta(minutes=10)
    timeout_s: float = 5.0
    # An anonymous `GET /signin/oidc` stores a pending sign-in: at most `max_pending` live at
    # once (expired ones are removed as new ones begin), and `throttle_burst` at once then
    # `throttle_per_minute` a minute from one client address (an IPv6 /64).
    max_pending: int = 5000
    throttle_burst: int = 30
    throttle_per_minute: int = 30

    def __post_init__(self) -> None:
        for label, url in (
            ("authorization URL", self.authorization_url),
            ("token URL", self.token_url),
            ("redirect URI", self.redirect_uri),
        ):
            if not _https_or_loopback(url):
                raise ConfigError(f"the OIDC {label} must be https (plain http only on loopback)")
        if not self.client_id:
            raise ConfigError("the OIDC client id is empty; set CUSTODES_OIDC_CLIENT_ID")
        if "openid" not in self.scope.split():
            raise ConfigError("the OIDC scope must include openid")
        if min(self.max_pending, self.throttle_burst, self.throttle_per_minute) < 1:
            raise ConfigError("the OIDC sign-in limits must be positive")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> OIDCLoginSettings | None:
        """None unless CUSTODES_OIDC_AUTHORIZATION_URL is set (then the token URL and client id
        are required; the redirect URI defaults to the web origin's /signin/oidc/callback)."""
        settings = Settings.from_env(env)
        if not settings.oidc_authorization_url:
            return None
        origin = settings.web_origin.rstrip("/")
        return cls(
            authorization_url=settings.oidc_authorization_url,
            token_url=settings.oidc_token_url,
            client_id=settings.oidc_client_id,
            redirect_uri=settings.oidc_redirect_uri or f"{origin}/signin/oidc/callback",
            client_secret=settings.oidc_client_secret or None,
        )


@dataclass(frozen=True)
class WebAuthnSettings:
    """The relying party: the RP id is the site's host name, the origin its exact web origin."""

    rp_id: str = "localhost"
    rp_name: str = "custodes"
    origin: str = "http://localhost:8000"
    challenge_ttl: timedelta = timedelta(minutes=5)
    enrollment_ttl: timedelta = timedelta(hours=24)
    session_ttl: timedelta = timedelta(hours=8)
    session_idle: timedelta = timedelta(minutes=30)
    user_verification: bool = True
    extra_origins: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if not _https_or_loopback(self.origin):
            raise ConfigError("the WebAuthn origin must be https (plain http only on localhost)")
        host = urlsplit(self.origin).hostname or ""
        if host != self.rp_id and not host.endswith("." + self.rp_id):
            raise ConfigError("the WebAuthn RP id must be the origin's host or a parent domain")

    @property
    def origins(self) -> list[str]:
        return [self.origin, *self.extra_origins]

    @property
    def secure_cookies(self) -> bool:
        """Always true: browsers accept `Secure` cookies on http://localhost (a secure context)."""
        return True

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> WebAuthnSettings:
        settings = Settings.from_env(env)
        origin = settings.web_origin
        rp_id = settings.webauthn_rp_id or urlsplit(origin).hostname or "localhost"
        return cls(rp_id=rp_id, origin=origin)


def _https_or_loopback(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return True
    return parts.scheme == "http" and _loopback(parts.hostname or "")


def _loopback(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.")
