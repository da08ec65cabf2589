"""Signed-note keys (golang.org/x/mod/sumdb/note): names, key ids, and Ed25519 verifier and
signer keys as the strings Go tooling reads.

* verifier key: ``<name>+<hex key id>+base64(type || public key)``
* signer key: ``PRIVATE+KEY+<name>+<hex key id>+base64(0x01 || Ed25519 seed)``
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass, field
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from custodes.ledger.errors import NoteError

ED25519 = 0x01
"""Signature type byte for plain Ed25519 note signatures."""

_HEX8 = re.compile(r"[0-9a-fA-F]{8}")

# Characters with the Unicode White_Space property; Go's unicode.IsSpace uses this set.
_UNICODE_SPACES = frozenset(
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


# --- names, key ids, base64 ---------------------------------------------------------


def is_valid_key_name(name: str) -> bool:
    """Key names must be non-empty UTF-8 with no '+', Unicode spaces or control characters."""
    if not name or "+" in name:
        return False
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return not any(c in _UNICODE_SPACES or c.isspace() or c < " " for c in name)


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not is_valid_key_name(name):
        raise NoteError(
            f"invalid key name {name!r}: it must be non-empty and contain no '+', "
            "whitespace or control characters"
        )


def key_id(name: str, key: bytes) -> int:
    """Key ID: first 4 bytes (big-endian) of SHA-256(name || 0x0A || type byte || public key).

    ``key`` is the type byte followed by the public key, as encoded in a vkey.
    """
    return int.from_bytes(hashlib.sha256(name.encode() + b"\n" + key).digest()[:4], "big")


def _b64decode(text: str, what: str) -> bytes:
    """Strict standard base64: padded, no stray characters, canonical trailing bits."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error, ValueError):
        raise NoteError(f"{what} is not valid base64") from None
    if base64.b64encode(raw).decode() != text:
        raise NoteError(f"{what} is not canonical base64")
    return raw


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _parse_ed25519_vkey(vkey: str, sig_type: int, role: str, type_name: str) -> tuple[str, bytes]:
    """A vkey holding one Ed25519 public key of the given signature type: (name, key)."""
    name, _, key = _parse_vkey(vkey)
    if key[0] != sig_type:
        raise NoteError(
            f"{role} key for {name!r} has signature type 0x{key[0]:02x}, "
            f"want 0x{sig_type:02x} ({type_name})"
        )
    if len(key) != 33:
        raise NoteError(f"{role} key for {name!r}: Ed25519 key must be 32 bytes")
    return name, key[1:]


def _parse_vkey(vkey: str) -> tuple[str, int, bytes]:
    """Split ``name+hexid+base64(key)``, checking the name and that the id matches the key."""
    name, sep1, rest = vkey.partition("+")
    id_hex, sep2, key64 = rest.partition("+")
    if not (sep1 and sep2) or not _HEX8.fullmatch(id_hex) or not key64:
        raise NoteError(f"malformed verifier key {vkey!r}: want <name>+<8 hex digits>+<base64>")
    _check_name(name)
    key = _b64decode(key64, "verifier key material")
    if not key:
        raise NoteError("verifier key has no key material")
    kid = int(id_hex, 16)
    if key_id(name, key) != kid:
        raise NoteError(
            f"verifier key for {name!r}: key ID {id_hex} does not match the key "
            f"(expected {key_id(name, key):08x})"
        )
    return name, kid, key


def _format_vkey(name: str, key: bytes) -> str:
    return f"{name}+{key_id(name, key):08x}+{_b64(key)}"


# --- signer / verifier protocols -----------------------------------------------------


class NoteVerifier(Protocol):
    """Anything that can check note signatures for one (name, key id)."""

    @property
    def name(self) -> str: ...

    @property
    def key_id(self) -> int: ...

    def verify(self, msg: bytes, sig: bytes) -> bool:
        """Whether ``sig`` (without the 4-byte key id) is valid over the note text."""
        ...


class NoteSigner(Protocol):
    """Anything that can sign note text for one (name, key id)."""

    @property
    def name(self) -> str: ...

    @property
    def key_id(self) -> int: ...

    def sign(self, msg: bytes) -> bytes:
        """Signature over the note text (without the 4-byte key id)."""
        ...


def _ed25519_verify(public_key: bytes, msg: bytes, sig: bytes) -> bool:
    if len(sig) != 64:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(sig, msg)
    except InvalidSignature:
        return False
    return True


# --- Ed25519 (type 0x01) ---------------------------------------------------------------


@dataclass(frozen=True)
class Verifier:
    """Ed25519 note verifier (signature type 0x01)."""

    name: str
    public_key: bytes
    key_id: int = field(init=False)

    def __post_init__(self) -> None:
        _check_name(self.name)
        if len(self.public_key) != 32:
            raise NoteError(f"Ed25519 public key must be 32 bytes, got {len(self.public_key)}")
        object.__setattr__(self, "key_id", key_id(self.name, bytes([ED25519]) + self.public_key))

    @classmethod
    def from_vkey(cls, vkey: str) -> Verifier:
        """Parse ``<name>+<hex key id>+base64(0x01 || public key)``."""
        return cls(*_parse_ed25519_vkey(vkey, ED25519, "verifier", "Ed25519"))

    @property
    def vkey(self) -> str:
        """Encoded verifier key."""
        return _format_vkey(self.name, bytes([ED25519]) + self.public_key)

    def verify(self, msg: bytes, sig: bytes) -> bool:
        """Whether ``sig`` is a valid Ed25519 signature over ``msg``."""
        return _ed25519_verify(self.public_key, msg, sig)


class Signer:
    """Ed25519 note signer (signature type 0x01)."""

    __slots__ = ("_key", "key_id", "name", "public_key")

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        _check_name(name)
        self.name = name
        self._key = private_key
        self.public_key = private_key.public_key().public_bytes_raw()
        self.key_id = key_id(name, bytes([ED25519]) + self.public_key)

    @classmethod
    def from_skey(cls, skey: str) -> Signer:
        """Parse ``PRIVATE+KEY+<name>+<hex key id>+base64(0x01 || seed)``."""
        parts = skey.split("+", 4)
        if len(parts) != 5 or parts[0] != "PRIVATE" or parts[1] != "KEY":
            raise NoteError("malformed signer key: want PRIVATE+KEY+<name>+<hex id>+<base64>")
        _, _, name, id_hex, key64 = parts
        _check_name(name)
        if not _HEX8.fullmatch(id_hex):
            raise NoteError(f"signer key for {name!r}: key ID must be 8 hex digits")
        key = _b64decode(key64, "signer key material")
        if not key or key[0] != ED25519:
            raise NoteError(f"signer key for {name!r}: unsupported or missing signature type")
        if len(key) != 33:
            raise NoteError(f"signer key for {name!r}: Ed25519 seed must be 32 bytes")
        signer = cls(name, Ed25519PrivateKey.from_private_bytes(key[1:]))
        if signer.key_id != int(id_hex, 16):
            raise NoteError(
                f"signer key for {name!r}: key ID {id_hex} does not match the key "
                f"(expected {signer.key_id:08x})"
            )
        return signer

    def sign(self, msg: bytes) -> bytes:
        """Ed25519 signature over ``msg``."""
        return self._key.sign(msg)

    def verifier(self) -> Verifier:
        """The matching verifier."""
        return Verifier(self.name, self.public_key)

    def __repr__(self) -> str:  # never show key material
        return f"Signer(name={self.name!r}, key_id={self.key_id:08x})"


def generate_signer_key(name: str) -> tuple[str, str]:
    """Create a fresh Ed25519 key pair; return ``(skey, vkey)`` strings."""
    _check_name(name)
    priv = Ed25519PrivateKey.generate()
    seed = priv.private_bytes_raw()
    pub = priv.public_key().public_bytes_raw()
    kid = key_id(name, bytes([ED25519]) + pub)
    skey = f"PRIVATE+KEY+{name}+{kid:08x}+{_b64(bytes([ED25519]) + seed)}"
    return skey, _format_vkey(name, bytes([ED25519]) + pub)
