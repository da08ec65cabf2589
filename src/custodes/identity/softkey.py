"""A software WebAuthn authenticator: real keys, real CBOR, real signatures. For the demo, the
benchmarks and the tests; employees use their own authenticators (the browser's passkeys).

It answers registration ("none" attestation) and assertion requests exactly as a browser would
hand them to the server, so the server-side checks run unmodified.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass, field
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

UP, UV, AT = 0x01, 0x04, 0x40


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class SoftAuthenticator:
    origin: str = "http://localhost:8000"
    alg: str = "ES256"
    counter: int = 0
    credential_id: bytes = field(default_factory=lambda: os.urandom(16))
    private: Any = None
    user_verified: bool = True

    def __post_init__(self) -> None:
        if self.private is None:
            self.private = (
                ec.generate_private_key(ec.SECP256R1())
                if self.alg == "ES256"
                else ed25519.Ed25519PrivateKey.generate()
            )

    def cose_key(self) -> bytes:
        public = self.private.public_key()
        if self.alg == "ES256":
            numbers = public.public_numbers()
            return cbor2.dumps(
                {
                    1: 2,
                    3: -7,
                    -1: 1,
                    -2: numbers.x.to_bytes(32, "big"),
                    -3: numbers.y.to_bytes(32, "big"),
                }
            )
        raw = public.public_bytes_raw()
        return cbor2.dumps({1: 1, 3: -8, -1: 6, -2: raw})

    def _flags(self, extra: int = 0) -> int:
        return UP | (UV if self.user_verified else 0) | extra

    def _client_data(self, kind: str, challenge: str, origin: str | None = None) -> bytes:
        return json.dumps(
            {
                "type": kind,
                "challenge": challenge,
                "origin": origin or self.origin,
                "crossOrigin": False,
            }
        ).encode()

    def register(self, options_json: str, origin: str | None = None) -> dict[str, Any]:
        options = json.loads(options_json)
        rp_hash = hashlib.sha256(options["rp"]["id"].encode()).digest()
        attested = bytes(16) + len(self.credential_id).to_bytes(2, "big") + self.credential_id
        auth_data = (
            rp_hash
            + bytes([self._flags(AT)])
            + self.counter.to_bytes(4, "big")
            + attested
            + self.cose_key()
        )
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        client = self._client_data("webauthn.create", options["challenge"], origin)
        return {
            "id": b64(self.credential_id),
            "rawId": b64(self.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64(client),
                "attestationObject": b64(attestation),
                "transports": ["internal"],
            },
            "clientExtensionResults": {},
        }

    def assert_(
        self, options_json: str, rp_id: str = "localhost", origin: str | None = None, bump: int = 1
    ) -> dict[str, Any]:
        options = json.loads(options_json)
        self.counter += bump
        auth_data = (
            hashlib.sha256(options.get("rpId", rp_id).encode()).digest()
            + bytes([self._flags()])
            + self.counter.to_bytes(4, "big")
        )
        client = self._client_data("webauthn.get", options["challenge"], origin)
        signed = auth_data + hashlib.sha256(client).digest()
        if self.alg == "ES256":
            signature = self.private.sign(signed, ec.ECDSA(hashes.SHA256()))
        else:
            signature = self.private.sign(signed)
        return {
            "id": b64(self.credential_id),
            "rawId": b64(self.credential_id),
            "type": "public-key",
            "response": {
                "authenticatorData": b64(auth_data),
                "clientDataJSON": b64(client),
                "signature": b64(signature),
                "userHandle": None,
            },
            "clientExtensionResults": {},
        }
