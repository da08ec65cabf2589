"""Plain driver reads for the per-request hot path (a reveal's facts, its vault row, the canary
check): a tuple list from one statement, nothing else.

Why not `engine.connect().exec_driver_sql(...)`: on a reveal, SQLAlchemy's connection checkout,
execution options and result set-up cost several times the microsecond SQLite queries they
wrap (bench/README.md, "Where a signed reveal's time goes"). On a SQLite file each thread keeps
one read-only connection of its own (`query_only`, autocommit: each statement reads the newest
committed snapshot, as the pooled connections marked `READ_ONLY` did); elsewhere (PostgreSQL,
in-memory SQLite) a pooled DBAPI connection is borrowed for the statement and given back.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine

from custodes.store.engine import driver_sql, sqlite_path

Row = tuple[Any, ...]


class HotReader:
    """Reads `?`-placeholder SQL straight through the driver; see the module docstring."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect
        self._path = sqlite_path(engine.url.render_as_string(hide_password=False))
        self._local = threading.local()

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Every row of one SELECT."""
        if self._path is not None:
            return self._sqlite().execute(sql, tuple(params)).fetchall()
        return self._pooled(driver_sql(self.dialect, sql), params)

    def first(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        """The first row of one SELECT, or None."""
        if self._path is not None:
            row: Row | None = self._sqlite().execute(sql, tuple(params)).fetchone()
            return row
        found = self._pooled(driver_sql(self.dialect, sql), params)
        return found[0] if found else None

    def _sqlite(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(str(self._path), isolation_level=None, check_same_thread=True)
            conn.execute("PRAGMA busy_timeout=10000")
            conn.execute("PRAGMA query_only=ON")  # the hot path reads; it can never write
            self._local.conn = conn
        return conn

    def _pooled(self, sql: str, params: Sequence[Any]) -> list[Row]:
        raw = self.engine.raw_connection()
        try:
            cursor = raw.cursor()
            try:
                cursor.execute(sql, tuple(params))
                return [tuple(row) for row in cursor.fetchall()]
            finally:
                cursor.close()
        finally:
            raw.close()  # back to the pool, which rolls back the read's transaction
