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
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, InvalidStateError
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from sqlalchemy import Connection, Engine, insert, select
from sqlalchemy.engine import make_url

from custodes.ledger.checkpoint import Checkpoint, sign_checkpoint
from custodes.ledger.compact import CompactRange, peak_levels
from custodes.ledger.errors import LedgerError
from custodes.ledger.models import (
    LedgerAccessIndex,
    LedgerCheckpoint,
    LedgerHead,
    node_key,
)
from custodes.ledger.note import Signer
from custodes.ledger.rfc6962 import EMPTY_ROOT, leaf_hash
from custodes.ledger.storage import LOG_ID, Head, read_head, read_nodes
from custodes.ledger.tiles import MAX_ENTRY_SIZE
from custodes.store.engine import driver_sql, insert_sql

# Two-key advisory lock: a constant class id and the schema, so logs in other schemas don't clash.
ADVISORY_LOCK_SQL = "pg_try_advisory_lock(1668641651, hashtext(current_schema()))"
ADVISORY_UNLOCK_SQL = "pg_advisory_unlock(1668641651, hashtext(current_schema()))"


IndexRow = dict[str, object]


class LedgerUnavailable(LedgerError):
    """The ledger could not record; callers must fail closed (no record, no reveal)."""


class SequencerBusy(LedgerError):
    """Another sequencer already holds this log."""


class Sequencer:
    """Appends batches durably; an index is returned only after its batch is committed."""

    def __init__(
        self,
        engine: Engine,
        signer: Signer | None = None,
        origin: str | None = None,
        checkpoint_interval: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.engine = engine
        self.signer = signer
        self.origin = origin or (signer.name if signer else None)
        self.checkpoint_interval = checkpoint_interval
        self.clock = clock
        self._conn: Connection | None = None
        self._lock_file: IO[str] | None = None
        self._range = CompactRange()
        self._last_checkpoint = 0.0
        self._checkpointed_size = -1
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
        }
        processor = LedgerAccessIndex.__table__.c.time.type._cached_bind_processor(engine.dialect)
        self._bind_time = processor or (lambda value: value)

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
        with self._conn.begin():
            self._reload(read_head(self._conn))
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

    def root(self) -> bytes:
        return self._range.root()

    def _reload(self, head: Head) -> None:
        """Rebuild the frontier from stored peaks (after a restart or a foreign append)."""
        assert self._conn is not None
        ids: list[tuple[int, int]] = []
        begin = 0
        for level in peak_levels(head.size):
            ids.append((level, begin >> level))
            begin += 1 << level
        nodes = read_nodes(self._conn, ids)
        if len(nodes) != len(ids):
            raise LedgerError(
                "stored ledger is missing frontier nodes; run `custodes ledger verify`"
            )
        self._range = CompactRange.from_peaks(head.size, [nodes[i] for i in ids])
        if self._range.root() != head.root and head.size:
            raise LedgerError("stored ledger head does not match its nodes")

    # -- appending --------------------------------------------------------------------------
    def append_batch(
        self, entries: Sequence[bytes], index_rows: Sequence[Sequence[IndexRow]] | None = None
    ) -> list[int]:
        """Append entries in one transaction; return their indices once durably committed.

        `index_rows[i]` are access-index rows for entry i (actor, subject, action, decision,
        time); they are committed with the entry, so the index never points at nothing.
        """
        if self._conn is None:
            raise LedgerUnavailable("the sequencer is not open")
        for data in entries:
            _fits(data)
        conn = self._conn
        snapshot = self._range
        try:
            with conn.begin():
                # Write first: takes the write lock before we read the head (no stale reads).
                touched = conn.exec_driver_sql(self._sql["touch"], (LOG_ID,)).rowcount
                if not touched:
                    conn.execute(insert(LedgerHead).values(log_id=LOG_ID, size=0, root=EMPTY_ROOT))
                size, stored_root = conn.exec_driver_sql(self._sql["head"], (LOG_ID,)).one()
                head = Head(int(size), bytes(stored_root))
                if head.size != self._range.size:
                    self._reload(head)
                working = CompactRange.from_peaks(self._range.size, self._range.peaks())
                first = working.size
                node_rows = []
                for data in entries:
                    for level, index, digest in working.append(leaf_hash(data)):
                        node_rows.append((node_key(level, index), digest))
                if entries:
                    # Plain DBAPI executemany: the hot path, without per-row ORM/Core overhead.
                    conn.exec_driver_sql(
                        self._insert_entry_sql, [(first + i, d) for i, d in enumerate(entries)]
                    )
                    conn.exec_driver_sql(self._insert_node_sql, node_rows)
                if index_rows:
                    bind_time = self._bind_time
                    rows = [
                        (
                            first + i,
                            row["actor"],
                            row["subject_kind"],
                            row["subject_id"],
                            row["action"],
                            row["decision"],
                            bind_time(row["time"]),
                        )
                        for i, per_entry in enumerate(index_rows)
                        for row in per_entry
                    ]
                    if rows:
                        conn.exec_driver_sql(self._sql["index"], rows)
                root = working.root()
                conn.exec_driver_sql(self._sql["set_head"], (working.size, root, LOG_ID))
                if self._checkpoint_due(working.size):
                    self._store_checkpoint(conn, working.size, root)
            self._range = working
        except LedgerError:
            self._range = snapshot
            raise
        except Exception as exc:
            self._range = snapshot
            raise LedgerUnavailable(f"the ledger could not record ({type(exc).__name__})") from exc
        return list(range(first, first + len(entries)))

    # -- checkpoints --------------------------------------------------------------------------
    def _checkpoint_due(self, size: int) -> bool:
        if self.signer is None or size == self._checkpointed_size:
            return False
        return self.clock() - self._last_checkpoint >= self.checkpoint_interval

    def _store_checkpoint(self, conn: Connection, size: int, root: bytes) -> str:
        assert self.signer is not None and self.origin is not None
        note = sign_checkpoint(Checkpoint(self.origin, size, root), self.signer)
        existing = conn.scalar(select(LedgerCheckpoint.size).where(LedgerCheckpoint.size == size))
        if existing is None:
            conn.execute(
                insert(LedgerCheckpoint).values(size=size, note=note, created_at=datetime.now(UTC))
            )
        self._last_checkpoint = self.clock()
        self._checkpointed_size = size
        return note

    def checkpoint(self) -> str:
        """Sign and store a checkpoint for the current head now (e.g. before a proof)."""
        if self._conn is None or self.signer is None:
            raise LedgerError("checkpoints need an open sequencer with a signing key")
        with self._conn.begin():
            head = read_head(self._conn)
            if head.size != self._range.size:
                self._reload(head)
            row = self._conn.execute(
                select(LedgerCheckpoint.note).where(LedgerCheckpoint.size == head.size)
            ).first()
            if row is not None:
                return str(row[0])
            return self._store_checkpoint(self._conn, head.size, head.root)


# A waiter is a thread's Future, or an event loop's future (resolved on that loop).
_Waiter = Future[int] | tuple[asyncio.AbstractEventLoop, asyncio.Future[int]]
_Item = tuple[bytes, Sequence[IndexRow], _Waiter]


def _settle(waiters: list[tuple[asyncio.Future[int], int | BaseException]]) -> None:
    """Runs on the loop: one wake-up settles every waiter of a batch from that loop."""
    for future, result in waiters:
        _resolve(future, result)


class GroupCommitter:
    """Collects appends from many threads into batches: one commit (one fsync) per batch.

    `append` blocks until the entry's batch is committed and returns its index, or raises
    `LedgerUnavailable`: record before reveal.
    """

    def __init__(self, sequencer: Sequencer, max_batch: int = 512, linger: float = 0.0) -> None:
        self.sequencer = sequencer
        self.max_batch = max_batch
        self.linger = linger
        self._queue: queue.Queue[_Item | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="ledger-group-commit", daemon=True)
        self._thread.start()

    def submit(self, data: bytes, index: Sequence[IndexRow] = ()) -> Future[int]:
        _fits(data)
        future: Future[int] = Future()
        self._queue.put((data, index, future))
        return future

    def append(self, data: bytes, index: Sequence[IndexRow] = (), timeout: float = 10.0) -> int:
        try:
            return self.submit(data, index).result(timeout)
        except LedgerError:
            raise
        except Exception as exc:
            raise LedgerUnavailable(f"the ledger could not record ({type(exc).__name__})") from exc

    async def append_async(
        self, data: bytes, index: Sequence[IndexRow] = (), timeout: float = 10.0
    ) -> int:
        """`append` for a caller on an event loop: no thread parked per request, and the
        committer wakes each loop once per batch rather than once per entry."""
        _fits(data)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[int] = loop.create_future()
        self._queue.put((data, index, (loop, future)))
        try:
            return await asyncio.wait_for(future, timeout)
        except LedgerError:
            raise
        except Exception as exc:
            raise LedgerUnavailable(f"the ledger could not record ({type(exc).__name__})") from exc

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            batch = [item]
            deadline = time.monotonic() + self.linger
            stop = False
            while len(batch) < self.max_batch:
                remaining = deadline - time.monotonic()
                try:
                    nxt = (
                        self._queue.get(timeout=max(remaining, 0))
                        if remaining > 0
                        else (self._queue.get_nowait())
                    )
                except queue.Empty:
                    break
                if nxt is None:
                    stop = True
                    break
                batch.append(nxt)
            results: list[int | BaseException]
            try:
                indices = self.sequencer.append_batch(
                    [data for data, _, _ in batch], [rows for _, rows, _ in batch]
                )
                results = list(indices)
            except Exception as exc:  # every waiter learns the batch failed
                results = [exc] * len(batch)
            _notify([waiter for _, _, waiter in batch], results)
            if stop:
                return


def _fits(data: bytes) -> None:
    """Refuse an oversize entry before it joins a batch: alone, not with its batch-mates."""
    if len(data) > MAX_ENTRY_SIZE:
        raise LedgerError(f"entry of {len(data)} bytes exceeds {MAX_ENTRY_SIZE}")


def _notify(waiters: list[_Waiter], results: list[int | BaseException]) -> None:
    """Hand each waiter its result. Nothing here may raise: the committer thread must live."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[int], int | BaseException]]]
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


def _resolve(future: Future[int] | asyncio.Future[int], result: int | BaseException) -> None:
    """Hand a waiter its result, unless its caller gave up (timeout, cancelled request)."""
    if future.done():
        return
    with contextlib.suppress(InvalidStateError, asyncio.InvalidStateError):
        if isinstance(result, BaseException):
            future.set_exception(result)
        else:
            future.set_result(result)


def open_sequencer_for(engine: Engine, signer: Signer | None, origin: str) -> Sequencer:
    """Convenience for commands: an opened sequencer that signs as `origin`."""
    return Sequencer(engine, signer, origin).open()
