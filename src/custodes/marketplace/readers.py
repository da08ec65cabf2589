"""Whole-table reads of the marketplace's reference data, for analytics (detection).

The marketplace owns these tables; other packages read them through here instead of naming
them in SQL, so a renamed column breaks in one place. Rows are plain dicts of column values.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Table, select

from custodes.marketplace.models import (
    Case,
    Customer,
    Employee,
    ImportedAccessEvent,
    Order,
    OutsideSignal,
    Product,
    Review,
    Seller,
)

REFERENCE_TABLES = {
    "employees": Employee,
    "customers": Customer,
    "sellers": Seller,
    "products": Product,
    "orders": Order,
    "reviews": Review,
    "cases": Case,
}
"""The reference tables by name (the dataset folder's file names without ``.csv``)."""


def _rows(
    conn: Connection, table: Table, columns: Sequence[str], order: str | None
) -> list[dict[str, Any]]:
    query = select(*(table.c[c] for c in columns))
    if order is not None:
        query = query.order_by(table.c[order])
    return [dict(row._mapping) for row in conn.execute(query)]


def reference_rows(conn: Connection, name: str, columns: Sequence[str]) -> list[dict[str, Any]]:
    """Every row of reference table ``name`` (e.g. ``"employees"``), only ``columns``."""
    table = REFERENCE_TABLES[name].__table__
    assert isinstance(table, Table)
    return _rows(conn, table, columns, None)


ACCESS_EVENT_COLUMNS = (
    "event_id",
    "time",
    "employee_id",
    "action",
    "customer_ids",
    "seller_id",
    "product_id",
    "review_id",
    "case_id",
    "fields",
    "justification",
)
SIGNAL_COLUMNS = ("signal_id", "time", "kind", "seller_id", "customer_id", "email_index")


def imported_access_events(conn: Connection) -> list[dict[str, Any]]:
    """Imported access events in id order (``customer_ids`` and ``fields`` as JSON text)."""
    table = ImportedAccessEvent.__table__
    assert isinstance(table, Table)
    return _rows(conn, table, ACCESS_EVENT_COLUMNS, "event_id")


def outside_signals(conn: Connection) -> list[dict[str, Any]]:
    """Imported outside signals (a reported e-mail only as its blind index, ``email_index``)."""
    table = OutsideSignal.__table__
    assert isinstance(table, Table)
    return _rows(conn, table, SIGNAL_COLUMNS, None)
