"""A sequencer socket served from a thread, for tests of what appends through it."""

from __future__ import annotations

import threading
from pathlib import Path

from custodes.ledger.committer import GroupCommitter
from custodes.ledger.remote import SequencerServer


def serve_socket(committer: GroupCommitter, path: Path) -> SequencerServer:
    """Serve `committer` on `path` and return once the socket exists (stop it when done)."""
    server = SequencerServer(committer, path)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    for _ in range(250):
        if path.exists():
            break
        threading.Event().wait(0.02)
    return server
