"""Detection inputs: a dataset folder, the database's imported tables, or ledgered decisions.

Every source becomes the same ``Inputs``: tables with fixed columns (below), times as integer
seconds since the Unix epoch (UTC), so DuckDB and Spark cannot disagree about time zones.
Access events carry an ``evidence`` reference that an investigator can resolve:
``access.jsonl:LINE`` for a dataset folder, ``db:imported_access_events:ID`` for the database,
``ledger:INDEX`` for ledgered decisions (``events_from_records``). PII never enters: customers
keep only their id and signup time; a reported e-mail in ``signals.jsonl`` is resolved to a
customer id here and then dropped.

Reading a folder is vectorised (DuckDB reads the files; nothing loops per line in Python) and
happens in the DuckDB database the engine uses, where the checked tables stay. The checks of a
file run as one aggregate query; when one fails, the folder is re-read by
``custodes.dataset.reader`` to name the exact file and line with the reader's own message, so
bad input reads the same for ``import`` and ``detect``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import uuid
import weakref
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from custodes.dataset.reader import read_dataset
from custodes.dataset.schema import (
    ACCESS,
    ACCESS_FILE,
    ACCESS_KEYS,
    CSV_COLUMNS,
    CSV_FILES,
    SIGNALS,
    SIGNALS_FILE,
)
from custodes.dataset.sql_checks import Check, file_checks, iso_seconds, list_checks, sql_list
from custodes.detect.engine import duckdb_connection, spill_directory
from custodes.errors import InputError
from custodes.marketplace.models import ACCESS_ACTIONS

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


# The dataset rules' SQL is generated from their declaration (custodes.dataset.schema).
_sql_list = sql_list
_ts = iso_seconds


class _FolderReader:
    """Vectorised reading and checking of one dataset folder inside the shared DuckDB.

    Files land in temporary tables of this connection; checks run as one aggregate per file;
    the canonical tables are built in a schema of their own and stay there (``Resident``).
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.db = duckdb_connection()
        # Event ids are row ids, which follow the file's lines only while insertion order holds.
        self.db.execute("SET SESSION preserve_insertion_order = true")
        self.resident = Resident(self.db, f"inputs_{uuid.uuid4().hex[:16]}")
        self.s = self.resident.schema
        self.db.execute(f"CREATE SCHEMA {self.s}")
        self.copies: list[Path] = []

    def fail(self, file: str, problem: str) -> None:
        """A check failed: let the dataset reader name the line; else report the file."""
        read_dataset(self.folder)  # raises DatasetError("file:line: ...") for the first problem
        raise InputError(f"{file}: {problem}")

    def check(self, file: str, table: str, checks: list[Check]) -> None:
        """Run ``checks`` in one pass over ``table``; fail on the first that counts bad rows."""
        sql = ", ".join(count for count, _ in checks)
        counts = self.db.execute(f"SELECT {sql} FROM {table}").fetchall()[0]
        for bad, (_, problem) in zip(counts, checks, strict=True):
            if bad:
                self.fail(file, problem)

    def csv(self, name: str) -> None:
        path = self.folder / name
        if not path.exists():
            raise InputError(f"{name}: file missing from the dataset folder")
        table = name.removesuffix(".csv")
        try:
            self.db.execute(
                f"CREATE TEMP TABLE raw_{table} AS SELECT * FROM read_csv(?, header = true, "
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

    def read_reference(self) -> None:
        for name in CSV_COLUMNS:
            self.csv(name)
        for spec in CSV_FILES:
            self.check(spec.name, f"raw_{spec.table}", file_checks(spec))

    def without_bom(self, path: Path) -> Path:
        """DuckDB's JSON reader refuses a UTF-8 byte-order mark, which the format allows: read
        such a file from a copy without it, in the private spill folder (it holds ids only
        for access.jsonl, but signals may carry e-mails; the folder is 0700 and removed)."""
        with path.open("rb") as handle:
            if handle.read(3) != b"\xef\xbb\xbf":
                return path
            fd, name = tempfile.mkstemp(dir=spill_directory(), suffix=path.suffix)
            with os.fdopen(fd, "wb") as copy:
                shutil.copyfileobj(handle, copy, 1 << 20)
        self.copies.append(Path(name))
        return Path(name)

    def read_access(self) -> None:
        """Parse access.jsonl straight into the columns events need, then check it."""
        path = self.folder / ACCESS_FILE
        if not path.exists():
            raise InputError(f"{ACCESS_FILE}: file missing from the dataset folder")
        path = self.without_bom(path)
        columns = {k: "VARCHAR" for k in ACCESS_KEYS}
        columns["customer_ids"] = columns["fields"] = "VARCHAR[]"
        spec = "{" + ", ".join(f"'{k}': '{v}'" for k, v in columns.items()) + "}"
        n_fields = "coalesce(len(fields), 0)::INT"
        try:
            # Rows keep the file's order, so rowid + 1 is the line (blank lines are refused).
            self.db.execute(
                f"CREATE TABLE {self.s}.access AS SELECT time, {_ts('time')} AS ts, "
                "employee_id, action, seller_id, product_id, review_id, case_id, justification, "
                f"customer_ids, {n_fields} AS n_fields, "
                "coalesce(len(customer_ids), 0)::INT AS n_customers, "
                f"({n_fields} > 0 OR action IN ({_sql_list(REVEALING_ACTIONS)})) AS reveal "
                f"FROM read_json(?, format = 'newline_delimited', columns = {spec})",
                [str(path)],
            )
            # Only lines whose keys are not exactly the documented ones, in order, need a look.
            keys = self.db.execute(
                "SELECT DISTINCT unnest(k) FROM (SELECT json_keys(json) AS k FROM "
                f"read_ndjson_objects(?)) WHERE k <> [{_sql_list(ACCESS_KEYS)}]",
                [str(path)],
            ).fetchall()
            (lines,) = self.db.execute(
                "SELECT count(*) FROM read_csv(?, columns = {'j': 'VARCHAR'}, header = false, "
                "delim = '\\x01', quote = '', escape = '', auto_detect = false)",
                [str(path)],
            ).fetchall()[0]
        except duckdb.Error:
            self.fail(ACCESS_FILE, "malformed JSON Lines")
            return
        (rows,) = self.db.execute(f"SELECT count(*) FROM {self.s}.access").fetchall()[0]
        if rows != lines:
            # Blank lines would shift line numbers; the reader handles them (slowly) instead.
            self.fail(ACCESS_FILE, "blank lines are not supported by the fast reader")
        unknown = sorted({k for (k,) in keys} - set(ACCESS_KEYS))
        if unknown:
            self.fail(ACCESS_FILE, f"unknown key(s): {', '.join(unknown)}")
        self.check(ACCESS_FILE, f"{self.s}.access", file_checks(ACCESS, {"time": "ts"}))
        for items, checks in list_checks(ACCESS, f"{self.s}.access"):
            self.check(ACCESS_FILE, items, checks)

    def read_signals(self) -> None:
        path = self.folder / SIGNALS_FILE
        if path.exists():
            path = self.without_bom(path)
        self.db.execute(
            "CREATE TEMP TABLE raw_signals (line BIGINT, time VARCHAR, kind VARCHAR, "
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
        self.check(SIGNALS_FILE, "raw_signals", file_checks(SIGNALS))

    def table(self, name: str, sql: str, order: str | None = "1") -> None:
        """Create canonical table ``name`` from ``sql``, typed as ``SCHEMAS`` says."""
        casts = ", ".join(f"{f.name}::{_SQL_TYPES[f.type]} AS {f.name}" for f in SCHEMAS[name])
        order_by = f" ORDER BY {order}" if order else ""
        self.db.execute(f"CREATE TABLE {self.s}.{name} AS SELECT {casts} FROM ({sql}){order_by}")

    def build(self) -> None:
        """The canonical tables, then the raw ones dropped (only the canonical stay)."""
        t, s = _ts, self.s
        # Events are a view of the parsed file: ids and evidence come from the row ids.
        self.db.execute(
            f"CREATE VIEW {s}.events AS SELECT rowid AS event_id, '{ACCESS_FILE}:' || "
            "(rowid + 1) AS evidence, ts, employee_id, action, seller_id, product_id, review_id, "
            "case_id, justification, n_fields, n_customers, reveal, NULL::VARCHAR AS approver_id "
            f"FROM {s}.access"
        )
        # A list of one (never NULL: checked) is distinct already, and list_distinct is costly.
        once = (
            "CASE WHEN len(customer_ids) > 1 THEN list_distinct(customer_ids) ELSE customer_ids END"
        )
        self.table(
            "event_customers",
            f"SELECT rowid AS event_id, unnest({once}) AS customer_id FROM {s}.access",
            order=None,  # the file's order, as the events
        )
        self.db.execute(f"ALTER TABLE {s}.access DROP COLUMN customer_ids")
        self.db.execute(f"ALTER TABLE {s}.access DROP COLUMN time")
        self.table(
            "employees",
            f"SELECT employee_id, role, team, manager_id, {t('hired_at')} AS hired_ts, "
            f"{t('left_at')} AS left_ts, region FROM raw_employees",
        )
        self.table(
            "customers",
            f"SELECT customer_id, {t('created_at')} AS created_ts FROM raw_customers",
        )
        self.table(
            "sellers",
            f"SELECT seller_id, status, {t('banned_at')} AS banned_ts FROM raw_sellers",
        )
        self.table("products", "SELECT product_id, seller_id, category FROM raw_products")
        self.table(
            "orders",
            "SELECT order_id, customer_id, product_id, seller_id, "
            f"{t('ordered_at')} AS ordered_ts FROM raw_orders",
        )
        self.table(
            "reviews",
            "SELECT review_id, customer_id, product_id, seller_id, rating, "
            f"{t('created_at')} AS created_ts, status, {t('removed_at')} AS removed_ts, "
            "removed_by FROM raw_reviews",
        )
        self.table(
            "cases",
            "SELECT case_id, kind, employee_id, customer_id, seller_id, "
            f"{t('opened_at')} AS opened_ts, {t('closed_at')} AS closed_ts "
            "FROM raw_cases",
        )
        # A reported e-mail is matched to a customer here, then forgotten.
        self.table(
            "signals",
            f"SELECT s.line - 1 AS signal_id, '{SIGNALS_FILE}:' || s.line AS evidence, "
            f"{t('s.time')} AS ts, s.kind, s.seller_id, "
            "coalesce(s.customer_id, c.customer_id) AS customer_id FROM raw_signals s "
            "LEFT JOIN (SELECT lower(email) AS email, min(customer_id) AS customer_id "
            "FROM raw_customers WHERE email IS NOT NULL GROUP BY 1) c "
            "ON lower(s.email) = c.email",
            order="signal_id",
        )
        for name in (*(n.removesuffix(".csv") for n in CSV_COLUMNS), "signals"):
            self.db.execute(f"DROP TABLE raw_{name}")


_SQL_TYPES: dict[pa.DataType, str] = {
    pa.string(): "VARCHAR",
    pa.int64(): "BIGINT",
    pa.int32(): "INTEGER",
    pa.bool_(): "BOOLEAN",
}


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
        reader.build()
    except BaseException:
        reader.resident.close()
        raise
    finally:
        for copy in reader.copies:
            copy.unlink(missing_ok=True)
    return Inputs(reader.resident)


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
_LEDGER_ACTIONS = frozenset(ACCESS_ACTIONS)  # what the ledger records that detection reads


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
