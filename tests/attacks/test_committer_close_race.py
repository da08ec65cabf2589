"""The group committer (a deque and an Event since the hot-path work) under appends racing
`close()`: every entry stored is answered exactly once with its own index, nothing answered is
missing from the log, and a waiter never hears of an entry that was not committed."""

from __future__ import annotations

import threading
from concurrent.futures import Future

from sqlalchemy import Engine

from custodes.ledger.note import Signer, generate_signer_key
from custodes.ledger.sequencer import GroupCommitter, Receipt, Sequencer
from custodes.ledger.storage import LedgerReader

ORIGIN = "custodes.test/committer-close"


def test_appends_racing_close_are_answered_once_and_stored(engine: Engine) -> None:
    signer = Signer.from_skey(generate_signer_key(ORIGIN)[0])
    with Sequencer(engine, signer) as seq:
        committer = GroupCommitter(seq, max_batch=16)
        futures: list[Future[Receipt]] = []
        lock = threading.Lock()
        start = threading.Barrier(7)

        def worker(k: int) -> None:
            start.wait()
            for i in range(60):
                future = committer.submit(b'{"w":%d,"i":%d}' % (k, i))
                with lock:
                    futures.append(future)

        threads = [threading.Thread(target=worker, args=(k,)) for k in range(6)]
        for t in threads:
            t.start()
        start.wait()
        committer.close()  # while the workers still submit
        for t in threads:
            t.join()
        answered = [f.result(0) for f in futures if f.done()]
        indexes = sorted(r.index for r in answered)
        assert indexes == list(range(len(indexes)))  # one index each, none skipped
        assert seq.size == len(indexes)  # nothing stored that nobody heard of
        stored = LedgerReader(engine).entries(0, len(indexes))
        assert len(stored) == len(indexes)
        assert all(r.checkpoint_size > r.index for r in answered)
