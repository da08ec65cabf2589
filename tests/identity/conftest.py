"""Fixtures for identity tests: a real JWKS served on loopback, keys made here, employees."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm
from sqlalchemy import Engine

from . import idp
from .idp import AuthServer
from .worlds import World, add_employees, make_world


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


@pytest.fixture
def provider() -> Iterator[Provider]:
    state = Provider(
        keys=[make_key("rsa-1", "RS256"), make_key("ec-1", "ES256"), make_key("ed-1", "EdDSA")]
    )

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            if self.path == "/token":
                idp.token(state.auth, self, state.keys[1])
            else:
                self.send_response(404)
                self.end_headers()

        def do_GET(self) -> None:
            if self.path.startswith("/authorize?"):
                idp.authorize(state.auth, self)
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


@pytest.fixture
def world(engine: Engine) -> World:
    """Four employees (E0006 suspended), the service on a fake clock, a checking ledger."""
    return make_world(engine)


__all__ = ["Provider", "ProviderKey", "add_employees", "make_key", "world"]
