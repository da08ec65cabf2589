"""Ed25519 approval records: canonical JSON bound to one request's digest, signed by the service.

An approval is only as good as its signature and its binding: a changed request has another
digest, an expired or used approval is refused, so approvals cannot be replayed or moved.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from custodes.errors import ConfigError
from custodes.ledger.entry import canonical_json, format_time

KEY_FILE = "approvals.key"


def load_or_create_approval_key(keys_dir: Path) -> Ed25519PrivateKey:
    """The service's approval-signing key (raw seed, 0600), created on first use."""
    path = keys_dir / KEY_FILE
    if path.exists():
        if path.stat().st_mode & 0o077:
            raise ConfigError(f"approval key {path} is readable by others; `chmod 600` it first")
        seed = path.read_bytes()
        if len(seed) != 32:
            raise ConfigError(f"{path} is not a 32-byte Ed25519 seed")
        return Ed25519PrivateKey.from_private_bytes(seed)
    keys_dir.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    from cryptography.hazmat.primitives import serialization

    seed = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(seed)
    return key


def request_digest(
    request_id: str, requester: str, action: str, resource: str, justification: str
) -> bytes:
    """SHA-256 over the canonical request: what the approver saw is exactly what executes."""
    body = canonical_json(
        {
            "request_id": request_id,
            "requester": requester,
            "action": action,
            "resource": json.loads(resource),
            "justification": json.loads(justification),
        }
    )
    return hashlib.sha256(body).digest()


@dataclass(frozen=True)
class ApprovalPayload:
    approval_id: str
    request_id: str
    request_digest: str  # hex
    approver: str
    approved_at: datetime
    expires_at: datetime

    def encode(self) -> bytes:
        return canonical_json(
            {
                "approval_id": self.approval_id,
                "request_id": self.request_id,
                "request_digest": self.request_digest,
                "approver": self.approver,
                "approved_at": format_time(self.approved_at),
                "expires_at": format_time(self.expires_at),
            }
        )


def sign(key: Ed25519PrivateKey, payload: ApprovalPayload) -> tuple[str, bytes]:
    data = payload.encode()
    return data.decode(), key.sign(data)


def verify(public: Ed25519PublicKey, payload_text: str, signature: bytes) -> dict[str, str]:
    """The signed payload, or an error if the signature does not hold."""
    try:
        public.verify(signature, payload_text.encode())
    except InvalidSignature:
        raise ApprovalInvalid("approval signature does not verify") from None
    payload: dict[str, str] = json.loads(payload_text)
    return payload


class ApprovalInvalid(Exception):
    """An approval that must not be honoured (bad signature, wrong request, expired, used)."""
