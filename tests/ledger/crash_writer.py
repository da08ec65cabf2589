"""Appends batches forever, printing the last index of each acknowledged batch."""

from __future__ import annotations

import sys

from custodes.ledger.sequencer import Sequencer
from custodes.store.engine import make_engine


def main() -> None:
    engine = make_engine(sys.argv[1])
    sequencer = Sequencer(engine).open()
    start = sequencer.size
    while True:
        batch = [b'{"n":%d}' % i for i in range(start, start + 256)]
        indices = sequencer.append_batch(batch)
        print(indices[-1], flush=True)
        start += 256


if __name__ == "__main__":
    main()
