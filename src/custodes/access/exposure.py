"""Exposures: each time the door hands customers to a person (a search result page, the
records of an executed reveal or export request), a package above access may plant that
exposure's own canaries among them and record what was shown.

Access defines the hook and calls it; forensics implements it (`forensics.exposures`) and the
runtime installs it, so access never imports forensics. Without a hook installed, pages and
records go out as they are.
"""

from __future__ import annotations

from typing import Any, Protocol

from fastapi import Depends, Request

from custodes.vault.service import MaskedCustomer


class ExposureHook(Protocol):
    def search_page(
        self, employee_id: str, ledger_index: int | None, results: list[MaskedCustomer]
    ) -> list[MaskedCustomer]:
        """The page as the employee will see it: the results plus the page's own canaries,
        masked alike, recorded with a manifest of what was shown."""
        ...

    def revealed_set(
        self,
        employee_id: str,
        action: str,
        ledger_index: int | None,
        request_id: str | None,
        records: dict[str, Any],
    ) -> dict[str, Any]:
        """An executed reveal or export request's records (customer id -> values) plus the
        exposure's own canaries, with the same fields filled in, recorded."""
        ...

    def revealed_one(self, employee_id: str, customer_id: str, ledger_index: int | None) -> None:
        """One customer revealed on request: if it is a canary, that is a hit on the exposure
        that showed it (someone is reading a synthetic person's details)."""
        ...


def hook_of(state: Any) -> ExposureHook | None:
    """The app's installed hook (`app.state.exposures`), if any."""
    found: ExposureHook | None = getattr(state, "exposures", None)
    return found


async def exposures_of(request: Request) -> ExposureHook | None:
    """Async, so resolving it costs no thread hop on the hot path."""
    return hook_of(request.app.state)


TheExposures = Depends(exposures_of)
