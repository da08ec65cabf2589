"""What the log signer last signed, kept beside its key and outside the database.

The database is the one thing an insider with write access can change; the key folder is not.
So the signer remembers its last signed tree head (size and root) in a 0600 file next to its
key, written durably *before* a new signature can be used, and signs only a head that provably
extends it (a consistency proof, as a witness checks). A smaller head, a different root at the
same size, or a head that is not an extension is a rollback or a fork: refused, never signed.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from pathlib import Path

from custodes.ledger.errors import LedgerError, ProofError
from custodes.ledger.proof import verify_consistency
from custodes.ledger.rfc6962 import HASH_SIZE

STATE_FILE = "ledger.state"


class SignerRefused(LedgerError):
    """The signer was asked to sign a head that does not extend what it signed before."""


@dataclass(frozen=True)
class SignedHead:
    size: int
    root: bytes


class SignerState:
    """The last signed head, in memory and (when `path` is given) in a private file."""

    def __init__(self, path: Path | None, origin: str) -> None:
        self.path = path
        self.origin = origin
        self._head: SignedHead | None = _load(path, origin) if path is not None else None

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
                f"({last.size}): entries were removed; refusing to sign (see `custodes ledger "
                "status`)"
            )
        if size == last.size:
            if root != last.root:
                raise SignerRefused(
                    f"the database's ledger head at size {size} has a different root than the "
                    "signed checkpoint: the log was rewritten; refusing to sign"
                )
            return
        if proof is None:
            raise SignerRefused("an extension needs a consistency proof")
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
            what = (
                f"has another root than the signed checkpoint at size {size}: the log was rewritten"
            )
        raise SignerRefused(
            f"the database's ledger head {what}; refusing to sign or append "
            "(if a crash interrupted the last commit, see docs/operations.md, signer state)"
        )

    def advance(self, size: int, root: bytes) -> None:
        """Remember (size, root) durably; call before the signature over it is used."""
        if self.path is not None:
            _store(self.path, self.origin, SignedHead(size, root))
        self._head = SignedHead(size, root)

    def reset(self, head: SignedHead | None) -> None:
        """Put back a head whose signature was never used (its commit failed)."""
        if self.path is not None:
            if head is None:
                self.path.unlink(missing_ok=True)
            else:
                _store(self.path, self.origin, head)
        self._head = head


def _load(path: Path, origin: str) -> SignedHead | None:
    if not path.exists():
        return None
    if path.stat().st_mode & 0o077:
        raise LedgerError(f"signer state {path} is readable by others; `chmod 600` it first")
    try:
        raw = json.loads(path.read_text())
        if raw["origin"] != origin:
            raise LedgerError(f"signer state {path} belongs to log {raw['origin']!r}")
        size, root = int(raw["size"]), base64.b64decode(raw["root"], validate=True)
    except (ValueError, KeyError, TypeError):
        raise LedgerError(f"signer state {path} is malformed; restore it from a backup") from None
    if size < 0 or len(root) != HASH_SIZE:
        raise LedgerError(f"signer state {path} is malformed; restore it from a backup")
    return SignedHead(size, root)


def _store(path: Path, origin: str, head: SignedHead) -> None:
    """Atomic and durable: a temporary 0600 file, fsync, rename, fsync of the folder."""
    body = json.dumps(
        {"origin": origin, "size": head.size, "root": base64.b64encode(head.root).decode()},
        sort_keys=True,
    ).encode()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, body)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
