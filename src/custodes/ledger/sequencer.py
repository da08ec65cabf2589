"""The one writer of a log: assigns indices, stores entries and every complete-subtree hash,
commits in batches (group commit) and signs checkpoints.

Exactly one sequencer may write a log at a time. On PostgreSQL it holds a session advisory lock
(like a log signer); on SQLite a lock file beside the database. Each batch also begins by
updating the head row, so even without the lock two writers would serialise, and a sequencer
that finds the head moved reloads its frontier instead of forking the tree.
"""

from __future__ import annotations

import fcntl
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from sqlalchemy import Connection, Engine, select
from sqlalchemy.engine import make_url

from custodes.ledger.appends import IndexRow as IndexRow
from custodes.ledger.appends import Item as Item
from custodes.ledger.appends import Receipt as Receipt
from custodes.ledger.appends import check_fits
from custodes.ledger.batch_sql import BatchStatements
from custodes.ledger.checkpoint import Checkpoint, open_checkpoint, sign_checkpoint
from custodes.ledger.committer import GroupCommitter as GroupCommitter
from custodes.ledger.compact import CompactRange, peak_levels
from custodes.ledger.errors import LedgerError
from custodes.ledger.errors import LedgerUnavailable as LedgerUnavailable
from custodes.ledger.errors import SequencerBusy as SequencerBusy
from custodes.ledger.guard import GuardRefused
from custodes.ledger.models import (
    LedgerCheckpoint,
)
from custodes.ledger.note import Signer
from custodes.ledger.proof import root_at
from custodes.ledger.rfc6962 import EMPTY_ROOT
from custodes.ledger.signer_state import SignedHead, SignerRefused, SignerState
from custodes.ledger.storage import Head, read_head, read_nodes
from custodes.ledger.window_cache import WindowCache

# Two-key advisory lock: a constant class id and the schema, so logs in other schemas don't clash.
ADVISORY_LOCK_SQL = "pg_try_advisory_lock(1668641651, hashtext(current_schema()))"
ADVISORY_UNLOCK_SQL = "pg_advisory_unlock(1668641651, hashtext(current_schema()))"

log = logging.getLogger(__name__)


class Sequencer:
    """Appends batches durably and signs a checkpoint over every batch before anyone hears of
    it: no acknowledged entry is ever outside a signed checkpoint. The signer only signs heads
    that extend what it signed before (`SignerState`); a database rolled back or rewritten
    behind its back makes it refuse every append until an operator looks (fail closed)."""

    def __init__(
        self,
        engine: Engine,
        signer: Signer | None = None,
        origin: str | None = None,
        state: SignerState | None = None,
    ) -> None:
        self.engine = engine
        self.signer = signer
        self.origin = origin or (signer.name if signer else None)
        if signer is not None and state is None:
            state = SignerState(None, self.origin or signer.name)
        self.state = state
        self._conn: Connection | None = None
        self._lock_file: IO[str] | None = None
        self._range = CompactRange()
        self._root = EMPTY_ROOT  # the root of `_range`, kept: recomputing it costs per batch
        self._broken: str | None = None
        self._sql = BatchStatements(engine.dialect)
        self._windows = WindowCache()  # follows only what this sequencer committed

    # -- lifecycle ----------------------------------------------------------------------
    def open(self) -> Sequencer:
        self._acquire_lock()
        self._conn = self.engine.connect()
        if self.engine.dialect.name == "postgresql":
            got = self._conn.exec_driver_sql(f"SELECT {ADVISORY_LOCK_SQL}").scalar()
            self._conn.commit()
            if not got:
                self._conn.close()
                self._conn = None
                raise SequencerBusy("another sequencer holds this log (PostgreSQL advisory lock)")
        try:
            with self._conn.begin():
                self._reload(read_head(self._conn))
                if self.signer is not None and self.state is not None and self.state.head is None:
                    self._adopt_stored_checkpoint(self._conn)
                    # From here on the signer signs only what it remembers: sign the head now.
                    self.state.advance(self._range.size, self._range.root())
                    self._store_checkpoint(self._conn, self._range.size, self._range.root())
        except LedgerError:
            self.close()
            raise
        return self

    def close(self) -> None:
        if self._conn is not None:
            if self.engine.dialect.name == "postgresql":
                try:
                    self._conn.rollback()
                    self._conn.exec_driver_sql(f"SELECT {ADVISORY_UNLOCK_SQL}")
                    self._conn.commit()
                except Exception:  # a dead session released its locks already
                    self._conn.invalidate()
            self._conn.close()
            self._conn = None
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None
        if self.state is not None:
            self.state.close()

    def __enter__(self) -> Sequencer:
        return self if self._conn is not None else self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _acquire_lock(self) -> None:
        url = make_url(self.engine.url)
        if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
            return
        path = Path(url.database).with_suffix(".sequencer.lock")
        handle = path.open("a")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise SequencerBusy(f"another sequencer holds this log ({path})") from None
        self._lock_file = handle

    # -- state ----------------------------------------------------------------------------
    @property
    def size(self) -> int:
        return self._range.size

    @property
    def broken(self) -> str | None:
        """Why this sequencer refuses to append (a rollback or fork it detected), if it does."""
        return self._broken

    def root(self) -> bytes:
        return self._range.root()

    def _reload(self, head: Head) -> None:
        """Rebuild the frontier from stored peaks (after a restart or a foreign append), and
        accept it only if it extends what the signer signed last."""
        assert self._conn is not None
        conn = self._conn
        ids: list[tuple[int, int]] = []
        begin = 0
        for level in peak_levels(head.size):
            ids.append((level, begin >> level))
            begin += 1 << level
        nodes = read_nodes(conn, ids)
        if len(nodes) != len(ids):
            raise LedgerError(
                "stored ledger is missing frontier nodes; run `custodes ledger verify`"
            )
        self._windows.clear()  # someone else may have written: count from the index again
        loaded = CompactRange.from_peaks(head.size, [nodes[i] for i in ids])
        if loaded.root() != head.root and head.size:
            raise LedgerError("stored ledger head does not match its nodes")
        if self.state is not None and self.state.head is not None:
            try:
                self.state.require_same(head.size, loaded.root())
            except SignerRefused as refused:
                self._fail(str(refused))
                raise
        self._range, self._root = loaded, loaded.root()

    def _fail(self, reason: str) -> None:
        """Refuse every later append too: a rewritten log is an incident, not a hiccup."""
        self._broken = reason
        log.critical("ledger refused: %s", reason)

    def _adopt_stored_checkpoint(self, conn: Connection) -> None:
        """First start with no signer state (a new install or an upgrade): trust the newest
        stored checkpoint that our own key signed, if the stored head extends it."""
        assert self.state is not None and self.signer is not None
        rows = conn.execute(
            select(LedgerCheckpoint.size, LedgerCheckpoint.note)
            .order_by(LedgerCheckpoint.size.desc())
            .limit(20)
        ).all()
        for size, note in rows:
            try:
                checkpoint = open_checkpoint(str(note), self.signer.verifier(), self.origin)
            except LedgerError:
                continue
            if checkpoint.size != int(size) or checkpoint.size > self._range.size:
                continue
            root = root_at(checkpoint.size, lambda wanted: read_nodes(conn, wanted))
            if root != checkpoint.root_hash:
                self._fail("the newest stored checkpoint does not match the stored log")
                raise SignerRefused("the newest stored checkpoint does not match the stored log")
            return

    # -- appending --------------------------------------------------------------------------
    def append_batch(
        self, entries: Sequence[bytes], index_rows: Sequence[Sequence[IndexRow]] | None = None
    ) -> list[int]:
        """Append entries in one transaction; return their indices once durably committed and
        covered by a signed checkpoint. `index_rows[i]` are access-index rows for entry i."""
        rows = index_rows or [()] * len(entries)
        results = self.append_items(
            [Item(data, per_entry) for data, per_entry in zip(entries, rows, strict=True)]
        )
        return [r.index for r in results if isinstance(r, Receipt)]

    def append_items(self, items: Sequence[Item]) -> list[Receipt | GuardRefused]:
        """Append what passes its guards in one transaction; sign, commit, then answer.

        An item whose guard fails gets `GuardRefused` and takes no index; the rest of the batch
        goes on. Any other failure fails the whole batch (nothing appended, nothing signed)."""
        if self._conn is None:
            raise LedgerUnavailable("the sequencer is not open")
        if self._broken is not None:
            raise LedgerUnavailable(f"the ledger refuses to record: {self._broken}")
        for item in items:
            check_fits(item.data)
        conn = self._conn
        snapshot, snapshot_root = self._range, self._root
        signed_before = self.state.head if self.state is not None else None
        try:
            with conn.begin():
                working, results = self._append_in(conn, items)
            self._range, self._root = working, working.root()
        except Exception as exc:
            self._range, self._root = snapshot, snapshot_root
            self._windows.clear()  # it may hold rows of the batch that was not committed
            if self.state is not None and self.state.head != signed_before:
                self._undo_advance(signed_before)  # signed, then the commit failed
            if isinstance(exc, LedgerError):
                raise
            raise LedgerUnavailable(f"the ledger could not record ({type(exc).__name__})") from exc
        size_now = working.size
        return [Receipt(r, size_now) if isinstance(r, int) else r for r in results]

    def _append_in(
        self, conn: Connection, items: Sequence[Item]
    ) -> tuple[CompactRange, list[int | GuardRefused]]:
        """The batch inside its transaction: check the head, write, sign over the new head."""
        head = self._sql.lock_head(conn)
        signed = self.state.head if self.state is not None else None
        # Anything but the head this sequencer wrote last means someone else wrote.
        if (head.size, head.root) != (self._range.size, self._root) or (
            signed is not None and signed.size != self._range.size
        ):
            self._reload(head)
        base = self._range
        working = CompactRange.from_peaks(base.size, base.peaks())
        accepted, results = self._sql.write_items(conn, working, items, self._windows)
        root = working.root()
        self._sql.set_head(conn, working.size, root)
        if self.signer is not None and accepted:
            assert self.state is not None
            # Built in memory on top of the signed head: an extension by construction.
            self.state.check_extension(base.size, self._root)
            self.state.advance(working.size, root)
            self._store_checkpoint(conn, working.size, root)
        return working, results

    def _undo_advance(self, signed_before: SignedHead | None) -> None:
        """The batch's commit failed after the signer state moved on. If the database still
        holds the old head and no checkpoint at the new size, the signature was never used
        and the state goes back; if that cannot be confirmed, refuse until someone looks."""
        assert self.state is not None and self._conn is not None
        attempted = self.state.head
        try:
            with self.engine.connect() as probe:
                head = read_head(probe)
                published = attempted is not None and self._sql.has_checkpoint(
                    probe, attempted.size
                )
        except Exception:  # the database is gone too: cannot tell, so stay refused
            self._fail("a batch failed and the database could not be asked what it kept")
            return
        before_size = signed_before.size if signed_before else 0
        if not published and head.size == before_size:
            self.state.reset(signed_before)
        elif attempted is not None and head.size == attempted.size:
            pass  # the commit did happen: the state is right
        else:
            self._fail("a batch failed and the stored head matches neither side of it")

    # -- checkpoints --------------------------------------------------------------------------
    def _store_checkpoint(self, conn: Connection, size: int, root: bytes) -> str:
        assert self.signer is not None and self.origin is not None
        note = sign_checkpoint(Checkpoint(self.origin, size, root), self.signer)
        self._sql.store_checkpoint(conn, size, note)
        return note

    def checkpoint(self) -> str:
        """The signed checkpoint for the current head (signing one if none is stored)."""
        if self._conn is None or self.signer is None or self.state is None:
            raise LedgerError("checkpoints need an open sequencer with a signing key")
        if self._broken is not None:
            raise LedgerUnavailable(f"the ledger refuses to record: {self._broken}")
        with self._conn.begin():
            head = read_head(self._conn)
            if head.size != self._range.size:
                self._reload(head)
            row = self._conn.execute(
                select(LedgerCheckpoint.note).where(LedgerCheckpoint.size == head.size)
            ).first()
            if row is not None:
                return str(row[0])
            self.state.check_extension(self._range.size, self._range.root(), None)
            self.state.advance(self._range.size, self._range.root())
            return self._store_checkpoint(self._conn, self._range.size, self._range.root())


def open_sequencer_for(
    engine: Engine, signer: Signer | None, origin: str, state: SignerState | None = None
) -> Sequencer:
    """Convenience for commands: an opened sequencer that signs as `origin`."""
    return Sequencer(engine, signer, origin, state).open()
