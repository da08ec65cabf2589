"""What a `distinct` window guard means, counted by hand: the oracle for its SQL form
(`guard._windows_hold`) and for the sequencer's memory of it (`ledger.window_cache`)."""

from __future__ import annotations

from collections.abc import Sequence

from custodes.ledger.appends import IndexRow
from custodes.ledger.guard import Guard


def holds_by_hand(rows: Sequence[IndexRow], guard: Guard) -> bool:
    """Distinct subjects of the actor's allowed reveals in the window, plus the new ones not
    among them, within the cap."""
    assert guard.since is not None
    seen = {
        r["subject_id"]
        for r in rows
        if r["actor"] == guard.actor
        and r["action"] == "customer.view"
        and r["decision"] == "allow"
        and r["time"] > guard.since  # type: ignore[operator]
    }
    return len(seen | set(guard.new_subjects)) <= guard.limit
