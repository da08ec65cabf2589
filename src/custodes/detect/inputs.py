"""Detection inputs: a dataset folder read and checked in DuckDB (and, re-exported here, the
database's tables and ledgered decisions, see ``database`` and ``records``).

Every source becomes the same ``Inputs`` (``tables``). Access events carry an ``evidence``
reference that an investigator can resolve: ``access.jsonl:LINE`` for a dataset folder,
``db:imported_access_events:ID`` for the database, ``ledger:INDEX`` for ledgered decisions.
PII never enters: customers keep only their id and signup time; a reported e-mail in
``signals.jsonl`` is resolved to a customer id and then dropped (``canonical``).

Reading a folder is vectorised (DuckDB reads the files; nothing loops per line in Python) and
happens in the DuckDB database the engine uses, where the checked tables stay. The checks of a
file run as one aggregate query; when one fails, the folder is re-read by
``custodes.dataset.reader`` to name the exact file and line with the reader's own message, so
bad input reads the same for ``import`` and ``detect``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterable
from pathlib import Path

import duckdb

from custodes.dataset.reader import read_dataset
from custodes.dataset.schema import ACCESS_FILE, ACCESS_KEYS, CSV_COLUMNS, SIGNALS_FILE
from custodes.detect.canonical import build_canonical
from custodes.detect.canonical import epoch_sql as _ts
from custodes.detect.database import load_database
from custodes.detect.duck import duckdb_connection, spill_directory
from custodes.detect.errors import DetectInputError as InputError
from custodes.detect.records import LEDGER_EVENT_BASE, events_from_records, ledger_records
from custodes.detect.tables import REVEALING_ACTIONS, SCHEMAS, Inputs, Resident
from custodes.marketplace.models import (
    ACCESS_ACTIONS,
    CASE_KINDS,
    EMPLOYEE_ROLES,
    REVIEW_STATUSES,
    SELLER_STATUSES,
    SIGNAL_KINDS,
)

__all__ = [
    "LEDGER_EVENT_BASE",
    "REVEALING_ACTIONS",
    "SCHEMAS",
    "Inputs",
    "Resident",
    "events_from_records",
    "ledger_records",
    "load_database",
    "load_folder",
]


def _sql_list(values: Iterable[str]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


def _bad_ts(expr: str) -> str:
    """True when a non-empty time cell does not parse as an offset-carrying ISO time."""
    return f"({expr} IS NOT NULL AND ({_ts(expr)}) IS NULL)"


Check = tuple[str, str]
"""(an aggregate counting bad rows, the problem it names) — one table's checks run together."""


def _unique(column: str) -> Check:
    sql = f"count(*) - count(DISTINCT {column}) + count(*) FILTER ({column} IS NULL)"
    return sql, f"duplicate or empty {column}"


def _enum(column: str, allowed: tuple[str, ...]) -> Check:
    sql = f"count(*) FILTER ({column} IS NULL OR {column} NOT IN ({_sql_list(allowed)}))"
    return sql, f"bad {column}"


def _ref(column: str, target: str, key: str, required: bool, problem: str = "") -> Check:
    null_bad = f" OR {column} IS NULL" if required else ""
    sql = (
        f"count(*) FILTER (({column} IS NOT NULL AND {column} NOT IN "
        f"(SELECT {key} FROM raw_{target})){null_bad})"
    )
    return sql, problem or f"unknown or empty {column}"


def _time(column: str, required: bool = False) -> Check:
    null_bad = f" OR {column} IS NULL" if required else ""
    return f"count(*) FILTER ({_bad_ts(column)}{null_bad})", f"bad {column}"


def _reference_checks() -> dict[str, list[Check]]:
    """Every reference-file check, per file, in the order a problem is reported."""
    ids = ("customer_id", "product_id", "seller_id")
    targets = ("customers", "products", "sellers")
    refs = [(c, t) for c, t in zip(ids, targets, strict=True)]
    return {
        "employees": [
            _unique("employee_id"),
            _enum("role", EMPLOYEE_ROLES),
            _ref("manager_id", "employees", "employee_id", required=False),
            _time("hired_at"),
            _time("left_at"),
        ],
        "customers": [
            _unique("customer_id"),
            (
                "count(*) FILTER (email IS NULL AND phone IS NULL)",
                "customer without e-mail or phone",
            ),
            _time("created_at"),
        ],
        "sellers": [
            _unique("seller_id"),
            _enum("status", SELLER_STATUSES),
            _time("created_at"),
            _time("banned_at"),
        ],
        "products": [
            _unique("product_id"),
            _ref("seller_id", "sellers", "seller_id", required=True),
        ],
        "orders": [
            _unique("order_id"),
            *[_ref(c, t, c, required=True) for c, t in refs],
            _time("ordered_at", required=True),
        ],
        "reviews": [
            *[_ref(c, t, c, required=True) for c, t in refs],
            _unique("review_id"),
            (
                "count(*) FILTER (rating IS NULL OR rating NOT IN ('1', '2', '3', '4', '5'))",
                "bad rating",
            ),
            _enum("status", REVIEW_STATUSES),
            _time("created_at", required=True),
            _time("removed_at"),
            _ref("removed_by", "employees", "employee_id", required=False),
        ],
        "cases": [
            _unique("case_id"),
            _enum("kind", CASE_KINDS),
            _ref("employee_id", "employees", "employee_id", required=True),
            _ref("customer_id", "customers", "customer_id", required=False),
            _ref("seller_id", "sellers", "seller_id", required=False),
            _time("opened_at", required=True),
            _time("closed_at"),
        ],
    }


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
        for table, checks in _reference_checks().items():
            self.check(f"{table}.csv", f"raw_{table}", checks)

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
        self.check(ACCESS_FILE, f"{self.s}.access", _access_checks())
        self.check(
            ACCESS_FILE,
            f"(SELECT unnest(customer_ids) AS c FROM {self.s}.access)",
            [_ref("c", "customers", "customer_id", True, "unknown customer_id")],
        )

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
        self.check(
            SIGNALS_FILE,
            "raw_signals",
            [
                (
                    f"count(*) FILTER (time IS NULL OR {_bad_ts('time')} OR kind IS NULL OR "
                    f"kind NOT IN ({_sql_list(SIGNAL_KINDS)}) OR (seller_id IS NOT NULL AND "
                    "seller_id NOT IN (SELECT seller_id FROM raw_sellers)) OR (customer_id IS "
                    "NOT NULL AND customer_id NOT IN (SELECT customer_id FROM raw_customers)))",
                    "bad signal",
                )
            ],
        )


def _access_checks() -> list[Check]:
    """access.jsonl's checks, in the order a problem is reported."""
    refs = [
        _ref(c, t, c, c == "employee_id", f"unknown {c}")
        for c, t in (
            ("employee_id", "employees"),
            ("seller_id", "sellers"),
            ("product_id", "products"),
            ("review_id", "reviews"),
            ("case_id", "cases"),
        )
    ]
    return [
        ("count(*) FILTER (time IS NULL OR ts IS NULL)", "bad time"),
        (
            f"count(*) FILTER (action IS NULL OR action NOT IN ({_sql_list(ACCESS_ACTIONS)}))",
            "unknown action",
        ),
        *refs,
    ]


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
        build_canonical(reader.db, reader.s)
    except BaseException:
        reader.resident.close()
        raise
    finally:
        for copy in reader.copies:
            copy.unlink(missing_ok=True)
    return Inputs(reader.resident)
