"""The dataset folder's files and columns (DESIGN.md), in one place for the reader and the sim."""

from __future__ import annotations

CSV_COLUMNS: dict[str, tuple[str, ...]] = {
    "employees.csv": (
        "employee_id",
        "name",
        "role",
        "team",
        "manager_id",
        "hired_at",
        "left_at",
        "region",
    ),
    "customers.csv": (
        "customer_id",
        "name",
        "email",
        "phone",
        "country",
        "region",
        "language",
        "created_at",
    ),
    "sellers.csv": ("seller_id", "name", "status", "country", "created_at", "banned_at"),
    "products.csv": ("product_id", "seller_id", "category", "title"),
    "orders.csv": ("order_id", "customer_id", "product_id", "seller_id", "ordered_at"),
    "reviews.csv": (
        "review_id",
        "customer_id",
        "product_id",
        "seller_id",
        "rating",
        "created_at",
        "status",
        "removed_at",
        "removed_by",
    ),
    "cases.csv": (
        "case_id",
        "kind",
        "employee_id",
        "customer_id",
        "seller_id",
        "opened_at",
        "closed_at",
    ),
}
REQUIRED_FILES = tuple(CSV_COLUMNS)
ACCESS_FILE = "access.jsonl"
SIGNALS_FILE = "signals.jsonl"
ACCESS_KEYS = (
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
SIGNAL_KEYS = ("time", "kind", "seller_id", "customer_id", "email")
DATASET_FILES = (*CSV_COLUMNS, ACCESS_FILE, SIGNALS_FILE)
"""Every file a dataset folder may hold (what ``import --delete-source`` removes)."""
