"""Optional passwords, argon2id (argon2-cffi's RFC 9106 low-memory profile)."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from argon2.profiles import RFC_9106_LOW_MEMORY

from custodes.identity.errors import CredentialRefused

MIN_LENGTH = 12
MAX_LENGTH = 256
_HASHER = PasswordHasher.from_parameters(RFC_9106_LOW_MEMORY)


@cache
def _dummy() -> str:
    """A real hash to verify against when the employee has no password: same cost either way,
    so timing does not tell which employees have one. Made on first use (it costs a hash)."""
    return _HASHER.hash("custodes-no-password-set")


def check_new_password(password: str) -> None:
    if not isinstance(password, str) or not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise CredentialRefused(
            "weak_password", f"a password needs {MIN_LENGTH} to {MAX_LENGTH} characters"
        )


def hash_password(password: str) -> str:
    check_new_password(password)
    return _HASHER.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """True if it matches; constant work whether or not a hash is stored."""
    if not isinstance(password, str) or len(password) > MAX_LENGTH:
        return False
    try:
        return _HASHER.verify(stored or _dummy(), password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return _HASHER.check_needs_rehash(stored)
