"""Ledger operations the CLI and API share: proofs for auditors and their verification."""

from __future__ import annotations

from sqlalchemy import Engine

from custodes.ledger.checkpoint import Checkpoint
from custodes.ledger.errors import LedgerError
from custodes.ledger.note import NoteVerifier
from custodes.ledger.rfc6962 import leaf_hash
from custodes.ledger.storage import LedgerReader
from custodes.ledger.tlog_proof import TlogProof


def covering_checkpoint(engine: Engine, index: int) -> tuple[int, str]:
    """The latest signed checkpoint; it covers every acknowledged entry, because the sequencer
    signs each batch before answering. Read-only, so it works beside a running server."""
    reader = LedgerReader(engine)
    head = reader.head()
    if index < 0 or index >= head.size:
        raise LedgerError(f"no entry {index}: the log has {head.size} entries")
    latest = reader.latest_checkpoint()
    if latest is None or latest[0] <= index:
        raise LedgerError(
            f"no signed checkpoint covers entry {index} yet; run `custodes ledger checkpoint`"
        )
    return latest


def proof_document(engine: Engine, index: int) -> str:
    """A c2sp.org/tlog-proof@v1 document for one entry; the entry itself rides in `extra`.

    With the entry inside, an auditor needs only this file and the log's public key.
    """
    size, note = covering_checkpoint(engine, index)
    reader = LedgerReader(engine)
    proof = reader.inclusion_proof(index, size)
    return TlogProof.create(index, proof, note, extra=reader.entry(index)).marshal()


def verify_proof_document(
    text: str, verifier: NoteVerifier, origin: str, entry: bytes | None = None
) -> tuple[Checkpoint, bytes]:
    """Check a tlog-proof document; returns the checkpoint and the entry it proves."""
    proof = TlogProof.parse(text)
    data = entry if entry is not None else proof.extra
    if data is None:
        raise LedgerError("the proof carries no entry; pass the entry file as well")
    if entry is not None and proof.extra is not None and proof.extra != entry:
        raise LedgerError("the given entry differs from the one inside the proof")
    checkpoint = proof.verify(leaf_hash(data), verifier, origin)
    return checkpoint, data
