"""Vault errors. Messages name ids and fields, never values."""

from custodes.errors import CustodesError


class VaultError(CustodesError):
    """Something in the vault went wrong; the message says what, never the PII involved."""


class DecryptionError(VaultError):
    """Ciphertext failed authentication: tampered, moved to another row/field, or wrong key."""


class ShreddedError(VaultError):
    """The customer was erased: their data key is destroyed and their PII is gone for good."""


class KeyringError(VaultError):
    """The keyring is missing, unreadable, or lacks the requested key version."""
