"""Turning a ledger's append into the `record(event) -> int` the identity service takes."""

from __future__ import annotations

from collections.abc import Callable

from custodes.identity.events import IdentityEvent, Recorder


def ledger_recorder(append: Callable[[bytes], int]) -> Recorder:
    """`append(canonical entry bytes) -> index`, e.g. `lambda data: ledger.append(data)`."""

    def record(event: IdentityEvent) -> int:
        return append(event.to_ledger_entry().encode())

    return record


def refusing_recorder(event: IdentityEvent) -> int:
    """For a process without a ledger: every security event is refused, so nothing happens."""
    from custodes.identity.errors import IdentityError

    raise IdentityError("no_ledger", "this server has no ledger; identity changes are refused")
