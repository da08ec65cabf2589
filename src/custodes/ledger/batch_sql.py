"""The statements one batch runs, as driver SQL on the connection's own DBAPI cursor (inside
the transaction SQLAlchemy began): a batch runs for every few requests, and SQLAlchemy's
statement machinery cost more than the nine statements themselves (bench/README.md)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert
from sqlalchemy.engine import Dialect

from custodes.ledger.appends import Item
from custodes.ledger.compact import CompactRange
from custodes.ledger.errors import GuardRefused
from custodes.ledger.models import LedgerAccessIndex, LedgerCheckpoint, LedgerHead, node_key
from custodes.ledger.rfc6962 import EMPTY_ROOT, leaf_hash
from custodes.ledger.storage import LOG_ID, Head
from custodes.ledger.window_cache import WindowCache
from custodes.store.engine import RowsInsert, driver_sql, insert_sql

_INDEX_COLUMNS = ("idx", "actor", "subject_kind", "subject_id", "action", "decision", "time")


def _identity(value: object) -> object:
    return value


def _run(conn: Connection, sql: str, params: Sequence[object] = ()) -> Any:
    """One statement on the DBAPI cursor of `conn` (same connection, same transaction)."""
    cursor = conn.connection.cursor()
    cursor.execute(sql, params)
    return cursor


def _run_many(conn: Connection, insert: RowsInsert, rows: Sequence[Sequence[object]]) -> None:
    cursor = conn.connection.cursor()
    insert.run(cursor, rows)
    cursor.close()


class BatchStatements:
    """Head, entries, nodes, index rows and checkpoints, for one dialect."""

    def __init__(self, dialect: Dialect) -> None:
        self.entry = RowsInsert(dialect, "ledger_entries", ("idx", "data"))
        self.node = RowsInsert(dialect, "ledger_nodes", ("node_key", "hash"))
        self.index = RowsInsert(dialect, "ledger_access_index", _INDEX_COLUMNS)
        self.touch = driver_sql(dialect, "UPDATE ledger_head SET size = size WHERE log_id = ?")
        self.head = driver_sql(dialect, "SELECT size, root FROM ledger_head WHERE log_id = ?")
        self.set_head_sql = driver_sql(
            dialect, "UPDATE ledger_head SET size = ?, root = ? WHERE log_id = ?"
        )
        self.checkpoint = insert_sql(dialect, "ledger_checkpoints", ("size", "note", "created_at"))
        self.has_checkpoint_sql = driver_sql(
            dialect, "SELECT 1 FROM ledger_checkpoints WHERE size = ?"
        )
        time_type = LedgerAccessIndex.__table__.c.time.type
        created_type = LedgerCheckpoint.__table__.c.created_at.type
        self.bind_time: Callable[[object], object] = (
            time_type._cached_bind_processor(dialect) or _identity
        )
        self.bind_created: Callable[[object], object] = (
            created_type._cached_bind_processor(dialect) or _identity
        )

    def lock_head(self, conn: Connection) -> Head:
        """The stored head, read after a write to its row: that write takes the database's
        write lock first, so nobody appends between this read and the batch's commit."""
        if not _run(conn, self.touch, (LOG_ID,)).rowcount:
            conn.execute(insert(LedgerHead).values(log_id=LOG_ID, size=0, root=EMPTY_ROOT))
        size, root = _run(conn, self.head, (LOG_ID,)).fetchone()
        return Head(int(size), bytes(root))

    def set_head(self, conn: Connection, size: int, root: bytes) -> None:
        _run(conn, self.set_head_sql, (size, root, LOG_ID)).close()

    def has_checkpoint(self, conn: Connection, size: int) -> bool:
        return _run(conn, self.has_checkpoint_sql, (size,)).fetchone() is not None

    def store_checkpoint(self, conn: Connection, size: int, note: str) -> None:
        """Keep a signed checkpoint unless one of that size is stored already."""
        if not self.has_checkpoint(conn, size):
            created = self.bind_created(datetime.now(UTC))
            _run(conn, self.checkpoint, (size, note, created)).close()

    def write_items(
        self, conn: Connection, working: CompactRange, items: Sequence[Item], windows: WindowCache
    ) -> tuple[int, list[int | GuardRefused]]:
        """Entries, nodes and index rows; guards see every earlier item of the batch (in the
        database, or in `windows`, which learns every accepted item's rows).
        Returns how many were accepted and, per item, its index or the refusal."""
        results: list[int | GuardRefused] = []
        entry_rows: list[tuple[int, bytes]] = []
        node_rows: list[tuple[int, bytes]] = []
        index_rows: list[tuple[object, ...]] = []
        bind_time = self.bind_time

        def flush() -> None:  # the guard's SQL must see this batch's earlier rows
            if index_rows:
                _run_many(conn, self.index, index_rows)
                index_rows.clear()

        for item in items:
            if item.guards and not windows.all_hold(conn, item.guards, flush):
                results.append(GuardRefused("the entry's condition no longer holds"))
                continue
            windows.add(item.rows)
            idx = working.size
            for level, index, digest in working.append(leaf_hash(item.data)):
                node_rows.append((node_key(level, index), digest))
            entry_rows.append((idx, item.data))
            index_rows.extend(
                (
                    idx,
                    *(r["actor"], r["subject_kind"], r["subject_id"], r["action"], r["decision"]),
                    bind_time(r["time"]),
                )
                for r in item.rows
            )
            results.append(idx)
        if entry_rows:
            # Plain driver SQL: the hot path, without per-row ORM/Core overhead.
            _run_many(conn, self.entry, entry_rows)
            _run_many(conn, self.node, node_rows)
        if index_rows:
            _run_many(conn, self.index, index_rows)
        return len(entry_rows), results
