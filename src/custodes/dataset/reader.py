"""Reads and validates a dataset folder (DESIGN.md format) into plain rows.

Every problem is reported as `file:line: what is wrong` and stops the import before anything is
written. Messages name columns and ids, never PII values.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import String

from custodes.dataset.schema import (
    ACCESS_FILE,
    ACCESS_KEYS,
    CSV_COLUMNS,
    SIGNAL_KEYS,
    SIGNALS_FILE,
)
from custodes.errors import InputError
from custodes.marketplace.models import (
    ACCESS_ACTIONS,
    CASE_KINDS,
    EMPLOYEE_ROLES,
    REVIEW_STATUSES,
    SELLER_STATUSES,
    SIGNAL_KINDS,
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
from custodes.vault.normalise import normalise_email, normalise_phone

Row = dict[str, Any]


class DatasetError(InputError):
    """A dataset file is malformed; the message names the file and line."""

    def __init__(self, file: str, line: int, problem: str) -> None:
        super().__init__(f"{file}:{line}: {problem}")
        self.file, self.line, self.problem = file, line, problem


@dataclass(frozen=True)
class Rejection:
    """A row left out by ``--quarantine``: where it was and why, never its values."""

    file: str
    line: int
    reason: str

    def to_json(self) -> dict[str, object]:
        return {"file": self.file, "line": self.line, "reason": self.reason}


class Rejections:
    """Where row-level problems go: raised at once (all or nothing), or collected (quarantine)."""

    def __init__(self, collect: bool) -> None:
        self.collect = collect
        self.rows: list[Rejection] = []

    def add(self, error: DatasetError) -> None:
        if not self.collect:
            raise error
        self.rows.append(Rejection(error.file, error.line, error.problem))


@dataclass
class KnownIds:
    """Ids already in the database, so the folder may extend an existing marketplace."""

    employees: set[str] = field(default_factory=set)
    customers: set[str] = field(default_factory=set)
    sellers: set[str] = field(default_factory=set)
    products: set[str] = field(default_factory=set)
    orders: set[str] = field(default_factory=set)
    reviews: set[str] = field(default_factory=set)
    cases: set[str] = field(default_factory=set)

    def frozen(self) -> dict[str, frozenset[str]]:
        """A copy of the ids as they are in the database, before the folder adds its own."""
        return {name: frozenset(getattr(self, name)) for name in self.__dataclass_fields__}


@dataclass
class Dataset:
    """Validated rows; `customers` rows still hold plaintext PII for the vault to seal."""

    employees: list[tuple[int, Row]]
    customers: list[tuple[int, Row]]
    sellers: list[tuple[int, Row]]
    products: list[tuple[int, Row]]
    orders: list[tuple[int, Row]]
    reviews: list[tuple[int, Row]]
    cases: list[tuple[int, Row]]
    access: list[tuple[int, Row]]
    signals: list[tuple[int, Row]]
    rejected: list[Rejection] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {name: len(getattr(self, name)) for name in TABLE_NAMES}


TABLE_NAMES = (
    "employees",
    "customers",
    "sellers",
    "products",
    "orders",
    "reviews",
    "cases",
    "access",
    "signals",
)


def parse_time(value: str, file: str, line: int, column: str) -> datetime:
    """ISO 8601 with an explicit UTC offset; naive times are refused rather than guessed."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise DatasetError(file, line, f"{column} is not an ISO 8601 time") from None
    if parsed.tzinfo is None:
        raise DatasetError(file, line, f"{column} has no time zone (use Z for UTC)")
    return parsed.astimezone(UTC)


_TABLES: dict[str, type] = {
    "employees.csv": Employee,
    "customers.csv": Customer,
    "sellers.csv": Seller,
    "products.csv": Product,
    "orders.csv": Order,
    "reviews.csv": Review,
    "cases.csv": Case,
    ACCESS_FILE: ImportedAccessEvent,
    SIGNALS_FILE: OutsideSignal,
}


def _limits(file: str) -> dict[str, int]:
    """Column lengths the database enforces (PostgreSQL does; SQLite would not), per file.

    Checked while reading so an over-long id is refused with its file and line, not by the
    database halfway through the import.
    """
    columns = _TABLES[file].__table__.columns  # type: ignore[attr-defined]
    return {
        c.name: c.type.length
        for c in columns
        if isinstance(c.type, String) and c.type.length and c.name not in ("kind", "action")
    }


def _undecodable(text: str) -> bool:
    """True when the text holds bytes that were not UTF-8 (kept as lone surrogates)."""
    if text.isascii():
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _open_text(path: Path) -> Any:
    """UTF-8 with or without a byte-order mark; a bad byte is kept (as a surrogate) so the
    line that holds it can be named, instead of failing wherever the decoder's buffer ends."""
    return path.open(newline="", encoding="utf-8-sig", errors="surrogateescape")


class _CsvFile:
    """Row-by-row checks for one CSV file, each error carrying its line number."""

    def __init__(self, folder: Path, name: str, rejections: Rejections) -> None:
        self.name = name
        self.path = folder / name
        self.line = 1
        self.rejections = rejections
        self.limits = _limits(name)

    def rows(self) -> Iterator[tuple[int, Row]]:
        """Rows with the expected shape; a malformed row is rejected (see ``Rejections``)."""
        if not self.path.exists():
            raise InputError(f"{self.name}: file missing from the dataset folder")
        with _open_text(self.path) as handle:
            reader = csv.reader(handle)
            try:
                header = next(reader)
            except StopIteration:
                raise DatasetError(self.name, 1, "empty file (a header row is required)") from None
            except csv.Error as exc:
                raise DatasetError(self.name, 1, f"malformed CSV ({exc})") from None
            if _undecodable("".join(header)):
                raise DatasetError(self.name, 1, "not UTF-8")
            wanted = CSV_COLUMNS[self.name]
            missing = [c for c in wanted if c not in header]
            if missing:
                raise DatasetError(self.name, 1, f"missing column(s): {', '.join(missing)}")
            positions = [header.index(c) for c in wanted]
            limits = [(c, n) for c, n in self.limits.items() if c in wanted]
            start = 1
            try:
                for record in reader:
                    self.line = start + 1
                    start = reader.line_num
                    if not record:
                        continue
                    problem = self._shape(record, len(header))
                    row = None
                    if problem is None:
                        row = {
                            c: (record[p] if record[p] != "" else None)
                            for c, p in zip(wanted, positions, strict=True)
                        }
                        problem = _too_long(row, limits)
                    if problem is not None:
                        self.rejections.add(DatasetError(self.name, self.line, problem))
                        continue
                    assert row is not None
                    yield self.line, row
            except csv.Error as exc:
                raise DatasetError(self.name, reader.line_num, f"malformed CSV ({exc})") from None

    @staticmethod
    def _shape(record: list[str], width: int) -> str | None:
        if _undecodable("".join(record)):
            return "not UTF-8"
        if len(record) != width:
            return f"expected {width} cells, found {len(record)}"
        return None

    def checked(
        self,
        check: Callable[[Row], None],
        id_column: str | None = None,
        seen: set[str] | None = None,
        stored: frozenset[str] = frozenset(),
    ) -> list[tuple[int, Row]]:
        """Rows that pass ``check`` (and whose id is new); the others are rejected.

        An id joins ``seen`` only once its row passed, so a rejected row's id is unknown to
        the rows that refer to it (they are rejected in turn, never imported dangling).
        """
        out = []
        for line, row in self.rows():
            try:
                value = self.new_id(row, id_column, seen, stored) if id_column else None
                check(row)
            except DatasetError as exc:
                self.rejections.add(exc)
                continue
            if value is not None and seen is not None:
                seen.add(value)
            out.append((line, row))
        return out

    def fail(self, problem: str) -> None:
        raise DatasetError(self.name, self.line, problem)

    def required(self, row: Row, column: str) -> str:
        value = row[column]
        if value is None:
            self.fail(f"{column} is empty")
        return str(value)

    def time(self, row: Row, column: str, required: bool = True) -> datetime | None:
        value = row[column]
        if value is None:
            if required:
                self.fail(f"{column} is empty")
            return None
        return parse_time(value, self.name, self.line, column)

    def choice(self, row: Row, column: str, allowed: tuple[str, ...]) -> str:
        value = self.required(row, column)
        if value not in allowed:
            self.fail(f"{column} {value!r} is not one of {', '.join(allowed)}")
        return value

    def ref(self, row: Row, column: str, known: set[str], required: bool = True) -> str | None:
        value = row[column]
        if value is None:
            if required:
                self.fail(f"{column} is empty")
            return None
        if value not in known:
            self.fail(f"unknown {column} {value!r}")
        return str(value)

    def new_id(self, row: Row, column: str, seen: set[str] | None, stored: frozenset[str]) -> str:
        value = self.required(row, column)
        if value in stored:
            self.fail(
                f"{column} {value!r} is already in the database (was this folder imported before?)"
            )
        if seen is not None and value in seen:
            self.fail(f"duplicate {column} {value!r}")
        return value


def _too_long(row: Row, limits: list[tuple[str, int]]) -> str | None:
    for column, limit in limits:
        value = row[column]
        if value is not None and len(value) > limit:
            return f"{column} is longer than {limit} characters"
    return None


def read_dataset(
    folder: Path, known: KnownIds | None = None, *, quarantine: bool = False
) -> Dataset:
    """Validate the whole folder.

    Without ``quarantine``, raise ``DatasetError`` at the first problem found. With it, rows
    with a problem are left out and listed in ``Dataset.rejected`` (file, line, reason), and
    so are rows that refer to them; problems with a whole file still raise.
    """
    if not folder.is_dir():
        raise InputError(f"{folder}: not a dataset folder")
    ids = known or KnownIds()
    stored = ids.frozen()
    rej = Rejections(collect=quarantine)
    employees = _employees(folder, ids, stored["employees"], rej)
    customers = _customers(folder, ids, stored["customers"], rej)
    sellers = _sellers(folder, ids, stored["sellers"], rej)
    products = _products(folder, ids, stored["products"], rej)
    orders = _orders(folder, ids, stored["orders"], rej)
    reviews = _reviews(folder, ids, stored["reviews"], rej)
    cases = _cases(folder, ids, stored["cases"], rej)
    access = _access(folder, ids, rej)
    signals = _signals(folder, ids, rej)
    return Dataset(
        employees,
        customers,
        sellers,
        products,
        orders,
        reviews,
        cases,
        access,
        signals,
        rejected=sorted(rej.rows, key=lambda r: (r.file, r.line)),
    )


def _employees(
    folder: Path, ids: KnownIds, stored: frozenset[str], rej: Rejections
) -> list[tuple[int, Row]]:
    f = _CsvFile(folder, "employees.csv", rej)

    def check(row: Row) -> None:
        f.required(row, "name")
        f.choice(row, "role", EMPLOYEE_ROLES)
        row["hired_at"] = f.time(row, "hired_at", required=False)
        row["left_at"] = f.time(row, "left_at", required=False)

    out = f.checked(check, "employee_id", ids.employees, stored)
    # Managers may be listed after their reports, so check references once all ids are known;
    # leaving out an employee may orphan their reports, so repeat until nothing changes.
    changed = True
    while changed:
        changed = False
        kept = []
        for line, row in out:
            f.line = line
            try:
                f.ref(row, "manager_id", ids.employees, required=False)
                if row["manager_id"] == row["employee_id"]:
                    f.fail("employee is their own manager")
            except DatasetError as exc:
                rej.add(exc)
                ids.employees.discard(row["employee_id"])
                changed = True
                continue
            kept.append((line, row))
        out = kept
    return out


def _customers(
    folder: Path, ids: KnownIds, stored: frozenset[str], rej: Rejections
) -> list[tuple[int, Row]]:
    f = _CsvFile(folder, "customers.csv", rej)

    def check(row: Row) -> None:
        if row["email"] is None and row["phone"] is None:
            f.fail("a customer needs an email or a phone")
        country = row["country"]
        if country is not None and (len(country) != 2 or not country.isalpha()):
            f.fail("country must be an ISO 3166 alpha-2 code")
        row["country"] = country.upper() if country else None
        row["created_at"] = f.time(row, "created_at", required=False)
        if rej.collect:
            # All or nothing, the vault checks these while sealing (on every core); here a bad
            # one must be known before the rows that refer to the customer are checked.
            try:
                if row["email"] is not None:
                    normalise_email(row["email"])
                if row["phone"] is not None:
                    normalise_phone(row["phone"], row["country"])
            except InputError as exc:
                f.fail(str(exc))

    return f.checked(check, "customer_id", ids.customers, stored)


def _sellers(
    folder: Path, ids: KnownIds, stored: frozenset[str], rej: Rejections
) -> list[tuple[int, Row]]:
    f = _CsvFile(folder, "sellers.csv", rej)

    def check(row: Row) -> None:
        f.required(row, "name")
        f.choice(row, "status", SELLER_STATUSES)
        row["created_at"] = f.time(row, "created_at", required=False)
        row["banned_at"] = f.time(row, "banned_at", required=False)

    return f.checked(check, "seller_id", ids.sellers, stored)


def _products(
    folder: Path, ids: KnownIds, stored: frozenset[str], rej: Rejections
) -> list[tuple[int, Row]]:
    f = _CsvFile(folder, "products.csv", rej)

    def check(row: Row) -> None:
        f.ref(row, "seller_id", ids.sellers)

    return f.checked(check, "product_id", ids.products, stored)


def _orders(
    folder: Path, ids: KnownIds, stored: frozenset[str], rej: Rejections
) -> list[tuple[int, Row]]:
    f = _CsvFile(folder, "orders.csv", rej)

    def check(row: Row) -> None:
        f.ref(row, "customer_id", ids.customers)
        f.ref(row, "product_id", ids.products)
        f.ref(row, "seller_id", ids.sellers)
        row["ordered_at"] = f.time(row, "ordered_at")

    return f.checked(check, "order_id", ids.orders, stored)


def _reviews(
    folder: Path, ids: KnownIds, stored: frozenset[str], rej: Rejections
) -> list[tuple[int, Row]]:
    f = _CsvFile(folder, "reviews.csv", rej)

    def check(row: Row) -> None:
        f.ref(row, "customer_id", ids.customers)
        f.ref(row, "product_id", ids.products)
        f.ref(row, "seller_id", ids.sellers)
        rating = f.required(row, "rating")
        if rating not in {"1", "2", "3", "4", "5"}:
            f.fail("rating must be an integer from 1 to 5")
        row["rating"] = int(rating)
        row["created_at"] = f.time(row, "created_at")
        f.choice(row, "status", REVIEW_STATUSES)
        row["removed_at"] = f.time(row, "removed_at", required=False)
        f.ref(row, "removed_by", ids.employees, required=False)

    return f.checked(check, "review_id", ids.reviews, stored)


def _cases(
    folder: Path, ids: KnownIds, stored: frozenset[str], rej: Rejections
) -> list[tuple[int, Row]]:
    f = _CsvFile(folder, "cases.csv", rej)

    def check(row: Row) -> None:
        f.choice(row, "kind", CASE_KINDS)
        f.ref(row, "employee_id", ids.employees)
        f.ref(row, "customer_id", ids.customers, required=False)
        f.ref(row, "seller_id", ids.sellers, required=False)
        row["opened_at"] = f.time(row, "opened_at")
        row["closed_at"] = f.time(row, "closed_at", required=False)
        if row["closed_at"] is not None and row["closed_at"] < row["opened_at"]:
            f.fail("closed_at is before opened_at")

    return f.checked(check, "case_id", ids.cases, stored)


def _jsonl(
    folder: Path, name: str, required: bool, rej: Rejections
) -> Iterator[tuple[int, dict[str, Any]]]:
    path = folder / name
    if not path.exists():
        if required:
            raise InputError(f"{name}: file missing from the dataset folder")
        return
    with _open_text(path) as handle:
        for line, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            if _undecodable(text):
                rej.add(DatasetError(name, line, "not UTF-8"))
                continue
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                rej.add(DatasetError(name, line, f"malformed JSON ({exc.msg})"))
                continue
            if not isinstance(value, dict):
                rej.add(DatasetError(name, line, "each line must be a JSON object"))
                continue
            yield line, value


def _opt_str(name: str, line: int, value: Any, key: str, limit: int | None = None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise DatasetError(name, line, f"{key} must be a string or null")
    if limit is not None and len(value) > limit:
        raise DatasetError(name, line, f"{key} is longer than {limit} characters")
    return value


def _ref(name: str, line: int, value: Any, key: str, known: set[str]) -> str | None:
    text = _opt_str(name, line, value, key)
    if text is not None and text not in known:
        raise DatasetError(name, line, f"unknown {key} {text!r}")
    return text


def _str_list(name: str, line: int, value: Any, key: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise DatasetError(name, line, f"{key} must be a list of strings")
    return value


def _rows(
    name: str,
    required: bool,
    folder: Path,
    rej: Rejections,
    build: Callable[[int, dict[str, Any]], Row],
) -> list[tuple[int, Row]]:
    """Each JSON Lines row built (and checked) by ``build``; a failing row is rejected."""
    out = []
    for line, raw in _jsonl(folder, name, required, rej):
        try:
            out.append((line, build(line, raw)))
        except DatasetError as exc:
            rej.add(exc)
    return out


def _access(folder: Path, ids: KnownIds, rej: Rejections) -> list[tuple[int, Row]]:
    name = ACCESS_FILE
    justification_limit = _limits(name).get("justification")

    def build(line: int, raw: dict[str, Any]) -> Row:
        unknown = sorted(set(raw) - set(ACCESS_KEYS))
        if unknown:
            raise DatasetError(name, line, f"unknown key(s): {', '.join(unknown)}")
        time = raw.get("time")
        if not isinstance(time, str):
            raise DatasetError(name, line, "time is missing")
        action = raw.get("action")
        if action not in ACCESS_ACTIONS:
            raise DatasetError(name, line, f"action {action!r} is not a known action")
        employee = raw.get("employee_id")
        if not isinstance(employee, str) or employee not in ids.employees:
            raise DatasetError(name, line, f"unknown employee_id {employee!r}")
        customers = _str_list(name, line, raw.get("customer_ids"), "customer_ids")
        for customer in customers:
            if customer not in ids.customers:
                raise DatasetError(name, line, f"unknown customer_id {customer!r}")
        justification = raw.get("justification")
        return {
            "source_line": line,
            "time": parse_time(time, name, line, "time"),
            "employee_id": employee,
            "action": action,
            "customer_ids": json.dumps(customers),
            "seller_id": _ref(name, line, raw.get("seller_id"), "seller_id", ids.sellers),
            "product_id": _ref(name, line, raw.get("product_id"), "product_id", ids.products),
            "review_id": _ref(name, line, raw.get("review_id"), "review_id", ids.reviews),
            "case_id": _ref(name, line, raw.get("case_id"), "case_id", ids.cases),
            "fields": json.dumps(_str_list(name, line, raw.get("fields"), "fields")),
            "justification": _opt_str(
                name, line, justification, "justification", justification_limit
            ),
        }

    return _rows(name, True, folder, rej, build)


def _signals(folder: Path, ids: KnownIds, rej: Rejections) -> list[tuple[int, Row]]:
    name = SIGNALS_FILE

    def build(line: int, raw: dict[str, Any]) -> Row:
        unknown = sorted(set(raw) - set(SIGNAL_KEYS))
        if unknown:
            raise DatasetError(name, line, f"unknown key(s): {', '.join(unknown)}")
        time = raw.get("time")
        if not isinstance(time, str):
            raise DatasetError(name, line, "time is missing")
        kind = raw.get("kind")
        if kind not in SIGNAL_KINDS:
            raise DatasetError(name, line, f"kind {kind!r} is not a known signal kind")
        email = _opt_str(name, line, raw.get("email"), "email")
        if email is not None:
            try:
                email = normalise_email(email)
            except InputError:
                raise DatasetError(name, line, "email is not a valid address") from None
        return {
            "source_line": line,
            "time": parse_time(time, name, line, "time"),
            "kind": kind,
            "seller_id": _ref(name, line, raw.get("seller_id"), "seller_id", ids.sellers),
            "customer_id": _ref(name, line, raw.get("customer_id"), "customer_id", ids.customers),
            "email": email,  # normalised; the loader keeps only its blind index
        }

    return _rows(name, False, folder, rej, build)
