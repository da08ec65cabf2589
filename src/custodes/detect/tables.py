"""The canonical input tables detection reads, whatever the source: their columns and types.

Every source (a dataset folder, the database, ledgered decisions) becomes the same ``Inputs``:
tables with fixed columns (``SCHEMAS``), times as integer seconds since the Unix epoch (UTC), so
DuckDB and Spark cannot disagree about time zones. A folder's tables may stay resident in the
shared DuckDB (``Resident``) instead of being copied out to Arrow.
"""

from __future__ import annotations

import contextlib
import weakref

import duckdb
import pyarrow as pa

TS = pa.int64()  # times are whole seconds since the Unix epoch (UTC) on every backend
STR = pa.string()

# The canonical columns of each input table (what features and signals may rely on).
SCHEMAS: dict[str, pa.Schema] = {
    "events": pa.schema(
        [
            ("event_id", pa.int64()),
            ("evidence", STR),
            ("ts", TS),
            ("employee_id", STR),
            ("action", STR),
            ("seller_id", STR),
            ("product_id", STR),
            ("review_id", STR),
            ("case_id", STR),
            ("justification", STR),
            ("n_fields", pa.int32()),
            ("n_customers", pa.int32()),
            ("reveal", pa.bool_()),
            ("approver_id", STR),
        ]
    ),
    "event_customers": pa.schema([("event_id", pa.int64()), ("customer_id", STR)]),
    "employees": pa.schema(
        [
            ("employee_id", STR),
            ("role", STR),
            ("team", STR),
            ("manager_id", STR),
            ("hired_ts", TS),
            ("left_ts", TS),
            ("region", STR),
        ]
    ),
    "customers": pa.schema([("customer_id", STR), ("created_ts", TS)]),
    "sellers": pa.schema([("seller_id", STR), ("status", STR), ("banned_ts", TS)]),
    "products": pa.schema([("product_id", STR), ("seller_id", STR), ("category", STR)]),
    "orders": pa.schema(
        [
            ("order_id", STR),
            ("customer_id", STR),
            ("product_id", STR),
            ("seller_id", STR),
            ("ordered_ts", TS),
        ]
    ),
    "reviews": pa.schema(
        [
            ("review_id", STR),
            ("customer_id", STR),
            ("product_id", STR),
            ("seller_id", STR),
            ("rating", pa.int32()),
            ("created_ts", TS),
            ("status", STR),
            ("removed_ts", TS),
            ("removed_by", STR),
        ]
    ),
    "cases": pa.schema(
        [
            ("case_id", STR),
            ("kind", STR),
            ("employee_id", STR),
            ("customer_id", STR),
            ("seller_id", STR),
            ("opened_ts", TS),
            ("closed_ts", TS),
        ]
    ),
    "signals": pa.schema(
        [
            ("signal_id", pa.int64()),
            ("evidence", STR),
            ("ts", TS),
            ("kind", STR),
            ("seller_id", STR),
            ("customer_id", STR),
        ]
    ),
}
REVEALING_ACTIONS = ("customer.export",)
"""Actions that disclose PII even without listed fields (views disclose the listed fields)."""


def _drop_schema(con: duckdb.DuckDBPyConnection, schema: str) -> None:
    """Free a folder's tables once nothing refers to them any more."""
    with contextlib.suppress(duckdb.Error):
        con.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    con.close()


class Resident:
    """Canonical tables held in one schema of the shared detection DuckDB (``engine``).

    The schema is dropped (and the connection closed) when the last reference goes, so an
    evaluation that reads folder after folder does not keep every one of them in memory.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, schema: str) -> None:
        self.con = con
        self.schema = schema
        self._finalizer = weakref.finalize(self, _drop_schema, con, schema)
        self._finalizer.atexit = False

    def close(self) -> None:
        """Drop the tables now (a failed read), rather than when the object is collected."""
        self._finalizer()

    def arrow(self, name: str) -> pa.Table:
        table = self.con.sql(f"SELECT * FROM {self.schema}.{name}").to_arrow_table()
        return table.cast(SCHEMAS[name])

    def counts(self) -> dict[str, int]:
        sql = " UNION ALL ".join(
            f"SELECT '{name}', count(*) FROM {self.schema}.{name}" for name in SCHEMAS
        )
        return {name: int(n) for name, n in self.con.execute(sql).fetchall()}

    def visible_to(self, con: duckdb.DuckDBPyConnection) -> bool:
        """True when ``con`` is connected to the database that holds these tables."""
        sql = "SELECT count(*) FROM duckdb_schemas() WHERE schema_name = ?"
        return bool(con.execute(sql, [self.schema]).fetchall()[0][0])


class _ArrowTable:
    """``inputs.events`` and friends: one canonical table as Arrow (exported on first use)."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Inputs | None, objtype: type | None = None) -> pa.Table:
        if obj is None:
            raise AttributeError(self.name)
        return obj.arrow(self.name)


class Inputs:
    """The canonical input tables (``SCHEMAS``): Arrow, or resident in the shared DuckDB.

    A dataset folder is read and checked inside DuckDB and stays there (``resident``), so the
    DuckDB engine scores 10M events in place instead of copying them out to Arrow and back in;
    Arrow is exported only when something asks for it (Spark, comparisons, tests).
    """

    NAMES: tuple[str, ...] = tuple(SCHEMAS)
    events = _ArrowTable()
    event_customers = _ArrowTable()
    employees = _ArrowTable()
    customers = _ArrowTable()
    sellers = _ArrowTable()
    products = _ArrowTable()
    orders = _ArrowTable()
    reviews = _ArrowTable()
    cases = _ArrowTable()
    signals = _ArrowTable()

    def __init__(self, resident: Resident | None = None, **tables: pa.Table) -> None:
        expected = set() if resident is not None else set(self.NAMES)
        if set(tables) - set(self.NAMES) or expected - set(tables):
            raise TypeError(f"Inputs needs exactly the tables {', '.join(self.NAMES)}")
        self.resident = resident
        self._arrow: dict[str, pa.Table] = dict(tables)

    def arrow(self, name: str) -> pa.Table:
        if name not in self._arrow:
            if self.resident is None:
                raise KeyError(name)
            self._arrow[name] = self.resident.arrow(name)
        return self._arrow[name]

    def tables(self) -> dict[str, pa.Table]:
        return {name: self.arrow(name) for name in self.NAMES}

    def counts(self) -> dict[str, int]:
        if self.resident is not None:
            return self.resident.counts()
        return {name: t.num_rows for name, t in self.tables().items()}
