"""Engines and transactions: SQLite in WAL mode with foreign keys, or PostgreSQL via psycopg 3."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

from sqlalchemy import CursorResult, Engine, Result, create_engine, event
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.orm import Session, sessionmaker


@lru_cache(maxsize=256)
def _render(paramstyle: str, text: str) -> str:
    return text if paramstyle == "qmark" else text.replace("?", "%s")


def driver_sql(dialect: Dialect, text: str) -> str:
    """Hot-path SQL is written once with `?` placeholders and sent straight to the driver;
    this renders it in the dialect's own style (sqlite: ?, psycopg: %s), cached."""
    return _render(dialect.paramstyle, text)


def insert_sql(dialect: Dialect, table: str, columns: Sequence[str]) -> str:
    """A plain INSERT for `executemany` on the driver."""
    marks = ", ".join("?" for _ in columns)
    return driver_sql(dialect, f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})")


class RowsInsert:
    """Many rows as a few multi-row INSERTs (`VALUES (…), (…), …`) instead of `executemany`.

    Why: SQLite's driver lets go of the interpreter lock around every row `executemany` steps,
    and takes it back after each one; a thread committing beside a busy event loop then waits
    for the lock once per row (bench/README.md, "Stop 14"). Rows go in chunks whose sizes are
    powers of two (at most `MAX_ROWS`), so a handful of statement texts serve every batch size
    and stay in the driver's statement cache."""

    MAX_ROWS = 128
    MAX_PARAMETERS = 999  # SQLite's oldest default limit; PostgreSQL allows 65,535

    def __init__(self, dialect: Dialect, table: str, columns: Sequence[str]) -> None:
        self.width = len(columns)
        fit = max(1, self.MAX_PARAMETERS // self.width)
        self.max_rows = min(self.MAX_ROWS, 1 << (fit.bit_length() - 1))
        one = "(" + ", ".join("?" for _ in columns) + ")"
        head = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
        self._sql = {
            n: driver_sql(dialect, head + ", ".join(one for _ in range(n)))
            for n in (1 << k for k in range(self.max_rows.bit_length()))
        }

    def run(self, cursor: Any, rows: Sequence[Sequence[Any]]) -> None:
        """Insert `rows` on a DBAPI cursor, in order (ValueError if a row has the wrong number
        of values: flattened, it would shift values into the next row's columns)."""
        start, left = 0, len(rows)
        while left:
            n = min(self.max_rows, 1 << (left.bit_length() - 1))
            values = [v for row in rows[start : start + n] for v in row]
            if len(values) != n * self.width:
                raise ValueError(f"every row needs exactly {self.width} values")
            cursor.execute(self._sql[n], values)
            start += n
            left -= n


def normalise_url(url: str) -> str:
    """Route plain `postgresql://` URLs to psycopg 3, the only PostgreSQL driver we ship."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    # FULL: a commit is on disk before we acknowledge it (the ledger promises durability).
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def make_engine(url: str) -> Engine:
    """Create an engine; for SQLite, make the parent folder and turn on WAL and foreign keys."""
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # A larger pool: overflow connections are closed after use, and reopening one repeats
        # the PRAGMAs; under concurrent requests that churn costs more than idle connections.
        engine = create_engine(
            url, connect_args={"check_same_thread": False}, pool_size=20, max_overflow=20
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        # Let SQLAlchemy own BEGIN so SAVEPOINTs and rollbacks behave (pysqlite quirk).
        event.listen(engine, "connect", _disable_pysqlite_begin)
        event.listen(engine, "begin", _begin)
        return engine
    return create_engine(url, pool_pre_ping=True)


READ_ONLY = {"custodes_read_only": True}


def _begin(conn: Any) -> None:
    """Open a real SQLite transaction, except on connections marked read-only: a lone SELECT
    in autocommit mode reads a consistent snapshot anyway, and the hot path saves a statement."""
    options = conn.get_execution_options()
    if options.get("custodes_immediate"):
        conn.exec_driver_sql("BEGIN IMMEDIATE")  # take the write lock now (waits busy_timeout)
    elif not options.get("custodes_read_only"):
        conn.exec_driver_sql("BEGIN")


def _disable_pysqlite_begin(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(engine: Engine, immediate: bool = False) -> Iterator[Session]:
    """One unit of work: commit on success, roll back everything on any error.

    `immediate=True` for a unit that reads and then writes and may race other processes: on
    SQLite it takes the write lock at BEGIN (waiting for it), instead of failing at once with
    "database is locked" when a read transaction cannot be upgraded."""
    bind = engine.execution_options(custodes_immediate=True) if immediate else engine
    with Session(bind, expire_on_commit=False) as session, session.begin():
        yield session


def sqlite_path(url: str) -> Path | None:
    """The SQLite database file a URL names, or None for other backends and in-memory ones."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def rows_changed(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE touched (its cursor's rowcount): the typed way to ask
    the result of `session.execute(update(...))`, which SQLAlchemy types as a plain Result."""
    return cast(CursorResult[Any], result).rowcount
