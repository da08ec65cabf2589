"""The row checker of ``custodes import``, generated from ``schema.FILES``.

``RowChecker(spec, ...)`` checks one file's rows column by column, in the declared order, then
the file's row rules; each problem raises ``DatasetError`` naming file, line and reason (ids and
column names, never a PII value). Values come back typed for the database: times as aware
datetimes, integers as ints, countries upper-case, JSON lists as JSON text.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, NoReturn

from custodes.dataset.errors import DatasetError
from custodes.dataset.schema import (
    SPECS,
    AtLeastOne,
    Column,
    FileSpec,
    NotBefore,
    NotSame,
    Type,
)
from custodes.dataset.times import parse_time
from custodes.errors import InputError
from custodes.vault.normalise import normalise_email, normalise_phone

Row = dict[str, Any]
_ALPHA2 = re.compile(r"[A-Za-z]{2}")
_STRING_TYPES = (Type.ID, Type.TEXT, Type.CODE, Type.TIME, Type.STRING, Type.EMAIL, Type.PHONE)


@dataclass
class KnownIds:
    """Ids already in the database, so the folder may extend an existing marketplace."""

    employees: set[str] = field(default_factory=set)
    customers: set[str] = field(default_factory=set)
    sellers: set[str] = field(default_factory=set)
    products: set[str] = field(default_factory=set)
    orders: set[str] = field(default_factory=set)
    reviews: set[str] = field(default_factory=set)
    cases: set[str] = field(default_factory=set)

    def frozen(self) -> dict[str, frozenset[str]]:
        """A copy of the ids as they are in the database, before the folder adds its own."""
        return {name: frozenset(getattr(self, name)) for name in self.__dataclass_fields__}

    def of(self, table: str) -> set[str]:
        ids: set[str] = getattr(self, table)
        return ids


def _key_name(table: str) -> str:
    key = SPECS[f"{table}.csv"].key
    assert key is not None
    return key.name


class RowChecker:
    """Checks the rows of one file against its declaration (see the module docstring).

    ``seal_checks``: also check the format of sealed PII now (the vault checks it anyway while
    sealing; ``--quarantine`` needs to know a bad customer before the rows that refer to it).
    """

    def __init__(
        self, spec: FileSpec, ids: KnownIds, stored: frozenset[str], *, seal_checks: bool
    ) -> None:
        self.spec, self.ids, self.stored = spec, ids, stored
        self.seal_checks = seal_checks
        self.line = 0
        self.self_refs = tuple(c for c in spec.columns if c.ref == spec.table)

    def fail(self, problem: str) -> NoReturn:
        raise DatasetError(self.spec.name, self.line, problem)

    def check(self, line: int, row: Row) -> Row:
        """The row, typed, or ``DatasetError``; its id joins the known ids only once it passed,
        so a rejected row's id is unknown to the rows that refer to it."""
        self.line = line
        if self.spec.jsonl:
            unknown = sorted(set(row) - set(self.spec.names))
            if unknown:
                self.fail(f"unknown key(s): {', '.join(unknown)}")
        key = self.spec.key
        new_id = self._new_id(row.get(key.name)) if key is not None else None
        out: Row = {"source_line": line} if self.spec.jsonl else {}
        for column in self.spec.columns:
            if not column.key:
                out[column.name] = self._value(column, row.get(column.name))
            else:
                out[column.name] = new_id
        self._rules(out)
        if new_id is not None:
            self.ids.of(self.spec.table).add(new_id)
        return out

    def _new_id(self, value: str | None) -> str:
        key = self.spec.key
        assert key is not None
        if value is None:
            self.fail(f"{key.name} is empty")
        if value in self.stored:
            self.fail(
                f"{key.name} {value!r} is already in the database "
                "(was this folder imported before?)"
            )
        if value in self.ids.of(self.spec.table):
            self.fail(f"duplicate {key.name} {value!r}")
        return value

    def _value(self, column: Column, value: Any) -> Any:
        name, jsonl = column.name, self.spec.jsonl
        if value is None:
            if column.required:
                self.fail(f"{name} is missing" if jsonl else f"{name} is empty")
            return json.dumps([]) if column.type in (Type.IDS, Type.STRINGS) else None
        if jsonl and column.type in _STRING_TYPES and not isinstance(value, str):
            self.fail(f"{name} must be a string" + ("" if column.required else " or null"))
        return self._typed(column, value)

    def _typed(self, column: Column, value: Any) -> Any:
        name = column.name
        match column.type:
            case Type.ID if column.ref is not None and column.ref != self.spec.table:
                if value not in self.ids.of(column.ref):
                    self.fail(f"unknown {name} {value!r}")
            case Type.CODE if value not in column.allowed:
                if column.noun:
                    self.fail(f"{name} {value!r} is not a known {column.noun}")
                self.fail(f"{name} {value!r} is not one of {', '.join(column.allowed)}")
            case Type.INTEGER:
                if value not in column.allowed:
                    lo, hi = column.allowed[0], column.allowed[-1]
                    self.fail(f"{name} must be an integer from {lo} to {hi}")
                return int(value)
            case Type.TIME:
                return parse_time(value, self.spec.name, self.line, name)
            case Type.COUNTRY:
                if not _ALPHA2.fullmatch(value):
                    self.fail(f"{name} must be an ISO 3166 alpha-2 code")
                return value.upper()
            case Type.IDS | Type.STRINGS:
                return self._list(column, value)
            case Type.EMAIL if not column.sealed:
                try:
                    return normalise_email(value)
                except InputError:
                    self.fail(f"{name} is not a valid address")
        return value

    def _list(self, column: Column, value: Any) -> str:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(f"{column.name} must be a list of strings")
        if column.ref is not None:
            known = self.ids.of(column.ref)
            for item in value:
                if item not in known:
                    self.fail(f"unknown {_key_name(column.ref)} {item!r}")
        return json.dumps(value)

    def _rules(self, row: Row) -> None:
        for rule in self.spec.rules:
            match rule:
                case AtLeastOne(columns, problem) if all(row[c] is None for c in columns):
                    self.fail(problem)
                case NotBefore(column, other, problem) if _before(row[column], row[other]):
                    self.fail(problem)
        if self.seal_checks:
            self._sealed(row)

    def _sealed(self, row: Row) -> None:
        """The vault's own checks of sealed PII (e-mail, phone with the row's country)."""
        try:
            for column in self.spec.columns:
                value = row[column.name]
                if not column.sealed or value is None:
                    continue
                if column.type is Type.EMAIL:
                    normalise_email(value)
                elif column.type is Type.PHONE:
                    normalise_phone(value, row.get("country"))
        except InputError as exc:
            self.fail(str(exc))

    def check_later(self, line: int, row: Row) -> None:
        """What needs the whole file first: references into the same file (a manager listed
        after their reports) and the rules that go with them."""
        self.line = line
        for column in self.self_refs:
            value = row[column.name]
            if value is not None and value not in self.ids.of(self.spec.table):
                self.fail(f"unknown {column.name} {value!r}")
        for rule in self.spec.rules:
            if isinstance(rule, NotSame) and _same(row[rule.column], row[rule.other]):
                self.fail(rule.problem)


def _before(value: Any, other: Any) -> bool:
    return value is not None and other is not None and bool(value < other)


def _same(value: Any, other: Any) -> bool:
    return value is not None and bool(value == other)
