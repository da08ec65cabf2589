"""Window guards asked together (a reveal's hour and day in one query) answer exactly what each
window, counted by hand from the index rows, says: on both backends, over random histories."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, insert

from custodes.ledger.guard import Guard, all_hold, holds
from custodes.ledger.models import LedgerAccessIndex
from tests.support.windows import holds_by_hand

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
HOUR, DAY = timedelta(hours=1), timedelta(days=1)


def _window(since: datetime, cap: int, new: tuple[str, ...], actor: str = "A1") -> Guard:
    return Guard(
        "distinct", ("customer.view",), ("allow",), actor, "customer", None, since, cap, new
    )


@pytest.mark.parametrize("seed", range(6))
def test_hour_and_day_together_match_counting_by_hand(engine: Engine, seed: int) -> None:
    rng = random.Random(seed)
    rows: list[dict[str, object]] = []
    for idx in range(rng.randint(0, 60)):
        rows.append(
            {
                "idx": idx,
                "actor": rng.choice(["A1", "A1", "A2"]),
                "subject_kind": "customer",
                "subject_id": f"cp_{rng.randint(0, 15):02d}",
                "action": rng.choice(["customer.view", "customer.view", "customer.search"]),
                "decision": rng.choice(["allow", "allow", "deny"]),
                "time": NOW - timedelta(minutes=rng.randint(0, 60 * 30)),
            }
        )
    with engine.begin() as conn:
        if rows:
            conn.execute(insert(LedgerAccessIndex), rows)
        for _ in range(40):
            new = tuple(f"cp_{rng.randint(0, 20):02d}" for _ in range(rng.randint(0, 3)))
            hour = _window(NOW - HOUR, rng.randint(0, 8), new)
            day = _window(NOW - DAY, rng.randint(0, 16), new)
            other = _window(NOW - DAY, rng.randint(0, 16), (), actor="A2")
            assert holds(conn, hour) is holds_by_hand(rows, hour)
            assert holds(conn, day) is holds_by_hand(rows, day)
            expected = all(holds_by_hand(rows, g) for g in (hour, day, other))
            assert all_hold(conn, [hour, day, other]) is expected
            assert all_hold(conn, [day, hour]) is (
                holds_by_hand(rows, hour) and holds_by_hand(rows, day)
            )
