"""What the log signer last signed, kept beside its key and outside the database.

The database is the one thing an insider with write access can change; the key folder is not.
So the signer remembers its last signed tree head (size and root) in a 0600 file next to its
key, written durably *before* a new signature can be used, and signs only a head that provably
extends it (a consistency proof, as a witness checks). A smaller head, a different root at the
same size, or a head that is not an extension is a rollback or a fork: refused, never signed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from custodes.ledger.errors import LedgerError, ProofError
from custodes.ledger.errors import SignerRefused as SignerRefused
from custodes.ledger.proof import verify_consistency
from custodes.ledger.rfc6962 import HASH_SIZE

STATE_FILE = "ledger.state"


@dataclass(frozen=True)
class SignedHead:
    size: int
    root: bytes


SLOT = 512  # two slots, written alternately: a torn write leaves the other one intact


class SignerState:
    """The last signed head, in memory and (when `path` is given) in a private file.

    The file holds two 512-byte slots, each a checksummed record with a sequence number; a write
    goes to the older slot and is `fdatasync`ed in place (no rename, no folder fsync: this runs
    for every batch). Reading takes the valid slot with the higher sequence number.
    """

    def __init__(self, path: Path | None, origin: str) -> None:
        self.path = path
        self.origin = origin
        self._fd: int | None = None
        self._seq = 0
        self._head: SignedHead | None = None
        if path is not None:
            loaded = _load(path, origin)
            if loaded is not None:
                self._seq, self._head = loaded

    @property
    def head(self) -> SignedHead | None:
        return self._head

    def check_extension(self, size: int, root: bytes, proof: list[bytes] | None = None) -> None:
        """Refuse unless (size, root) is the signed head or a proven extension of it.

        `proof` is a consistency proof from the signed size to `size`; it may be None only
        when the caller built the new head by appending to the signed one in memory."""
        last = self._head
        if last is None:
            return
        if size < last.size:
            raise SignerRefused(
                f"the database's ledger head ({size}) is smaller than the last signed checkpoint "
                f"({last.size}): entries were removed; refusing to sign"
            )
        if size == last.size:
            if root != last.root:
                raise SignerRefused(
                    f"the database's ledger head at size {size} has a different root than the "
                    "signed checkpoint: the log was rewritten; refusing to sign"
                )
            return
        if proof is None:
            return  # built in memory on top of the signed head: an extension by construction
        try:
            verify_consistency(last.size, size, proof, last.root, root)
        except ProofError:
            raise SignerRefused(
                f"the database's ledger head ({size}) does not extend the last signed checkpoint "
                f"({last.size}): the log was rewritten; refusing to sign"
            ) from None

    def require_same(self, size: int, root: bytes) -> None:
        """The stored head must be exactly what was signed last: the one sequencer advances
        this state before every commit, so a smaller head lost acknowledged entries, a larger
        one gained entries the signer never saw, and another root means a rewrite."""
        last = self._head
        if last is None or (size, root) == (last.size, last.root):
            return
        if size < last.size:
            what = (
                f"is smaller ({size}) than the last signed checkpoint ({last.size}): "
                "entries were removed"
            )
        elif size > last.size:
            what = (
                f"is larger ({size}) than the last signed checkpoint ({last.size}): entries were "
                "added behind the signer's back"
            )
        else:
            what = f"has another root than the signed checkpoint at size {size}: a rewrite"
        raise SignerRefused(
            f"the database's ledger head {what}; refusing to sign or append "
            "(if a crash interrupted the last commit, see docs/architecture.md, signer state)"
        )

    def advance(self, size: int, root: bytes) -> None:
        """Remember (size, root) durably; call before the signature over it is used."""
        self._write(SignedHead(size, root))

    def reset(self, head: SignedHead | None) -> None:
        """Put back a head whose signature was never used (its commit failed)."""
        if head is None:
            if self.path is not None:
                self.close()
                self.path.unlink(missing_ok=True)
            self._head = None
            return
        self._write(head)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _write(self, head: SignedHead) -> None:
        if self.path is not None:
            fd = self._open()
            seq = self._seq + 1
            os.pwrite(fd, _slot(self.origin, head, seq), (seq % 2) * SLOT)
            os.fdatasync(fd)
            self._seq = seq
        self._head = head

    def _open(self) -> int:
        if self._fd is not None:
            return self._fd
        assert self.path is not None
        if not self.path.exists():
            # Created once, both slots, durably (file and folder): later writes are in place.
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
            os.write(fd, b" " * (2 * SLOT))
            os.fsync(fd)
            folder = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(folder)
            finally:
                os.close(folder)
        else:
            fd = os.open(self.path, os.O_RDWR)
        self._fd = fd
        return fd


def _check(origin: str, size: int, root: bytes, seq: int) -> str:
    return hashlib.sha256(f"{origin}|{size}|{root.hex()}|{seq}".encode()).hexdigest()[:32]


def _slot(origin: str, head: SignedHead, seq: int) -> bytes:
    body = json.dumps(
        {
            "origin": origin,
            "size": head.size,
            "root": base64.b64encode(head.root).decode(),
            "seq": seq,
            "check": _check(origin, head.size, head.root, seq),
        },
        sort_keys=True,
    ).encode()
    if len(body) >= SLOT:
        raise LedgerError("signer state record too large (origin name too long)")
    return body + b"\n" + b" " * (SLOT - len(body) - 1)


def _load(path: Path, origin: str) -> tuple[int, SignedHead] | None:
    if not path.exists():
        return None
    if path.stat().st_mode & 0o077:
        raise LedgerError(f"signer state {path} is readable by others; `chmod 600` it first")
    data = path.read_bytes()
    best: tuple[int, SignedHead] | None = None
    for n in range(2):
        record = _parse_slot(data[n * SLOT : (n + 1) * SLOT], origin, path)
        if record is not None and (best is None or record[0] > best[0]):
            best = record
    if best is None and data.strip():
        raise LedgerError(f"signer state {path} is malformed; restore it from a backup")
    return best


def _parse_slot(chunk: bytes, origin: str, path: Path) -> tuple[int, SignedHead] | None:
    """A slot's record, or None when it is empty or torn (its checksum does not match)."""
    try:
        raw = json.loads(chunk.decode().strip() or "null")
        if raw is None:
            return None
        size, seq = int(raw["size"]), int(raw["seq"])
        root = base64.b64decode(raw["root"], validate=True)
        if raw["check"] != _check(str(raw["origin"]), size, root, seq):
            return None
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        return None
    if raw["origin"] != origin:
        raise LedgerError(f"signer state {path} belongs to log {raw['origin']!r}")
    if size < 0 or len(root) != HASH_SIZE:
        return None
    return seq, SignedHead(size, root)
