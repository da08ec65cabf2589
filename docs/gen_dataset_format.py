"""Write docs/dataset-format.md from the code: file and column names from
`custodes.dataset.schema`, allowed values from `custodes.marketplace.models`.

`make docs` runs this before building, and `tests/docs` checks the committed page equals its
output, so the page cannot drift from what `custodes import` accepts. A column added to the
schema without a description here stops the build (and the test) until it is described.

Usage: python docs/gen_dataset_format.py [OUT.md]   (stdout without OUT)
"""

from __future__ import annotations

import sys
from pathlib import Path

from custodes.dataset.schema import (
    ACCESS_FILE,
    ACCESS_KEYS,
    CSV_COLUMNS,
    REQUIRED_FILES,
    SIGNAL_KEYS,
    SIGNALS_FILE,
)
from custodes.marketplace.models import (
    ACCESS_ACTIONS,
    CASE_KINDS,
    EMPLOYEE_ROLES,
    REVIEW_STATUSES,
    SELLER_STATUSES,
    SIGNAL_KINDS,
)

ID = "id (opaque string)"
TIME = "time (ISO 8601 with offset)"
TEXT = "text"


def _one_of(values: tuple[str, ...]) -> str:
    return "one of " + ", ".join(f"`{v}`" for v in values)


# (type, required, rule) per file and column. Every column of the schema must appear here.
COLUMNS: dict[str, dict[str, tuple[str, bool, str]]] = {
    "employees.csv": {
        "employee_id": (ID, True, "unique in the file and the database"),
        "name": (TEXT, True, "staff name (not customer PII; stored as given)"),
        "role": ("code", True, _one_of(EMPLOYEE_ROLES)),
        "team": (TEXT, False, "free text"),
        "manager_id": (ID, False, "an `employee_id` in this file or the database; not oneself"),
        "hired_at": (TIME, False, ""),
        "left_at": (TIME, False, "set for leavers: they can no longer act"),
        "region": (TEXT, False, "free text"),
    },
    "customers.csv": {
        "customer_id": (ID, True, "unique in the file and the database"),
        "name": ("PII", False, "sealed in the vault on import"),
        "email": ("PII", False, "sealed; blind-indexed for exact search; email or phone needed"),
        "phone": ("PII", False, "sealed; normalised to E.164 (using `country`); blind-indexed"),
        "country": ("ISO 3166 alpha-2", False, "two letters; stored upper-case"),
        "region": (TEXT, False, "free text"),
        "language": (TEXT, False, "free text (e.g. a BCP 47 tag)"),
        "created_at": (TIME, False, ""),
    },
    "sellers.csv": {
        "seller_id": (ID, True, "unique"),
        "name": (TEXT, True, "the shop's public name"),
        "status": ("code", True, _one_of(SELLER_STATUSES)),
        "country": (TEXT, False, ""),
        "created_at": (TIME, False, ""),
        "banned_at": (TIME, False, ""),
    },
    "products.csv": {
        "product_id": (ID, True, "unique"),
        "seller_id": (ID, True, "a known `seller_id`"),
        "category": (TEXT, False, ""),
        "title": (TEXT, False, ""),
    },
    "orders.csv": {
        "order_id": (ID, True, "unique"),
        "customer_id": (ID, True, "a known `customer_id`"),
        "product_id": (ID, True, "a known `product_id`"),
        "seller_id": (ID, True, "a known `seller_id`"),
        "ordered_at": (TIME, True, ""),
    },
    "reviews.csv": {
        "review_id": (ID, True, "unique"),
        "customer_id": (ID, True, "a known `customer_id`"),
        "product_id": (ID, True, "a known `product_id`"),
        "seller_id": (ID, True, "a known `seller_id`"),
        "rating": ("integer", True, "1 to 5"),
        "created_at": (TIME, True, ""),
        "status": ("code", True, _one_of(REVIEW_STATUSES)),
        "removed_at": (TIME, False, ""),
        "removed_by": (ID, False, "a known `employee_id`"),
    },
    "cases.csv": {
        "case_id": (ID, True, "unique"),
        "kind": ("code", True, _one_of(CASE_KINDS)),
        "employee_id": (ID, True, "the assignee: a known `employee_id`"),
        "customer_id": (ID, False, "a known `customer_id`: the case's subject"),
        "seller_id": (ID, False, "a known `seller_id`"),
        "opened_at": (TIME, True, ""),
        "closed_at": (TIME, False, "not before `opened_at`; a closed case justifies nothing"),
    },
}
ACCESS: dict[str, tuple[str, bool, str]] = {
    "time": (TIME, True, ""),
    "employee_id": (ID, True, "a known `employee_id`"),
    "action": ("code", True, _one_of(ACCESS_ACTIONS)),
    "customer_ids": ("list of ids", False, "each a known `customer_id`"),
    "seller_id": (ID, False, "a known `seller_id`"),
    "product_id": (ID, False, "a known `product_id`"),
    "review_id": (ID, False, "a known `review_id`"),
    "case_id": (ID, False, "a known `case_id`"),
    "fields": ("list of strings", False, "the PII fields shown"),
    "justification": ("string", False, "the justification code given"),
}
SIGNALS: dict[str, tuple[str, bool, str]] = {
    "time": (TIME, True, ""),
    "kind": ("code", True, _one_of(SIGNAL_KINDS)),
    "seller_id": (ID, False, "a known `seller_id`"),
    "customer_id": (ID, False, "a known `customer_id`"),
    "email": ("string", False, "an address seen outside (e.g. a canary); never stored in clear"),
}


def _check(name: str, schema: tuple[str, ...], described: dict[str, object]) -> None:
    missing = [c for c in schema if c not in described]
    extra = [c for c in described if c not in schema]
    if missing or extra:
        raise SystemExit(
            f"{name}: describe the schema's columns in docs/gen_dataset_format.py "
            f"(undescribed: {missing or '-'}; no longer in the schema: {extra or '-'})"
        )


def _table(columns: tuple[str, ...], described: dict[str, tuple[str, bool, str]]) -> list[str]:
    lines = ["| column | type | required | rule |", "| --- | --- | --- | --- |"]
    for column in columns:
        kind, required, rule = described[column]
        lines.append(f"| `{column}` | {kind} | {'yes' if required else 'no'} | {rule} |")
    return lines


def render() -> str:
    _check("schema files", tuple(CSV_COLUMNS), COLUMNS)
    for name, columns in CSV_COLUMNS.items():
        _check(name, columns, COLUMNS[name])
    _check(ACCESS_FILE, ACCESS_KEYS, ACCESS)
    _check(SIGNALS_FILE, SIGNAL_KEYS, SIGNALS)
    out = [
        "<!-- Generated by docs/gen_dataset_format.py from custodes.dataset.schema and",
        "     custodes.marketplace.models; `make docs` rewrites it. Do not edit by hand. -->",
        "",
        "# Dataset format",
        "",
        "`custodes import DIR`, `custodes detect` and `custodes sim` read or write a folder of",
        "UTF-8 files. `import` checks the whole folder before writing anything and reports the",
        "first problem as `file:line: reason`; it is all or nothing.",
        "",
        "General rules:",
        "",
        "- CSV files have a header row naming their columns (order free; extra columns are",
        "  ignored). Every row has as many cells as the header.",
        "- An empty cell is null. Required columns may not be empty.",
        "- Times are ISO 8601 with an explicit offset (`2026-03-01T09:30:00Z`); times without",
        "  a zone are refused rather than guessed.",
        "- Ids are opaque strings. A reference must name an id in the same folder or already",
        "  in the database (a folder may extend an existing marketplace).",
        "- PII (customer name, e-mail, phone) is sealed in the vault on import: after",
        "  `custodes import`, delete the plaintext folder.",
        "",
        f"Required files: {', '.join(f'`{f}`' for f in REQUIRED_FILES)}, `{ACCESS_FILE}`; "
        f"optional: `{SIGNALS_FILE}`.",
        "",
    ]
    for name, columns in CSV_COLUMNS.items():
        out += [f"## {name}", "", *_table(columns, COLUMNS[name]), ""]
    out += [
        f"## {ACCESS_FILE}",
        "",
        "One JSON object per line: an access an employee made (the history detection learns",
        "from). Absent keys are null; unknown keys are refused.",
        "",
        *_table(ACCESS_KEYS, ACCESS),
        "",
        f"## {SIGNALS_FILE}",
        "",
        "Optional. One JSON object per line: something observed outside the platform.",
        "",
        *_table(SIGNAL_KEYS, SIGNALS),
        "",
    ]
    return "\n".join(out)


def main(argv: list[str]) -> None:
    text = render()
    if len(argv) > 1:
        Path(argv[1]).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main(sys.argv)
