"""Reading the stored log: complete-subtree hashes, entries, tiles, head and checkpoints.

Everything here is read-only; `sequencer` is the only writer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, select

from custodes.ledger.errors import LedgerError, ProofError
from custodes.ledger.models import (
    INDEX_BITS,
    LedgerCheckpoint,
    LedgerCosignature,
    LedgerEntryRow,
    LedgerHead,
    LedgerNode,
    node_key,
)
from custodes.ledger.proof import NodeId, consistency_proof, inclusion_proof, root_at
from custodes.ledger.rfc6962 import EMPTY_ROOT
from custodes.ledger.tiles import TILE_HEIGHT, TILE_WIDTH, encode_entry_bundle

LOG_ID = 1
_CHUNK = 500  # bound on IN-list size


@dataclass(frozen=True)
class Head:
    size: int
    root: bytes


def read_nodes(conn: Connection, ids: list[NodeId]) -> Mapping[NodeId, bytes]:
    """One query (per 500 ids) for complete-subtree hashes: the NodeReader proofs need."""
    keys = {node_key(level, index): (level, index) for level, index in ids}
    out: dict[NodeId, bytes] = {}
    key_list = list(keys)
    for start in range(0, len(key_list), _CHUNK):
        chunk = key_list[start : start + _CHUNK]
        rows = conn.execute(
            select(LedgerNode.node_key, LedgerNode.hash).where(LedgerNode.node_key.in_(chunk))
        )
        for key, digest in rows:
            out[keys[key]] = digest
    return out


def read_head(conn: Connection) -> Head:
    row = conn.execute(
        select(LedgerHead.size, LedgerHead.root).where(LedgerHead.log_id == LOG_ID)
    ).first()
    return Head(0, EMPTY_ROOT) if row is None else Head(int(row[0]), bytes(row[1]))


class LedgerReader:
    """Queries over a log in the database; safe to use beside a running sequencer."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def head(self) -> Head:
        with self.engine.connect() as conn:
            return read_head(conn)

    def entry(self, index: int) -> bytes:
        with self.engine.connect() as conn:
            data = conn.scalar(select(LedgerEntryRow.data).where(LedgerEntryRow.idx == index))
        if data is None:
            raise LedgerError(f"no ledger entry at index {index}")
        return bytes(data)

    def entries(self, start: int, end: int) -> list[bytes]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(LedgerEntryRow.idx, LedgerEntryRow.data)
                .where(LedgerEntryRow.idx >= start, LedgerEntryRow.idx < end)
                .order_by(LedgerEntryRow.idx)
            ).all()
        if len(rows) != end - start:
            raise LedgerError(f"ledger entries [{start}, {end}) are not all present")
        return [bytes(r[1]) for r in rows]

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        with self.engine.connect() as conn:
            self._check_size(conn, size)
            return inclusion_proof(index, size, lambda ids: read_nodes(conn, ids))

    def consistency_proof(self, size1: int, size2: int) -> list[bytes]:
        with self.engine.connect() as conn:
            self._check_size(conn, size2)
            return consistency_proof(size1, size2, lambda ids: read_nodes(conn, ids))

    def root_at(self, size: int) -> bytes:
        with self.engine.connect() as conn:
            self._check_size(conn, size)
            return root_at(size, lambda ids: read_nodes(conn, ids))

    @staticmethod
    def _check_size(conn: Connection, size: int) -> None:
        head = read_head(conn)
        if size > head.size:
            raise ProofError(f"tree size {size} is larger than the log ({head.size} entries)")

    # -- tiles (c2sp.org/tlog-tiles) ------------------------------------------------
    def hash_tile(self, level: int, index: int, width: int = TILE_WIDTH) -> bytes:
        """Concatenated hashes of tree level 8*level, nodes index*256 .. +width-1."""
        tree_level = TILE_HEIGHT * level
        first = index * TILE_WIDTH
        lo, hi = node_key(tree_level, first), node_key(tree_level, first + width - 1)
        if tree_level >= 1 << (63 - INDEX_BITS):
            raise LedgerError(f"tile level {level} is out of range")
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(LedgerNode.hash)
                .where(LedgerNode.node_key >= lo, LedgerNode.node_key <= hi)
                .order_by(LedgerNode.node_key)
            ).all()
        if len(rows) != width:
            raise LedgerError(f"tile {level}/{index} of width {width} does not exist yet")
        return b"".join(bytes(r[0]) for r in rows)

    def entry_bundle(self, index: int, width: int = TILE_WIDTH) -> bytes:
        start = index * TILE_WIDTH
        return encode_entry_bundle(self.entries(start, start + width))

    # -- checkpoints ------------------------------------------------------------------
    def latest_checkpoint(self, cosigned: bool = True) -> tuple[int, str] | None:
        """The newest signed checkpoint (size, note), with cosignature lines appended."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(LedgerCheckpoint.size, LedgerCheckpoint.note)
                .order_by(LedgerCheckpoint.size.desc())
                .limit(1)
            ).first()
            if row is None:
                return None
            size, note = int(row[0]), str(row[1])
            if not cosigned:
                return size, note
            cosigs = conn.scalars(
                select(LedgerCosignature.line)
                .where(LedgerCosignature.size == size)
                .order_by(LedgerCosignature.witness)
            ).all()
        return size, note + "".join(cosigs)

    def last_cosigned_size(self, witness: str) -> int | None:
        """The largest checkpoint size this witness has cosigned for us (None if never)."""
        with self.engine.connect() as conn:
            size = conn.scalar(
                select(LedgerCosignature.size)
                .where(LedgerCosignature.witness == witness)
                .order_by(LedgerCosignature.size.desc())
                .limit(1)
            )
        return None if size is None else int(size)

    def checkpoint_sizes(self) -> list[int]:
        with self.engine.connect() as conn:
            return list(conn.scalars(select(LedgerCheckpoint.size).order_by(LedgerCheckpoint.size)))
