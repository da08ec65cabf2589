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
from pathlib import Path

import duckdb

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
from custodes.detect.canonical import build_canonical
from custodes.detect.database import load_database
from custodes.detect.duck import duckdb_connection, spill_directory
from custodes.detect.errors import DetectInputError as InputError
from custodes.detect.records import LEDGER_EVENT_BASE, events_from_records, ledger_records
from custodes.detect.tables import REVEALING_ACTIONS, SCHEMAS, Inputs, Resident

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
