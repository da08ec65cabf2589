"""A lingering committer waits for company, not for the clock: once as many entries wait as its
last batch held, it commits (a steady load pays no fixed delay per batch)."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future

from custodes.ledger.appends import Item, Receipt
from custodes.ledger.committer import GroupCommitter


class _Recording:
    """Stands in for the sequencer: records batch sizes; the first batch waits for a go."""

    def __init__(self) -> None:
        self.batches: list[int] = []
        self.go = threading.Event()

    def append_items(self, items: Sequence[Item]) -> list[Receipt]:
        if not self.batches:
            self.go.wait(10)
        start = sum(self.batches)
        self.batches.append(len(items))
        return [Receipt(start + i, start + len(items)) for i in range(len(items))]


def _submit(committer: GroupCommitter, n: int) -> list[Future[Receipt]]:
    return [committer.submit(b'{"n":%d}' % i) for i in range(n)]


def test_the_next_batch_commits_once_the_last_batch_size_waits() -> None:
    sequencer = _Recording()
    committer = GroupCommitter(sequencer, linger=30.0)  # type: ignore[arg-type]
    try:
        first = _submit(committer, 1)
        time.sleep(0.2)  # the committer now holds the first batch, waiting for `go`
        second = _submit(committer, 3)
        sequencer.go.set()
        for future in first + second:
            future.result(5)
        assert sequencer.batches == [1, 3]
        started = time.monotonic()
        third = _submit(committer, 3)  # as many as the last batch: no need to wait 30 s
        for future in third:
            future.result(20)
        assert time.monotonic() - started < 10
        assert sequencer.batches == [1, 3, 3]
        started = time.monotonic()
        committer.close()  # nor does closing wait for company that will never come
        assert time.monotonic() - started < 10
    finally:
        committer.close()
