"""The test identity provider on loopback (conftest's `provider`; `running_provider()` for other
test packages): its JWKS, keys made here, and an authorization server with an
authorization endpoint that signs the configured employee in at once, and a token endpoint
that redeems each code once, checks the client, the redirect URI and PKCE (S256), and answers
with an ID token signed by one of the provider's keys."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote_plus, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

ISSUER = "https://idp.example.test"
CLIENT_ID = "custodes-web"
CLIENT_SECRET = "a client secret made for this test"


@dataclass
class Grant:
    challenge: str
    nonce: str | None
    redirect_uri: str
    employee_id: str
    used: bool = False


@dataclass
class AuthServer:
    """What the test steers: who signs in, claim overrides, and what the endpoints saw."""

    login_as: str = "E0003"
    claims: dict[str, Any] = field(default_factory=dict)  # overrides; None drops a claim
    grants: dict[str, Grant] = field(default_factory=dict)
    refusals: list[str] = field(default_factory=list)  # why the token endpoint said no
    authorize_queries: list[dict[str, str]] = field(default_factory=list)


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _client(header: str) -> tuple[str, str] | None:
    """client_secret_basic: each part form-urlencoded, then Basic (RFC 6749 section 2.3.1)."""
    if not header.startswith("Basic "):
        return None
    user, _, secret = base64.b64decode(header[6:]).decode().partition(":")
    return unquote_plus(user), unquote_plus(secret)


def _send(handler: BaseHTTPRequestHandler, status: int, body: dict[str, Any]) -> None:
    data = json.dumps(body).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


def authorize(server: AuthServer, handler: BaseHTTPRequestHandler) -> None:
    query = {k: v[0] for k, v in parse_qs(urlsplit(handler.path).query).items()}
    server.authorize_queries.append(query)
    if (
        query.get("response_type") != "code"
        or query.get("client_id") != CLIENT_ID
        or query.get("code_challenge_method") != "S256"
        or not query.get("code_challenge")
        or "openid" not in query.get("scope", "").split()
    ):
        _send(handler, 400, {"error": "invalid_request"})
        return
    code = secrets.token_urlsafe(24)
    server.grants[code] = Grant(
        query["code_challenge"], query.get("nonce"), query["redirect_uri"], server.login_as
    )
    back = urlencode({"code": code, "state": query.get("state", "")})
    handler.send_response(302)
    handler.send_header("Location", f"{query['redirect_uri']}?{back}")
    handler.send_header("Content-Length", "0")
    handler.end_headers()


def token(server: AuthServer, handler: BaseHTTPRequestHandler, key: Any) -> None:
    length = int(handler.headers.get("Content-Length", "0"))
    form = {k: v[0] for k, v in parse_qs(handler.rfile.read(length).decode()).items()}
    grant = server.grants.get(form.get("code", ""))
    reason = None
    if _client(handler.headers.get("Authorization", "")) != (CLIENT_ID, CLIENT_SECRET):
        reason = "client"
    elif form.get("grant_type") != "authorization_code" or grant is None:
        reason = "unknown_code"
    elif grant.used:
        reason = "code_reused"
    elif form.get("redirect_uri") != grant.redirect_uri:
        reason = "redirect_uri"
    elif "code_verifier" not in form:
        reason = "pkce_missing"
    elif not hmac.compare_digest(_s256(form["code_verifier"]), grant.challenge):
        reason = "pkce_mismatch"
    if grant is not None:
        grant.used = True  # a code is spent by any attempt (RFC 6749 section 4.1.2)
    if reason is not None or grant is None:
        server.refusals.append(reason or "unknown_code")
        _send(handler, 400, {"error": "invalid_grant"})
        return
    _send(
        handler,
        200,
        {
            "access_token": secrets.token_urlsafe(16),
            "token_type": "Bearer",
            "id_token": id_token(server, grant, key),
        },
    )


def id_token(server: AuthServer, grant: Grant, key: Any) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": CLIENT_ID,
        "sub": "u-" + grant.employee_id,
        "employee_id": grant.employee_id,
        "nonce": grant.nonce,
        "iat": now,
        "exp": now + 300,
    }
    claims.update(server.claims)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, key.private, algorithm=key.alg, headers={"kid": key.kid})


@dataclass
class ProviderKey:
    kid: str
    alg: str
    private: Any

    def public_jwk(self) -> dict[str, Any]:
        algo = {"RS256": RSAAlgorithm, "ES256": ECAlgorithm, "EdDSA": OKPAlgorithm}[self.alg]
        jwk = json.loads(algo.to_jwk(self.private.public_key()))
        jwk.update({"kid": self.kid, "use": "sig"})
        return jwk


def make_key(kid: str, alg: str) -> ProviderKey:
    if alg == "RS256":
        private: Any = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    elif alg == "ES256":
        private = ec.generate_private_key(ec.SECP256R1())
    else:
        private = ed25519.Ed25519PrivateKey.generate()
    return ProviderKey(kid, alg, private)


@dataclass
class Provider:
    """A tiny identity provider on loopback: publishes its JWKS, signs tokens, and runs the
    authorization code flow (`idp`: /authorize, /token; ID tokens signed with the ES256 key)."""

    url: str = ""
    keys: list[ProviderKey] = field(default_factory=list)
    extra_jwks: list[dict[str, Any]] = field(default_factory=list)
    failing: bool = False
    hits: int = 0
    auth: AuthServer = field(default_factory=AuthServer)

    @property
    def base(self) -> str:
        return self.url.removesuffix("/jwks.json")

    def document(self) -> bytes:
        return json.dumps({"keys": [k.public_jwk() for k in self.keys] + self.extra_jwks}).encode()


@contextmanager
def running_provider() -> Iterator[Provider]:
    """The provider, serving on a loopback port until the block ends."""
    state = Provider(
        keys=[make_key("rsa-1", "RS256"), make_key("ec-1", "ES256"), make_key("ed-1", "EdDSA")]
    )

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            if self.path == "/token":
                token(state.auth, self, state.keys[1])
            else:
                self.send_response(404)
                self.end_headers()

        def do_GET(self) -> None:
            if self.path.startswith("/authorize?"):
                authorize(state.auth, self)
                return
            state.hits += 1
            if state.failing or self.path != "/jwks.json":
                self.send_response(500 if state.failing else 404)
                self.end_headers()
                return
            body = state.document()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def signed_token(provider: Provider, employee_id: str, **claims: Any) -> str:
    """An ID token for `employee_id` from the provider's ES256 key (API audience "custodes")."""
    now = int(time.time())
    body: dict[str, Any] = {
        "iss": ISSUER,
        "aud": "custodes",
        "employee_id": employee_id,
        "iat": now,
        "exp": now + 300,
        **claims,
    }
    key = provider.keys[1]
    return jwt.encode(body, key.private, algorithm=key.alg, headers={"kid": key.kid})


def oidc_env(provider: Provider) -> dict[str, str]:
    """The environment that makes custodes trust this provider (API audience "custodes")."""
    return {
        "CUSTODES_OIDC_ISSUER": ISSUER,
        "CUSTODES_OIDC_JWKS_URL": provider.url,
        "CUSTODES_OIDC_AUDIENCE": "custodes",
    }
