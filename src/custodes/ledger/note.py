"""Signed notes (c2sp.org/signed-note) with Ed25519, and tlog cosignatures.

Formats match golang.org/x/mod/sumdb/note, so notes and keys interoperate with Go
tooling, and c2sp.org/tlog-cosignature for witness cosignatures (type 0x04). A note
is text followed by a blank line and ``— <name> base64(key id || signature)`` lines.
Keys (strings, so they can live in config files) are in `note_keys`, re-exported here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
)

from custodes.ledger.errors import NoteError
from custodes.ledger.note_keys import ED25519 as ED25519
from custodes.ledger.note_keys import NoteSigner as NoteSigner
from custodes.ledger.note_keys import NoteVerifier as NoteVerifier
from custodes.ledger.note_keys import Signer as Signer
from custodes.ledger.note_keys import Verifier as Verifier
from custodes.ledger.note_keys import (
    _b64,
    _b64decode,
    _check_name,
    _ed25519_verify,
    _format_vkey,
    _parse_ed25519_vkey,
)
from custodes.ledger.note_keys import generate_signer_key as generate_signer_key
from custodes.ledger.note_keys import is_valid_key_name as is_valid_key_name
from custodes.ledger.note_keys import key_id as key_id

COSIGNATURE_V1 = 0x04
"""Signature type byte for timestamped Ed25519 cosignatures (c2sp.org/tlog-cosignature)."""

MAX_NOTE_SIZE = 1 << 20
"""Largest note accepted by :func:`open_note`, in UTF-8 bytes (1 MiB)."""

MAX_SIGNATURES = 100
"""Most signature lines accepted in one note (the spec requires at least 16)."""

SIG_PREFIX = "\u2014 "  # em dash, space
COSIGNATURE_HEADER = "cosignature/v1\n"
_MAX_TIMESTAMP = (1 << 63) - 1


# --- notes ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Signature:
    """One signature line of a note."""

    name: str
    key_id: int
    signature: bytes
    """Signature bytes after the 4-byte key id."""

    @property
    def line(self) -> str:
        """The signature line, newline-terminated."""
        payload = self.key_id.to_bytes(4, "big") + self.signature
        return f"{SIG_PREFIX}{self.name} {_b64(payload)}\n"


@dataclass(frozen=True)
class OpenedNote:
    """A note whose text is backed by at least one verified signature."""

    text: str
    signatures: tuple[Signature, ...]
    """Signatures verified by the given verifiers."""
    unverified: tuple[Signature, ...] = ()
    """Signatures from keys that were not given (kept, not trusted)."""


def _check_note_chars(s: str, what: str) -> None:
    try:
        size = len(s.encode("utf-8"))
    except UnicodeEncodeError:
        raise NoteError(f"{what} is not valid UTF-8") from None
    if size > MAX_NOTE_SIZE:
        raise NoteError(f"{what} is {size} bytes, over the {MAX_NOTE_SIZE}-byte limit")
    for c in s:
        if c < " " and c != "\n":
            raise NoteError(f"{what} contains control character {c!r}; only newline is allowed")


def sign_note(text: str, signers: Iterable[NoteSigner]) -> str:
    """Sign ``text`` (which must end in a newline) with every signer; return the note."""
    if not text.endswith("\n"):
        raise NoteError("note text must end with a newline")
    _check_note_chars(text, "note text")
    msg = text.encode("utf-8")
    lines: list[str] = []
    seen: set[tuple[str, int]] = set()
    for s in signers:
        _check_name(s.name)
        ident = (s.name, s.key_id)
        if ident in seen:
            raise NoteError(f"more than one signer for {s.name!r} with key ID {s.key_id:08x}")
        seen.add(ident)
        lines.append(Signature(s.name, s.key_id, s.sign(msg)).line)
    if not lines:
        raise NoteError("a note needs at least one signer")
    return text + "\n" + "".join(lines)


def _parse_signature_line(line: str) -> Signature:
    if not line.startswith(SIG_PREFIX):
        raise NoteError(f"malformed signature line {line!r}: must start with an em dash and space")
    name, _, b64 = line[len(SIG_PREFIX) :].partition(" ")
    if not is_valid_key_name(name) or not b64:
        raise NoteError(f"malformed signature line {line!r}: want '— <name> <base64>'")
    raw = _b64decode(b64, f"signature from {name!r}")
    if len(raw) < 5:
        raise NoteError(f"signature from {name!r} is too short")
    return Signature(name, int.from_bytes(raw[:4], "big"), raw[4:])


def split_note(note: str) -> tuple[str, list[Signature]]:
    """Split a note into its text and parsed signature lines, without verifying anything."""
    _check_note_chars(note, "note")
    split = note.rfind("\n\n")
    if split < 0:
        raise NoteError("malformed note: no blank line before the signatures")
    text, block = note[: split + 1], note[split + 2 :]
    if not block or not block.endswith("\n"):
        raise NoteError("malformed note: missing signatures or final newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"note has {len(lines)} signatures, over the limit of {MAX_SIGNATURES}")
    return text, [_parse_signature_line(line) for line in lines]


def open_note(note: str, verifiers: Iterable[NoteVerifier]) -> OpenedNote:
    """Parse ``note`` and verify it against the trusted ``verifiers``.

    Signatures from unknown keys are kept as unverified. A bad signature from a known
    key, or no verified signature at all, raises :class:`NoteError`.
    """
    known: dict[tuple[str, int], NoteVerifier] = {}
    for v in verifiers:
        ident = (v.name, v.key_id)
        existing = known.setdefault(ident, v)
        if existing is not v and existing != v:
            raise NoteError(f"two verifiers share name {v.name!r} and key ID {v.key_id:08x}")
    text, sigs = split_note(note)
    msg = text.encode("utf-8")
    verified: list[Signature] = []
    unverified: list[Signature] = []
    seen: set[tuple[str, int]] = set()
    for sig in sigs:
        ident = (sig.name, sig.key_id)
        found = known.get(ident)
        if found is None:
            if sig not in unverified:
                unverified.append(sig)
            continue
        if ident in seen:  # repeated signature by one key: ignore, like Go
            continue
        seen.add(ident)
        if not found.verify(msg, sig.signature):
            raise NoteError(f"invalid signature from {sig.name!r} (key ID {sig.key_id:08x})")
        verified.append(sig)
    if not verified:
        names = ", ".join(sorted({f"{s.name}+{s.key_id:08x}" for s in sigs}))
        raise NoteError(f"note has no verified signature from a trusted key (signed by: {names})")
    return OpenedNote(text, tuple(verified), tuple(unverified))


# --- cosignatures (type 0x04) -----------------------------------------------------------


def cosignature_message(checkpoint_body: str, timestamp: int) -> bytes:
    """The bytes an Ed25519 cosigner signs: header, time line, then the checkpoint body."""
    _check_timestamp(timestamp)
    if not checkpoint_body.endswith("\n"):
        raise NoteError("checkpoint body must end with a newline")
    return f"{COSIGNATURE_HEADER}time {timestamp}\n{checkpoint_body}".encode()


def _check_timestamp(timestamp: int) -> None:
    if not 0 <= timestamp <= _MAX_TIMESTAMP:
        raise NoteError(f"cosignature timestamp {timestamp} is outside 0..2^63-1")


@dataclass(frozen=True)
class CosignerKey:
    """Public key of a tlog cosigner (witness), signature type 0x04.

    It is a :class:`NoteVerifier`, so it can be passed to :func:`open_note`.
    """

    name: str
    public_key: bytes
    key_id: int = field(init=False)

    def __post_init__(self) -> None:
        _check_name(self.name)
        if len(self.public_key) != 32:
            raise NoteError(f"Ed25519 public key must be 32 bytes, got {len(self.public_key)}")
        key = bytes([COSIGNATURE_V1]) + self.public_key
        object.__setattr__(self, "key_id", key_id(self.name, key))

    @classmethod
    def from_vkey(cls, vkey: str) -> CosignerKey:
        """Parse ``<name>+<hex key id>+base64(0x04 || public key)``."""
        return cls(*_parse_ed25519_vkey(vkey, COSIGNATURE_V1, "cosigner", "cosignature/v1"))

    @classmethod
    def from_seed(cls, name: str, seed: bytes) -> CosignerKey:
        """Public cosigner key for a 32-byte Ed25519 seed."""
        return cls(name, _private_from_seed(seed).public_key().public_bytes_raw())

    @property
    def vkey(self) -> str:
        """Encoded verifier key."""
        return _format_vkey(self.name, bytes([COSIGNATURE_V1]) + self.public_key)

    def timestamp_if_valid(self, checkpoint_body: bytes, sig: bytes) -> int | None:
        """Cosignature timestamp if ``sig`` (timestamp || Ed25519) is valid, else None."""
        if len(sig) != 8 + 64:
            return None
        ts = int.from_bytes(sig[:8], "big")
        if ts > _MAX_TIMESTAMP:
            return None
        msg = COSIGNATURE_HEADER.encode() + f"time {ts}\n".encode() + checkpoint_body
        return ts if _ed25519_verify(self.public_key, msg, sig[8:]) else None

    def verify(self, msg: bytes, sig: bytes) -> bool:
        """:class:`NoteVerifier` interface: ``msg`` is the cosigned checkpoint body."""
        return self.timestamp_if_valid(msg, sig) is not None


def _private_from_seed(seed: bytes) -> Ed25519PrivateKey:
    if len(seed) != 32:
        raise NoteError(f"Ed25519 seed must be 32 bytes, got {len(seed)}")
    return Ed25519PrivateKey.from_private_bytes(seed)


def generate_cosigner_key(name: str) -> tuple[bytes, str]:
    """Create a fresh cosigner key; return ``(seed, vkey)``."""
    _check_name(name)
    priv = Ed25519PrivateKey.generate()
    return priv.private_bytes_raw(), CosignerKey(name, priv.public_key().public_bytes_raw()).vkey


def cosign(checkpoint_body: str, signer_seed: bytes, name: str, timestamp: int) -> str:
    """Cosign a checkpoint body at ``timestamp``; return the note signature line."""
    key = CosignerKey.from_seed(name, signer_seed)
    sig = _private_from_seed(signer_seed).sign(cosignature_message(checkpoint_body, timestamp))
    return Signature(name, key.key_id, timestamp.to_bytes(8, "big") + sig).line


def verify_cosignature(checkpoint_body: str, signature_line: str, key: CosignerKey) -> int:
    """Verify one cosignature line over ``checkpoint_body``; return its timestamp."""
    sig = _parse_signature_line(signature_line.removesuffix("\n"))
    if (sig.name, sig.key_id) != (key.name, key.key_id):
        raise NoteError(
            f"cosignature is from {sig.name!r} key ID {sig.key_id:08x}, "
            f"not from {key.name!r} key ID {key.key_id:08x}"
        )
    ts = key.timestamp_if_valid(checkpoint_body.encode("utf-8"), sig.signature)
    if ts is None:
        raise NoteError(f"invalid cosignature from {key.name!r} (key ID {key.key_id:08x})")
    return ts
