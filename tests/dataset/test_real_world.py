"""Real exports: nulls the format allows, byte-order marks, stray Latin-1 bytes, a few bad rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from custodes.dataset import loader
from custodes.dataset.loader import import_dataset
from custodes.dataset.reader import KnownIds, read_dataset
from custodes.errors import InputError
from custodes.marketplace.models import Customer, Employee, Order, OutsideSignal
from custodes.vault.keyring import FileKeyring
from tests.support.dataset import PII_VALUES, snapshot, write_dataset


def _append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write(text)


def test_signal_with_null_email_imports(
    engine: Engine, keyring: FileKeyring, dataset_dir: Path
) -> None:
    signal = {"time": "2025-02-02T00:00:00Z", "kind": "canary_hit", "seller_id": "S1"}
    _append(dataset_dir / "signals.jsonl", json.dumps({**signal, "email": None}) + "\n")
    _append(dataset_dir / "signals.jsonl", json.dumps({**signal, "customer_id": None}) + "\n")
    report = import_dataset(engine, dataset_dir, keyring)
    assert report.counts["signals"] == 3
    with Session(engine) as session:
        indexes = [s.email_index for s in session.scalars(select(OutsideSignal))]
    assert sorted(i is None for i in indexes) == [False, True, True]


def test_utf8_byte_order_mark_is_accepted(
    engine: Engine, keyring: FileKeyring, dataset_dir: Path
) -> None:
    for name in ("customers.csv", "access.jsonl"):
        path = dataset_dir / name
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    report = import_dataset(engine, dataset_dir, keyring)
    assert report.counts["customers"] == 2 and report.counts["access"] == 2


@pytest.mark.parametrize("name", ["employees.csv", "access.jsonl"])
def test_latin1_byte_is_reported_on_its_own_line(tmp_path: Path, name: str) -> None:
    folder = write_dataset(tmp_path / "d")
    path = folder / name
    lines = path.read_bytes().splitlines(keepends=True)
    # Pad the file so the bad byte sits on line 5, well past any decoder buffer boundary.
    filler = lines[-1] if name == "access.jsonl" else None
    if filler is not None:
        lines += [filler] * 4
    else:
        lines += [f"E{n},Pat {n},support_agent,support,E1,,,EU\n".encode() for n in (4, 5, 6)]
    lines[4] = lines[4].replace(b"support" if filler is None else b"review", b"caf\xe9", 1)
    path.write_bytes(b"".join(lines) + b"\n" * 10_000)
    with pytest.raises(InputError, match=rf"^{name}:5: not UTF-8$"):
        read_dataset(folder)


def test_reimport_clash_names_the_database_not_a_duplicate(
    engine: Engine, keyring: FileKeyring, dataset_dir: Path
) -> None:
    import_dataset(engine, dataset_dir, keyring)
    with pytest.raises(InputError) as info:
        import_dataset(engine, dataset_dir, keyring)
    assert "already in the database" in str(info.value)
    assert "duplicate" not in str(info.value)


def test_a_duplicate_inside_the_folder_is_still_a_duplicate(dataset_dir: Path) -> None:
    _append(dataset_dir / "sellers.csv", "S1,Again,active,US,,\n")
    with pytest.raises(InputError, match=r"^sellers.csv:4: duplicate seller_id 'S1'$"):
        read_dataset(dataset_dir)


def test_overlong_id_is_refused_with_file_and_line(dataset_dir: Path) -> None:
    _append(dataset_dir / "sellers.csv", "S" + "9" * 80 + ",Long,active,US,,\n")
    with pytest.raises(InputError, match=r"^sellers.csv:4: seller_id is longer than 64"):
        read_dataset(dataset_dir)


def test_database_refusal_names_file_and_line(
    engine: Engine, keyring: FileKeyring, dataset_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the database refuses a row the reader passed (here: it is told nothing is stored),
    the error still names the file and line, and nothing is written."""
    import_dataset(engine, dataset_dir, keyring)
    before = snapshot(engine)
    monkeypatch.setattr(loader, "known_ids", lambda session: KnownIds())
    with pytest.raises(InputError, match=r"employees.csv:2: the database refused this row"):
        import_dataset(engine, dataset_dir, keyring)
    assert snapshot(engine) == before


def _bad_rows(folder: Path) -> None:
    """Three bad rows, one of them with rows depending on it."""
    customers = folder / "customers.csv"
    customers.write_text(
        customers.read_text().replace("ros.rev@inbox.example", "ros.rev-at-inbox", 1)
    )
    _append(folder / "products.csv", "P3,S404,home,Orphan\n")
    _append(folder / "access.jsonl", "{not json\n")


def test_quarantine_imports_valid_rows_and_lists_the_rest(
    engine: Engine, keyring: FileKeyring, dataset_dir: Path
) -> None:
    _bad_rows(dataset_dir)
    report = import_dataset(engine, dataset_dir, keyring, quarantine=True)
    where = [(r.file, r.line) for r in report.rejected]
    # C2's e-mail is bad; its order, review, case and the signal about it go with it.
    assert ("customers.csv", 3) in where and ("products.csv", 4) in where
    assert ("access.jsonl", 3) in where and ("orders.csv", 3) in where
    assert ("reviews.csv", 3) in where and ("cases.csv", 3) in where
    assert report.counts["customers"] == 1 and report.counts["orders"] == 1
    with Session(engine) as session:
        assert session.scalars(select(Customer.customer_id)).all() == ["C1"]
        assert session.scalars(select(Order.order_id)).all() == ["O1"]
        assert len(session.scalars(select(Employee.employee_id)).all()) == 3
    text = json.dumps([r.to_json() for r in report.rejected])
    for value in PII_VALUES:
        assert value not in text
    assert "ros.rev-at-inbox" not in text


def test_without_quarantine_the_same_folder_is_all_or_nothing(
    engine: Engine, keyring: FileKeyring, dataset_dir: Path
) -> None:
    _bad_rows(dataset_dir)
    before = snapshot(engine)
    with pytest.raises(InputError, match=r"^products.csv:4: unknown seller_id 'S404'"):
        import_dataset(engine, dataset_dir, keyring)
    assert snapshot(engine) == before


def test_quarantine_drops_reports_of_a_rejected_manager(dataset_dir: Path) -> None:
    employees = dataset_dir / "employees.csv"
    employees.write_text(employees.read_text().replace("E1,Mona Manager,manager", "E1,,manager"))
    dataset = read_dataset(dataset_dir, quarantine=True)
    rejected = [(r.line, r.reason) for r in dataset.rejected if r.file == "employees.csv"]
    assert rejected == [
        (2, "name is empty"),
        (3, "unknown manager_id 'E1'"),
        (4, "unknown manager_id 'E1'"),
    ]
    assert dataset.employees == []
