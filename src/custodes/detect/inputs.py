"""Detection inputs: a dataset folder, the database's imported tables, or ledgered decisions.

Every source becomes the same ``Inputs``: Arrow tables with fixed columns (below), times as
integer seconds since the Unix epoch (UTC), so DuckDB and Spark cannot disagree about time zones.
Access events carry an ``evidence`` reference that an investigator can resolve:
``access.jsonl:LINE`` for a dataset folder, ``db:imported_access_events:ID`` for the database,
``ledger:INDEX`` for ledgered decisions (``events_from_records``). PII never enters: customers
keep only their id and signup time; a reported e-mail in ``signals.jsonl`` is resolved to a
customer id here and then dropped.

Reading a folder is vectorised (DuckDB reads the files; nothing loops per line in Python). When a
check fails, the folder is re-read by ``custodes.dataset.reader`` to name the exact file and line
with the reader's own message, so bad input reads the same for ``import`` and ``detect``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from custodes.dataset.reader import read_dataset
from custodes.dataset.schema import ACCESS_FILE, ACCESS_KEYS, CSV_COLUMNS, SIGNALS_FILE
from custodes.errors import InputError
from custodes.marketplace.models import (
    ACCESS_ACTIONS,
    CASE_KINDS,
    EMPLOYEE_ROLES,
    REVIEW_STATUSES,
    SELLER_STATUSES,
    SIGNAL_KINDS,
)

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
MEMORY_LIMIT = "4GB"  # DuckDB spills to disk beyond this while reading a folder
REVEALING_ACTIONS = ("customer.export",)
"""Actions that disclose PII even without listed fields (views disclose the listed fields)."""


@dataclass
class Inputs:
    """Arrow tables in the canonical shape, ready to register on a backend."""

    events: pa.Table
    event_customers: pa.Table
    employees: pa.Table
    customers: pa.Table
    sellers: pa.Table
    products: pa.Table
    orders: pa.Table
    reviews: pa.Table
    cases: pa.Table
    signals: pa.Table

    def tables(self) -> dict[str, pa.Table]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def counts(self) -> dict[str, int]:
        return {name: t.num_rows for name, t in self.tables().items()}


def _sql_list(values: Iterable[str]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


def _ts(expr: str) -> str:
    """ISO 8601 text with an explicit offset → epoch seconds (NULL when unparseable)."""
    return (
        f"CASE WHEN regexp_matches({expr}, '(Z|[+-][0-9]{{2}}(:?[0-9]{{2}})?)$') "
        f"THEN floor(epoch(TRY_CAST({expr} AS TIMESTAMPTZ)))::BIGINT END"
    )


def _bad_ts(expr: str) -> str:
    """True when a non-empty time cell does not parse as an offset-carrying ISO time."""
    return f"({expr} IS NOT NULL AND ({_ts(expr)}) IS NULL)"


class _FolderReader:
    """Vectorised reading and checking of one dataset folder inside a private DuckDB."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.db = duckdb.connect()
        self.db.execute("SET TimeZone = 'UTC'")
        self.db.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
        self.db.execute("SET preserve_insertion_order = true")

    def close(self) -> None:
        self.db.close()

    def fail(self, file: str, problem: str) -> None:
        """A check failed: let the dataset reader name the line; else report the file."""
        read_dataset(self.folder)  # raises DatasetError("file:line: ...") for the first problem
        raise InputError(f"{file}: {problem}")

    def csv(self, name: str) -> None:
        path = self.folder / name
        if not path.exists():
            raise InputError(f"{name}: file missing from the dataset folder")
        table = name.removesuffix(".csv")
        try:
            self.db.execute(
                f"CREATE TABLE raw_{table} AS SELECT * FROM read_csv(?, header = true, "
                "all_varchar = true, quote = '\"', escape = '\"', strict_mode = true)",
                [str(path)],
            )
            columns = {r[0] for r in self.db.execute(f"DESCRIBE raw_{table}").fetchall()}
        except duckdb.Error:
            self.fail(name, "malformed CSV")
            return
        missing = [c for c in CSV_COLUMNS[name] if c not in columns]
        if missing:
            self.fail(name, f"missing column(s): {', '.join(missing)}")

    def check(self, file: str, sql: str, problem: str) -> None:
        """Fail when ``sql`` (a COUNT of bad rows) is not zero."""
        (bad,) = self.db.execute(sql).fetchall()[0]
        if bad:
            self.fail(file, problem)

    def unique(self, table: str, column: str) -> None:
        self.check(
            f"{table}.csv",
            f"SELECT count(*) - count(DISTINCT {column}) + "
            f"count(*) FILTER ({column} IS NULL) FROM raw_{table}",
            f"duplicate or empty {column}",
        )

    def enum(self, table: str, column: str, allowed: tuple[str, ...]) -> None:
        self.check(
            f"{table}.csv",
            f"SELECT count(*) FROM raw_{table} WHERE {column} IS NULL "
            f"OR {column} NOT IN ({_sql_list(allowed)})",
            f"bad {column}",
        )

    def ref(self, table: str, column: str, target: str, key: str, required: bool) -> None:
        null_bad = f"OR r.{column} IS NULL" if required else ""
        self.check(
            f"{table}.csv",
            f"SELECT count(*) FROM raw_{table} r WHERE (r.{column} IS NOT NULL AND r.{column} "
            f"NOT IN (SELECT {key} FROM raw_{target})) {null_bad}",
            f"unknown or empty {column}",
        )

    def times(self, table: str, *columns: str, required: tuple[str, ...] = ()) -> None:
        for column in columns:
            null_bad = f" OR {column} IS NULL" if column in required else ""
            self.check(
                f"{table}.csv",
                f"SELECT count(*) FROM raw_{table} WHERE {_bad_ts(column)}{null_bad}",
                f"bad {column}",
            )

    def read_reference(self) -> None:
        for name in CSV_COLUMNS:
            self.csv(name)
        self.unique("employees", "employee_id")
        self.enum("employees", "role", EMPLOYEE_ROLES)
        self.ref("employees", "manager_id", "employees", "employee_id", required=False)
        self.times("employees", "hired_at", "left_at")
        self.unique("customers", "customer_id")
        self.check(
            "customers.csv",
            "SELECT count(*) FROM raw_customers WHERE email IS NULL AND phone IS NULL",
            "customer without e-mail or phone",
        )
        self.times("customers", "created_at")
        self.unique("sellers", "seller_id")
        self.enum("sellers", "status", SELLER_STATUSES)
        self.times("sellers", "created_at", "banned_at")
        self.unique("products", "product_id")
        self.ref("products", "seller_id", "sellers", "seller_id", required=True)
        self.unique("orders", "order_id")
        for column, target in (
            ("customer_id", "customers"),
            ("product_id", "products"),
            ("seller_id", "sellers"),
        ):
            self.ref("orders", column, target, column, required=True)
            self.ref("reviews", column, target, column, required=True)
        self.times("orders", "ordered_at", required=("ordered_at",))
        self.unique("reviews", "review_id")
        self.check(
            "reviews.csv",
            "SELECT count(*) FROM raw_reviews WHERE rating IS NULL OR "
            "rating NOT IN ('1', '2', '3', '4', '5')",
            "bad rating",
        )
        self.enum("reviews", "status", REVIEW_STATUSES)
        self.times("reviews", "created_at", "removed_at", required=("created_at",))
        self.ref("reviews", "removed_by", "employees", "employee_id", required=False)
        self.unique("cases", "case_id")
        self.enum("cases", "kind", CASE_KINDS)
        self.ref("cases", "employee_id", "employees", "employee_id", required=True)
        self.ref("cases", "customer_id", "customers", "customer_id", required=False)
        self.ref("cases", "seller_id", "sellers", "seller_id", required=False)
        self.times("cases", "opened_at", "closed_at", required=("opened_at",))

    def read_access(self) -> None:
        path = self.folder / ACCESS_FILE
        if not path.exists():
            raise InputError(f"{ACCESS_FILE}: file missing from the dataset folder")
        columns = {k: "VARCHAR" for k in ACCESS_KEYS}
        columns["customer_ids"] = columns["fields"] = "VARCHAR[]"
        spec = "{" + ", ".join(f"'{k}': '{v}'" for k, v in columns.items()) + "}"
        try:
            # row_number() OVER () follows the scan order, i.e. the file's line order.
            self.db.execute(
                "CREATE TABLE raw_access AS SELECT row_number() OVER () AS line, * FROM "
                f"read_json(?, format = 'newline_delimited', columns = {spec})",
                [str(path)],
            )
            keys = self.db.execute(
                "SELECT DISTINCT unnest(json_keys(json)) FROM read_ndjson_objects(?)", [str(path)]
            ).fetchall()
            (lines,) = self.db.execute(
                "SELECT count(*) FROM read_csv(?, columns = {'j': 'VARCHAR'}, header = false, "
                "delim = '\\x01', quote = '', escape = '', auto_detect = false)",
                [str(path)],
            ).fetchall()[0]
        except duckdb.Error:
            self.fail(ACCESS_FILE, "malformed JSON Lines")
            return
        (rows,) = self.db.execute("SELECT count(*) FROM raw_access").fetchall()[0]
        if rows != lines:
            # Blank lines would shift line numbers; the reader handles them (slowly) instead.
            self.fail(ACCESS_FILE, "blank lines are not supported by the fast reader")
        unknown = sorted({k for (k,) in keys} - set(ACCESS_KEYS))
        if unknown:
            self.fail(ACCESS_FILE, f"unknown key(s): {', '.join(unknown)}")
        a = "raw_access"
        self.check(
            ACCESS_FILE,
            f"SELECT count(*) FROM {a} WHERE time IS NULL OR {_bad_ts('time')}",
            "bad time",
        )
        self.check(
            ACCESS_FILE,
            f"SELECT count(*) FROM {a} WHERE action IS NULL OR action NOT IN "
            f"({_sql_list(ACCESS_ACTIONS)})",
            "unknown action",
        )
        for column, target in (
            ("employee_id", "employees"),
            ("seller_id", "sellers"),
            ("product_id", "products"),
            ("review_id", "reviews"),
            ("case_id", "cases"),
        ):
            null_bad = " OR a.employee_id IS NULL" if column == "employee_id" else ""
            self.check(
                ACCESS_FILE,
                f"SELECT count(*) FROM {a} a WHERE (a.{column} IS NOT NULL AND a.{column} "
                f"NOT IN (SELECT {column} FROM raw_{target})){null_bad}",
                f"unknown {column}",
            )
        self.check(
            ACCESS_FILE,
            f"SELECT count(*) FROM (SELECT unnest(customer_ids) AS c FROM {a}) "
            "WHERE c IS NULL OR c NOT IN (SELECT customer_id FROM raw_customers)",
            "unknown customer_id",
        )

    def read_signals(self) -> None:
        path = self.folder / SIGNALS_FILE
        self.db.execute(
            "CREATE TABLE raw_signals (line BIGINT, time VARCHAR, kind VARCHAR, "
            "seller_id VARCHAR, customer_id VARCHAR, email VARCHAR)"
        )
        if not path.exists() or path.stat().st_size == 0:
            return
        try:
            self.db.execute(
                "INSERT INTO raw_signals SELECT row_number() OVER (), time, kind, seller_id, "
                "customer_id, email FROM read_json(?, format = 'newline_delimited', columns = "
                "{'time': 'VARCHAR', 'kind': 'VARCHAR', 'seller_id': 'VARCHAR', "
                "'customer_id': 'VARCHAR', 'email': 'VARCHAR'})",
                [str(path)],
            )
        except duckdb.Error:
            self.fail(SIGNALS_FILE, "malformed JSON Lines")
        s = "raw_signals"
        self.check(
            SIGNALS_FILE,
            f"SELECT count(*) FROM {s} WHERE time IS NULL OR "
            f"{_bad_ts('time')} OR kind IS NULL OR kind NOT IN ({_sql_list(SIGNAL_KINDS)})"
            " OR (seller_id IS NOT NULL AND seller_id NOT IN (SELECT seller_id FROM "
            "raw_sellers)) OR (customer_id IS NOT NULL AND customer_id NOT IN "
            "(SELECT customer_id FROM raw_customers))",
            "bad signal",
        )

    def arrow(self, sql: str, name: str) -> pa.Table:
        table = self.db.sql(sql).to_arrow_table()
        return table.cast(SCHEMAS[name])

    def build(self) -> Inputs:
        t = _ts
        events = self.arrow(
            f"SELECT line::BIGINT - 1 AS event_id, '{ACCESS_FILE}:' || line AS evidence, "
            f"{t('time')} AS ts, employee_id, action, seller_id, product_id, review_id, "
            "case_id, justification, coalesce(len(fields), 0)::INT AS n_fields, "
            "coalesce(len(customer_ids), 0)::INT AS n_customers, "
            f"(coalesce(len(fields), 0) > 0 OR action IN ({_sql_list(REVEALING_ACTIONS)})) "
            "AS reveal, NULL::VARCHAR AS approver_id FROM raw_access",
            "events",
        )
        event_customers = self.arrow(
            "SELECT line::BIGINT - 1 AS event_id, unnest(list_distinct(customer_ids)) AS "
            "customer_id FROM raw_access",
            "event_customers",
        )
        return Inputs(
            events=events,
            event_customers=event_customers,
            employees=self.arrow(
                f"SELECT employee_id, role, team, manager_id, {t('hired_at')} AS hired_ts, "
                f"{t('left_at')} AS left_ts, region FROM raw_employees ORDER BY 1",
                "employees",
            ),
            customers=self.arrow(
                f"SELECT customer_id, {t('created_at')} AS created_ts "
                "FROM raw_customers ORDER BY 1",
                "customers",
            ),
            sellers=self.arrow(
                f"SELECT seller_id, status, {t('banned_at')} AS banned_ts "
                "FROM raw_sellers ORDER BY 1",
                "sellers",
            ),
            products=self.arrow(
                "SELECT product_id, seller_id, category FROM raw_products ORDER BY 1", "products"
            ),
            orders=self.arrow(
                f"SELECT order_id, customer_id, product_id, seller_id, "
                f"{t('ordered_at')} AS ordered_ts FROM raw_orders ORDER BY 1",
                "orders",
            ),
            reviews=self.arrow(
                f"SELECT review_id, customer_id, product_id, seller_id, rating::INT AS rating, "
                f"{t('created_at')} AS created_ts, status, {t('removed_at')} AS removed_ts, "
                "removed_by FROM raw_reviews ORDER BY 1",
                "reviews",
            ),
            cases=self.arrow(
                f"SELECT case_id, kind, employee_id, customer_id, seller_id, "
                f"{t('opened_at')} AS opened_ts, {t('closed_at')} AS closed_ts "
                "FROM raw_cases ORDER BY 1",
                "cases",
            ),
            # A reported e-mail is matched to a customer here, then forgotten.
            signals=self.arrow(
                f"SELECT s.line::BIGINT - 1 AS signal_id, '{SIGNALS_FILE}:' || s.line AS evidence,"
                f" {t('s.time')} AS ts, s.kind, s.seller_id, "
                "coalesce(s.customer_id, c.customer_id) AS customer_id FROM raw_signals s "
                "LEFT JOIN (SELECT lower(email) AS email, min(customer_id) AS customer_id "
                "FROM raw_customers WHERE email IS NOT NULL GROUP BY 1) c "
                "ON lower(s.email) = c.email ORDER BY s.line",
                "signals",
            ),
        )


def load_folder(folder: Path) -> Inputs:
    """Read and check a dataset folder (DESIGN.md); bad input raises naming file and line."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: not a dataset folder")
    reader = _FolderReader(folder)
    try:
        reader.read_reference()
        reader.read_access()
        reader.read_signals()
        return reader.build()
    finally:
        reader.close()


def events_from_records(
    records: Iterable[Mapping[str, Any]], *, source: str = "ledger"
) -> tuple[pa.Table, pa.Table]:
    """Events (and their customers) from decision records, e.g. ledger entries.

    Each record: ``index`` (its position in the source, used for ``evidence`` =
    ``SOURCE:INDEX``), ``time`` (aware datetime), ``employee_id``, ``action``, ``customer_ids``,
    ``seller_id``, ``product_id``, ``review_id``, ``case_id``, ``fields``, ``justification`` and
    optionally ``approver_id``. Customers may be pseudonyms, as long as reference data uses the
    same ids. This is the seam for ledgered decisions; it builds columns, not per-event logic.
    """
    columns: dict[str, list[Any]] = {f.name: [] for f in SCHEMAS["events"]}
    links: dict[str, list[Any]] = {"event_id": [], "customer_id": []}
    for r in records:
        index = int(r["index"])
        time: datetime = r["time"]
        if time.tzinfo is None:
            raise InputError(f"{source}:{index}: time has no time zone")
        customers = list(r.get("customer_ids") or ())
        n_fields = len(r.get("fields") or ())
        row = {
            "event_id": index,
            "evidence": r.get("evidence") or f"{source}:{index}",
            "ts": int(time.astimezone(UTC).timestamp()),
            "employee_id": r["employee_id"],
            "action": r["action"],
            "seller_id": r.get("seller_id"),
            "product_id": r.get("product_id"),
            "review_id": r.get("review_id"),
            "case_id": r.get("case_id"),
            "justification": r.get("justification"),
            "n_fields": n_fields,
            "n_customers": len(customers),
            "reveal": n_fields > 0 or r["action"] in REVEALING_ACTIONS,
            "approver_id": r.get("approver_id"),
        }
        for k, v in row.items():
            columns[k].append(v)
        for c in dict.fromkeys(customers):
            links["event_id"].append(index)
            links["customer_id"].append(c)
    return (
        pa.table(columns, schema=SCHEMAS["events"]),
        pa.table(links, schema=SCHEMAS["event_customers"]),
    )


LEDGER_EVENT_BASE = 10**12  # ledger events get ids of their own, beside imported event ids
_LEDGER_ACTIONS = frozenset(
    {
        "customer.view",
        "customer.search",
        "customer.export",
        "order.view",
        "review.view",
        "review.delete",
        "seller.view",
        "seller.metrics",
        "seller.reinstate",
        "message.view",
    }
)


def ledger_records(engine: Any) -> list[dict[str, Any]]:
    """Access decisions that the ledger holds as allowed (or executed after approval).

    Customers come from the private access index (raw ids, as the reference data uses), the
    rest from the entry itself; the approver of an executed request from its signed approval.
    Evidence is ``ledger:INDEX``, resolvable to an inclusion proof.
    """
    from sqlalchemy import text

    with engine.connect() as conn:
        entries = conn.execute(text("SELECT idx, data FROM ledger_entries ORDER BY idx")).all()
        subjects = conn.execute(
            text(
                "SELECT idx, subject_id FROM ledger_access_index WHERE subject_kind = "
                "'customer' ORDER BY row_id"
            )
        ).all()
        approvers = dict(
            conn.execute(text("SELECT approval_id, approver_id FROM access_approvals")).all()
        )
    customers: dict[int, list[str]] = {}
    for idx, customer in subjects:
        customers.setdefault(int(idx), []).append(customer)
    out = []
    for idx, data in entries:
        entry = json.loads(bytes(data))
        if entry.get("kind") != "access.decision" or entry.get("action") not in _LEDGER_ACTIONS:
            continue
        if entry.get("decision") != "allow":
            continue
        refs: dict[str, str] = {}
        for resource in entry.get("resources", []):
            kind, _, ident = resource.partition(":")
            refs.setdefault(kind, ident)
        out.append(
            {
                "index": LEDGER_EVENT_BASE + int(idx),
                "evidence": f"ledger:{idx}",
                "time": datetime.fromisoformat(entry["time"].replace("Z", "+00:00")),
                "employee_id": entry["actor"],
                "action": entry["action"],
                "customer_ids": customers.get(int(idx), []),
                "seller_id": refs.get("seller"),
                "product_id": None,
                "review_id": refs.get("review"),
                "case_id": entry.get("case"),
                "fields": entry.get("fields") or [],
                "justification": entry.get("justification"),
                "approver_id": approvers.get(entry.get("approval") or ""),
            }
        )
    return out


def load_database(engine: Any) -> Inputs:
    """The database's imported tables (``custodes import``) as detection inputs.

    Reads whole tables through SQLAlchemy into Arrow (the edge); a signal's reported e-mail is
    matched to a customer through the vault's blind index, never decrypted.
    """
    import pandas as pd
    from sqlalchemy import text

    def frame(sql: str) -> pd.DataFrame:
        with engine.connect() as conn:
            df = pd.read_sql(text(sql), conn)
        return df.astype(object).where(df.notna(), None)  # NULL stays None, not NaN

    def table(sql: str, name: str) -> pa.Table:
        df = frame(sql)
        schema = SCHEMAS[name]
        for f in schema:
            if f.name.endswith("_ts") or f.name == "ts":
                source = f.name.removesuffix("_ts") + "_at" if f.name != "ts" else "time"
                when = pd.to_datetime(df.pop(source), utc=True)
                df[f.name] = (when - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)
        return pa.Table.from_pandas(
            df[[f.name for f in schema]], schema=schema, preserve_index=False
        )

    access = frame(
        "SELECT event_id, time, employee_id, action, customer_ids, seller_id, "
        "product_id, review_id, case_id, fields, justification "
        "FROM imported_access_events ORDER BY event_id"
    )
    records = [
        {
            **row,
            "index": row["event_id"],
            "time": pd.Timestamp(row["time"]).tz_localize("UTC").to_pydatetime()
            if pd.Timestamp(row["time"]).tzinfo is None
            else pd.Timestamp(row["time"]).to_pydatetime(),
            "customer_ids": json.loads(row["customer_ids"] or "[]"),
            "fields": json.loads(row["fields"] or "[]"),
        }
        for row in access.to_dict("records")
    ]
    events, links = events_from_records(records, source="db:imported_access_events")
    ledger_events, ledger_links = events_from_records(ledger_records(engine), source="ledger")
    events = pa.concat_tables([events, ledger_events])
    links = pa.concat_tables([links, ledger_links])
    return Inputs(
        events=events,
        event_customers=links,
        employees=table(
            "SELECT employee_id, role, team, manager_id, hired_at, left_at, region FROM employees",
            "employees",
        ),
        customers=table("SELECT customer_id, created_at FROM customers", "customers"),
        sellers=table("SELECT seller_id, status, banned_at FROM sellers", "sellers"),
        products=table("SELECT product_id, seller_id, category FROM products", "products"),
        orders=table(
            "SELECT order_id, customer_id, product_id, seller_id, ordered_at FROM orders", "orders"
        ),
        reviews=table(
            "SELECT review_id, customer_id, product_id, seller_id, rating, "
            "created_at, status, removed_at, removed_by FROM reviews",
            "reviews",
        ),
        cases=table(
            "SELECT case_id, kind, employee_id, customer_id, seller_id, opened_at, "
            "closed_at FROM cases",
            "cases",
        ),
        # A reported e-mail is stored as its blind index: match it to the customer's.
        signals=table(
            "SELECT s.signal_id, 'db:outside_signals:' || s.signal_id AS evidence, "
            "s.time, s.kind, s.seller_id, coalesce(s.customer_id, b.customer_id) AS "
            "customer_id FROM outside_signals s LEFT JOIN vault_blind_index b ON "
            "b.kind = 'email' AND b.digest = s.email_index",
            "signals",
        ),
    )
