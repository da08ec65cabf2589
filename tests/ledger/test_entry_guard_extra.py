"""The ledger's PII guard on the forms a review found slipping through."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from custodes.ledger.entry import LedgerEntry
from custodes.ledger.errors import FormatError

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    "change",
    [
        {"extra": {"n": ["jane.doe@example.com"]}},  # not a scalar
        {"extra": {"p": 4155550123}},  # a phone number as a number
        {"reason": "ok\n"},  # a trailing newline after a valid code
        {"case": "415_555_0123"},
        {"case": "tel:415/555/0123"},
        {"case": "415--555--0123"},
        {"case": "12345678901234567890123456789012"},  # all digits is not a hex digest
        {"resources": ["customer:cp_C000123"]},  # a raw id behind the prefix
        {"resources": ["Customer:C1"]},
        {"resources": ["customers:C1"]},
        {"resources": [123]},
    ],
)
def test_refused(change: dict) -> None:
    entry = LedgerEntry(
        **{"time": NOW, "actor": "A1", "action": "customer.view", "decision": "allow", **change}
    )
    with pytest.raises(FormatError):
        entry.encode()


def test_our_own_shapes_still_pass() -> None:
    LedgerEntry(
        NOW,
        "A1",
        "customer.view",
        "allow",
        ["customer:cp_" + "a" * 32, "customerset:" + "0f" * 16],
        extra={"count": 51, "request": "rq_" + "b" * 24, "ok": True, "none": None},
    ).encode()
