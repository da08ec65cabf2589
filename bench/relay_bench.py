"""Relay: the DLP scan in process, and messages through scan and forward on loopback SMTP.

DLP corpus: 2,000 seller messages, 70% clean and 30% carrying an address, a phone, a URL or a
solicitation phrase, as plain text, multipart/alternative (text + HTML), base64 and
quoted-printable, some with a CSV attachment. Figure: messages scanned per second; peer: only
parsing the same bytes with the standard library (the floor any MIME-aware scan pays).
Target >= 2,000 msg/s.

Relay: `custodes relay serve`'s server (aiosmtpd) on loopback, a smarthost (aiosmtpd) that
counts what it receives, the durable queue and its delivery worker; clients send N messages
over a few SMTP connections. Figure: messages per second from the first send until the
smarthost has all of them (scanned, queued in the database, alias resolved through the door,
forwarded). Target >= 300 msg/s.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import SMTP
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bench.report import Row
from custodes.relay.dlp import Policy, scan

PLANTS = (
    "write to jane.doe@gmail.com",
    "call me on +44 20 7946 0958",
    "see www.cheap-deals.com for more",
    "message me on WhatsApp",
    "jane at gmail dot com",
    "(415) 555-2671",
)
FILLER = (
    "thanks for your order the parcel ships tomorrow tracking is in your orders page please "
    "leave a review if you are happy with the item we hope it arrives in time for the weekend"
)
WORDS = FILLER.split(" ")


def message(rng: random.Random, n: int) -> bytes:
    text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(30, 120)))
    if rng.random() < 0.3:
        words = text.split()
        words.insert(rng.randrange(len(words)), rng.choice(PLANTS))
        text = " ".join(words)
    msg = EmailMessage()
    msg["From"] = f"shop{n % 50}@seller.example"
    msg["To"] = f"a{n:06d}@relay.example"
    msg["Subject"] = f"Your order {n}"
    shape = rng.random()
    if shape < 0.4:
        msg.set_content(text)
    elif shape < 0.6:
        msg.set_content(text, cte="quoted-printable")
    elif shape < 0.9:
        msg.set_content(text)
        msg.add_alternative(f"<html><body><p>{text}</p></body></html>", subtype="html")
    else:
        msg.set_content(text, cte="base64")
        msg.add_attachment(b"item,qty\nwidget,1\n", "text", "csv", filename="order.csv")
    return msg.as_bytes(policy=SMTP)  # CRLF line ends, as on the wire


def dlp_rows(quick: bool) -> list[Row]:
    rng = random.Random(3)
    corpus = [message(rng, n) for n in range(500 if quick else 2000)]
    policy = Policy(allowed_domains=("relay.example",))
    assert sum(1 for m in corpus if scan(m, policy).findings) > len(corpus) // 5
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for raw in corpus:
            scan(raw, policy)
        best = min(best, time.perf_counter() - start)
    start = time.perf_counter()
    for raw in corpus:
        for part in message_from_bytes(raw).walk():
            part.get_payload(decode=True)
    floor = time.perf_counter() - start
    rate = len(corpus) / best
    return [
        Row(
            f"DLP scan, {len(corpus)} mixed messages (30% with findings), in process",
            rate,
            "msg/s",
            f"stdlib parse only {len(corpus) / floor:,.0f} msg/s",
            rate / (len(corpus) / floor),
            ">= 2,000 msg/s",
        )
    ]


def run(quick: bool = False) -> list[Row]:
    return dlp_rows(quick) + relay_rows(quick)


def _world(tmp: str, customers: int, sellers: int) -> tuple[Any, Any, list[tuple[str, str]]]:
    """An SQLite marketplace with sealed customers, orders, seller contacts and aliases."""
    from datetime import UTC, datetime
    from pathlib import Path

    from custodes.marketplace.models import Customer, Order, Product, Seller
    from custodes.relay.aliases import sync_aliases
    from custodes.relay.models import RelayAlias, SellerContact
    from custodes.store.engine import make_engine, transaction
    from custodes.store.migrate import upgrade
    from custodes.vault.keyring import FileKeyring
    from custodes.vault.service import CustomerPII, insert_prepared, prepare_customer

    engine = make_engine(f"sqlite:///{Path(tmp) / 'relay.db'}")
    upgrade(engine)
    keyring = FileKeyring.create(Path(tmp) / "keys")
    t0 = datetime(2026, 1, 5, tzinfo=UTC)
    prepared = [
        prepare_customer(keyring, f"C{i:05d}", CustomerPII(email=f"buyer{i}@mail.example"))
        for i in range(customers)
    ]
    with transaction(engine) as session:
        for p in prepared:
            session.add(Customer(customer_id=p.customer_id, pseudonym=p.pseudonym, created_at=t0))
        for s in range(sellers):
            session.add(
                Seller(seller_id=f"S{s:03d}", name=f"Shop {s}", status="active", created_at=t0)
            )
        session.flush()
        insert_prepared(session, prepared)
        for s in range(sellers):
            session.add(Product(product_id=f"P{s:03d}", seller_id=f"S{s:03d}"))
            session.add(SellerContact(seller_id=f"S{s:03d}", address=f"shop{s}@seller.example"))
        session.flush()
        for i in range(customers):
            s = i % sellers
            session.add(
                Order(
                    order_id=f"O{i:05d}",
                    customer_id=f"C{i:05d}",
                    product_id=f"P{s:03d}",
                    seller_id=f"S{s:03d}",
                    ordered_at=t0,
                )
            )
    sync_aliases(engine)
    with Session(engine) as session:
        pairs = [(a.alias, a.seller_id) for a in session.scalars(select(RelayAlias))]
    return engine, keyring, pairs


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _drive(
    relay_port: int,
    smart_port: int,
    pairs: list[tuple[str, str]],
    secrets: dict[str, str],
    total: int,
    expected: Callable[[], int],
) -> tuple[float, float, int, float]:
    """Run the load process against a listener: (seconds to accept all, seconds until the
    smarthost has every forwarded message, how many it has, CPU seconds this process used
    meanwhile: user + system, every thread of the listener, its queue, door and ledger)."""
    import resource
    import subprocess
    import sys

    load = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bench.relay_load",
            str(smart_port),
            str(relay_port),
            str(total),
            str(CLIENTS),
            ",".join(f"{a} {s}" for a, s in pairs),
            ",".join(f"{s} {k}" for s, k in secrets.items()),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert load.stdin is not None and load.stdout is not None
    assert load.stdout.readline().strip() == "ready"
    before = resource.getrusage(resource.RUSAGE_SELF)
    load.stdin.write("go\n")
    load.stdin.flush()
    accepted = float(load.stdout.readline().split()[1])
    load.stdin.write(f"{expected()}\n")
    load.stdin.flush()
    _, elapsed_text, delivered_text = load.stdout.readline().split()
    after = resource.getrusage(resource.RUSAGE_SELF)
    load.wait(timeout=60)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return accepted, float(elapsed_text), int(delivered_text), cpu


class BareForwarder:
    """The peer: SMTP in, SMTP out, nothing between (no scan, no queue, no door, no ledger):
    what one Python process moves with aiosmtpd and smtplib on this machine, in this run."""

    def __init__(self, smart_port: int, connections: int = 4) -> None:
        import queue
        import threading

        self.inbox: queue.Queue[tuple[str, list[str], bytes] | None] = queue.Queue()
        self.threads = [
            threading.Thread(target=self._forward, args=(smart_port,), daemon=True)
            for _ in range(connections)
        ]
        for thread in self.threads:
            thread.start()

    def _forward(self, port: int) -> None:
        import smtplib

        item = self.inbox.get()  # connect on the first message: the smarthost starts with the load
        if item is None:
            return
        with smtplib.SMTP("127.0.0.1", port, timeout=60) as smtp:
            while item is not None:
                smtp.sendmail(*item)
                item = self.inbox.get()

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        self.inbox.put((envelope.mail_from, envelope.rcpt_tos, envelope.original_content))
        return "250 OK"

    def stop(self) -> None:
        for _ in self.threads:
            self.inbox.put(None)
        for thread in self.threads:
            thread.join(timeout=30)


def _bare(pairs: list[tuple[str, str]], total: int) -> tuple[float, float]:
    """The peer's rate and its CPU seconds per message."""
    from custodes.relay.server import RelayController  # the relay's own SMTP sessions

    smart_port = _free_port()
    forwarder = BareForwarder(smart_port)
    controller = RelayController(forwarder, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        _, elapsed, delivered, cpu = _drive(
            controller.port, smart_port, pairs, {}, total, lambda: total
        )
    finally:
        controller.stop()
        forwarder.stop()
    return delivered / elapsed, cpu / max(delivered, 1)


def _custodes(tmp: str, total: int) -> tuple[float, float, int, float, list[tuple[str, str]]]:
    """Rate end to end, rate accepting, messages forwarded, CPU seconds per forwarded message,
    and the pairs (for the peer's load)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from custodes.access.door import Door
    from custodes.access.policy import Policy
    from custodes.ledger.note import Signer, generate_signer_key
    from custodes.ledger.sequencer import GroupCommitter, Sequencer
    from custodes.relay.credentials import Credentials
    from custodes.relay.models import RelayMessage
    from custodes.relay.server import start
    from custodes.relay.service import Relay
    from custodes.relay.types import RelayConfig

    engine, keyring, pairs = _world(tmp, 500, 20)
    signer = Signer.from_skey(generate_signer_key("custodes.bench/ledger")[0])
    sequencer = Sequencer(engine, signer).open()
    ledger = GroupCommitter(sequencer)
    issuer = Credentials(engine, ledger.append, keyring.pseudonym_key, "os:bench")
    secrets = {seller: issuer.issue(seller) for seller in sorted({s for _, s in pairs})}
    door = Door(engine, keyring, ledger, Policy.default(), Ed25519PrivateKey.generate())
    relay = Relay(engine, keyring, door, RelayConfig(domain="relay.bench"))
    smart_port = _free_port()
    running = start(relay, port=_free_port(), smarthost=("127.0.0.1", smart_port))

    def forwarded() -> int:
        with Session(engine) as session:
            verdicts = ("forwarded", "redacted")
            query = select(RelayMessage.message_id).where(RelayMessage.verdict.in_(verdicts))
            return len(session.scalars(query).all())

    try:
        accepted, elapsed, delivered, cpu = _drive(
            running.port, smart_port, pairs, secrets, total, forwarded
        )
    finally:
        running.stop()
        ledger.close()
        sequencer.close()
        engine.dispose()
    return delivered / elapsed, total / accepted, delivered, cpu / max(delivered, 1), pairs


CLIENTS = 8


def relay_rows(quick: bool) -> list[Row]:
    import os
    import tempfile

    total = 400 if quick else 2000
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        rate, accept_rate, delivered, cpu, pairs = _custodes(tmp, total)
    bare, bare_cpu = _bare(pairs, total)
    return [
        Row(
            f"relay on loopback SMTP, {total} seller messages from authenticated sellers over "
            f"{CLIENTS} clients ({delivered} forwarded, the rest held for review): scan, "
            "queue, door + message.relay ledgered, smarthost; load in another process "
            f"(1-min load average {load:.1f} at the start)",
            rate,
            "msg/s",
            f"bare aiosmtpd -> smtplib forwarder {bare:,.0f} msg/s",
            rate / bare,
            ">= 300 msg/s",
        ),
        Row("relay: scanned and queued (250 returned to the sender)", accept_rate, "msg/s"),
        Row(
            "relay process CPU per forwarded message (user + system, all its threads)",
            cpu * 1000,
            "ms",
            f"bare forwarder {bare_cpu * 1000:.2f} ms",
            cpu / bare_cpu,
        ),
    ]
