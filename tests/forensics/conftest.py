"""A small simulated marketplace written as a dataset folder, shared by the forensics tests."""

from __future__ import annotations

import csv
import json
from collections import defaultdict

import pytest

from custodes.forensics.reads import reads_email
from custodes.sim import SimConfig, generate
from tests.support.forensics import Folder


@pytest.fixture(scope="session")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Folder:
    path = tmp_path_factory.mktemp("forensics") / "ds"
    generate(path, SimConfig(seed=5, customers=1500, employees=40, days=20))
    with (path / "customers.csv").open(newline="", encoding="utf-8") as handle:
        emails = {r["customer_id"]: r["email"] for r in csv.DictReader(handle)}
    reads: dict[str, dict[str, None]] = defaultdict(dict)
    for line in (path / "access.jsonl").read_text(encoding="utf-8").splitlines():
        event = json.loads(line)
        if reads_email(event["action"], event["fields"]):
            for customer in event["customer_ids"]:
                reads[event["employee_id"]].setdefault(customer, None)
    return Folder(path, emails, {e: list(c) for e, c in reads.items()})


from tests.support.api import api  # noqa: E402, F401  (fixtures, shared with access)
from tests.support.identity import provider  # noqa: E402, F401
