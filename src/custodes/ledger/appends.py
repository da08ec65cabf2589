"""What an append carries to the sequencer and what its caller gets back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from custodes.ledger.errors import LedgerError
from custodes.ledger.guard import Guard
from custodes.ledger.tiles import MAX_ENTRY_SIZE

IndexRow = dict[str, object]


class Receipt(NamedTuple):
    """What a caller holds once its entry is recorded: its index and the size of the signed
    checkpoint that covers it (an inclusion proof for one in the other is always available)."""

    index: int  # type: ignore[assignment]  # a field named like tuple.index, on purpose
    checkpoint_size: int


@dataclass(frozen=True)
class Item:
    """One entry to append, its access-index rows and the conditions it is appended under."""

    data: bytes
    rows: Sequence[IndexRow] = ()
    guards: Sequence[Guard] = ()


def check_fits(data: bytes) -> None:
    """Refuse an oversize entry before it joins a batch: alone, not with its batch-mates."""
    if len(data) > MAX_ENTRY_SIZE:
        raise LedgerError(f"entry of {len(data)} bytes exceeds {MAX_ENTRY_SIZE}")
