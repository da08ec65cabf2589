"""Backend selection: the same Ibis expressions run on DuckDB (default) or on local/cluster Spark.

Inputs arrive as Arrow tables (read at the edge, see ``inputs``), or already inside DuckDB: a
folder is read into ``DUCKDB_DATABASE``, one in-process database that the DuckDB engine shares, so
10M events are scored where they were checked instead of crossing Arrow twice. ``Engine.inputs``
makes them Ibis tables on the chosen backend, and ``Engine.fetch`` brings a (small) result back
as pandas.

Times are naive UTC timestamps on both backends (Spark's session time zone is pinned to UTC), so
day boundaries and hours mean the same thing everywhere.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import ibis
import pandas as pd
import pyarrow as pa
from ibis.expr.types import Table

from custodes.detect.duck import (
    DUCKDB_DATABASE,
    DUCKDB_MEMORY_LIMIT,
    duckdb_connection,
    spill_directory,
)
from custodes.detect.errors import BackendError
from custodes.detect.spark_inputs import SparkInputs
from custodes.detect.tables import Inputs

__all__ = [
    "BACKENDS",
    "DUCKDB_DATABASE",
    "DUCKDB_MEMORY_LIMIT",
    "Engine",
    "connect",
    "duckdb_connection",
    "engine",
    "spark_session",
    "spill_directory",
]

BackendName = Literal["duckdb", "spark"]
BACKENDS: tuple[str, ...] = ("duckdb", "spark")


@dataclass
class Engine:
    """An Ibis connection plus the bookkeeping to register inputs under unique names."""

    name: str
    con: Any
    spark: Any = None
    _count: int = field(default=0)
    _held: list[Any] = field(default_factory=list)

    def inputs(self, inputs: Inputs | SparkInputs) -> dict[str, Table]:
        """The canonical input tables on this backend (used in place when DuckDB holds them,
        or when Spark read them itself)."""
        if isinstance(inputs, SparkInputs):
            if self.name != "spark":
                raise BackendError("inputs read by Spark can only be scored on the spark backend")
            return {name: self.view(name, inputs.frames[name]) for name in inputs.NAMES}
        resident = inputs.resident
        if self.name == "duckdb" and resident is not None and resident.visible_to(self.con.con):
            # Tables used in place must outlive the caller's `Inputs`: the engine holds them.
            self._held.append(resident)
            return {name: self.con.table(name, database=resident.schema) for name in inputs.NAMES}
        return {name: self.register(name, inputs.arrow(name)) for name in inputs.NAMES}

    def register(self, name: str, table: pa.Table) -> Table:
        """Put an Arrow table on the backend and return it as an Ibis table."""
        self._count += 1
        unique = f"{name}_{self._count}"
        if self.name == "duckdb":
            return self.con.create_table(unique, table, temp=True)
        # Straight from Arrow: through pandas a nullable integer column would become float.
        return self.view(name, self.spark.createDataFrame(table, schema=_spark_schema(table)))

    def view(self, name: str, frame: Any) -> Table:
        """A Spark DataFrame as an Ibis table (a temporary view under a unique name)."""
        self._count += 1
        unique = f"{name}_{self._count}"
        frame.createOrReplaceTempView(unique)
        return self.con.table(unique)

    def materialize(self, name: str, expr: Table) -> Table:
        """Compute an intermediate once (a temp table) so later expressions reuse it."""
        self._count += 1
        unique = f"{name}_{self._count}"
        if self.name == "duckdb":
            return self.con.create_table(unique, expr, temp=True)
        frame = self.con.raw_sql(self.con.compile(expr)).cache()
        frame.count()
        frame.createOrReplaceTempView(unique)
        return self.con.table(unique)

    def derive(self, name: str, expr: Table) -> Table:
        """A cheap per-row derivation: DuckDB computes it where used, Spark caches it once.

        On DuckDB it is a view, so each query scans the inputs itself rather than sharing a
        10M-row intermediate result.
        """
        if self.name != "duckdb":
            return self.materialize(name, expr)
        self._count += 1
        unique = f"{name}_{self._count}"
        self.con.raw_sql(f'CREATE TEMP VIEW "{unique}" AS {self.con.compile(expr)}')
        return self.con.table(unique, database=("temp", "main"))

    def fetch(self, expr: Table) -> pd.DataFrame:
        """Run an expression and return its (small) result as pandas."""
        return self.con.execute(expr)

    def close(self) -> None:
        self._held.clear()  # the inputs' tables may go once nothing else holds them
        if self.name == "duckdb":
            self.con.disconnect()


def _spark_schema(table: pa.Table) -> Any:
    """The Spark schema for an input table (strings, integers, floats and booleans only)."""
    from pyspark.sql import types as st

    def kind(t: pa.DataType) -> Any:
        if pa.types.is_string(t) or pa.types.is_large_string(t):
            return st.StringType()
        if pa.types.is_boolean(t):
            return st.BooleanType()
        if pa.types.is_int32(t):
            return st.IntegerType()
        if pa.types.is_integer(t):
            return st.LongType()
        if pa.types.is_floating(t):
            return st.DoubleType()
        raise TypeError(f"unsupported input column type {t}")

    return st.StructType([st.StructField(f.name, kind(f.type), True) for f in table.schema])


def spark_session(master: str = "local[2]") -> Any:
    """A small local Spark session pinned to UTC (pyspark is the optional extra ``spark``)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:  # pragma: no cover - depends on the install
        raise BackendError(
            "the spark backend needs pyspark: pip install 'custodes[spark]' (and Java 17)"
        ) from None
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    # Spark's scratch tables go to a temporary folder, never into the working directory.
    warehouse = tempfile.mkdtemp(prefix="custodes-spark-")
    return (
        SparkSession.builder.master(master)
        .config("spark.sql.warehouse.dir", warehouse)
        .appName("custodes-detect")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.ansi.enabled", "false")
        .config("spark.driver.memory", "2g")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        # How long Spark's result server waits for this process to connect. At the default
        # (15 s), a loaded machine missed it once; the server thread then died without
        # answering and the collect waited forever (seen in `make test`, 2026-12-05).
        .config("spark.python.authenticate.socketTimeout", "300s")
        .getOrCreate()
    )


def connect(backend: str = "duckdb", *, spark: Any = None, threads: int | None = None) -> Engine:
    """An engine for ``backend``; pass an existing SparkSession to reuse one."""
    if backend == "duckdb":
        con = ibis.duckdb.from_connection(duckdb_connection())
        # Intermediate tables are sets: nothing downstream relies on their row order.
        con.raw_sql("SET SESSION preserve_insertion_order = false")
        if threads:
            con.raw_sql(f"SET threads = {int(threads)}")
        return Engine("duckdb", con)
    if backend == "spark":
        session = spark or spark_session()
        return Engine("spark", ibis.pyspark.connect(session), spark=session)
    raise BackendError(f"unknown backend {backend!r}; expected one of {', '.join(BACKENDS)}")


@contextmanager
def engine(backend: str = "duckdb", *, spark: Any = None) -> Iterator[Engine]:
    """``with engine("duckdb") as e: ...`` closes DuckDB afterwards (a Spark session is kept)."""
    e = connect(backend, spark=spark)
    try:
        yield e
    finally:
        e.close()
