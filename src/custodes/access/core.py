"""What every part of the one door shares: the database, the keys, the ledger, the policy, the
clock, and the locks and counters that make decisions exact under concurrency.

`Door` is a thin front over this; the jobs (judging, reads, dual control, break-glass) are
functions over a `Core`, each in its own module, so one rule lives in one place.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from custodes.access.facts import Facts, RateLimits, load_facts
from custodes.access.model import Decision, Justification, Resource
from custodes.access.notify import Notifier, Outbox
from custodes.access.policy import Policy
from custodes.access.ratelimit import InFlight, RevealWindows
from custodes.access.recording import Ledger, Record, appended
from custodes.ledger.guard import Guard
from custodes.ledger.sequencer import Receipt
from custodes.marketplace.models import Case
from custodes.store.hot_reads import HotReader
from custodes.vault.keyring import Keyring


@dataclass
class DoorConfig:
    limits: RateLimits = field(default_factory=RateLimits)
    request_ttl: timedelta = timedelta(hours=24)
    approval_ttl: timedelta = timedelta(hours=24)
    break_glass_ttl: timedelta = timedelta(hours=1)
    break_glass_per_day: int = 3  # grants per employee in any 24 hours
    # In-memory reveal windows are exact only in the process that records every reveal; API
    # workers behind a separate sequencer count from the ledger index instead.
    local_rate_windows: bool = True


@dataclass(frozen=True)
class Outcome:
    decision: Decision
    data: Any = None


def utc_now() -> datetime:
    return datetime.now(UTC)


def stripe(locks: list[threading.Lock], key: str) -> threading.Lock:
    """The lock of `key`'s stripe: per-key serialisation in bounded memory."""
    return locks[hash(key) % len(locks)]


class Core:
    def __init__(
        self,
        engine: Engine,
        keyring: Keyring,
        ledger: Ledger,
        policy: Policy,
        approval_key: Ed25519PrivateKey,
        notifier: Notifier | None = None,
        config: DoorConfig | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.engine = engine
        self.reads = HotReader(engine)  # the per-request reads (facts, the vault row)
        self.keyring = keyring
        self.ledger = ledger
        self.policy = policy
        self.approval_key = approval_key
        self.notifier: Notifier = notifier or Outbox()
        self.config = config or DoorConfig()
        self.clock = clock
        self.windows = RevealWindows()
        # Judging a reveal and counting it is one step per employee (striped: bounded memory).
        self._judging = [threading.Lock() for _ in range(64)]
        # One decision at a time per request, so that racing approvals or executions are
        # recorded as one allow and refusals, not as several allows of which one took effect.
        self._deciding = [threading.Lock() for _ in range(64)]
        self.in_flight = InFlight()

    def record(self, record: Record, guards: tuple[Guard, ...] = ()) -> Receipt:
        """Append and wait for the signed checkpoint (see `recording.appended`)."""
        return appended(self.ledger, record, self.keyring.pseudonym_key, guards)

    def facts_for(self, resource: Resource, why: Justification | None = None) -> Facts:
        """Subjects of a resource (customers and their pseudonyms) for recording non-decisions."""
        facts = load_facts(
            self.reads,
            "",
            "none",
            resource,
            why or Justification("legal"),
            self.clock(),
            self.config.limits,
        )
        if why is not None and why.case_id:
            with Session(self.engine) as session:
                facts.case_known = session.get(Case, why.case_id) is not None
        return facts

    def decided(self, record: Record, receipt: Receipt, policies: tuple[str, ...] = ()) -> Decision:
        """The answer for a recorded decision, carrying its receipt."""
        return Decision(
            record.outcome,
            record.reason,
            record.action,
            receipt.index,
            record.request_id,
            policies,
            receipt.checkpoint_size,
        )

    def refusal(self, record: Record) -> Outcome:
        """Record a refusal and answer with it."""
        return Outcome(self.decided(record, self.record(record)))
