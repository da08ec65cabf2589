"""Envelope encryption, the sealing half: a fresh 256-bit data key per customer, AES-256-GCM per
field with the customer id and field name as associated data, the data key wrapped by a KEK.

Only sealing lives here. Opening is in `_hazmat`, on purpose: it has one caller for humans.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from custodes.vault.keyring import Keyring
from custodes.vault.models import PII_FIELDS

CIPHERTEXT_VERSION = b"\x01"
NONCE_BYTES = 12


def field_aad(customer_id: str, field: str) -> bytes:
    """Binds a ciphertext to its row and column: moved anywhere else, it fails to decrypt."""
    return b"custodes/pii/v1|" + customer_id.encode() + b"|" + field.encode()


def key_context(customer_id: str) -> bytes:
    """Binds a wrapped data key to its customer, so keys cannot be swapped between rows."""
    return customer_id.encode()


@dataclass(frozen=True)
class SealedRecord:
    kek_version: int
    wrapped_key: bytes
    ciphertexts: dict[str, bytes]


def seal(customer_id: str, values: dict[str, str], keyring: Keyring) -> SealedRecord:
    """Encrypt the given fields under a new data key; the key itself is never stored bare.

    One read of the OS random source per record (key and every nonce): at import rates the
    syscall per value costs more than the AES-GCM it feeds.
    """
    unknown = set(values) - set(PII_FIELDS)
    if unknown:
        raise ValueError(f"unknown PII field(s): {sorted(unknown)}")
    fresh = os.urandom(32 + NONCE_BYTES * len(values))
    cipher = AESGCM(fresh[:32])
    ciphertexts = {}
    prefix = b"custodes/pii/v1|" + customer_id.encode() + b"|"
    offset = 32
    for field, value in values.items():
        nonce = fresh[offset : offset + NONCE_BYTES]
        offset += NONCE_BYTES
        sealed = cipher.encrypt(nonce, value.encode(), prefix + field.encode())
        ciphertexts[field] = CIPHERTEXT_VERSION + nonce + sealed
    version, wrapped = keyring.wrap(fresh[:32], key_context(customer_id))
    return SealedRecord(version, wrapped, ciphertexts)
