"""Small encodings shared by the identity modules: random secrets, ids, hashes, base64url and
the ledger's binary encoding (lowercase base32 in chunks, which the ledger's PII guard accepts
as an id by construction, so key bytes can never be mistaken for a phone number)."""

from __future__ import annotations

import base64
import hashlib
import math
import secrets
from collections.abc import Mapping

LEDGER_CHUNK = 125  # chars of base32 per value: "xx_" + 125 stays within the ledger's 128


def new_secret(prefix: str) -> str:
    """A bearer secret (enrollment link, session cookie): 256 random bits, URL-safe."""
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def new_id(prefix: str) -> str:
    """A public, unguessable id (challenge, approval): 160 random bits, lowercase base32."""
    return f"{prefix}_" + base64.b32encode(secrets.token_bytes(20)).decode().lower()


def sha256(value: str | bytes) -> bytes:
    return hashlib.sha256(value.encode() if isinstance(value, str) else value).digest()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def from_b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def ledger_chunks(name: str, data: bytes) -> dict[str, str]:
    """`name`, `name.1`, ... → "wa_" + base32; chunks of even length (none is tiny)."""
    text = base64.b32encode(data).decode().rstrip("=").lower()
    count = max(1, math.ceil(len(text) / LEDGER_CHUNK))
    size = math.ceil(len(text) / count)
    parts = [text[i : i + size] for i in range(0, len(text), size)] or [""]
    return {(name if n == 0 else f"{name}.{n}"): f"wa_{part}" for n, part in enumerate(parts)}


def from_ledger_chunks(extra: Mapping[str, object], name: str) -> bytes:
    """The inverse of `ledger_chunks`; raises ValueError if absent or malformed."""
    parts = []
    n = 0
    while True:
        key = name if n == 0 else f"{name}.{n}"
        value = extra.get(key)
        if value is None:
            break
        if not isinstance(value, str) or not value.startswith("wa_"):
            raise ValueError(f"{key} is not a ledger-encoded byte string")
        parts.append(value[3:])
        n += 1
    if not parts:
        raise ValueError(f"{name} is absent")
    text = "".join(parts).upper()
    return base64.b32decode(text + "=" * (-len(text) % 8))
