"""Offline-verifiable inclusion proofs in the c2sp.org/tlog-proof@v1 text format.

A proof bundles the entry index, its inclusion path and the signed checkpoint
(with any cosignatures), so a holder can check inclusion without contacting the log.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass

from custodes.ledger.checkpoint import Checkpoint, decode_base64, open_checkpoint, parse_decimal
from custodes.ledger.errors import FormatError
from custodes.ledger.note import NoteVerifier
from custodes.ledger.proof import verify_inclusion
from custodes.ledger.rfc6962 import HASH_SIZE

HEADER = "c2sp.org/tlog-proof@v1"


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


@dataclass(frozen=True)
class TlogProof:
    """Index, inclusion path (bottom-up), signed checkpoint note and optional extra data."""

    index: int
    hashes: tuple[bytes, ...]
    checkpoint_note: str
    extra: bytes | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "hashes", tuple(self.hashes))
        if not 0 <= self.index < 1 << 64:
            raise FormatError(f"tlog-proof index {self.index} is outside 0..2^64-1")
        for i, h in enumerate(self.hashes):
            if not isinstance(h, bytes) or len(h) != HASH_SIZE:
                raise FormatError(f"tlog-proof hash {i} must be {HASH_SIZE} bytes")
        if not self.checkpoint_note.endswith("\n"):
            raise FormatError("tlog-proof checkpoint must be non-empty and end with a newline")

    @classmethod
    def create(
        cls,
        index: int,
        hashes: Iterable[bytes],
        checkpoint_note: str,
        extra: bytes | None = None,
    ) -> TlogProof:
        """Build a proof from any iterable of hashes."""
        return cls(index, tuple(hashes), checkpoint_note, extra)

    def marshal(self) -> str:
        """The tlog-proof text."""
        lines = [HEADER]
        if self.extra is not None:
            lines.append(f"extra {_b64(self.extra)}")
        lines.append(f"index {self.index}")
        lines.extend(_b64(h) for h in self.hashes)
        return "\n".join(lines) + "\n\n" + self.checkpoint_note

    @classmethod
    def parse(cls, text: str) -> TlogProof:
        """Strictly parse tlog-proof text (the checkpoint is kept verbatim, not verified)."""
        head, sep, checkpoint = text.partition("\n\n")
        if not sep:
            raise FormatError("tlog-proof has no blank line before the checkpoint")
        lines = head.split("\n")
        if lines[0] != HEADER:
            raise FormatError(f"tlog-proof must start with {HEADER!r}")
        pos = 1
        extra = None
        if pos < len(lines) and lines[pos].startswith("extra "):
            extra = decode_base64(lines[pos].removeprefix("extra "), "tlog-proof extra data")
            pos += 1
        if pos >= len(lines) or not lines[pos].startswith("index "):
            raise FormatError("tlog-proof is missing its 'index <n>' line")
        index = parse_decimal(lines[pos].removeprefix("index "), "tlog-proof index")
        hashes = []
        for line in lines[pos + 1 :]:
            h = decode_base64(line, "tlog-proof hash")
            if len(h) != HASH_SIZE:
                raise FormatError(f"tlog-proof hash is {len(h)} bytes, want {HASH_SIZE}")
            hashes.append(h)
        if not checkpoint:
            raise FormatError("tlog-proof has no checkpoint")
        return cls(index, tuple(hashes), checkpoint, extra)

    def verify(self, leaf_hash: bytes, log_verifier: NoteVerifier, origin: str) -> Checkpoint:
        """Check the log's checkpoint signature and the inclusion of ``leaf_hash``.

        Returns the verified checkpoint; witness cosignatures are the caller's policy.
        """
        cp = open_checkpoint(self.checkpoint_note, log_verifier, origin)
        verify_inclusion(self.index, cp.size, leaf_hash, self.hashes, cp.root_hash)
        return cp
