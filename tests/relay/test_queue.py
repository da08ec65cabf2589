"""The outbound queue: nothing lost while the smarthost is down, nothing sent twice after a
crash or by two workers, permanent refusals stop, bodies sealed at rest."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from custodes.relay.models import OutboundMessage
from custodes.relay.queue import LEASE, SmtpSender, claim, deliver_due, pending
from tests.support.relay import ACME, C1_EMAIL, DOMAIN, Smarthost, World, free_port, mail


def _queue(world: World, n: int = 1) -> list[str]:
    alias = f"{world.a1}@{DOMAIN}"
    route = world.relay.route(ACME, alias, "SA")
    return [
        world.relay.receive(route, mail(ACME, alias, f"parcel {i} ships today")).message_id
        for i in range(n)
    ]


def test_bodies_are_sealed_and_recipients_resolved_late(world: World) -> None:
    _queue(world)
    with Session(world.engine) as session:
        row = session.scalars(select(OutboundMessage)).one()
    assert b"ships today" not in row.body_ct and C1_EMAIL.encode() not in row.body_ct
    assert row.envelope_from.endswith("@" + DOMAIN) and row.status == "queued"


def test_smarthost_down_then_up_delivers_once(
    world: World, smarthost: tuple[Smarthost, int]
) -> None:
    host, port = smarthost
    ids = _queue(world, 3)
    down = SmtpSender("127.0.0.1", free_port(), timeout=2)
    assert deliver_due(world.engine, world.keyring, down, world.relay.recipient) == (0, 3)
    assert pending(world.engine) == {"queued": 3}
    up = SmtpSender("127.0.0.1", port)
    # Not yet due: the backoff holds them back.
    assert deliver_due(world.engine, world.keyring, up, world.relay.recipient) == (0, 0)
    later = datetime.now(UTC) + timedelta(minutes=5)
    assert deliver_due(world.engine, world.keyring, up, world.relay.recipient, now=later) == (3, 0)
    assert deliver_due(world.engine, world.keyring, up, world.relay.recipient, now=later) == (0, 0)
    up.close()
    assert host.wait(3)
    sent_ids = sorted(
        line.split("<")[1].split("@")[0]
        for _, _, body in host.messages
        for line in body.decode().splitlines()
        if line.startswith("Message-ID:")
    )
    assert sent_ids == sorted(ids)
    assert pending(world.engine) == {"sent": 3}


def test_a_crashed_claim_is_retried_after_its_lease_and_sent_once(
    world: World, smarthost: tuple[Smarthost, int]
) -> None:
    host, port = smarthost
    _queue(world)
    crashed = claim(world.engine, world.keyring)  # a worker took it, then died before sending
    assert len(crashed) == 1
    sender = SmtpSender("127.0.0.1", port)
    assert deliver_due(world.engine, world.keyring, sender, world.relay.recipient) == (0, 0)
    after = datetime.now(UTC) + LEASE + timedelta(seconds=1)
    assert deliver_due(world.engine, world.keyring, sender, world.relay.recipient, now=after) == (
        1,
        0,
    )
    far = after + timedelta(hours=2)
    assert deliver_due(world.engine, world.keyring, sender, world.relay.recipient, now=far) == (
        0,
        0,
    )
    sender.close()
    assert host.wait(1) and len(host.messages) == 1


def test_permanent_refusal_stops_and_temporary_defers(
    world: World, smarthost: tuple[Smarthost, int]
) -> None:
    host, port = smarthost
    _queue(world, 2)
    sender = SmtpSender("127.0.0.1", port)
    host.refuse = 451
    assert deliver_due(world.engine, world.keyring, sender, world.relay.recipient, limit=1)[1] == 1
    host.refuse = 554
    later = datetime.now(UTC) + timedelta(hours=1)
    deliver_due(world.engine, world.keyring, sender, world.relay.recipient, now=later)
    sender.close()
    assert pending(world.engine) == {"failed": 2}
    with Session(world.engine) as session:
        assert set(session.scalars(select(OutboundMessage.body_ct))) == {b""}


def test_two_workers_never_send_the_same_message(
    world: World, smarthost: tuple[Smarthost, int]
) -> None:
    host, port = smarthost
    _queue(world, 20)

    def work() -> None:
        sender = SmtpSender("127.0.0.1", port)
        for _ in range(10):
            deliver_due(world.engine, world.keyring, sender, world.relay.recipient, limit=3)
        sender.close()

    workers = [threading.Thread(target=work) for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert host.wait(20)
    assert len(host.messages) == 20
    assert pending(world.engine) == {"sent": 20}
