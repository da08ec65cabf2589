"""The one writer of a log: assigns indices, stores entries and every complete-subtree hash,
commits in batches (group commit) and signs checkpoints.

Exactly one sequencer may write a log at a time. On PostgreSQL it holds a session advisory lock
(like a log signer); on SQLite a lock file beside the database. Each batch also begins by
updating the head row, so even without the lock two writers would serialise, and a sequencer
that finds the head moved reloads its frontier instead of forking the tree.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import queue
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, NamedTuple

from sqlalchemy import Connection, Engine, insert, select
from sqlalchemy.engine import make_url

from custodes.ledger.checkpoint import Checkpoint, open_checkpoint, sign_checkpoint
from custodes.ledger.compact import CompactRange, peak_levels
from custodes.ledger.errors import LedgerError
from custodes.ledger.guard import Guard, GuardRefused, all_hold
from custodes.ledger.models import (
    LedgerAccessIndex,
    LedgerCheckpoint,
    LedgerHead,
    node_key,
)
from custodes.ledger.note import Signer
from custodes.ledger.proof import root_at
from custodes.ledger.rfc6962 import EMPTY_ROOT, leaf_hash
from custodes.ledger.signer_state import SignedHead, SignerRefused, SignerState
from custodes.ledger.storage import LOG_ID, Head, read_head, read_nodes
from custodes.ledger.tiles import MAX_ENTRY_SIZE
from custodes.store.engine import driver_sql, insert_sql

# Two-key advisory lock: a constant class id and the schema, so logs in other schemas don't clash.
ADVISORY_LOCK_SQL = "pg_try_advisory_lock(1668641651, hashtext(current_schema()))"
ADVISORY_UNLOCK_SQL = "pg_advisory_unlock(1668641651, hashtext(current_schema()))"


IndexRow = dict[str, object]
log = logging.getLogger(__name__)


class LedgerUnavailable(LedgerError):
    """The ledger could not record; callers must fail closed (no record, no reveal)."""


class SequencerBusy(LedgerError):
    """Another sequencer already holds this log."""


class Receipt(NamedTuple):
    """What a caller holds once its entry is recorded: its index and the size of the signed
    checkpoint that covers it (an inclusion proof for one in the other is always available)."""

    index: int
    checkpoint_size: int


@dataclass(frozen=True)
class Item:
    """One entry to append, its access-index rows and the conditions it is appended under."""

    data: bytes
    rows: Sequence[IndexRow] = ()
    guards: Sequence[Guard] = ()


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
        # The per-batch statements as driver SQL: a batch runs for every few requests.
        dialect = engine.dialect
        self._insert_entry_sql = insert_sql(dialect, "ledger_entries", ("idx", "data"))
        self._insert_node_sql = insert_sql(dialect, "ledger_nodes", ("node_key", "hash"))
        self._sql = {
            "touch": driver_sql(dialect, "UPDATE ledger_head SET size = size WHERE log_id = ?"),
            "head": driver_sql(dialect, "SELECT size, root FROM ledger_head WHERE log_id = ?"),
            "set_head": driver_sql(
                dialect, "UPDATE ledger_head SET size = ?, root = ? WHERE log_id = ?"
            ),
            "index": insert_sql(
                dialect,
                "ledger_access_index",
                ("idx", "actor", "subject_kind", "subject_id", "action", "decision", "time"),
            ),
            "checkpoint": insert_sql(dialect, "ledger_checkpoints", ("size", "note", "created_at")),
            "has_checkpoint": driver_sql(
                dialect, "SELECT 1 FROM ledger_checkpoints WHERE size = ?"
            ),
        }
        processor = LedgerAccessIndex.__table__.c.time.type._cached_bind_processor(engine.dialect)
        self._bind_time = processor or (lambda value: value)
        created = LedgerCheckpoint.__table__.c.created_at.type
        self._bind_created = created._cached_bind_processor(engine.dialect) or (lambda v: v)

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
            _fits(item.data)
        conn = self._conn
        snapshot, snapshot_root = self._range, self._root
        signed_before = self.state.head if self.state is not None else None
        advanced = False
        try:
            with conn.begin():
                # Write first: takes the write lock before we read the head (no stale reads).
                touched = conn.exec_driver_sql(self._sql["touch"], (LOG_ID,)).rowcount
                if not touched:
                    conn.execute(insert(LedgerHead).values(log_id=LOG_ID, size=0, root=EMPTY_ROOT))
                size, stored_root = conn.exec_driver_sql(self._sql["head"], (LOG_ID,)).one()
                head = Head(int(size), bytes(stored_root))
                # Anything but the head this sequencer wrote last means someone else wrote.
                if (head.size, head.root) != (self._range.size, self._root) or (
                    signed_before is not None and signed_before.size != self._range.size
                ):
                    self._reload(head)
                    signed_before = self.state.head if self.state is not None else None
                base = self._range
                working = CompactRange.from_peaks(base.size, base.peaks())
                accepted, results = self._write_items(conn, working, items)
                root = working.root()
                conn.exec_driver_sql(self._sql["set_head"], (working.size, root, LOG_ID))
                if self.signer is not None and accepted:
                    assert self.state is not None
                    # Built in memory on top of the signed head: an extension by construction.
                    self.state.check_extension(base.size, self._root)
                    self.state.advance(working.size, root)
                    advanced = True
                    self._store_checkpoint(conn, working.size, root)
            self._range, self._root = working, root
        except LedgerError:
            self._range, self._root = snapshot, snapshot_root
            if advanced:
                self._undo_advance(signed_before)
            raise
        except Exception as exc:
            self._range, self._root = snapshot, snapshot_root
            if advanced:
                self._undo_advance(signed_before)
            raise LedgerUnavailable(f"the ledger could not record ({type(exc).__name__})") from exc
        size_now = working.size
        return [
            Receipt(r, size_now) if isinstance(r, int) else r  # type: ignore[misc]
            for r in results
        ]

    def _write_items(
        self, conn: Connection, working: CompactRange, items: Sequence[Item]
    ) -> tuple[int, list[int | GuardRefused]]:
        """Entries, nodes and index rows; guards see every earlier item of the batch."""
        results: list[int | GuardRefused] = []
        entry_rows: list[tuple[int, bytes]] = []
        node_rows: list[tuple[int, bytes]] = []
        index_rows: list[tuple[object, ...]] = []
        bind_time = self._bind_time
        for item in items:
            if item.guards:
                if index_rows:  # the guard must see this batch's earlier rows
                    conn.exec_driver_sql(self._sql["index"], index_rows)
                    index_rows = []
                if not all_hold(conn, item.guards):
                    results.append(GuardRefused("the entry's condition no longer holds"))
                    continue
            idx = working.size
            for level, index, digest in working.append(leaf_hash(item.data)):
                node_rows.append((node_key(level, index), digest))
            entry_rows.append((idx, item.data))
            index_rows.extend(
                (
                    idx,
                    row["actor"],
                    row["subject_kind"],
                    row["subject_id"],
                    row["action"],
                    row["decision"],
                    bind_time(row["time"]),
                )
                for row in item.rows
            )
            results.append(idx)
        if entry_rows:
            # Plain DBAPI executemany: the hot path, without per-row ORM/Core overhead.
            conn.exec_driver_sql(self._insert_entry_sql, entry_rows)
            conn.exec_driver_sql(self._insert_node_sql, node_rows)
        if index_rows:
            conn.exec_driver_sql(self._sql["index"], index_rows)
        return len(entry_rows), results

    def _undo_advance(self, signed_before: SignedHead | None) -> None:
        """The batch's commit failed after the signer state moved on. If the database still
        holds the old head and no checkpoint at the new size, the signature was never used
        and the state goes back; if that cannot be confirmed, refuse until someone looks."""
        assert self.state is not None and self._conn is not None
        attempted = self.state.head
        try:
            with self.engine.connect() as probe:
                head = read_head(probe)
                published = (
                    attempted is not None
                    and probe.exec_driver_sql(
                        self._sql["has_checkpoint"], (attempted.size,)
                    ).first()
                    is not None
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
        if conn.exec_driver_sql(self._sql["has_checkpoint"], (size,)).first() is None:
            conn.exec_driver_sql(
                self._sql["checkpoint"], [(size, note, self._bind_created(datetime.now(UTC)))]
            )
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


# How long a busy committer waits for more entries before it commits (seconds). Each batch costs
# two syncs (database, signer state) and a signature however small it is; measured on 2 cores,
# a few milliseconds here halve the per-entry commit CPU under load (bench/README.md).
LINGER = 0.003

# A waiter is a thread's Future, or an event loop's future (resolved on that loop).
_Waiter = Future[Receipt] | tuple[asyncio.AbstractEventLoop, asyncio.Future[Receipt]]
_Queued = tuple[Item, _Waiter]
_Result = Receipt | BaseException


def _settle(waiters: list[tuple[asyncio.Future[Receipt], _Result]]) -> None:
    """Runs on the loop: one wake-up settles every waiter of a batch from that loop."""
    for future, result in waiters:
        _resolve(future, result)


class GroupCommitter:
    """Collects appends from many threads into batches: one commit (one fsync, one signature)
    per batch.

    `append` blocks until the entry's batch is committed and signed, and returns its
    `Receipt`, or raises `LedgerUnavailable` (record before reveal) or `GuardRefused`.
    """

    def __init__(self, sequencer: Sequencer, max_batch: int = 512, linger: float = LINGER) -> None:
        self.sequencer = sequencer
        self.max_batch = max_batch
        self.linger = linger
        self._queue: queue.Queue[_Queued | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="ledger-group-commit", daemon=True)
        self._thread.start()

    def submit(
        self, data: bytes, index: Sequence[IndexRow] = (), guards: Sequence[Guard] = ()
    ) -> Future[Receipt]:
        _fits(data)
        future: Future[Receipt] = Future()
        self._queue.put((Item(data, index, guards), future))
        return future

    def append(
        self,
        data: bytes,
        index: Sequence[IndexRow] = (),
        timeout: float = 10.0,
        guards: Sequence[Guard] = (),
    ) -> Receipt:
        try:
            return self.submit(data, index, guards).result(timeout)
        except LedgerError:
            raise
        except Exception as exc:
            raise LedgerUnavailable(f"the ledger could not record ({type(exc).__name__})") from exc

    async def append_async(
        self,
        data: bytes,
        index: Sequence[IndexRow] = (),
        timeout: float = 10.0,
        guards: Sequence[Guard] = (),
    ) -> Receipt:
        """`append` for a caller on an event loop: no thread parked per request, and the
        committer wakes each loop once per batch rather than once per entry."""
        _fits(data)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Receipt] = loop.create_future()
        self._queue.put((Item(data, index, guards), (loop, future)))
        # A timer on the future itself: `asyncio.wait_for` adds a task, a waiter and callbacks
        # per request, which on this path cost more than the rest of the append.
        timer = loop.call_later(timeout, _time_out, future)
        try:
            return await future
        except LedgerError:
            raise
        except Exception as exc:
            raise LedgerUnavailable(f"the ledger could not record ({type(exc).__name__})") from exc
        finally:
            timer.cancel()

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        previous = 1
        while True:
            item = self._queue.get()
            if item is None:
                return
            # Linger only under concurrency (the last batch had company): a lone caller is
            # answered at once, a busy server gathers larger batches, so one commit, one
            # signature and one signer-state sync serve more requests (bench/README.md).
            linger = self.linger if previous > 1 else 0.0
            batch, stop = self._gather(item, linger)
            previous = len(batch)
            results: list[_Result]
            try:
                results = list(self.sequencer.append_items([queued for queued, _ in batch]))
            except Exception as exc:  # every waiter learns the batch failed
                results = [exc] * len(batch)
            _notify([waiter for _, waiter in batch], results)
            if stop:
                return

    def _gather(self, first: _Queued, linger: float) -> tuple[list[_Queued], bool]:
        """The next batch: what is queued now, plus what arrives within `linger` seconds."""
        batch = [first]
        deadline = time.monotonic() + linger
        while len(batch) < self.max_batch:
            remaining = deadline - time.monotonic()
            try:
                nxt = (
                    self._queue.get(timeout=remaining)
                    if remaining > 0
                    else self._queue.get_nowait()
                )
            except queue.Empty:
                break
            if nxt is None:
                return batch, True
            batch.append(nxt)
        return batch, False


def _time_out(future: asyncio.Future[Receipt]) -> None:
    if not future.done():
        future.set_exception(TimeoutError("the ledger did not answer in time"))


def _fits(data: bytes) -> None:
    """Refuse an oversize entry before it joins a batch: alone, not with its batch-mates."""
    if len(data) > MAX_ENTRY_SIZE:
        raise LedgerError(f"entry of {len(data)} bytes exceeds {MAX_ENTRY_SIZE}")


def _notify(waiters: list[_Waiter], results: list[_Result]) -> None:
    """Hand each waiter its result. Nothing here may raise: the committer thread must live."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Receipt], _Result]]]
    by_loop = {}
    for waiter, result in zip(waiters, results, strict=True):
        if isinstance(waiter, Future):
            _resolve(waiter, result)
        else:
            loop, future = waiter
            by_loop.setdefault(loop, []).append((future, result))
    for loop, settled in by_loop.items():
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
            loop.call_soon_threadsafe(_settle, settled)


def _resolve(future: Future[Receipt] | asyncio.Future[Receipt], result: _Result) -> None:
    """Hand a waiter its result, unless its caller gave up (timeout, cancelled request)."""
    if future.done():
        return
    with contextlib.suppress(InvalidStateError, asyncio.InvalidStateError):
        if isinstance(result, BaseException):
            future.set_exception(result)
        else:
            future.set_result(result)


def open_sequencer_for(
    engine: Engine, signer: Signer | None, origin: str, state: SignerState | None = None
) -> Sequencer:
    """Convenience for commands: an opened sequencer that signs as `origin`."""
    return Sequencer(engine, signer, origin, state).open()
