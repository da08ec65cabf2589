"""Attribution straight from a dataset folder (DESIGN.md format): works on outside logs.

The folder is read and checked by `custodes.dataset.reader` (errors name file and line);
addresses from customers.csv stay in this process's memory and are never written anywhere.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from custodes.dataset.reader import read_dataset
from custodes.dataset.schema import ACCESS_FILE, SIGNALS_FILE
from custodes.errors import InputError
from custodes.forensics.reads import MemoryReads, memory_reads
from custodes.forensics.source import CanaryExposure, SignalRef
from custodes.vault.normalise import normalise_email


@dataclass
class FolderSource:
    reads: MemoryReads
    by_email: dict[str, str]
    signal_refs: dict[str, list[SignalRef]]

    def resolve(self, addresses: Collection[str]) -> dict[str, str]:
        return {a: self.by_email[a] for a in addresses if a in self.by_email}

    def canaries(self, customer_ids: Collection[str]) -> dict[str, CanaryExposure]:
        return {}  # a dataset folder records no exposures; canary_hit signals are evidence

    def signals(self, customer_ids: Collection[str]) -> list[SignalRef]:
        return [s for c in customer_ids for s in self.signal_refs.get(c, ())]

    def display(self, customer_ids: Collection[str]) -> dict[str, str]:
        return {c: c for c in customer_ids}


def folder_source(folder: Path) -> FolderSource:
    if not folder.is_dir():
        raise InputError(f"{folder}: not a dataset folder")
    data = read_dataset(folder)
    by_email: dict[str, str] = {}
    for _, row in data.customers:
        if row.get("email"):
            try:
                by_email.setdefault(normalise_email(row["email"]), row["customer_id"])
            except InputError:
                continue  # the reader accepted it as text; it is simply not matchable
    events = (
        (
            row["employee_id"],
            row["action"],
            json.loads(row["customer_ids"]),
            json.loads(row["fields"]),
            row["time"],
            f"{ACCESS_FILE}:{line}",
        )
        for line, row in data.access
    )
    reads = memory_reads(len(data.customers), events)
    signal_refs: dict[str, list[SignalRef]] = {}
    for line, row in data.signals:
        customer = row["customer_id"]
        if customer is None and row.get("email"):
            try:
                customer = by_email.get(normalise_email(row["email"]))
            except InputError:
                customer = None
        if customer is None or row["kind"] not in ("offplatform_contact", "canary_hit"):
            continue
        signal_refs.setdefault(customer, []).append(
            SignalRef(
                row["kind"], customer, row["seller_id"], row["time"], f"{SIGNALS_FILE}:{line}"
            )
        )
    return FolderSource(reads, by_email, signal_refs)
