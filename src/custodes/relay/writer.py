"""Group commit for the relay's small writes: many sessions' rows in one transaction.

Each caller still waits until its own rows are committed (a 250 is only sent after that), but
concurrent callers share the commit, so the disk's sync rate stops bounding the message rate.
A write is a few rows for plain driver statements (`Rows`), not ORM work: a batch runs each
statement once with all its rows (`executemany`), which costs a fraction of building and
compiling one SQLAlchemy statement per row. A batch that fails is retried one write at a time,
so one bad write fails only its caller.

Rows of one batch must not depend on each other across statements (they are grouped by
statement): the relay's writes never do (a message is inserted, and marked sent only after a
later claim).
"""

from __future__ import annotations

import queue
import threading
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.engine import Dialect

from custodes.store.base import UTCDateTime
from custodes.store.engine import driver_sql

MAX_BATCH = 256


@dataclass(frozen=True)
class Rows:
    """One row for one driver statement (`?` placeholders; datetimes aware, in UTC)."""

    sql: str
    params: tuple[Any, ...]


Write = tuple[Rows, ...]


def apply(conn: Connection, writes: list[Write]) -> None:
    """Run `writes` inside the caller's transaction: each statement once, with all its rows."""
    grouped: dict[str, list[tuple[Any, ...]]] = {}
    for write in writes:
        for rows in write:
            grouped.setdefault(rows.sql, []).append(rows.params)
    bind = time_binder(conn.dialect)
    for sql, params in grouped.items():
        bound = [tuple(bind(v) if isinstance(v, datetime) else v for v in p) for p in params]
        conn.exec_driver_sql(driver_sql(conn.dialect, sql), bound)


def commit(engine: Engine, writes: list[Write]) -> None:
    """`writes` in one transaction of their own."""
    with engine.connect() as conn, conn.begin():
        apply(conn, writes)


_BINDERS: dict[str, Any] = {}


def time_binder(dialect: Dialect) -> Any:
    """How this dialect stores a UTC datetime (what the ORM's `UTCDateTime` binds)."""
    found = _BINDERS.get(dialect.name)
    if found is None:
        processor = UTCDateTime()._cached_bind_processor(dialect)
        found = _BINDERS[dialect.name] = processor or (lambda value: value)
    return found


class GroupWriter:
    """One thread, one connection kept open, one transaction per batch of the writes queued
    meanwhile. (Lingering for more writes, as the ledger's committer does, measured no better
    here: sessions wait for their commit, so a longer wait only slows them.)"""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._conn: Connection | None = None
        self._queue: queue.Queue[tuple[Write, Future[None]] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="relay-writer", daemon=True)
        self._thread.start()

    def write(self, work: Write, timeout: float = 30.0) -> None:
        """Commit `work` in a shared transaction; returns once it is committed (or raises)."""
        self.submit(work).result(timeout)

    def submit(self, work: Write) -> Future[None]:
        """Queue `work` for the next shared transaction; the future settles at its commit."""
        done: Future[None] = Future()
        self._queue.put((work, done))
        return done

    def _run(self) -> None:
        try:
            while True:
                first = self._queue.get()
                if first is None:
                    return
                batch, stop = self._gather(first)
                self._commit(batch)
                if stop:
                    return
        finally:
            if self._conn is not None:
                self._conn.close()

    def _gather(
        self, first: tuple[Write, Future[None]]
    ) -> tuple[list[tuple[Write, Future[None]]], bool]:
        """The next batch: `first` and whatever is queued now; True once told to stop."""
        batch = [first]
        while len(batch) < MAX_BATCH:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                return batch, True
            batch.append(item)
        return batch, False

    def _commit(self, batch: list[tuple[Write, Future[None]]]) -> None:
        try:
            if self._conn is None:
                self._conn = self.engine.connect()
            with self._conn.begin():
                apply(self._conn, [work for work, _ in batch])
        except Exception as exc:
            if self._conn is not None:  # a broken connection is not reused
                self._conn.invalidate()
                self._conn.close()
                self._conn = None
            if len(batch) == 1:
                batch[0][1].set_exception(exc)
                return
            for item in batch:
                self._commit([item])
            return
        for _, done in batch:
            done.set_result(None)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10)
