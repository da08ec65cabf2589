"""A test world for identity: a ledger that checks every entry's real format, the service on
a fake clock, employees, and the approval helpers the service and sign-count tests share."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from custodes.identity.approvals import ApprovalProof
from custodes.identity.events import IdentityEvent
from custodes.identity.service import IdentityService
from custodes.identity.settings import WebAuthnSettings
from custodes.ledger.entry import LedgerEntry
from custodes.marketplace.models import Employee
from custodes.store.engine import transaction
from tests.support.authenticator import SoftAuthenticator

ORIGIN = "http://localhost:8000"


@dataclass
class Ledger:
    """Appends the canonical bytes of each event's entry (so the real format checks run)."""

    entries: list[bytes] = field(default_factory=list)
    events: list[IdentityEvent] = field(default_factory=list)
    broken: bool = False

    def record(self, event: IdentityEvent) -> int:
        if self.broken:
            raise RuntimeError("ledger unavailable")
        data = event.to_ledger_entry().encode()
        assert LedgerEntry.decode(data).encode() == data
        self.entries.append(data)
        self.events.append(event)
        return len(self.entries) - 1

    def append_json(self, entry: LedgerEntry) -> int:
        self.entries.append(entry.encode())
        return len(self.entries) - 1

    def decoded(self) -> Iterator[tuple[int, dict[str, Any]]]:
        for index, data in enumerate(self.entries):
            yield index, json.loads(data)

    def actions(self) -> list[tuple[str, str, str]]:
        return [(e.action, e.employee_id, e.decision) for e in self.events]


@dataclass
class World:
    engine: Engine
    ledger: Ledger
    service: IdentityService
    now: list[datetime]

    def advance(self, **delta: float) -> None:
        self.now[0] += timedelta(**delta)

    def enroll(
        self, employee_id: str, alg: str = "ES256", password: str | None = None
    ) -> tuple[SoftAuthenticator, Any]:
        link = self.service.enroll(employee_id)
        auth = SoftAuthenticator(alg=alg)
        options = self.service.registration_options(link.token)
        new = self.service.finish_registration(
            link.token, options.challenge_id, auth.register(options.options_json), password
        )
        return auth, new


def make_world(engine: Engine) -> World:
    add_employees(
        engine,
        ("E0003", "active"),
        ("E0004", "active"),
        ("E0005", "active"),
        ("E0006", "suspended"),
    )
    now = [datetime(2026, 12, 1, 9, 0, tzinfo=UTC)]
    ledger = Ledger()
    service = IdentityService(
        engine,
        WebAuthnSettings(origin=ORIGIN, rp_id="localhost"),
        ledger.record,
        clock=lambda: now[0],
    )
    return World(engine, ledger, service, now)


DIGEST = bytes.fromhex("ab" * 32)


def approve(
    world: World,
    auth: SoftAuthenticator,
    approver: str,
    decision: str = "approve",
    digest: bytes = DIGEST,
    request_id: str = "rq_1",
) -> ApprovalProof:
    options = world.service.begin_approval(approver, request_id, digest, decision)
    return world.service.finish_approval(
        options.challenge_id, approver, auth.assert_(options.options_json)
    )


def record_approval(world: World, proof: ApprovalProof) -> int:
    return world.ledger.append_json(
        LedgerEntry(
            time=world.now[0],
            actor=proof.approver_id,
            action="review.delete",
            decision="approved",
            resources=("review:R000003",),
            approval=proof.approval_id,
            extra=proof.ledger_extra(),
        )
    )


def add_employees(engine: Engine, *rows: tuple[str, str]) -> None:
    """(employee_id, status) with status active | suspended | departed."""
    past = datetime(2020, 1, 1, tzinfo=UTC)
    with transaction(engine) as session:
        for employee_id, status in rows:
            session.add(
                Employee(
                    employee_id=employee_id,
                    name=f"Employee {employee_id}",
                    role="support_agent",
                    suspended_at=past if status == "suspended" else None,
                    left_at=past if status == "departed" else None,
                )
            )
