"""Write a simulated marketplace as a dataset folder (see DESIGN.md, "Dataset folder").

CSV: UTF-8, a header row in the documented column order, ``\\n`` line endings, minimal
quoting, empty cell for null, times as ``2026-01-05T09:13:00Z``. JSON Lines: one object per
line with every documented key present (``null`` when absent, ``[]`` for empty lists), keys in
the documented order, non-ASCII written as is.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from custodes.dataset.schema import (
    ACCESS_FILE,
    CSV_COLUMNS,
    SIGNAL_KEYS,
    SIGNALS_FILE,
)
from custodes.sim.activity import AccessEvent
from custodes.sim.world import World

# The documented columns and keys live in one place, shared with the reader that checks them.
COLUMNS = CSV_COLUMNS
FILES = (*COLUMNS, ACCESS_FILE, SIGNALS_FILE)


@dataclass(frozen=True, slots=True)
class SimSummary:
    """Where the dataset went and how many rows (CSV, excluding header) or lines each file has."""

    out_dir: Path
    rows: dict[str, int]

    def __getitem__(self, filename: str) -> int:
        return self.rows[filename]


def iso(t: datetime) -> str:
    """``2026-01-05T09:13:00Z`` (UTC, whole seconds)."""
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return iso(value)
    return str(value)


def write_csv(path: Path, columns: Sequence[str], rows: Iterable[Any]) -> int:
    """Write objects' attributes named by ``columns``; return the number of data rows."""
    n = 0
    with path.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(columns)
        for row in rows:
            out.writerow([_cell(getattr(row, c)) for c in columns])
            n += 1
    return n


def access_record(e: AccessEvent) -> dict[str, Any]:
    return {
        "time": iso(e.time),
        "employee_id": e.employee_id,
        "action": e.action,
        "customer_ids": list(e.customer_ids),
        "seller_id": e.seller_id,
        "product_id": e.product_id,
        "review_id": e.review_id,
        "case_id": e.case_id,
        "fields": list(e.fields),
        "justification": e.justification,
    }


def write_jsonl(path: Path, records: Iterable[dict[str, Any]]) -> int:
    n = 0
    with path.open("w", encoding="utf-8", newline="\n") as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False))
            f.write("\n")
            n += 1
    return n


def signal_record(signal: dict[str, Any]) -> dict[str, Any]:
    record = {k: signal.get(k) for k in SIGNAL_KEYS}
    if isinstance(record["time"], datetime):
        record["time"] = iso(record["time"])
    return record


def write_world(world: World, out_dir: Path) -> SimSummary:
    """Write every file of the dataset folder (creating ``out_dir``); other files are kept."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tables: dict[str, Sequence[Any]] = {
        "employees.csv": world.employees,
        "customers.csv": world.customers,
        "sellers.csv": world.sellers,
        "products.csv": world.products,
        "orders.csv": world.orders,
        "reviews.csv": world.reviews,
        "cases.csv": world.log.cases,
    }
    rows = {name: write_csv(out_dir / name, COLUMNS[name], tables[name]) for name in COLUMNS}
    events = world.log.sorted_events()
    rows[ACCESS_FILE] = write_jsonl(out_dir / ACCESS_FILE, map(access_record, events))
    signals = sorted(world.signals, key=lambda s: s["time"])
    rows[SIGNALS_FILE] = write_jsonl(out_dir / SIGNALS_FILE, map(signal_record, signals))
    return SimSummary(out_dir, rows)
