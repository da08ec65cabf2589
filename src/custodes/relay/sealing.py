"""Message bodies at rest: AES-256-GCM under a fresh data key the vault keyring wraps.

Queued and held messages may carry a customer's own words and contact details; sealed, the
database holds none of it in the clear. The message id is bound in as associated data.
"""

from __future__ import annotations

import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from custodes.vault.keyring import Keyring

_NONCE = 12


def _context(message_id: str) -> bytes:
    return b"custodes/relay/v1|" + message_id.encode()


def seal_body(keyring: Keyring, message_id: str, body: bytes) -> tuple[int, bytes, bytes]:
    """(kek version, wrapped data key, nonce + ciphertext)."""
    fresh = os.urandom(32 + _NONCE)
    version, wrapped = keyring.wrap(fresh[:32], _context(message_id))
    sealed = AESGCM(fresh[:32]).encrypt(fresh[32:], body, _context(message_id))
    return version, wrapped, fresh[32:] + sealed


def open_body(
    keyring: Keyring, message_id: str, version: int, wrapped: bytes, sealed: bytes
) -> bytes:
    key = keyring.unwrap(version, wrapped, _context(message_id))
    return AESGCM(key).decrypt(sealed[:_NONCE], sealed[_NONCE:], _context(message_id))
