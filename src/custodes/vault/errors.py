"""Vault errors. Messages name ids and fields, never values."""

from custodes.errors import ConflictError, CustodesError, GoneError


class VaultError(CustodesError):
    """Something in the vault went wrong; the message says what, never the PII involved."""

    status = 500  # a broken ciphertext or keyring is ours to fix, not the caller's


class DecryptionError(VaultError):
    """Ciphertext failed authentication: tampered, moved to another row/field, or wrong key."""


class ShreddedError(VaultError, GoneError):
    """The customer was erased: their data key is destroyed and their PII is gone for good."""

    status = 410


class AlreadyErased(VaultError, ConflictError):
    """This customer was erased already (by an erasure that raced this one, say): a conflict
    for the caller, nothing for us to fix."""

    status = 409


class KeyringError(VaultError):
    """The keyring is missing, unreadable, or lacks the requested key version."""
