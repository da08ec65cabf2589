"""The canonical tables (``tables.SCHEMAS``) built from a checked folder's raw tables, in DuckDB.

Runs after ``inputs`` has read and checked every file into ``raw_*`` temporary tables and the
parsed ``access`` table; builds the canonical tables in the folder's own schema, then drops the
raw ones, so only what detection needs (no e-mails, no phones) stays resident.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from custodes.dataset.schema import ACCESS_FILE, CSV_COLUMNS, SIGNALS_FILE
from custodes.dataset.sql_checks import iso_seconds as epoch_sql
from custodes.detect.tables import SCHEMAS

_SQL_TYPES: dict[pa.DataType, str] = {
    pa.string(): "VARCHAR",
    pa.int64(): "BIGINT",
    pa.int32(): "INTEGER",
    pa.bool_(): "BOOLEAN",
}


def _table(
    db: duckdb.DuckDBPyConnection, s: str, name: str, sql: str, order: str | None = "1"
) -> None:
    """Create canonical table ``name`` from ``sql``, typed as ``SCHEMAS`` says."""
    casts = ", ".join(f"{f.name}::{_SQL_TYPES[f.type]} AS {f.name}" for f in SCHEMAS[name])
    order_by = f" ORDER BY {order}" if order else ""
    db.execute(f"CREATE TABLE {s}.{name} AS SELECT {casts} FROM ({sql}){order_by}")


def _events(db: duckdb.DuckDBPyConnection, s: str) -> None:
    """Events are a view of the parsed file: ids and evidence come from the row ids."""
    db.execute(
        f"CREATE VIEW {s}.events AS SELECT rowid AS event_id, '{ACCESS_FILE}:' || "
        "(rowid + 1) AS evidence, ts, employee_id, action, seller_id, product_id, review_id, "
        "case_id, justification, n_fields, n_customers, reveal, NULL::VARCHAR AS approver_id "
        f"FROM {s}.access"
    )
    # A list of one (never NULL: checked) is distinct already, and list_distinct is costly.
    once = "CASE WHEN len(customer_ids) > 1 THEN list_distinct(customer_ids) ELSE customer_ids END"
    _table(
        db,
        s,
        "event_customers",
        f"SELECT rowid AS event_id, unnest({once}) AS customer_id FROM {s}.access",
        order=None,  # the file's order, as the events
    )
    db.execute(f"ALTER TABLE {s}.access DROP COLUMN customer_ids")
    db.execute(f"ALTER TABLE {s}.access DROP COLUMN time")


def _reference(db: duckdb.DuckDBPyConnection, s: str) -> None:
    t = epoch_sql
    queries = {
        "employees": f"SELECT employee_id, role, team, manager_id, {t('hired_at')} AS hired_ts, "
        f"{t('left_at')} AS left_ts, region FROM raw_employees",
        "customers": f"SELECT customer_id, {t('created_at')} AS created_ts FROM raw_customers",
        "sellers": f"SELECT seller_id, status, {t('banned_at')} AS banned_ts FROM raw_sellers",
        "products": "SELECT product_id, seller_id, category FROM raw_products",
        "orders": "SELECT order_id, customer_id, product_id, seller_id, "
        f"{t('ordered_at')} AS ordered_ts FROM raw_orders",
        "reviews": "SELECT review_id, customer_id, product_id, seller_id, rating, "
        f"{t('created_at')} AS created_ts, status, {t('removed_at')} AS removed_ts, "
        "removed_by FROM raw_reviews",
        "cases": "SELECT case_id, kind, employee_id, customer_id, seller_id, "
        f"{t('opened_at')} AS opened_ts, {t('closed_at')} AS closed_ts FROM raw_cases",
    }
    for name, sql in queries.items():
        _table(db, s, name, sql)


def _signals(db: duckdb.DuckDBPyConnection, s: str) -> None:
    """A reported e-mail is matched to a customer here, then forgotten."""
    _table(
        db,
        s,
        "signals",
        f"SELECT s.line - 1 AS signal_id, '{SIGNALS_FILE}:' || s.line AS evidence, "
        f"{epoch_sql('s.time')} AS ts, s.kind, s.seller_id, "
        "coalesce(s.customer_id, c.customer_id) AS customer_id FROM raw_signals s "
        "LEFT JOIN (SELECT lower(email) AS email, min(customer_id) AS customer_id "
        "FROM raw_customers WHERE email IS NOT NULL GROUP BY 1) c "
        "ON lower(s.email) = c.email",
        order="signal_id",
    )


def build_canonical(db: duckdb.DuckDBPyConnection, schema: str) -> None:
    """The canonical tables in ``schema``, then the raw ones dropped (only the canonical stay)."""
    _events(db, schema)
    _reference(db, schema)
    _signals(db, schema)
    for name in (*(n.removesuffix(".csv") for n in CSV_COLUMNS), "signals"):
        db.execute(f"DROP TABLE raw_{name}")
