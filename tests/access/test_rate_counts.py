"""The ledger-index rate count (used by API workers) agrees with the in-memory windows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, insert

from custodes.access.facts import _revealed_counts
from custodes.access.ratelimit import RevealWindows
from custodes.ledger.models import LedgerAccessIndex


def test_index_counts_match_windows(engine: Engine) -> None:
    now = datetime.now(UTC)
    rows = [
        # (customer, minutes ago, decision)
        ("C1", 5, "allow"),
        ("C2", 50, "allow"),
        ("C3", 90, "allow"),
        ("C3", 10, "allow"),
        ("C4", 60 * 30, "allow"),
        ("C5", 20, "deny"),
    ]
    with engine.begin() as conn:
        conn.execute(
            insert(LedgerAccessIndex),
            [
                {
                    "idx": i,
                    "actor": "A1",
                    "subject_kind": "customer",
                    "subject_id": c,
                    "action": "customer.view",
                    "decision": d,
                    "time": now - timedelta(minutes=m),
                }
                for i, (c, m, d) in enumerate(rows)
            ],
        )
    windows = RevealWindows()
    for asking in ({"C9"}, {"C1"}, {"C3"}, {"C4"}):
        with engine.connect() as conn:
            assert _revealed_counts(conn, "A1", asking, now) == windows.counts(
                conn, "A1", asking, now
            ), asking
    with engine.connect() as conn:
        # C1, C2, C3 in the hour (+ the new C9); C4 is older than a day; C5 was denied.
        assert _revealed_counts(conn, "A1", {"C9"}, now) == (4, 4)
