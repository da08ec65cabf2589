"""Reading a dataset file into raw rows with their line numbers: CSV cells or JSON objects.

Only the file's shape is checked here (encoding, header, cell count, JSON syntax, lengths the
database enforces); what the values mean is ``rows``'. Every problem names file and line.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import String

from custodes.dataset.errors import DatasetError, DatasetFileError
from custodes.dataset.schema import FileSpec
from custodes.marketplace.models import (
    Case,
    Customer,
    Employee,
    ImportedAccessEvent,
    Order,
    OutsideSignal,
    Product,
    Review,
    Seller,
)

Row = dict[str, Any]

_MODELS: dict[str, type] = {
    "employees": Employee,
    "customers": Customer,
    "sellers": Seller,
    "products": Product,
    "orders": Order,
    "reviews": Review,
    "cases": Case,
    "access": ImportedAccessEvent,
    "signals": OutsideSignal,
}


def limits(spec: FileSpec) -> dict[str, int]:
    """Column lengths the database enforces (PostgreSQL does; SQLite would not), per file.

    Checked while reading so an over-long id is refused with its file and line, not by the
    database halfway through the import. Codes are checked against their allowed values.
    """
    columns = _MODELS[spec.table].__table__.columns  # type: ignore[attr-defined]
    wanted = set(spec.names)
    return {
        c.name: c.type.length
        for c in columns
        if isinstance(c.type, String)
        and c.type.length
        and c.name in wanted
        and c.name not in ("kind", "action")
    }


def too_long(row: Row, limits: dict[str, int]) -> str | None:
    """The first column (all of them strings or null) longer than the database allows."""
    for column, limit in limits.items():
        value = row[column]
        if value is not None and len(value) > limit:
            return f"{column} is longer than {limit} characters"
    return None


def undecodable(text: str) -> bool:
    """True when the text holds bytes that were not UTF-8 (kept as lone surrogates)."""
    if text.isascii():
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def open_text(path: Path) -> TextIO:
    """UTF-8 with or without a byte-order mark; a bad byte is kept (as a surrogate) so the
    line that holds it can be named, instead of failing wherever the decoder's buffer ends."""
    return path.open(newline="", encoding="utf-8-sig", errors="surrogateescape")


def _missing(spec: FileSpec) -> DatasetFileError:
    return DatasetFileError(f"{spec.name}: file missing from the dataset folder")


def csv_rows(folder: Path, spec: FileSpec) -> Iterator[tuple[int, Row | str]]:
    """(line, row) per data row, or (line, problem) for a row of the wrong shape.

    A problem with the whole file (missing, no header, missing columns, broken quoting) raises.
    """
    path = folder / spec.name
    if not path.exists():
        raise _missing(spec)
    with open_text(path) as handle:
        reader = csv.reader(handle)
        header = _header(reader, spec)
        names = spec.names
        positions = [header.index(c) for c in names]
        start = 1
        try:
            for record in reader:
                line = start + 1
                start = reader.line_num
                if not record:
                    continue
                if undecodable("".join(record)):
                    yield line, "not UTF-8"
                elif len(record) != len(header):
                    yield line, f"expected {len(header)} cells, found {len(record)}"
                else:
                    yield (
                        line,
                        {
                            c: (record[p] if record[p] != "" else None)
                            for c, p in zip(names, positions, strict=True)
                        },
                    )
        except csv.Error as exc:
            raise DatasetError(spec.name, reader.line_num, f"malformed CSV ({exc})") from None


def _header(reader: Iterator[list[str]], spec: FileSpec) -> list[str]:
    try:
        header = next(reader)
    except StopIteration:
        raise DatasetError(spec.name, 1, "empty file (a header row is required)") from None
    except csv.Error as exc:
        raise DatasetError(spec.name, 1, f"malformed CSV ({exc})") from None
    if undecodable("".join(header)):
        raise DatasetError(spec.name, 1, "not UTF-8")
    missing = [c for c in spec.names if c not in header]
    if missing:
        raise DatasetError(spec.name, 1, f"missing column(s): {', '.join(missing)}")
    return header


def jsonl_rows(folder: Path, spec: FileSpec) -> Iterator[tuple[int, Row | str]]:
    """(line, object) per non-blank line, or (line, problem) for a line that is not one."""
    path = folder / spec.name
    if not path.exists():
        if spec.required:
            raise _missing(spec)
        return
    with open_text(path) as handle:
        for line, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            if undecodable(text):
                yield line, "not UTF-8"
                continue
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                yield line, f"malformed JSON ({exc.msg})"
                continue
            if not isinstance(value, dict):
                yield line, "each line must be a JSON object"
                continue
            yield line, value
