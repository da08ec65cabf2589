"""Group commit for the relay's small writes: many sessions' rows in one transaction.

Each caller still waits until its own rows are committed (a 250 is only sent after that), but
concurrent callers share the commit, so the disk's sync rate stops bounding the message rate.
A batch that fails is retried one write at a time, so one bad write fails only its caller.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from custodes.store.engine import transaction

Write = Callable[[Session], None]
MAX_BATCH = 256


class GroupWriter:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._queue: queue.Queue[tuple[Write, Future[None]] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="relay-writer", daemon=True)
        self._thread.start()

    def write(self, work: Write, timeout: float = 30.0) -> None:
        """Run `work` in a shared transaction; returns once it is committed (or raises)."""
        self.submit(work).result(timeout)

    def submit(self, work: Write) -> Future[None]:
        """Queue `work` for the next shared transaction; the future settles at its commit."""
        done: Future[None] = Future()
        self._queue.put((work, done))
        return done

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < MAX_BATCH:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)
                    break
                batch.append(item)
            self._commit(batch)

    def _commit(self, batch: list[tuple[Write, Future[None]]]) -> None:
        try:
            with transaction(self.engine) as session:
                for work, _ in batch:
                    work(session)
        except Exception as exc:
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
