"""Group commit for the relay's small writes: many sessions' rows in one transaction.

Each caller still waits until its own rows are committed (a 250 is only sent after that), but
concurrent callers share the commit, so the disk's sync rate stops bounding the message rate.
A write is a few rows for plain driver statements (`Rows`), not ORM work: a batch runs each
statement once with all its rows (`executemany`) on the writer's own driver connection, which
costs a fraction of building and compiling one SQLAlchemy statement per row. Sessions on an
event loop are answered once per batch per loop, not once per write. A batch that fails is
retried one write at a time, so one bad write fails only its caller.

Rows of one batch must not depend on each other across statements (they are grouped by
statement): the relay's writes never do (a message is inserted, and marked sent only after a
later claim).
"""

from __future__ import annotations

import asyncio
import contextlib
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


def _grouped(dialect: Dialect, writes: list[Write]) -> list[tuple[str, list[tuple[Any, ...]]]]:
    """Each statement (in the dialect's style) with all its rows, datetimes bound."""
    grouped: dict[str, list[tuple[Any, ...]]] = {}
    for write in writes:
        for rows in write:
            grouped.setdefault(rows.sql, []).append(rows.params)
    bind = time_binder(dialect)
    return [
        (
            driver_sql(dialect, sql),
            [tuple(bind(v) if isinstance(v, datetime) else v for v in p) for p in params],
        )
        for sql, params in grouped.items()
    ]


def apply(conn: Connection, writes: list[Write]) -> None:
    """Run `writes` inside the caller's transaction: each statement once, with all its rows."""
    for sql, params in _grouped(conn.dialect, writes):
        conn.exec_driver_sql(sql, params)


def commit(engine: Engine, writes: list[Write]) -> None:
    """`writes` in one transaction of their own."""
    with engine.connect() as conn, conn.begin():
        apply(conn, writes)


def _commit_raw(raw: Any, dialect: Dialect, writes: list[Write]) -> None:
    """`writes` in one transaction on a driver connection (SQLite's in autocommit mode until
    BEGIN, as the engine sets it up; PostgreSQL's opens one by itself)."""
    cursor = raw.cursor()
    try:
        if dialect.name == "sqlite":
            cursor.execute("BEGIN")
        for sql, params in _grouped(dialect, writes):
            cursor.executemany(sql, params)
        raw.commit()
    except BaseException:
        with contextlib.suppress(Exception):  # a broken connection: the error that broke it
            raw.rollback()
        raise
    finally:
        cursor.close()


_BINDERS: dict[str, Any] = {}


def time_binder(dialect: Dialect) -> Any:
    """How this dialect stores a UTC datetime (what the ORM's `UTCDateTime` binds)."""
    found = _BINDERS.get(dialect.name)
    if found is None:
        processor = UTCDateTime()._cached_bind_processor(dialect)
        found = _BINDERS[dialect.name] = processor or (lambda value: value)
    return found


# A waiter is a thread's Future, or an event loop's future (settled on that loop).
_Waiter = Future[None] | tuple[asyncio.AbstractEventLoop, "asyncio.Future[None]"]
_Queued = tuple[Write, _Waiter]


class GroupWriter:
    """One thread, one driver connection kept open, one transaction per batch of the writes
    queued meanwhile. (Lingering for more writes, as the ledger's committer does, measured no
    better here: sessions wait for their commit, so a longer wait only slows them.)"""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._raw: Any = None
        self._queue: queue.Queue[_Queued | None] = queue.Queue()
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

    async def write_async(self, work: Write) -> None:
        """`write` for a session on an event loop: no thread parked, and the loop woken once
        per batch however many of its sessions the batch answers."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        self._queue.put((work, (loop, done)))
        await done

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
            if self._raw is not None:
                self._raw.close()

    def _gather(self, first: _Queued) -> tuple[list[_Queued], bool]:
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

    def _commit(self, batch: list[_Queued]) -> None:
        try:
            if self._raw is None:
                self._raw = self.engine.raw_connection()
            _commit_raw(self._raw, self.engine.dialect, [work for work, _ in batch])
        except Exception as exc:
            if self._raw is not None:  # a broken connection is not reused
                self._raw.invalidate()
                self._raw = None
            if len(batch) == 1:
                _settle([batch[0][1]], exc)
                return
            for item in batch:
                self._commit([item])
            return
        _settle([waiter for _, waiter in batch], None)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10)


def _settle(waiters: list[_Waiter], error: BaseException | None) -> None:
    """Answer each waiter; an event loop's all at once, in one call on that loop."""
    by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
    for waiter in waiters:
        if isinstance(waiter, Future):
            if error is None:
                waiter.set_result(None)
            else:
                waiter.set_exception(error)
        else:
            by_loop.setdefault(waiter[0], []).append(waiter[1])
    for loop, futures in by_loop.items():
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
            loop.call_soon_threadsafe(_answer, futures, error)


def _answer(futures: list[asyncio.Future[None]], error: BaseException | None) -> None:
    for future in futures:
        if future.done():  # its session went away (cancelled)
            continue
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)
