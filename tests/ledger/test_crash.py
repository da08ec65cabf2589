"""SIGKILL in the middle of a stream of appends: every acknowledged index survives, intact."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import Engine

from custodes.ledger.proof import MemoryTree
from custodes.ledger.sequencer import Sequencer, SequencerBusy
from custodes.ledger.storage import LedgerReader

WRITER = Path(__file__).with_name("crash_writer.py")


def _open_after_crash(engine: Engine) -> Sequencer:
    deadline = time.monotonic() + 15
    while True:
        try:
            return Sequencer(engine).open()
        except SequencerBusy:  # PostgreSQL notices the dead session a moment later
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_sigkill_mid_stream_loses_no_acknowledged_entry(engine: Engine, db_url: str) -> None:
    for round_ in range(2):
        proc = subprocess.Popen(
            [sys.executable, str(WRITER), db_url], stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout is not None
        acknowledged = -1
        for _ in range(12 + 7 * round_):
            line = proc.stdout.readline()
            assert line, "writer died before acknowledging anything"
            acknowledged = int(line)
        proc.send_signal(signal.SIGKILL)
        proc.wait()

        with _open_after_crash(engine) as seq:
            size = seq.size
            root = seq.root()
        assert size >= acknowledged + 1
        stored = LedgerReader(engine).entries(0, size)
        assert stored == [b'{"n":%d}' % i for i in range(size)]
        assert root == MemoryTree.from_entries(stored).root()
        assert LedgerReader(engine).head().size == size
