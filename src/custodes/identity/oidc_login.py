"""Employee sign-in through the identity provider: OAuth 2.0 authorization code flow with PKCE
(RFC 7636, S256 only) and the OIDC `state` and `nonce`, ending in a server-side session.

`begin()` makes a random `state` and a browser-binding secret (an HttpOnly cookie, SameSite=Lax
so the provider's redirect back carries it). The PKCE verifier and the nonce are HMACs of that
secret over the state, so the database keeps only hashes (of the state and of the secret):
neither a database reader nor someone holding a stolen code, without the browser that began the
sign-in, can redeem it. `finish()` spends the state once, checks the binding, exchanges the code
(with the verifier) at the token endpoint, verifies the ID token with `IDTokenVerifier` (JWKS,
`iss`, `aud` = our client id, times), checks the nonce and `azp`, then maps the token to an
active employee. The sign-in is on the record before the session is stored; a refusal is on the
record whenever the token proved who it was for (a wrong nonce, a suspended employee).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from urllib.parse import urlencode, urlsplit

import httpx
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from custodes.identity._codec import b64url, sha256
from custodes.identity._db import rows_changed
from custodes.identity.core import ServiceCore
from custodes.identity.directory import EmployeeDirectory
from custodes.identity.errors import EmployeeRefused, LoginRefused, TokenRefused, TooManySignIns
from custodes.identity.models import PendingLogin
from custodes.identity.oidc import IDTokenVerifier, VerifiedEmployee
from custodes.identity.sessions import NewSession, store_session
from custodes.identity.settings import OIDCLoginSettings, OIDCSettings
from custodes.identity.throttle import AddressThrottle
from custodes.store.engine import transaction

log = logging.getLogger(__name__)
BINDING_COOKIE = "custodes_oidc"
MAX_PARAM = 2048  # a state, a code: anything longer is not ours
MAX_TOKEN_RESPONSE = 64 * 1024

Exchange = Callable[[str, str], Mapping[str, object]]
"""(code, code_verifier) -> the token endpoint's JSON answer."""


@dataclass(frozen=True)
class LoginStart:
    """Where to send the browser, and the binding secret to set as its cookie."""

    authorize_url: str
    binding: str


def pkce_verifier(binding: str, state: str) -> str:
    """43 characters of base64url (RFC 7636 section 4.1), derived, never stored."""
    return b64url(_derive(binding, b"pkce", state))


def pkce_challenge(verifier: str) -> str:
    """S256: base64url(SHA-256(verifier)), unpadded (RFC 7636 section 4.2)."""
    return b64url(hashlib.sha256(verifier.encode("ascii")).digest())


def login_nonce(binding: str, state: str) -> str:
    return b64url(_derive(binding, b"nonce", state))


def _derive(binding: str, label: bytes, state: str) -> bytes:
    return hmac.digest(
        binding.encode(), b"custodes/oidc/" + label + b"/v1\0" + state.encode(), "sha256"
    )


def http_exchange(settings: OIDCLoginSettings) -> Exchange:
    """POST the code and verifier to the token endpoint (redirects not followed)."""

    def exchange(code: str, verifier: str) -> Mapping[str, object]:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": settings.redirect_uri,
            "code_verifier": verifier,
            "client_id": settings.client_id,
        }
        auth = None
        if settings.client_secret is not None:  # client_secret_basic, form-encoded parts
            auth = httpx.BasicAuth(
                urlencode({"": settings.client_id})[1:], urlencode({"": settings.client_secret})[1:]
            )
        try:
            response = httpx.post(
                settings.token_url,
                data=form,
                auth=auth,
                timeout=settings.timeout_s,
                follow_redirects=False,
                headers={"Accept": "application/json"},
            )
        except httpx.HTTPError:
            raise LoginRefused(
                "token_endpoint_unreachable", "the identity provider did not answer"
            ) from None
        if response.status_code != 200 or len(response.content) > MAX_TOKEN_RESPONSE:
            raise LoginRefused("code_refused", "the identity provider refused the sign-in code")
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise LoginRefused("code_refused", "the identity provider's answer is not JSON")
        return body

    return exchange


class OIDCLogin:
    """One per process; `service` records sign-ins and stores sessions."""

    def __init__(
        self,
        service: ServiceCore,
        settings: OIDCLoginSettings,
        verifier: IDTokenVerifier,
        *,
        exchange: Exchange | None = None,
        throttle: AddressThrottle | None = None,
    ) -> None:
        self.service = service
        self.settings = settings
        self.verifier = verifier
        self._exchange = exchange or http_exchange(settings)
        self.throttle = throttle or AddressThrottle(
            settings.throttle_burst, settings.throttle_per_minute
        )

    @classmethod
    def from_env(cls, service: ServiceCore) -> OIDCLogin | None:
        """Configured by CUSTODES_OIDC_* (issuer, JWKS URL, authorization and token URLs, client
        id); None when sign-in through the provider is not configured."""
        login = OIDCLoginSettings.from_env()
        oidc = OIDCSettings.from_env()
        if login is None or oidc is None:
            return None
        return cls(service, login, login_verifier(oidc, login, service.directory))

    def begin(self) -> LoginStart:
        """A new sign-in: the provider's authorization URL and the browser-binding secret.
        TooManySignIns (429) while `max_pending` sign-ins are live: anyone may call this, and
        each call stores a row until it expires."""
        now = self.service.clock()
        state, binding = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        with transaction(self.service.engine) as db:
            self._make_room(db, now)
            db.add(
                PendingLogin(
                    state_hash=sha256(state),
                    binding_hash=sha256(binding),
                    created_at=now,
                    expires_at=now + self.settings.login_ttl,
                )
            )
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.settings.client_id,
                "redirect_uri": self.settings.redirect_uri,
                "scope": self.settings.scope,
                "state": state,
                "nonce": login_nonce(binding, state),
                "code_challenge": pkce_challenge(pkce_verifier(binding, state)),
                "code_challenge_method": "S256",
            }
        )
        joiner = "&" if urlsplit(self.settings.authorization_url).query else "?"
        return LoginStart(f"{self.settings.authorization_url}{joiner}{query}", binding)

    def _make_room(self, db: Session, now: datetime) -> None:
        """Expired sign-ins go; then refuse when the live ones (spent or not) fill the store.
        Concurrent workers may each pass the count at once: the cap holds within that slack."""
        expired = delete(PendingLogin).where(PendingLogin.expires_at <= now)
        db.execute(expired.execution_options(synchronize_session=False))
        live = db.scalar(
            select(func.count()).select_from(PendingLogin).where(PendingLogin.expires_at > now)
        )
        if int(live or 0) >= self.settings.max_pending:
            raise TooManySignIns(
                "too_many_signins", "too many sign-ins are in progress; try again in a minute"
            )

    def finish(
        self, state: str | None, code: str | None, binding: str | None, error: str | None = None
    ) -> NewSession:
        """The provider's redirect back: spend the state, redeem the code, verify the ID token,
        sign the employee in. LoginRefused / TokenRefused / EmployeeRefused otherwise."""
        now = self.service.clock()
        state, binding = self._spend(state, binding, now)
        if error is not None:
            raise LoginRefused("provider_error", "the identity provider did not sign you in")
        if not code or len(code) > MAX_PARAM:
            raise LoginRefused("missing_code", "the identity provider sent no sign-in code")
        answer = self._exchange(code, pkce_verifier(binding, state))
        who = self._verify(answer.get("id_token"), login_nonce(binding, state), now)
        session = self.service.record_sign_in(
            who.employee_id, "oidc", now, details={"proof_ref": "jwt:" + who.token_sha256[:32]}
        )
        with transaction(self.service.engine) as db:
            store_session(db, session, None, now)
        return session

    def _spend(self, state: str | None, binding: str | None, now: datetime) -> tuple[str, str]:
        """The state is ours, unexpired, unused, and was begun by this browser; spent once."""
        if not state or len(state) > MAX_PARAM:
            raise LoginRefused("unknown_state", "start the sign-in again")
        if not binding or len(binding) > MAX_PARAM:
            raise LoginRefused("wrong_browser", "start the sign-in again in this browser")
        with transaction(self.service.engine) as db:
            row = db.get(PendingLogin, sha256(state))
            if row is None:
                raise LoginRefused("unknown_state", "start the sign-in again")
            if not hmac.compare_digest(row.binding_hash, sha256(binding)):
                raise LoginRefused("wrong_browser", "start the sign-in again in this browser")
            spent = rows_changed(
                db,
                update(PendingLogin)
                .where(
                    PendingLogin.state_hash == row.state_hash,
                    PendingLogin.used_at.is_(None),
                    PendingLogin.expires_at > now,
                )
                .values(used_at=now),
            )
        if spent != 1:
            raise LoginRefused("stale_state", "this sign-in expired or was used; start again")
        return state, binding

    def _verify(self, id_token: object, nonce: str, now: datetime) -> VerifiedEmployee:
        if not isinstance(id_token, str) or not id_token:
            raise LoginRefused("no_id_token", "the identity provider sent no ID token")
        claims = self.verifier.claims(id_token)  # unattributable refusals stop here
        employee_id = self.verifier.claimed_employee(claims)
        try:
            _check_nonce(claims, nonce)
            _check_azp(claims, self.settings.client_id)
            return self.verifier.employee_of(id_token, claims)
        except (TokenRefused, EmployeeRefused) as exc:
            self.service.record_refusal(employee_id, "oidc", exc.reason, now)
            raise


def login_verifier(
    oidc: OIDCSettings, login: OIDCLoginSettings, directory: EmployeeDirectory
) -> IDTokenVerifier:
    """The ID-token verifier for sign-in: the provider's settings, with our client id as the
    audience (an ID token is issued to its client)."""
    return IDTokenVerifier(replace(oidc, audience=login.client_id), directory)


def _check_nonce(claims: Mapping[str, object], expected: str) -> None:
    nonce = claims.get("nonce")
    if not isinstance(nonce, str) or not hmac.compare_digest(nonce.encode(), expected.encode()):
        raise TokenRefused("wrong_nonce", "the ID token was not issued for this sign-in")


def _check_azp(claims: Mapping[str, object], client_id: str) -> None:
    """OIDC Core 3.1.3.7: with several audiences `azp` must be there; when there, ours."""
    azp, aud = claims.get("azp"), claims.get("aud")
    if azp is None and isinstance(aud, list) and len(aud) > 1:
        raise TokenRefused("missing_azp", "the ID token names several audiences and no azp")
    if azp is not None and azp != client_id:
        raise TokenRefused("wrong_azp", "the ID token was issued to another client")


__all__ = [
    "BINDING_COOKIE",
    "LoginStart",
    "OIDCLogin",
    "http_exchange",
    "login_nonce",
    "login_verifier",
    "pkce_challenge",
    "pkce_verifier",
]
