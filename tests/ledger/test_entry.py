"""Ledger entries are canonical and can never carry PII."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from faker import Faker
from hypothesis import given, settings
from hypothesis import strategies as st

from custodes.ledger.entry import MAX_ENTRY_BYTES, LedgerEntry, PIIRefused, canonical_json
from custodes.ledger.errors import FormatError

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def entry(**changes: object) -> LedgerEntry:
    base: dict[str, object] = {
        "time": NOW,
        "actor": "ep_abcdefghijklmnopqrstuvwx",
        "action": "customer.view",
        "decision": "allow",
        "resources": ["customer:cp_abcdefghijklmnopqrstuvwx"],
        "fields": ["email"],
        "justification": "customer_contact",
        "case": "K000123",
    }
    base.update(changes)
    return LedgerEntry(**base)  # type: ignore[arg-type]


def test_encoding_is_canonical() -> None:
    data = entry().encode()
    parsed = json.loads(data)
    assert data == json.dumps(parsed, sort_keys=True, separators=(",", ":")).encode()
    assert parsed["time"] == "2026-11-29T12:00:00.000Z"
    assert (
        canonical_json({"b": 1, "a": [True, None, "é"]}) == '{"a":[true,null,"é"],"b":1}'.encode()
    )
    with pytest.raises(FormatError):
        canonical_json({"x": 1.5})


def test_raw_customer_ids_are_refused() -> None:
    with pytest.raises(PIIRefused):
        entry(resources=["customer:C000001"]).encode()


fake = Faker()
Faker.seed(1)
PII = (
    [fake.email() for _ in range(20)]
    + [fake.phone_number() for _ in range(20)]
    + [
        "+14155552671",
        "jane.doe@example.com",
        "+44 20 7946 0123",
        "(415) 555-2671",
    ]
)


@pytest.mark.parametrize("value", PII)
@pytest.mark.parametrize("field", ["actor", "case", "approval", "justification", "reason"])
def test_pii_in_any_field_is_refused(field: str, value: str) -> None:
    with pytest.raises(FormatError):
        entry(**{field: value}).encode()


@settings(max_examples=150, deadline=None)
@given(
    local=st.from_regex(r"[a-z0-9._%+-]{1,20}", fullmatch=True),
    domain=st.from_regex(r"[a-z0-9-]{1,20}\.[a-z]{2,6}", fullmatch=True),
    digits=st.from_regex(r"\+?[0-9]{8,15}", fullmatch=True),
    where=st.sampled_from(["actor", "case", "resource", "extra"]),
)
def test_no_email_or_phone_ever_enters(local: str, domain: str, digits: str, where: str) -> None:
    for value in (f"{local}@{domain}", digits):
        changes: dict[str, object] = {
            "actor": {"actor": value},
            "case": {"case": value},
            "resource": {"resources": [f"seller:{value}"]},
            "extra": {"extra": {"note": value}},
        }[where]
        with pytest.raises(FormatError):
            entry(**changes).encode()


def test_size_limit() -> None:
    big = entry(resources=[f"seller:S{i:07d}" for i in range(5000)])
    with pytest.raises(FormatError, match="limit"):
        big.encode()
    assert MAX_ENTRY_BYTES == 65535


def test_naive_time_refused() -> None:
    with pytest.raises(FormatError):
        entry(time=datetime(2026, 1, 1)).encode()


_CODES = st.from_regex(r"[a-z0-9_.:/-]{1,20}", fullmatch=True)
_TOKENS = st.from_regex(r"[A-Za-z0-9_.:/-]{1,30}", fullmatch=True)
_EXTRA = st.dictionaries(
    _CODES, st.one_of(st.none(), st.booleans(), st.integers(-(10**6), 10**6), _TOKENS), max_size=6
)


@settings(max_examples=300)
@given(
    actor=_TOKENS,
    action=_CODES,
    decision=st.sampled_from(["allow", "deny", "pending"]),
    resources=st.lists(_TOKENS.map(lambda t: f"seller:{t}"), max_size=4),
    fields=st.lists(_CODES, max_size=3),
    optional=st.tuples(*[st.one_of(st.none(), _CODES)] * 2, *[st.one_of(st.none(), _TOKENS)] * 2),
    extra=_EXTRA,
    millis=st.integers(0, 10**12),
)
def test_assembled_encoding_is_the_canonical_json(
    actor: str,
    action: str,
    decision: str,
    resources: list[str],
    fields: list[str],
    optional: tuple[str | None, str | None, str | None, str | None],
    extra: dict[str, str | int | bool | None],
    millis: int,
) -> None:
    """`encode` assembles the JSON itself (the hot path); it must be byte for byte what the
    canonical JSON encoder gives for every entry that passes the checks."""
    justification, reason, case, approval = optional
    entry = LedgerEntry(
        time=datetime.fromtimestamp(millis / 1000, UTC),
        actor=actor,
        action=action,
        decision=decision,
        resources=resources,
        fields=fields,
        justification=justification,
        reason=reason,
        case=case,
        approval=approval,
        extra=extra,
    )
    try:
        data = entry.encode()
    except (FormatError, PIIRefused):
        return  # refused by the guard (digit runs look like phone numbers): nothing to compare
    assert data == canonical_json(entry.to_json())
    assert LedgerEntry.decode(data).encode() == data


class _EqualsAnything(str):
    def __eq__(self, other: object) -> bool:
        return True

    __hash__ = str.__hash__


class _Replaces(str):
    def __radd__(self, other: object) -> str:
        return "PWNED"


@pytest.mark.parametrize(
    "changes",
    [
        {"decision": _EqualsAnything('x","actor":"root')},
        {"case": _Replaces("c1")},
        {"fields": iter(["email"])},
        {"resources": (r for r in ["seller:s1"])},
        {"extra": {"note": _Replaces("n1")}},
    ],
    ids=["eq-override", "radd-override", "field-iterator", "resource-generator", "extra-value"],
)
def test_what_is_checked_is_what_is_written(changes: dict[str, object]) -> None:
    """The encoding is assembled without escaping, so the checks must read exactly what is
    written: a string subclass is reduced to the plain string it holds (and checked as such),
    an iterator to what it yields, once."""
    fields: dict[str, object] = {
        "time": datetime(2026, 12, 4, tzinfo=UTC),
        "actor": "E0001",
        "action": "customer.view",
        "decision": "allow",
        **changes,
    }
    entry = LedgerEntry(**fields)  # type: ignore[arg-type]
    try:
        data = entry.encode()
    except FormatError:
        return  # refused on its real content: nothing was written
    assert data == canonical_json(entry.to_json())
    assert b"PWNED" not in data and b'"actor":"root"' not in data
    assert LedgerEntry.decode(data).encode() == data
