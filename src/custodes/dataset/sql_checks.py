"""The dataset rules of ``schema.FILES`` as DuckDB SQL, for readers that check a whole file at once.

``file_checks(spec)`` gives one aggregate per rule, each counting the rows that break it, in
the order the row checker (``rows``) applies them, so that one ``SELECT`` checks a file. The
tables are the file's cells as text: CSV files as ``raw_<table>``, whose references point at
``raw_<target>``; JSON lists as ``VARCHAR[]``. The SQL only says *that* a file is bad: a
reader re-reads it with ``rows`` to name the line, with the same words as ``custodes import``.

Not checked here, on purpose: the format of sealed PII (e-mail, phone), which the vault checks
(libphonenumber has no SQL form) and detection never reads; JSON values of the wrong JSON type
(DuckDB reads them as text); and column lengths (a database limit, not a format rule).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from custodes.dataset.schema import (
    SPECS,
    AtLeastOne,
    Column,
    FileSpec,
    NotBefore,
    NotSame,
    RowRule,
    Type,
)

Check = tuple[str, str]
"""(an aggregate counting bad rows, the problem it names) — one file's checks run together."""

_OFFSET = "(Z|[+-][0-9]{2}(:?[0-9]{2})?)$"


def sql_list(values: Iterable[str]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


def iso_seconds(expr: str) -> str:
    """ISO 8601 text with an explicit offset → epoch seconds (NULL when unparseable)."""
    return (
        f"CASE WHEN regexp_matches({expr}, '{_OFFSET}') "
        f"THEN floor(epoch(TRY_CAST({expr} AS TIMESTAMPTZ)))::BIGINT END"
    )


def bad_time(expr: str) -> str:
    """True when a non-empty time cell does not parse as an offset-carrying ISO time."""
    return f"({expr} IS NOT NULL AND ({iso_seconds(expr)}) IS NULL)"


def _key(table: str) -> str:
    key = SPECS[f"{table}.csv"].key
    assert key is not None
    return key.name


def _count(condition: str) -> str:
    return f"count(*) FILTER ({condition})"


def _known(expr: str, table: str) -> str:
    return f"{expr} IN (SELECT {_key(table)} FROM raw_{table})"


def _column(column: Column, parsed: Mapping[str, str], jsonl: bool) -> list[Check]:
    """The checks of one column (its null check first, when it is required)."""
    c = column.name
    out: list[Check] = []
    if column.key:
        unique = f"count(*) - count(DISTINCT {c}) + {_count(f'{c} IS NULL')}"
        return [(unique, f"duplicate or empty {c}")]
    if column.required:
        out.append((_count(f"{c} IS NULL"), f"{c} is {'missing' if jsonl else 'empty'}"))
    match column.type:
        case Type.ID if column.ref is not None:
            out.append((_count(f"{c} IS NOT NULL AND NOT {_known(c, column.ref)}"), f"unknown {c}"))
        case Type.CODE | Type.INTEGER:
            bad = f"{c} IS NOT NULL AND {c} NOT IN ({sql_list(column.allowed)})"
            out.append((_count(bad), f"bad {c}" if not column.noun else f"unknown {column.noun}"))
        case Type.TIME if c in parsed:
            out.append((_count(f"{c} IS NOT NULL AND {parsed[c]} IS NULL"), f"bad {c}"))
        case Type.TIME:
            out.append((_count(bad_time(c)), f"bad {c}"))
        case Type.COUNTRY:
            bad = f"{c} IS NOT NULL AND NOT regexp_full_match({c}, '[A-Za-z]{{2}}')"
            out.append((_count(bad), f"bad {c}"))
    return out


def _rule(rule: RowRule) -> Check:
    match rule:
        case AtLeastOne(columns, problem):
            return _count(" AND ".join(f"{c} IS NULL" for c in columns)), problem
        case NotBefore(column, other, problem):
            later = f"TRY_CAST({other} AS TIMESTAMPTZ)"
            return _count(f"TRY_CAST({column} AS TIMESTAMPTZ) < {later}"), problem
        case NotSame(column, other, problem):
            return _count(f"{column} = {other}"), problem
    raise AssertionError(rule)


def file_checks(spec: FileSpec, parsed: Mapping[str, str] | None = None) -> list[Check]:
    """Every rule of ``spec`` on its rows (lists aside: ``list_checks``).

    ``parsed`` names columns already holding a parsed time (``{"time": "ts"}``), so a large
    file is not parsed twice.
    """
    checks = [
        check
        for column in spec.columns
        if column.type not in (Type.IDS, Type.STRINGS)
        for check in _column(column, parsed or {}, spec.jsonl)
    ]
    return checks + [_rule(rule) for rule in spec.rules]


def list_checks(spec: FileSpec, table: str) -> list[tuple[str, list[Check]]]:
    """For each list of references in ``spec``: (a query of its items as ``item`` from
    ``table``, the check that every item is known)."""
    out = []
    for column in spec.columns:
        if column.type is Type.IDS and column.ref is not None:
            items = f"(SELECT unnest({column.name}) AS item FROM {table})"
            known = _count(f"item IS NULL OR NOT {_known('item', column.ref)}")
            out.append((items, [(known, f"unknown {_key(column.ref)}")]))
    return out
