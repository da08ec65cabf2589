"""Import: all of a folder or nothing, with errors naming file and line and never PII."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from custodes.dataset.loader import import_dataset
from custodes.errors import InputError
from custodes.marketplace.models import ImportedAccessEvent, OutsideSignal
from custodes.vault import _hazmat
from custodes.vault.keyring import FileKeyring
from custodes.vault.models import VaultRecord
from custodes.vault.service import find_by_email
from tests.support.dataset import PII_VALUES, snapshot, write_dataset


def test_import_seals_pii_and_loads_everything(
    engine: Engine, keyring: FileKeyring, dataset_dir: Path
) -> None:
    report = import_dataset(engine, dataset_dir, keyring)
    assert report.counts["customers"] == 2 and report.counts["access"] == 2
    with Session(engine) as session:
        assert find_by_email(session, keyring, "Ros.Rev@inbox.example") == ["C2"]
        record = session.get(VaultRecord, "C1")
        assert record is not None
        assert _hazmat.decrypt_fields(record, ["name"], keyring) == {"name": "Quentin Quarrelsome"}
        event = session.scalars(
            select(ImportedAccessEvent).order_by(ImportedAccessEvent.time)
        ).first()
        assert event is not None and event.action == "review.delete" and event.source_line == 2
        signal = session.scalars(select(OutsideSignal)).one()
        assert signal.email_index is not None and len(signal.email_index) == 32
    dump = repr(snapshot(engine))
    for value in PII_VALUES:
        assert value not in dump


def _replace(name: str, old: str, new: str) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        path = folder / name
        text = path.read_text()
        assert old in text
        path.write_text(text.replace(old, new, 1))

    return edit


def _append(name: str, line: str) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        with (folder / name).open("a") as handle:
            handle.write(line)

    return edit


BAD_INPUTS = {
    "missing column": (
        _replace("customers.csv", "customer_id,name,email", "customer_id,nom,email"),
        "customers.csv:1: missing column(s): name",
    ),
    "bad e-mail": (
        _replace("customers.csv", "ros.rev@inbox.example", "ros.rev-at-inbox"),
        "customers.csv:3: not a valid e-mail address",
    ),
    "bad phone": (
        _replace("customers.csv", "+14155552671", "+1415"),
        "customers.csv:3: not a valid phone number",
    ),
    "unknown foreign key": (
        _replace("orders.csv", "O2,C2,P2", "O2,C9,P2"),
        "orders.csv:3: unknown customer_id 'C9'",
    ),
    "duplicate id": (
        _append("products.csv", "P1,S1,home,Another widget\n"),
        "products.csv:4: duplicate product_id 'P1'",
    ),
    "malformed JSON line": (
        _append("access.jsonl", '{"time": "2025-01-09T00:00:00Z", "employee_id": \n'),
        "access.jsonl:3: malformed JSON",
    ),
    "unknown action": (
        _append(
            "access.jsonl",
            json.dumps(
                {"time": "2025-01-09T00:00:00Z", "employee_id": "E2", "action": "customer.steal"}
            )
            + "\n",
        ),
        "access.jsonl:3: action 'customer.steal' is not a known action",
    ),
    "bad time": (
        _replace("orders.csv", "2025-01-03T10:00:00Z", "yesterday"),
        "orders.csv:3: ordered_at is not an ISO 8601 time",
    ),
    "bad rating": (
        _replace("reviews.csv", "S1,5,", "S1,6,"),
        "reviews.csv:2: rating must be an integer from 1 to 5",
    ),
    "unknown employee in access": (
        _replace("access.jsonl", '"employee_id": "E2"', '"employee_id": "E77"'),
        "access.jsonl:1: unknown employee_id 'E77'",
    ),
    "missing file": (
        lambda folder: (folder / "cases.csv").unlink(),
        "cases.csv: file missing",
    ),
    "bad signal e-mail": (
        _replace("signals.jsonl", "ros.rev@inbox.example", "not-an-address"),
        "signals.jsonl:1: email is not a valid address",
    ),
}


@pytest.mark.parametrize("kind", sorted(BAD_INPUTS))
def test_bad_input_leaves_database_exactly_as_before(
    engine: Engine, keyring: FileKeyring, tmp_path: Path, kind: str
) -> None:
    # A first, good import, so "as before" is a non-empty database.
    import_dataset(engine, write_dataset(tmp_path / "first"), keyring)
    before = snapshot(engine)
    second = write_dataset(tmp_path / "second")
    edit, message = BAD_INPUTS[kind]
    edit(second)
    for path in second.iterdir():  # new ids, same shape, so only the edit can fail the import
        path.write_text(re.sub(r"\b([ECSPORK]\d+)\b", r"X\1", path.read_text()))
    with pytest.raises(InputError) as info:
        import_dataset(engine, second, keyring)
    text = str(info.value)
    assert text.replace("'X", "'").startswith(message)
    for value in PII_VALUES:
        assert value not in text
    assert snapshot(engine) == before


def test_reimport_of_same_folder_is_refused_as_duplicates(
    engine: Engine, keyring: FileKeyring, dataset_dir: Path
) -> None:
    import_dataset(engine, dataset_dir, keyring)
    before = snapshot(engine)
    with pytest.raises(
        InputError, match=r"employees.csv:2: employee_id 'E1' is already in the database"
    ):
        import_dataset(engine, dataset_dir, keyring)
    assert snapshot(engine) == before


def test_bulk_column_lists_cover_every_vault_value(keyring: FileKeyring) -> None:
    """The import's fast path writes tuples; a column missing there would be lost silently."""
    from custodes.dataset.loader import INDEX_COLUMNS, VAULT_COLUMNS
    from custodes.vault.service import CustomerPII, prepare_customer

    prepared = prepare_customer(
        keyring, "C1", CustomerPII(name="N", email="n@example.net", phone="+14155552671")
    )
    assert set(VAULT_COLUMNS) == set(prepared.vault_row)
    assert all(set(INDEX_COLUMNS) == set(row) for row in prepared.index_rows)
