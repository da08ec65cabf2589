"""Reads and validates a dataset folder (DESIGN.md format) into plain rows.

Every problem is reported as `file:line: what is wrong` and stops the import before anything is
written. Messages name columns and ids, never PII values. The rules are ``schema.FILES``',
checked row by row by ``rows.RowChecker``; files are read by ``files``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from custodes.dataset.errors import DatasetError, DatasetFileError
from custodes.dataset.files import Row, csv_rows, jsonl_rows, limits, too_long
from custodes.dataset.rows import KnownIds, RowChecker
from custodes.dataset.schema import FILES, FileSpec, NotSame
from custodes.dataset.times import parse_time

__all__ = [
    "Dataset",
    "DatasetError",
    "KnownIds",
    "Rejection",
    "Rejections",
    "Row",
    "parse_time",
    "read_dataset",
]


@dataclass(frozen=True)
class Rejection:
    """A row left out by ``--quarantine``: where it was and why, never its values."""

    file: str
    line: int
    reason: str

    def to_json(self) -> dict[str, object]:
        return {"file": self.file, "line": self.line, "reason": self.reason}


class Rejections:
    """Where row-level problems go: raised at once (all or nothing), or collected (quarantine)."""

    def __init__(self, collect: bool) -> None:
        self.collect = collect
        self.rows: list[Rejection] = []

    def add(self, error: DatasetError) -> None:
        if not self.collect:
            raise error
        self.rows.append(Rejection(error.file, error.line, error.problem))


TABLE_NAMES = tuple(spec.table for spec in FILES)


@dataclass
class Dataset:
    """Validated rows; `customers` rows still hold plaintext PII for the vault to seal."""

    employees: list[tuple[int, Row]]
    customers: list[tuple[int, Row]]
    sellers: list[tuple[int, Row]]
    products: list[tuple[int, Row]]
    orders: list[tuple[int, Row]]
    reviews: list[tuple[int, Row]]
    cases: list[tuple[int, Row]]
    access: list[tuple[int, Row]]
    signals: list[tuple[int, Row]]
    rejected: list[Rejection] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {name: len(getattr(self, name)) for name in TABLE_NAMES}


def read_dataset(
    folder: Path, known: KnownIds | None = None, *, quarantine: bool = False
) -> Dataset:
    """Validate the whole folder.

    Without ``quarantine``, raise ``DatasetError`` at the first problem found. With it, rows
    with a problem are left out and listed in ``Dataset.rejected`` (file, line, reason), and
    so are rows that refer to them; problems with a whole file still raise.
    """
    if not folder.is_dir():
        raise DatasetFileError(f"{folder}: not a dataset folder")
    ids = known or KnownIds()
    stored = ids.frozen()
    rej = Rejections(collect=quarantine)
    tables = {
        spec.table: _read_file(folder, spec, ids, stored.get(spec.table, frozenset()), rej)
        for spec in FILES
    }
    return Dataset(**tables, rejected=sorted(rej.rows, key=lambda r: (r.file, r.line)))


def _raw(folder: Path, spec: FileSpec) -> Iterator[tuple[int, Row | str]]:
    return jsonl_rows(folder, spec) if spec.jsonl else csv_rows(folder, spec)


def _read_file(
    folder: Path, spec: FileSpec, ids: KnownIds, stored: frozenset[str], rej: Rejections
) -> list[tuple[int, Row]]:
    """The file's rows that pass every check; the others go to ``rej``."""
    checker = RowChecker(spec, ids, stored, seal_checks=rej.collect)
    lengths = limits(spec)
    out = []
    for line, raw in _raw(folder, spec):
        try:
            out.append((line, _checked(checker, line, raw, lengths)))
        except DatasetError as exc:
            rej.add(exc)
    if checker.self_refs or any(isinstance(r, NotSame) for r in spec.rules):
        out = _check_later(checker, out, rej)
    return out


def _checked(checker: RowChecker, line: int, raw: Row | str, lengths: dict[str, int]) -> Row:
    """One row checked: its shape (``raw`` is a problem already found), lengths, then rules.

    A CSV row's cells are checked for length first (as read); a JSON row's values once typed.
    """
    if isinstance(raw, str):
        raise DatasetError(checker.spec.name, line, raw)
    jsonl = checker.jsonl
    problem = None if jsonl else too_long(raw, lengths)
    if problem is None:
        row = checker.check(line, raw)
        problem = too_long(row, lengths) if jsonl else None
        if problem is None:
            return row
    raise DatasetError(checker.spec.name, line, problem)


def _check_later(
    checker: RowChecker, rows: list[tuple[int, Row]], rej: Rejections
) -> list[tuple[int, Row]]:
    """References into the file itself, once all its ids are known. Leaving a row out may
    orphan the rows that refer to it (a manager's reports), so repeat until nothing changes."""
    ids = checker.ids.of(checker.spec.table)
    key = checker.spec.key
    changed = True
    while changed:
        changed = False
        kept = []
        for line, row in rows:
            try:
                checker.check_later(line, row)
            except DatasetError as exc:
                rej.add(exc)
                if key is not None:
                    ids.discard(row[key.name])
                changed = True
                continue
            kept.append((line, row))
        rows = kept
    return rows
