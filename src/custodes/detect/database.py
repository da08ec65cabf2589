"""The database's imported tables (``custodes import``) and ledgered decisions as detection inputs.

Every table is read through its owning package's reader (marketplace, vault, ledger, access), then
shaped into the canonical tables at this edge; a signal's reported e-mail is matched to a
customer through the vault's blind index, never decrypted.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import pyarrow as pa
from sqlalchemy import Engine

from custodes.detect.records import events_from_records, ledger_records
from custodes.detect.tables import SCHEMAS, Inputs
from custodes.marketplace.readers import (
    ACCESS_EVENT_COLUMNS,
    imported_access_events,
    outside_signals,
    reference_rows,
)
from custodes.vault.readers import blind_index_customers

REFERENCE_COLUMNS: dict[str, tuple[str, ...]] = {
    "employees": ("employee_id", "role", "team", "manager_id", "hired_at", "left_at", "region"),
    "customers": ("customer_id", "created_at"),
    "sellers": ("seller_id", "status", "banned_at"),
    "products": ("product_id", "seller_id", "category"),
    "orders": ("order_id", "customer_id", "product_id", "seller_id", "ordered_at"),
    "reviews": (
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
    "cases": (
        "case_id",
        "kind",
        "employee_id",
        "customer_id",
        "seller_id",
        "opened_at",
        "closed_at",
    ),
}
"""Which columns of each reference table detection reads (times become ``*_ts``)."""


def _frame(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=list(columns))
    return df.astype(object).where(df.notna(), None)  # NULL stays None, not NaN


def _table(df: pd.DataFrame, name: str) -> pa.Table:
    """A frame as canonical table ``name``: ``X_at`` (or ``time``) become epoch seconds."""
    schema = SCHEMAS[name]
    for f in schema:
        if f.name.endswith("_ts") or f.name == "ts":
            source = f.name.removesuffix("_ts") + "_at" if f.name != "ts" else "time"
            when = pd.to_datetime(df.pop(source), utc=True)
            df[f.name] = (when - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)
    return pa.Table.from_pandas(df[[f.name for f in schema]], schema=schema, preserve_index=False)


def _aware(value: Any) -> Any:
    when = pd.Timestamp(value)
    return (when.tz_localize("UTC") if when.tzinfo is None else when).to_pydatetime()


def _access_records(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            **row,
            "index": row["event_id"],
            "time": _aware(row["time"]),
            "customer_ids": json.loads(row["customer_ids"] or "[]"),
            "fields": json.loads(row["fields"] or "[]"),
        }
        for row in rows
    ]


def _signals(rows: list[dict[str, Any]], by_email: dict[bytes, list[str]]) -> pa.Table:
    """Signals with a reported e-mail's blind index resolved to its customer(s), then dropped."""
    out: list[dict[str, Any]] = []
    for row in rows:
        digest = row.pop("email_index")
        matches: list[str | None] = (
            list(by_email.get(bytes(digest), [])) if digest is not None else []
        )
        base = {**row, "evidence": f"db:outside_signals:{row['signal_id']}"}
        for customer in matches or [None]:
            out.append({**base, "customer_id": base["customer_id"] or customer})
    columns = ("signal_id", "evidence", "time", "kind", "seller_id", "customer_id")
    return _table(_frame(out, columns), "signals")


def load_database(engine: Engine) -> Inputs:
    """The database's imported tables plus the ledger's allowed access decisions."""
    with engine.connect() as conn:
        access = imported_access_events(conn)
        reference = {
            name: _frame(reference_rows(conn, name, columns), columns)
            for name, columns in REFERENCE_COLUMNS.items()
        }
        signals = _signals(outside_signals(conn), blind_index_customers(conn, "email"))
    records = _access_records(_frame(access, ACCESS_EVENT_COLUMNS).to_dict("records"))
    events, links = events_from_records(records, source="db:imported_access_events")
    ledger_events, ledger_links = events_from_records(ledger_records(engine), source="ledger")
    return Inputs(
        events=pa.concat_tables([events, ledger_events]),
        event_customers=pa.concat_tables([links, ledger_links]),
        signals=signals,
        **{name: _table(df, name) for name, df in reference.items()},
    )
