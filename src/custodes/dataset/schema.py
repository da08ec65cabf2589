"""The dataset folder's rules, declared once as data: files, columns, types, nullability,
allowed values, references and the few rules that span columns.

Everything that checks or describes a dataset folder is generated from ``FILES``: the row
checker of ``custodes import`` (``dataset.rows``), the DuckDB checks of ``custodes detect``
(``dataset.sql_checks``), the simulator's column order (``sim.writer``) and the format page
(``docs/gen_dataset_format.py`` → docs/dataset-format.md). Change a rule here and all of them
follow. Column lengths are the database's (``marketplace.models``), read by the row checker.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from custodes.marketplace.models import (
    ACCESS_ACTIONS,
    CASE_KINDS,
    EMPLOYEE_ROLES,
    REVIEW_STATUSES,
    SELLER_STATUSES,
    SIGNAL_KINDS,
)


class Type(StrEnum):
    """What a cell (CSV) or value (JSON Lines) holds, as the format page names it."""

    ID = "id (opaque string)"
    TEXT = "text"
    CODE = "code"  # one of ``Column.allowed``
    TIME = "time (ISO 8601 with offset)"
    INTEGER = "integer"  # one of ``Column.allowed`` (as text in CSV)
    COUNTRY = "ISO 3166 alpha-2"
    IDS = "list of ids"  # JSON: a list of references
    STRINGS = "list of strings"  # JSON
    STRING = "string"  # JSON
    EMAIL = "email"  # an address, normalised and checked as the vault does
    PHONE = "phone"  # a number, normalised to E.164 by the vault (using the row's ``country``)


@dataclass(frozen=True, slots=True)
class Column:
    """One column (CSV) or key (JSON Lines).

    ``key``: the file's id, unique in the file and the database. ``ref``: the table whose id
    this names (e.g. ``"sellers"``); null is allowed unless ``required``. ``allowed``: the values
    a ``CODE`` or ``INTEGER`` may take. ``noun``: how a JSON file's messages name a ``CODE``
    (``action 'x' is not a known action``). ``sealed``: customer PII, encrypted in the vault
    on import; the vault checks its format while sealing (the row checker too, when it
    quarantines, so rows referring to a bad customer are known). ``rule``: the format page's
    words for the rest.
    """

    name: str
    type: Type
    required: bool = False
    rule: str = ""
    key: bool = False
    ref: str | None = None
    allowed: tuple[str, ...] = ()
    noun: str = ""
    sealed: bool = False
    doc_type: str = ""  # overrides ``type``'s name on the format page

    @property
    def type_name(self) -> str:
        """The type as the format page names it."""
        return "PII" if self.sealed else self.doc_type or self.type.value

    def describe(self) -> str:
        """The rule as the format page states it."""
        if self.type is Type.CODE and not self.rule:
            return "one of " + ", ".join(f"`{v}`" for v in self.allowed)
        return self.rule


@dataclass(frozen=True, slots=True)
class AtLeastOne:
    """At least one of ``columns`` is not null."""

    columns: tuple[str, ...]
    problem: str


@dataclass(frozen=True, slots=True)
class NotBefore:
    """``column`` (a time) is not before ``other`` when both are set."""

    column: str
    other: str
    problem: str


@dataclass(frozen=True, slots=True)
class NotSame:
    """``column`` differs from ``other`` when set (e.g. nobody is their own manager)."""

    column: str
    other: str
    problem: str


RowRule = AtLeastOne | NotBefore | NotSame


@dataclass(frozen=True, slots=True)
class FileSpec:
    """One file of the folder: its columns in the documented order and its row rules."""

    name: str
    table: str  # the table its rows become; references name it
    columns: tuple[Column, ...]
    rules: tuple[RowRule, ...] = ()
    required: bool = True

    @property
    def jsonl(self) -> bool:
        return self.name.endswith(".jsonl")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def key(self) -> Column | None:
        return next((c for c in self.columns if c.key), None)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


def _id(name: str, rule: str = "unique") -> Column:
    return Column(name, Type.ID, required=True, key=True, rule=rule)


def _ref(name: str, table: str, required: bool = True, rule: str = "") -> Column:
    return Column(name, Type.ID, required, rule or f"a known `{name}`", ref=table)


def _time(name: str, required: bool = False, rule: str = "") -> Column:
    return Column(name, Type.TIME, required, rule)


def _text(name: str, required: bool = False, rule: str = "") -> Column:
    return Column(name, Type.TEXT, required, rule)


IN_FILE_OR_DB = "unique in the file and the database"

EMPLOYEES = FileSpec(
    "employees.csv",
    "employees",
    (
        _id("employee_id", IN_FILE_OR_DB),
        _text("name", True, "staff name (not customer PII; stored as given)"),
        Column("role", Type.CODE, True, allowed=EMPLOYEE_ROLES),
        _text("team", rule="free text"),
        _ref(
            "manager_id",
            "employees",
            False,
            "an `employee_id` in this file or the database; not oneself",
        ),
        _time("hired_at"),
        _time("left_at", rule="set for leavers: they can no longer act"),
        _text("region", rule="free text"),
    ),
    (NotSame("manager_id", "employee_id", "employee is their own manager"),),
)
CUSTOMERS = FileSpec(
    "customers.csv",
    "customers",
    (
        _id("customer_id", IN_FILE_OR_DB),
        Column("name", Type.TEXT, sealed=True, rule="sealed in the vault on import"),
        Column(
            "email",
            Type.EMAIL,
            sealed=True,
            rule="sealed; blind-indexed for exact search; email or phone needed",
        ),
        Column(
            "phone",
            Type.PHONE,
            sealed=True,
            rule="sealed; normalised to E.164 (using `country`); blind-indexed",
        ),
        Column("country", Type.COUNTRY, rule="two letters; stored upper-case"),
        _text("region", rule="free text"),
        _text("language", rule="free text (e.g. a BCP 47 tag)"),
        _time("created_at"),
    ),
    (AtLeastOne(("email", "phone"), "a customer needs an email or a phone"),),
)
SELLERS = FileSpec(
    "sellers.csv",
    "sellers",
    (
        _id("seller_id"),
        _text("name", True, "the shop's public name"),
        Column("status", Type.CODE, True, allowed=SELLER_STATUSES),
        _text("country"),
        _time("created_at"),
        _time("banned_at"),
    ),
)
PRODUCTS = FileSpec(
    "products.csv",
    "products",
    (_id("product_id"), _ref("seller_id", "sellers"), _text("category"), _text("title")),
)
ORDERS = FileSpec(
    "orders.csv",
    "orders",
    (
        _id("order_id"),
        _ref("customer_id", "customers"),
        _ref("product_id", "products"),
        _ref("seller_id", "sellers"),
        _time("ordered_at", True),
    ),
)
REVIEWS = FileSpec(
    "reviews.csv",
    "reviews",
    (
        _id("review_id"),
        _ref("customer_id", "customers"),
        _ref("product_id", "products"),
        _ref("seller_id", "sellers"),
        Column("rating", Type.INTEGER, True, "1 to 5", allowed=("1", "2", "3", "4", "5")),
        _time("created_at", True),
        Column("status", Type.CODE, True, allowed=REVIEW_STATUSES),
        _time("removed_at"),
        _ref("removed_by", "employees", False, "a known `employee_id`"),
    ),
)
CASES = FileSpec(
    "cases.csv",
    "cases",
    (
        _id("case_id"),
        Column("kind", Type.CODE, True, allowed=CASE_KINDS),
        _ref("employee_id", "employees", True, "the assignee: a known `employee_id`"),
        _ref("customer_id", "customers", False, "a known `customer_id`: the case's subject"),
        _ref("seller_id", "sellers", False),
        _time("opened_at", True),
        _time("closed_at", rule="not before `opened_at`; a closed case justifies nothing"),
    ),
    (NotBefore("closed_at", "opened_at", "closed_at is before opened_at"),),
)
ACCESS = FileSpec(
    "access.jsonl",
    "access",
    (
        _time("time", True),
        _ref("employee_id", "employees"),
        Column("action", Type.CODE, True, allowed=ACCESS_ACTIONS, noun="action"),
        Column("customer_ids", Type.IDS, rule="each a known `customer_id`", ref="customers"),
        _ref("seller_id", "sellers", False),
        _ref("product_id", "products", False),
        _ref("review_id", "reviews", False),
        _ref("case_id", "cases", False),
        Column("fields", Type.STRINGS, rule="the PII fields shown"),
        Column("justification", Type.STRING, rule="the justification code given"),
    ),
)
SIGNALS = FileSpec(
    "signals.jsonl",
    "signals",
    (
        _time("time", True),
        Column("kind", Type.CODE, True, allowed=SIGNAL_KINDS, noun="signal kind"),
        _ref("seller_id", "sellers", False),
        _ref("customer_id", "customers", False),
        Column(
            "email",
            Type.EMAIL,
            rule="an address seen outside (e.g. a canary); never stored in clear",
            doc_type="string",
        ),
    ),
    required=False,
)

FILES: tuple[FileSpec, ...] = (
    EMPLOYEES,
    CUSTOMERS,
    SELLERS,
    PRODUCTS,
    ORDERS,
    REVIEWS,
    CASES,
    ACCESS,
    SIGNALS,
)
"""Every file, in reading order: a file may refer only to the files before it."""
SPECS = {spec.name: spec for spec in FILES}
CSV_FILES = tuple(spec for spec in FILES if not spec.jsonl)

# The names the rest of the code base uses, derived from the declaration.
CSV_COLUMNS: dict[str, tuple[str, ...]] = {spec.name: spec.names for spec in CSV_FILES}
REQUIRED_FILES = tuple(CSV_COLUMNS)
ACCESS_FILE = ACCESS.name
SIGNALS_FILE = SIGNALS.name
ACCESS_KEYS = ACCESS.names
SIGNAL_KEYS = SIGNALS.names
DATASET_FILES = tuple(spec.name for spec in FILES)
"""Every file a dataset folder may hold (what ``import --delete-source`` removes)."""
