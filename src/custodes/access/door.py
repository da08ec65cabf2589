"""The one door: every read of PII and every sensitive action passes here.

Order of operations is the point: facts -> decision -> ledger append (committed and signed) ->
only then data or action. If the ledger cannot record, `LedgerUnavailable` propagates and
nothing is revealed or changed (fail closed).

`Door` is the thin front the API, the CLI and the relay call. Each job lives in its own module
and works on the shared `Core`: judging and recording (`judging`, `recording`), reads
(`reads`), dual control (`requests`, `approving`, `executing`), break-glass, the relay's part
(`relaying`) and refusals recorded before the rules run (`refusals`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from custodes.access import approving, executing, reads, refusals, relaying, requests
from custodes.access.break_glass import break_glass
from custodes.access.core import Core, DoorConfig, Outcome
from custodes.access.errors import Conflict, Forbidden, NotFound
from custodes.access.judging import Ask
from custodes.access.model import Decision, Justification, Resource
from custodes.access.recording import Ledger, ledger_id

if TYPE_CHECKING:
    from custodes.identity.approvals import ApprovalProof

__all__ = [
    "Conflict",
    "Door",
    "DoorConfig",
    "Forbidden",
    "Ledger",
    "NotFound",
    "Outcome",
    "ledger_id",
]


class Door(Core):
    # -- reads ----------------------------------------------------------------------------------
    def reveal(
        self, employee_id: str, customer_id: str, fields: tuple[str, ...], why: Justification
    ) -> Outcome:
        """Justified read of named PII fields of one customer."""
        return reads.reveal(self, employee_id, customer_id, fields, why)

    @property
    def inline(self) -> bool:
        """Whether reveals may run on the event loop: reads are local SQLite (microseconds)
        and the ledger can be awaited, so no thread is parked per request."""
        return self.engine.dialect.name == "sqlite" and hasattr(self.ledger, "append_async")

    async def reveal_async(
        self, employee_id: str, customer_id: str, fields: tuple[str, ...], why: Justification
    ) -> Outcome | None:
        """`reveal` on the event loop; None means: take the threaded path."""
        return await reads.reveal_async(self, employee_id, customer_id, fields, why)

    def search_email(self, employee_id: str, email: str, why: Justification) -> Outcome:
        """Exact-match search through the blind index; results are masked."""
        return reads.search_email(self, employee_id, email, why)

    def masked(self, employee_id: str, customer_id: str, why: Justification) -> Outcome:
        return reads.masked(self, employee_id, [customer_id], why)

    def view(self, employee_id: str, action: str, record_id: str, why: Justification) -> Outcome:
        """Non-PII reads: order.view, review.view, seller.view, seller.metrics."""
        return reads.view(self, employee_id, action, record_id, why)

    # -- dual control ---------------------------------------------------------------------------
    def request(
        self, employee_id: str, action: str, resource: Resource, why: Justification
    ) -> Outcome:
        """Ask for a sensitive action; it waits for an independent approver."""
        return requests.request(self, Ask(employee_id, action, resource, why))

    def request_action(self, request_id: str) -> str | None:
        return requests.request_action(self, request_id)

    def request_subject(self, request_id: str) -> tuple[str, Resource, Justification] | None:
        return requests.request_subject(self, request_id)

    def preview(self, request_id: str) -> dict[str, Any]:
        """What an approver sees: the request and masked customer data, never plaintext."""
        return requests.preview(self, request_id)

    def approve(self, proof: ApprovalProof) -> Outcome:
        return approving.approve(self, proof)

    def refuse(self, proof: ApprovalProof) -> Outcome:
        return approving.refuse(self, proof)

    def execute(self, employee_id: str, request_id: str) -> Outcome:
        return executing.execute(self, employee_id, request_id)

    def expire(self) -> int:
        """Mark pending requests past their deadline as expired, each on the record."""
        return requests.expire(self)

    # -- break-glass, relay, refusals -----------------------------------------------------------
    def break_glass(self, employee_id: str, customer_id: str, why: Justification) -> Outcome:
        return break_glass(self, employee_id, customer_id, why)

    def relay_address(self, service: str, seller_id: str, customer_id: str) -> Outcome:
        return relaying.relay_address(self, service, seller_id, customer_id)

    def relay_addresses(
        self, service: str, pairs: Sequence[tuple[str, str]], run: relaying.Run = map
    ) -> list[Outcome | Exception]:
        """`relay_address` for a batch: each pair its own decision and entry, appended together."""
        return relaying.relay_addresses(self, service, pairs, run)

    def held_message(self, employee_id: str, customer_id: str, why: Justification) -> Decision:
        return relaying.held_message(self, employee_id, customer_id, why)

    def record_refusal(
        self,
        employee_id: str,
        action: str,
        resource: Resource,
        why: Justification | None,
        request_id: str | None = None,
        reason: str = "own_proof_required",
    ) -> Outcome:
        return refusals.record_refusal(self, employee_id, action, resource, why, request_id, reason)
