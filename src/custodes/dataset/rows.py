"""The row checker of ``custodes import``, generated from ``schema.FILES``.

``RowChecker(spec, ...)`` checks one file's rows column by column, in the declared order, then
the file's row rules; each problem raises ``DatasetError`` naming file, line and reason (ids and
column names, never a PII value). Values come back typed for the database: times as aware
datetimes, integers as ints, countries upper-case, JSON lists as JSON text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection
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
Step = Callable[[Any], Any]
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

    Each column's check is built once, as a small function, from its declaration; a row is then
    a loop over them. ``seal_checks``: also check the format of sealed PII now (the vault
    checks it anyway while sealing; ``--quarantine`` needs to know a bad customer before the
    rows that refer to it).
    """

    def __init__(
        self, spec: FileSpec, ids: KnownIds, stored: frozenset[str], *, seal_checks: bool
    ) -> None:
        self.spec, self.ids, self.stored = spec, ids, stored
        self.seal_checks = seal_checks
        self.line = 0
        self.self_refs = tuple(c for c in spec.columns if c.ref == spec.table)
        self.jsonl = spec.jsonl
        self._names = frozenset(spec.names)
        self._key = spec.key
        self._own = ids.of(spec.table) if self._key is not None else set()
        # A CSV row is checked in place: a column that is optional text needs no step.
        self._steps = [
            (c.name, self._step(c))
            for c in spec.columns
            if not c.key and (self.jsonl or c.required or self._converter(c) is not None)
        ]
        self._row_rules = [r for r in spec.rules if not isinstance(r, NotSame)]
        sealed = [c for c in spec.columns if c.sealed and c.type in (Type.EMAIL, Type.PHONE)]
        self._sealed_columns = sealed if seal_checks else []

    def fail(self, problem: str) -> NoReturn:
        raise DatasetError(self.spec.name, self.line, problem)

    def check(self, line: int, row: Row) -> Row:
        """The row, typed, or ``DatasetError``; its id joins the known ids only once it passed,
        so a rejected row's id is unknown to the rows that refer to it."""
        self.line = line
        out: Row = row
        if self.jsonl:
            unknown = row.keys() - self._names
            if unknown:
                self.fail(f"unknown key(s): {', '.join(sorted(unknown))}")
            out = {"source_line": line}
        new_id = None
        if self._key is not None:
            new_id = out[self._key.name] = self._new_id(row.get(self._key.name))
        get = row.get
        for name, step in self._steps:
            out[name] = step(get(name))
        if self._row_rules or self._sealed_columns:
            self._rules(out)
        if new_id is not None:
            self._own.add(new_id)
        return out

    def _new_id(self, value: str | None) -> str:
        key = self._key
        assert key is not None
        if value is None:
            self.fail(f"{key.name} is empty")
        if value in self.stored:
            self.fail(
                f"{key.name} {value!r} is already in the database "
                "(was this folder imported before?)"
            )
        if value in self._own:
            self.fail(f"duplicate {key.name} {value!r}")
        return value

    def _step(self, column: Column) -> Step:
        """The check of one column: null and JSON type first, then ``_converter``'s."""
        convert, fail = self._converter(column), self.fail
        required, lists = column.required, column.type in (Type.IDS, Type.STRINGS)
        empty = json.dumps([]) if lists else None
        missing = f"{column.name} is {'missing' if self.jsonl else 'empty'}"
        needs_str = self.jsonl and column.type in _STRING_TYPES
        not_str = f"{column.name} must be a string" + ("" if required else " or null")

        if isinstance(convert, _Member):  # the common case, in one call per cell
            allowed, problem = convert.allowed, convert.problem

            def member(value: Any) -> Any:
                if value is None:
                    if required:
                        fail(missing)
                    return None
                if needs_str and not isinstance(value, str):
                    fail(not_str)
                if value not in allowed:
                    fail(problem(value))
                return value

            return member

        if column.type is Type.TIME and not needs_str:  # CSV times, one call per cell
            file, name = self.spec.name, column.name

            def time(value: Any) -> Any:
                if value is None:
                    if required:
                        fail(missing)
                    return None
                return parse_time(value, file, self.line, name)

            return time

        def step(value: Any) -> Any:
            if value is None:
                if required:
                    fail(missing)
                return empty
            if needs_str and not isinstance(value, str):
                fail(not_str)
            return value if convert is None else convert(value)

        return step

    def _converter(self, column: Column) -> Step | _Member | None:
        """What a non-null value of the column must be, and its typed form (None: as is)."""
        name, fail = column.name, self.fail
        match column.type:
            case Type.ID if column.ref is not None and column.ref != self.spec.table:
                return _Member(self.ids.of(column.ref), lambda v: f"unknown {name} {v!r}")
            case Type.CODE if column.noun:
                noun = column.noun
                return _Member(
                    frozenset(column.allowed), lambda v: f"{name} {v!r} is not a known {noun}"
                )
            case Type.CODE:
                listed = ", ".join(column.allowed)
                return _Member(
                    frozenset(column.allowed), lambda v: f"{name} {v!r} is not one of {listed}"
                )
            case Type.INTEGER:
                values = {v: int(v) for v in column.allowed}
                lo, hi = column.allowed[0], column.allowed[-1]
                bad = f"{name} must be an integer from {lo} to {hi}"
                return lambda v: values[v] if v in values else fail(bad)
            case Type.TIME:
                file = self.spec.name
                return lambda v: parse_time(v, file, self.line, name)
            case Type.COUNTRY:
                bad = f"{name} must be an ISO 3166 alpha-2 code"
                return lambda v: v.upper() if _ALPHA2.fullmatch(v) else fail(bad)
            case Type.IDS | Type.STRINGS:
                return lambda v: self._list(column, v)
            case Type.EMAIL if not column.sealed:
                return self._email(column)
        return None

    def _email(self, column: Column) -> Step:
        def email(value: str) -> str:
            try:
                return normalise_email(value)
            except InputError:
                self.fail(f"{column.name} is not a valid address")

        return email

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
        for rule in self._row_rules:
            match rule:
                case AtLeastOne(columns, problem) if all(row[c] is None for c in columns):
                    self.fail(problem)
                case NotBefore(column, other, problem) if _before(row[column], row[other]):
                    self.fail(problem)
        if self._sealed_columns:
            self._sealed(row)

    def _sealed(self, row: Row) -> None:
        """The vault's own checks of sealed PII (e-mail, phone with the row's country)."""
        try:
            for column in self._sealed_columns:
                value = row[column.name]
                if value is None:
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


@dataclass(frozen=True, slots=True)
class _Member:
    """The value must be one of ``allowed`` (an id set grows as its file is read)."""

    allowed: Collection[str]
    problem: Callable[[str], str]


def _before(value: Any, other: Any) -> bool:
    return value is not None and other is not None and bool(value < other)


def _same(value: Any, other: Any) -> bool:
    return value is not None and bool(value == other)
