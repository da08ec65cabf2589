"""Rate limits: the in-memory windows count what the ledger index says, and a burst of
parallel reveals cannot overshoot the limit."""

from __future__ import annotations

import asyncio
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert

from custodes.access.core import Outcome
from custodes.access.door import Door
from custodes.access.facts import RateLimits
from custodes.access.model import Justification
from custodes.access.ratelimit import RevealWindows
from custodes.ledger.models import LedgerAccessIndex
from custodes.ledger.pipelined import PipelinedLedger
from custodes.ledger.storage import LedgerReader
from custodes.marketplace.models import Case, Customer
from custodes.store.engine import transaction
from custodes.store.hot_reads import HotReader
from custodes.vault.keyring import FileKeyring
from custodes.vault.service import CustomerPII, insert_prepared, prepare_customer
from tests.support.api import Api
from tests.support.marketplace import OPEN, T0
from tests.support.sequencer import serve_socket


def test_index_counts_match_windows(engine: Engine) -> None:
    now = datetime.now(UTC)
    rows = [
        # (customer, minutes ago, decision)
        ("C1", 5, "allow"),
        ("C2", 50, "allow"),
        ("C3", 90, "allow"),
        ("C3", 10, "allow"),
        ("C4", 60 * 30, "allow"),
        ("C5", 20, "deny"),
    ]
    with engine.begin() as conn:
        conn.execute(
            insert(LedgerAccessIndex),
            [
                {
                    "idx": i,
                    "actor": "A1",
                    "subject_kind": "customer",
                    "subject_id": c,
                    "action": "customer.view",
                    "decision": d,
                    "time": now - timedelta(minutes=m),
                }
                for i, (c, m, d) in enumerate(rows)
            ],
        )
    windows, reads = RevealWindows(), HotReader(engine)
    # C1, C2, C3 in the hour (C2 at 50 minutes, C3 again at 10); C4 is older than a day; C5
    # was denied. Asking for a customer already counted does not count it twice.
    expected = {"C9": (4, 4), "C1": (3, 3), "C3": (3, 3), "C4": (4, 4)}
    for asking, counts in expected.items():
        assert windows.counts(reads, "A1", {asking}, now) == counts, asking


def _many_customers_for_a1(api: Api, keyring: FileKeyring, n: int) -> list[str]:
    """n more customers, each under an open case of agent A1."""
    ids = [f"CX{i:02d}" for i in range(n)]
    with transaction(api.engine) as session:
        prepared = [
            prepare_customer(keyring, cid, CustomerPII(email=f"x{cid.lower()}@mail.example"), None)
            for cid in ids
        ]
        for p in prepared:
            session.add(Customer(customer_id=p.customer_id, pseudonym=p.pseudonym, created_at=T0))
        session.flush()
        insert_prepared(session, prepared)
        for cid in ids:
            session.add(
                Case(
                    case_id=f"K{cid}",
                    kind="customer_contact",
                    employee_id="A1",
                    customer_id=cid,
                    opened_at=OPEN,
                )
            )
    return ids


@pytest.mark.parametrize("counts", ["windows", "index"])
@pytest.mark.parametrize("path", ["threads", "event_loop"])
def test_concurrent_reveals_cannot_overshoot_the_limit(
    api: Api, keyring: FileKeyring, path: str, counts: str
) -> None:
    """A burst of parallel reveals by one employee gets exactly the limit, the rest wait for
    approval: the count and the reservation are one step, not a read before a slow append.
    Both ways of counting: in-memory windows (one process), and a worker's estimate with its
    reveals in flight, checked again by the window guards where entries are sequenced."""
    door: Door = api.client.app.state.door
    door.config.limits = RateLimits(per_hour=3, per_day=100)
    door.config.local_rate_windows = counts == "windows"
    ids = _many_customers_for_a1(api, keyring, 12)

    def why(cid: str) -> Justification:
        return Justification("customer_contact", f"K{cid}")

    if path == "threads":
        start = threading.Barrier(len(ids))

        def one(cid: str) -> str:
            start.wait()
            return door.reveal("A1", cid, ("email",), why(cid)).decision.outcome

        with ThreadPoolExecutor(len(ids)) as pool:
            outcomes = list(pool.map(one, ids))
    else:
        if not door.inline:
            pytest.skip("the event-loop path serves SQLite only")

        async def burst() -> list[str]:
            got = await asyncio.gather(
                *(door.reveal_async("A1", cid, ("email",), why(cid)) for cid in ids)
            )
            return [o.decision.outcome if o is not None else "pending" for o in got]

        outcomes = asyncio.run(burst())
    assert sorted(outcomes) == ["allow"] * 3 + ["pending"] * (len(ids) - 3)
    assert not door.in_flight._customers  # every reservation released after its commit


def test_the_event_loop_never_waits_on_a_thread_holding_the_employee(
    api: Api, keyring: FileKeyring
) -> None:
    """While a thread judges A1, the loop's reveal for A1 steps aside (nothing recorded) and
    the caller takes the thread path; the loop itself never blocks."""
    door: Door = api.client.app.state.door
    if not door.inline:
        pytest.skip("the event-loop path serves SQLite only")
    why = Justification("customer_contact", "K1")
    size = LedgerReader(api.engine).head().size
    stripe = door._judging[hash("A1") % len(door._judging)]
    with stripe:
        assert asyncio.run(door.reveal_async("A1", "C1", ("email",), why)) is None
    assert LedgerReader(api.engine).head().size == size
    outcome = asyncio.run(door.reveal_async("A1", "C1", ("email",), why))
    assert outcome is not None and outcome.decision.outcome == "allow"
    assert LedgerReader(api.engine).head().size == size + 1


def test_workers_on_the_event_loop_share_one_limit(
    api: Api, keyring: FileKeyring, tmp_path: Path
) -> None:
    """Two API workers (two doors, no local windows) reveal on their event loops through the
    sequencer's socket: each sees only its own reveals in flight, so the limit holds only
    because the window guards ride with the entries and the sequencer applies them. A reveal
    the guard refuses is recorded as pending and becomes a request, as on the thread path."""
    app_door: Door = api.client.app.state.door
    path = tmp_path / "run" / "sequencer.sock"
    server = serve_socket(api.client.app.state.committer, path)
    ledger = PipelinedLedger(path)
    limits = RateLimits(per_hour=3, per_day=100)
    workers = [
        Door(
            api.engine,
            app_door.keyring,
            ledger,
            app_door.policy,
            app_door.approval_key,
            config=replace(app_door.config, limits=limits, local_rate_windows=False),
        )
        for _ in range(2)
    ]
    ids = _many_customers_for_a1(api, keyring, 12)

    async def burst() -> list[Outcome | None]:
        return await asyncio.gather(
            *(
                workers[i % 2].reveal_async(
                    "A1", cid, ("email",), Justification("customer_contact", f"K{cid}")
                )
                for i, cid in enumerate(ids)
            )
        )

    try:
        outcomes = asyncio.run(burst())
    finally:
        server.stop()
    answered = [o for o in outcomes if o is not None]  # None: judged pending, thread path
    allowed = [o for o in answered if o.decision.outcome == "allow"]
    assert len(allowed) == 3
    raced = [o for o in answered if o.decision.outcome == "pending"]
    assert all(o.decision.request_id for o in raced)
    assert all(o.data is None for o in raced)
    entries = LedgerReader(api.engine).entries(0, LedgerReader(api.engine).head().size)
    reveals = [json.loads(e) for e in entries if b'"customer.view"' in e]
    assert sum(e["decision"] == "allow" for e in reveals) == len(allowed)
    assert all(not w.in_flight._customers for w in workers)


@pytest.mark.parametrize("path", ["threads", "event_loop"])
def test_break_glass_holds_whichever_worker_answers(
    api: Api, keyring: FileKeyring, path: str
) -> None:
    """A worker's windows are an estimate: one that has not seen its colleagues' reveals lets
    the reveal through to the guard, which refuses it. A break-glass grant must still allow it
    there, as it does on a worker whose count already said "over the limit"."""
    app_door: Door = api.client.app.state.door
    limits = RateLimits(per_hour=3, per_day=100)

    def worker() -> Door:
        config = replace(app_door.config, limits=limits, local_rate_windows=False)
        ledger = api.client.app.state.committer
        return Door(
            api.engine,
            app_door.keyring,
            ledger,
            app_door.policy,
            app_door.approval_key,
            config=config,
        )

    first, second, third = worker(), worker(), worker()
    ids = _many_customers_for_a1(api, keyring, 4)

    def why(cid: str) -> Justification:
        return Justification("customer_contact", f"K{cid}")

    assert second.reveal("A1", ids[0], ("email",), why(ids[0])).decision.outcome == "allow"
    for cid in ids[1:3]:
        assert first.reveal("A1", cid, ("email",), why(cid)).decision.outcome == "allow"
    grant = third.break_glass("A1", ids[3], Justification("break_glass", None, "locked out"))
    assert grant.decision.outcome == "allow"
    fresh = third.reveal("A1", ids[3], ("email",), why(ids[3])).decision  # counted: over
    if path == "threads":
        stale = second.reveal("A1", ids[3], ("email",), why(ids[3])).decision  # estimate: under
    else:
        if not second.inline:
            pytest.skip("the event-loop path serves SQLite only")
        answered = asyncio.run(second.reveal_async("A1", ids[3], ("email",), why(ids[3])))
        assert answered is not None and answered.data is not None
        stale = answered.decision
    assert (fresh.outcome, stale.outcome) == ("allow", "allow")
