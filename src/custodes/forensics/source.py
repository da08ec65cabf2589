"""What attribution needs from the records, wherever they live (database or dataset folder)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from custodes.forensics.reads import ReadIndex


@dataclass(frozen=True)
class CanaryExposure:
    """The exposure a canary was issued to: decisive when the canary turns up in a leak."""

    exposure_id: str
    kind: str
    employee_id: str
    time: datetime
    ledger_index: int | None


@dataclass(frozen=True)
class SignalRef:
    """An outside observation (signals.jsonl) about a leaked customer."""

    kind: str
    customer_id: str
    seller_id: str | None
    time: datetime
    ref: str  # "signals.jsonl:LINE"


class LeakSource(Protocol):
    @property
    def reads(self) -> ReadIndex: ...

    def resolve(self, addresses: Collection[str]) -> dict[str, str]:
        """Normalised address -> customer id, for the addresses the records know."""
        ...

    def canaries(self, customer_ids: Collection[str]) -> dict[str, CanaryExposure]: ...

    def signals(self, customer_ids: Collection[str]) -> list[SignalRef]: ...

    def display(self, customer_ids: Collection[str]) -> dict[str, str]:
        """How a customer is named in findings (a pseudonym or an opaque id, never PII)."""
        ...
