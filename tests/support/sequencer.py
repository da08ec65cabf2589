"""A sequencer socket served from a thread, for tests of what appends through it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from custodes.ledger.committer import GroupCommitter
from custodes.ledger.remote import SequencerServer
from custodes.ledger.sequencer import Sequencer


def serve_socket(committer: GroupCommitter, path: Path) -> SequencerServer:
    """Serve `committer` on `path` and return once the socket exists (stop it when done)."""
    server = SequencerServer(committer, path)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    for _ in range(250):
        if path.exists():
            break
        threading.Event().wait(0.02)
    return server


@contextmanager
def serving(seq: Sequencer, path: Path) -> Iterator[SequencerServer]:
    """`seq` behind a group committer, served on `path` until the block ends."""
    committer = GroupCommitter(seq)
    server = serve_socket(committer, path)
    try:
        yield server
    finally:
        server.stop()
        committer.close()
