"""Reads and validates a dataset folder (DESIGN.md format) into plain rows.

Every problem is reported as `file:line: what is wrong` and stops the import before anything is
written. Messages name columns and ids, never PII values.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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
)

Row = dict[str, Any]


class DatasetError(InputError):
    """A dataset file is malformed; the message names the file and line."""

    def __init__(self, file: str, line: int, problem: str) -> None:
        super().__init__(f"{file}:{line}: {problem}")
        self.file, self.line, self.problem = file, line, problem


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

    def counts(self) -> dict[str, int]:
        return {name: len(getattr(self, name)) for name in self.__dataclass_fields__}


def parse_time(value: str, file: str, line: int, column: str) -> datetime:
    """ISO 8601 with an explicit UTC offset; naive times are refused rather than guessed."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise DatasetError(file, line, f"{column} is not an ISO 8601 time") from None
    if parsed.tzinfo is None:
        raise DatasetError(file, line, f"{column} has no time zone (use Z for UTC)")
    return parsed.astimezone(UTC)


class _CsvFile:
    """Row-by-row checks for one CSV file, each error carrying its line number."""

    def __init__(self, folder: Path, name: str) -> None:
        self.name = name
        self.path = folder / name
        self.line = 1

    def rows(self) -> Iterator[tuple[int, Row]]:
        if not self.path.exists():
            raise InputError(f"{self.name}: file missing from the dataset folder")
        with self.path.open(newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            try:
                header = next(reader)
            except StopIteration:
                raise DatasetError(self.name, 1, "empty file (a header row is required)") from None
            except UnicodeDecodeError:
                raise DatasetError(self.name, 1, "not UTF-8") from None
            wanted = CSV_COLUMNS[self.name]
            missing = [c for c in wanted if c not in header]
            if missing:
                raise DatasetError(self.name, 1, f"missing column(s): {', '.join(missing)}")
            positions = [header.index(c) for c in wanted]
            start = 1
            try:
                for record in reader:
                    self.line = start + 1
                    start = reader.line_num
                    if not record:
                        continue
                    if len(record) != len(header):
                        self.fail(f"expected {len(header)} cells, found {len(record)}")
                    yield (
                        self.line,
                        {
                            c: (record[p] if record[p] != "" else None)
                            for c, p in zip(wanted, positions, strict=True)
                        },
                    )
            except UnicodeDecodeError:
                raise DatasetError(self.name, start + 1, "not UTF-8") from None
            except csv.Error as exc:
                raise DatasetError(self.name, reader.line_num, f"malformed CSV ({exc})") from None

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

    def new_id(self, row: Row, column: str, seen: set[str]) -> str:
        value = self.required(row, column)
        if value in seen:
            self.fail(f"duplicate {column} {value!r}")
        seen.add(value)
        return value


def read_dataset(folder: Path, known: KnownIds | None = None) -> Dataset:
    """Validate the whole folder; raise `DatasetError` at the first problem found."""
    if not folder.is_dir():
        raise InputError(f"{folder}: not a dataset folder")
    ids = known or KnownIds()
    employees = _employees(folder, ids)
    customers = _customers(folder, ids)
    sellers = _sellers(folder, ids)
    products = _products(folder, ids)
    orders = _orders(folder, ids)
    reviews = _reviews(folder, ids)
    cases = _cases(folder, ids)
    access = _access(folder, ids)
    signals = _signals(folder, ids)
    return Dataset(employees, customers, sellers, products, orders, reviews, cases, access, signals)


def _employees(folder: Path, ids: KnownIds) -> list[tuple[int, Row]]:
    f = _CsvFile(folder, "employees.csv")
    out = []
    for line, row in f.rows():
        f.new_id(row, "employee_id", ids.employees)
        f.required(row, "name")
        f.choice(row, "role", EMPLOYEE_ROLES)
        row["hired_at"] = f.time(row, "hired_at", required=False)
        row["left_at"] = f.time(row, "left_at", required=False)
        out.append((line, row))
    # Managers may be listed after their reports, so check references once all ids are known.
    for line, row in out:
        f.line = line
        f.ref(row, "manager_id", ids.employees, required=False)
        if row["manager_id"] == row["employee_id"]:
            f.fail("employee is their own manager")
    return out


def _customers(folder: Path, ids: KnownIds) -> list[tuple[int, Row]]:
    f = _CsvFile(folder, "customers.csv")
    out = []
    for line, row in f.rows():
        f.new_id(row, "customer_id", ids.customers)
        if row["email"] is None and row["phone"] is None:
            f.fail("a customer needs an email or a phone")
        country = row["country"]
        if country is not None and (len(country) != 2 or not country.isalpha()):
            f.fail("country must be an ISO 3166 alpha-2 code")
        row["country"] = country.upper() if country else None
        row["created_at"] = f.time(row, "created_at", required=False)
        out.append((line, row))
    return out


def _sellers(folder: Path, ids: KnownIds) -> list[tuple[int, Row]]:
    f = _CsvFile(folder, "sellers.csv")
    out = []
    for line, row in f.rows():
        f.new_id(row, "seller_id", ids.sellers)
        f.required(row, "name")
        f.choice(row, "status", SELLER_STATUSES)
        row["created_at"] = f.time(row, "created_at", required=False)
        row["banned_at"] = f.time(row, "banned_at", required=False)
        out.append((line, row))
    return out


def _products(folder: Path, ids: KnownIds) -> list[tuple[int, Row]]:
    f = _CsvFile(folder, "products.csv")
    out = []
    for line, row in f.rows():
        f.new_id(row, "product_id", ids.products)
        f.ref(row, "seller_id", ids.sellers)
        out.append((line, row))
    return out


def _orders(folder: Path, ids: KnownIds) -> list[tuple[int, Row]]:
    f = _CsvFile(folder, "orders.csv")
    out = []
    for line, row in f.rows():
        f.new_id(row, "order_id", ids.orders)
        f.ref(row, "customer_id", ids.customers)
        f.ref(row, "product_id", ids.products)
        f.ref(row, "seller_id", ids.sellers)
        row["ordered_at"] = f.time(row, "ordered_at")
        out.append((line, row))
    return out


def _reviews(folder: Path, ids: KnownIds) -> list[tuple[int, Row]]:
    f = _CsvFile(folder, "reviews.csv")
    out = []
    for line, row in f.rows():
        f.new_id(row, "review_id", ids.reviews)
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
        out.append((line, row))
    return out


def _cases(folder: Path, ids: KnownIds) -> list[tuple[int, Row]]:
    f = _CsvFile(folder, "cases.csv")
    out = []
    for line, row in f.rows():
        f.new_id(row, "case_id", ids.cases)
        f.choice(row, "kind", CASE_KINDS)
        f.ref(row, "employee_id", ids.employees)
        f.ref(row, "customer_id", ids.customers, required=False)
        f.ref(row, "seller_id", ids.sellers, required=False)
        row["opened_at"] = f.time(row, "opened_at")
        row["closed_at"] = f.time(row, "closed_at", required=False)
        if row["closed_at"] is not None and row["closed_at"] < row["opened_at"]:
            f.fail("closed_at is before opened_at")
        out.append((line, row))
    return out


def _jsonl(folder: Path, name: str, required: bool) -> Iterator[tuple[int, Row]]:
    path = folder / name
    if not path.exists():
        if required:
            raise InputError(f"{name}: file missing from the dataset folder")
        return
    with path.open(encoding="utf-8") as handle:
        line = 0
        try:
            for line, text in enumerate(handle, start=1):
                if not text.strip():
                    continue
                try:
                    value = json.loads(text)
                except json.JSONDecodeError as exc:
                    raise DatasetError(name, line, f"malformed JSON ({exc.msg})") from None
                if not isinstance(value, dict):
                    raise DatasetError(name, line, "each line must be a JSON object")
                yield line, value
        except UnicodeDecodeError:
            raise DatasetError(name, line + 1, "not UTF-8") from None


def _opt_str(name: str, line: int, value: Any, key: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise DatasetError(name, line, f"{key} must be a string or null")
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


def _access(folder: Path, ids: KnownIds) -> list[tuple[int, Row]]:
    name = ACCESS_FILE
    out = []
    for line, raw in _jsonl(folder, name, required=True):
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
        row = {
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
            "justification": _opt_str(name, line, raw.get("justification"), "justification"),
        }
        out.append((line, row))
    return out


def _signals(folder: Path, ids: KnownIds) -> list[tuple[int, Row]]:
    name = SIGNALS_FILE
    out = []
    for line, raw in _jsonl(folder, name, required=False):
        unknown = sorted(set(raw) - set(SIGNAL_KEYS))
        if unknown:
            raise DatasetError(name, line, f"unknown key(s): {', '.join(unknown)}")
        time = raw.get("time")
        if not isinstance(time, str):
            raise DatasetError(name, line, "time is missing")
        kind = raw.get("kind")
        if kind not in SIGNAL_KINDS:
            raise DatasetError(name, line, f"kind {kind!r} is not a known signal kind")
        row = {
            "source_line": line,
            "time": parse_time(time, name, line, "time"),
            "kind": kind,
            "seller_id": _ref(name, line, raw.get("seller_id"), "seller_id", ids.sellers),
            "customer_id": _ref(name, line, raw.get("customer_id"), "customer_id", ids.customers),
            "email": _opt_str(name, line, raw.get("email"), "email"),
        }
        out.append((line, row))
    return out
