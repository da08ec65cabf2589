"""The shared in-process DuckDB database that folder reading and the DuckDB engine both use.

Kept apart from ``engine`` so the folder reader (below the engine) can open it without
importing the engine that consumes its tables.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile

import duckdb

DUCKDB_DATABASE = ":memory:custodes-detect"
"""Named in-memory database: every connection to it in this process sees the same tables."""
DUCKDB_MEMORY_LIMIT = "5GB"  # DuckDB spills beyond this, keeping a 10M-event run under 8 GiB


@functools.cache
def spill_directory() -> str:
    """Where DuckDB may spill: a private (0700) folder of this process, removed at exit.

    While a folder is read, its raw tables hold the input's e-mails and phones; by default
    DuckDB would spill them to `.tmp` in the working directory and leave them there on a crash.
    """
    path = tempfile.mkdtemp(prefix="custodes-detect-")
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def duckdb_connection() -> duckdb.DuckDBPyConnection:
    """A new connection to the shared detection database (UTC, bounded memory)."""
    con = duckdb.connect(DUCKDB_DATABASE)
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"SET memory_limit = '{DUCKDB_MEMORY_LIMIT}'")
    con.execute("SET temp_directory = ?", [spill_directory()])
    return con
