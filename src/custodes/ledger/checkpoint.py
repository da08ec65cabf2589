"""Transparency log checkpoints (c2sp.org/tlog-checkpoint).

A checkpoint is the note text ``<origin>\\n<size>\\n<base64 root>\\n`` plus optional
extension lines, signed as a note. Parsing is strict so that one tree head has
exactly one textual form, and a signature can never cover an ambiguous body.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from custodes.ledger.errors import FormatError, NoteError
from custodes.ledger.note import NoteSigner, NoteVerifier, open_note, sign_note
from custodes.ledger.rfc6962 import HASH_SIZE

MAX_TREE_SIZE = (1 << 64) - 1
_DECIMAL = re.compile(r"0|[1-9][0-9]*")


def parse_decimal(text: str, what: str, limit: int = MAX_TREE_SIZE) -> int:
    """Parse an ASCII decimal with no sign, spaces or leading zeros, at most ``limit``."""
    if not _DECIMAL.fullmatch(text):
        raise FormatError(f"{what} {text!r} is not a decimal number without leading zeros")
    value = int(text)
    if value > limit:
        raise FormatError(f"{what} {value} is larger than {limit}")
    return value


def decode_base64(text: str, what: str) -> bytes:
    """Strict standard base64: padded, no stray characters, canonical trailing bits."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error, ValueError):
        raise FormatError(f"{what} {text!r} is not valid base64") from None
    if base64.b64encode(raw).decode("ascii") != text:
        raise FormatError(f"{what} {text!r} is not canonical base64")
    return raw


def _check_line(line: str, what: str) -> None:
    if not line:
        raise FormatError(f"checkpoint {what} must not be empty")
    if any(c < " " for c in line):
        raise FormatError(f"checkpoint {what} {line!r} contains a newline or control character")


@dataclass(frozen=True)
class Checkpoint:
    """A signed tree head: log identity, tree size and RFC 6962 root hash."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_line(self.origin, "origin")
        if not 0 <= self.size <= MAX_TREE_SIZE:
            raise FormatError(f"checkpoint size {self.size} is outside 0..2^64-1")
        if not isinstance(self.root_hash, bytes):
            raise FormatError("checkpoint root hash must be bytes")
        object.__setattr__(self, "extensions", tuple(self.extensions))
        for ext in self.extensions:
            _check_line(ext, "extension line")

    def to_body(self) -> str:
        """The note text: origin, size and base64 root lines, then extension lines."""
        root = base64.b64encode(self.root_hash).decode("ascii")
        lines = (self.origin, str(self.size), root, *self.extensions)
        return "".join(f"{line}\n" for line in lines)

    @classmethod
    def parse(cls, body: str, *, hash_size: int | None = HASH_SIZE) -> Checkpoint:
        """Strictly parse a checkpoint body.

        ``hash_size`` is the required root hash length; ``None`` accepts any length
        (only useful for format tests).
        """
        if not body.endswith("\n"):
            raise FormatError("checkpoint body must end with a newline")
        lines = body[:-1].split("\n")
        if len(lines) < 3:
            raise FormatError(
                f"checkpoint body has {len(lines)} lines; want origin, size and root hash"
            )
        origin, size_text, root_text, *extensions = lines
        _check_line(origin, "origin")
        size = parse_decimal(size_text, "checkpoint size")
        root = decode_base64(root_text, "checkpoint root hash")
        if hash_size is not None and len(root) != hash_size:
            raise FormatError(f"checkpoint root hash is {len(root)} bytes, want {hash_size}")
        return cls(origin, size, root, tuple(extensions))


def sign_checkpoint(cp: Checkpoint, signer: NoteSigner) -> str:
    """Sign a checkpoint as a note; the signer name SHOULD equal the origin."""
    return sign_note(cp.to_body(), [signer])


def open_checkpoint(
    note: str,
    verifier: NoteVerifier,
    origin: str | None = None,
    *,
    hash_size: int | None = HASH_SIZE,
) -> Checkpoint:
    """Verify the log's signature on a checkpoint note and parse its body.

    Other signatures (e.g. witness cosignatures) are ignored here. When ``origin`` is
    given the checkpoint must be for that log.
    """
    opened = open_note(note, [verifier])
    cp = Checkpoint.parse(opened.text, hash_size=hash_size)
    if origin is not None and cp.origin != origin:
        raise NoteError(f"checkpoint is for log {cp.origin!r}, expected {origin!r}")
    return cp
