"""A real JWKS served on loopback by a tiny identity provider, keys made here, employees."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm
from sqlalchemy import Engine

from custodes.marketplace.models import Employee
from custodes.store.engine import transaction


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
    """A tiny identity provider: publishes its JWKS over HTTP on loopback, signs tokens."""

    url: str = ""
    keys: list[ProviderKey] = field(default_factory=list)
    extra_jwks: list[dict[str, Any]] = field(default_factory=list)
    failing: bool = False
    hits: int = 0

    def document(self) -> bytes:
        return json.dumps({"keys": [k.public_jwk() for k in self.keys] + self.extra_jwks}).encode()


@pytest.fixture
def provider() -> Iterator[Provider]:
    state = Provider(
        keys=[make_key("rsa-1", "RS256"), make_key("ec-1", "ES256"), make_key("ed-1", "EdDSA")]
    )

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
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


def add_employees(engine: Engine, *rows: tuple[str, str]) -> None:
    """(employee_id, status) with status active | suspended | departed."""
    past = datetime(2020, 1, 1, tzinfo=UTC)
    with transaction(engine) as session:
        for employee_id, status in rows:
            session.add(
                Employee(
                    employee_id=employee_id,
                    name=f"Employee {employee_id}",
                    role="support_agent",
                    suspended_at=past if status == "suspended" else None,
                    left_at=past if status == "departed" else None,
                )
            )
