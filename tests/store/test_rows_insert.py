"""`RowsInsert` writes exactly the rows it is given, in order, in a few statements, on both
backends (the ledger's batches go through it)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from custodes.store.engine import RowsInsert, make_engine


@pytest.fixture
def scratch(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE scratch (n INTEGER PRIMARY KEY, label TEXT, raw BYTEA)"))
    yield engine
    engine.dispose()


class _Counting:
    """A DBAPI cursor that counts its statements."""

    def __init__(self, cursor: Any) -> None:
        self.cursor = cursor
        self.statements = 0

    def execute(self, sql: str, params: Sequence[Any]) -> None:
        self.statements += 1
        self.cursor.execute(sql, params)


def _rows(count: int) -> list[tuple[int, str | None, bytes]]:
    return [(n, None if n % 7 == 0 else f"row-{n}", bytes([n % 256]) * 3) for n in range(count)]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(count=st.one_of(st.integers(0, 300), st.sampled_from([1, 127, 128, 129, 256, 257])))
def test_every_row_lands_once_in_order(scratch: Engine, count: int) -> None:
    insert = RowsInsert(scratch.dialect, "scratch", ("n", "label", "raw"))
    rows = _rows(count)
    with scratch.begin() as conn:
        conn.execute(text("DELETE FROM scratch"))
        cursor = _Counting(conn.connection.cursor())
        insert.run(cursor, rows)
        stored = conn.execute(text("SELECT n, label, raw FROM scratch ORDER BY n")).all()
    assert [(n, label, bytes(raw)) for n, label, raw in stored] == rows
    # One statement per power of two in the count (at most MAX_ROWS rows each).
    full, rest = divmod(count, RowsInsert.MAX_ROWS)
    assert cursor.statements == full + rest.bit_count()


def test_a_row_of_the_wrong_width_is_refused_not_shifted(scratch: Engine) -> None:
    insert = RowsInsert(scratch.dialect, "scratch", ("n", "label", "raw"))
    with pytest.raises(ValueError, match="exactly 3 values"), scratch.begin() as conn:
        insert.run(conn.connection.cursor(), [(1, "a", b""), (2, "b"), (3, "c", b"", 4)])


def test_wide_tables_stay_under_the_parameter_limit(scratch: Engine) -> None:
    for width in (1, 2, 7, 8, 20, 999, 1000):
        insert = RowsInsert(scratch.dialect, "scratch", [f"c{i}" for i in range(width)])
        assert insert.max_rows * width <= max(RowsInsert.MAX_PARAMETERS, width)
        assert insert.max_rows >= 1


def test_a_failing_row_fails_the_statement_inside_the_transaction(scratch: Engine) -> None:
    insert = RowsInsert(scratch.dialect, "scratch", ("n", "label", "raw"))
    with pytest.raises(Exception), scratch.begin() as conn:  # noqa: B017 - driver-specific
        insert.run(conn.connection.cursor(), [*_rows(5), (3, "again", b"")])
    with scratch.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM scratch")).scalar() == 0
