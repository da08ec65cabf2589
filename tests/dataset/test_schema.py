"""One declaration, two checkers: the import's row checker and detection's DuckDB checks agree.

Every bad input below is derived from ``schema.FILES`` (one per declared rule), so a rule added
to the declaration is tested here without a new test. Both checkers must refuse it, naming
file, line and reason; every null the format allows must be accepted by both.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from custodes.dataset.errors import DatasetError
from custodes.dataset.reader import read_dataset
from custodes.dataset.schema import (
    FILES,
    AtLeastOne,
    Column,
    FileSpec,
    NotBefore,
    NotSame,
    Type,
)
from custodes.detect.inputs import load_folder
from tests.dataset.conftest import write_dataset

Edit = Callable[[list[dict]], None]


def _edit_csv(folder: Path, spec: FileSpec, edit: Edit) -> None:
    path = folder / spec.name
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    edit(rows)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(spec.names), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")


def _edit_jsonl(folder: Path, spec: FileSpec, edit: Edit) -> None:
    path = folder / spec.name
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    edit(rows)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def _set(column: str, value: object, row: int = 0) -> Callable[[list[dict]], None]:
    def edit(rows: list[dict]) -> None:
        rows[row][column] = value

    return edit


def _bad_value(column: Column) -> object | None:
    """A value the column's declaration refuses, or None when its type has no such rule."""
    match column.type:
        case Type.ID if column.ref is not None:
            return "X404"
        case Type.CODE | Type.INTEGER:
            return "nonsense"
        case Type.TIME:
            return "yesterday"
        case Type.COUNTRY:
            return "Germany"
        case Type.IDS:
            return ["X404"]
    return None


def _bad_inputs() -> list[tuple[str, str, Callable[[list[dict]], None]]]:
    cases: list[tuple[str, str, Callable[[list[dict]], None]]] = []
    for spec in FILES:
        for column in spec.columns:
            name = f"{spec.name}:{column.name}"
            if column.key:

                def duplicate(rows: list[dict], key: str = column.name) -> None:
                    rows[1][key] = rows[0][key]

                cases.append((f"{name} duplicate", spec.name, duplicate))
                continue
            if column.required:
                cases.append((f"{name} empty", spec.name, _set(column.name, None)))
            bad = _bad_value(column)
            if bad is not None:
                cases.append((f"{name} bad", spec.name, _set(column.name, bad)))
        for rule in spec.rules:
            match rule:
                case AtLeastOne(columns, _):

                    def none(rows: list[dict], columns: tuple[str, ...] = columns) -> None:
                        rows[0].update(dict.fromkeys(columns))

                    cases.append((f"{spec.name} {columns}", spec.name, none))
                case NotBefore(column, other, _):

                    def before(rows: list[dict], column: str = column, other: str = other) -> None:
                        rows[0][column] = "2000-01-01T00:00:00Z"
                        rows[0][other] = "2001-01-01T00:00:00Z"

                    cases.append((f"{spec.name} {column}<{other}", spec.name, before))
                case NotSame(column, other, _):

                    def same(rows: list[dict], column: str = column, other: str = other) -> None:
                        rows[0][column] = rows[0][other]

                    cases.append((f"{spec.name} {column}={other}", spec.name, same))
    return cases


BAD = _bad_inputs()


def _apply(folder: Path, file: str, edit: Callable[[list[dict]], None]) -> None:
    spec = next(s for s in FILES if s.name == file)
    if spec.jsonl:
        _edit_jsonl(folder, spec, edit)
    else:
        _edit_csv(folder, spec, edit)


def test_every_declared_rule_has_a_bad_input() -> None:
    names = {name for name, _, _ in BAD}
    assert len(BAD) >= 40
    assert "cases.csv closed_at<opened_at" in names
    assert "employees.csv manager_id=employee_id" in names
    assert "access.jsonl:customer_ids bad" in names


@pytest.mark.parametrize(("name", "file", "edit"), BAD, ids=[b[0] for b in BAD])
def test_both_checkers_refuse_each_rule(
    tmp_path: Path, name: str, file: str, edit: Callable[[list[dict]], None]
) -> None:
    folder = write_dataset(tmp_path / "bad")
    _apply(folder, file, edit)
    with pytest.raises(DatasetError) as imported:
        read_dataset(folder)
    assert re.fullmatch(rf"{re.escape(file)}:\d+: .+", str(imported.value)), imported.value
    with pytest.raises(DatasetError) as detected:  # detection: the SQL checks catch it too
        load_folder(folder)
    assert str(detected.value) == str(imported.value)


def _optional(spec: FileSpec) -> list[Column]:
    return [c for c in spec.columns if not c.required and not c.key]


@pytest.mark.parametrize("spec", FILES, ids=[s.name for s in FILES])
def test_every_null_the_format_allows_is_accepted(tmp_path: Path, spec: FileSpec) -> None:
    at_least_one = {c for r in spec.rules if isinstance(r, AtLeastOne) for c in r.columns}
    for column in _optional(spec):
        folder = write_dataset(tmp_path / column.name)

        def blank(rows: list[dict], name: str = column.name) -> None:
            for row in rows:
                if name in at_least_one and all(row.get(c) in (None, "") for c in at_least_one):
                    continue
                if spec.jsonl and name == "time":
                    continue
                row[name] = None

        _apply(folder, spec.name, blank)
        if spec.jsonl:  # an absent key is null too

            def drop(rows: list[dict], name: str = column.name) -> None:
                rows[-1].pop(name, None)

            _apply(folder, spec.name, drop)
        read = read_dataset(folder, quarantine=True)
        assert read.rejected == [], (column.name, read.rejected)
        assert load_folder(folder).counts()["employees"] == 3
