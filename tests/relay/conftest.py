"""A relay over the small access marketplace, a smarthost that records what it receives, and
the SMTP listener on loopback."""

from __future__ import annotations

import functools
import secrets
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from aiosmtpd.controller import Controller
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine

from custodes.access.door import Door
from custodes.access.policy import Policy
from custodes.identity.passwords import hash_password
from custodes.ledger.note import Signer, generate_signer_key
from custodes.ledger.sequencer import GroupCommitter, Sequencer
from custodes.marketplace.models import Order, Product, Seller
from custodes.relay.aliases import alias_for
from custodes.relay.models import SellerContact, SellerCredential
from custodes.relay.server import RunningRelay, start
from custodes.relay.service import Relay, RelayConfig
from custodes.store.engine import transaction
from custodes.vault.keyring import FileKeyring
from tests.access.conftest import CUSTOMERS, T0, seed

DOMAIN = "relay.test"
SELLER_OF = {"orders@acme.example": "SA", "boss@shady.example": "SB", "hello@other.example": "SC"}
ACME = "orders@acme.example"  # seller SA (active), ordered by C1
SHADY = "boss@shady.example"  # seller SB (banned)
OTHER = "hello@other.example"  # seller SC (active), ordered by C2
C1_EMAIL = CUSTOMERS["C1"].email or ""
C2_EMAIL = CUSTOMERS["C2"].email or ""


@dataclass
class Smarthost:
    messages: list[tuple[str, list[str], bytes]] = field(default_factory=list)
    refuse: int | None = None  # answer DATA with this code instead of 250
    arrived: threading.Condition = field(default_factory=threading.Condition)

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.refuse:
            return f"{self.refuse} refused for the test"
        with self.arrived:
            self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
            self.arrived.notify_all()
        return "250 OK"

    def wait(self, n: int, timeout: float = 10.0) -> bool:
        with self.arrived:
            return self.arrived.wait_for(lambda: len(self.messages) >= n, timeout)


@dataclass
class World:
    engine: Engine
    keyring: FileKeyring
    relay: Relay
    ledger: GroupCommitter
    a1: str  # alias of (SA, C1)
    c2: str  # alias of (SC, C2)
    credentials: dict[str, tuple[str, str]] = field(default_factory=dict)  # SMTP AUTH per seller


@pytest.fixture
def world(engine: Engine, keyring: FileKeyring) -> Iterator[World]:
    seed(engine, keyring)
    with transaction(engine) as session:
        session.add(Seller(seller_id="SC", name="Other Shop", status="active", created_at=T0))
        session.flush()
        session.add(Product(product_id="P3", seller_id="SC", category="home", title="Thing"))
        session.flush()
        session.add(
            Order(order_id="O2", customer_id="C2", product_id="P3", seller_id="SC", ordered_at=T0)
        )
        session.add(SellerContact(seller_id="SA", address=ACME))
        session.add(SellerContact(seller_id="SB", address=SHADY))
        session.add(SellerContact(seller_id="SC", address=OTHER))
    signer = Signer.from_skey(generate_signer_key("custodes.test/ledger")[0])
    sequencer = Sequencer(engine, signer).open()
    ledger = GroupCommitter(sequencer)
    door = Door(engine, keyring, ledger, Policy.default(), Ed25519PrivateKey.generate())
    relay = Relay(engine, keyring, door, RelayConfig(domain=DOMAIN, marketplace="Test Market"))
    try:
        yield World(
            engine,
            keyring,
            relay,
            ledger,
            alias_for(engine, "SA", "C1"),
            alias_for(engine, "SC", "C2"),
            _credentials(engine),
        )
    finally:
        ledger.close()
        sequencer.close()


@functools.cache
def _secret(seller_id: str) -> tuple[str, str]:
    """One secret and its argon2id hash per seller per test run: hashing costs ~0.1 s."""
    secret = secrets.token_urlsafe(24)
    return secret, hash_password(secret)


def _credentials(engine: Engine) -> dict[str, tuple[str, str]]:
    """What `custodes relay credentials` stores, for the three sellers (tests/relay/test_cli.py
    runs the command itself)."""
    with transaction(engine) as session:
        for seller_id in ("SA", "SB", "SC"):
            session.add(
                SellerCredential(
                    seller_id=seller_id, password_hash=_secret(seller_id)[1], issued_at=T0
                )
            )
    return {s: (s, _secret(s)[0]) for s in ("SA", "SB", "SC")}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smarthost() -> Iterator[tuple[Smarthost, int]]:
    handler = Smarthost()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


@pytest.fixture
def listener(world: World, smarthost: tuple[Smarthost, int]) -> Iterator[RunningRelay]:
    running = start(world.relay, port=free_port(), smarthost=("127.0.0.1", smarthost[1]))
    try:
        yield running
    finally:
        running.stop()
