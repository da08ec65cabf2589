"""A relay over the small access marketplace, a smarthost that records what it receives, and
the SMTP listener on loopback."""

from __future__ import annotations

import functools
import secrets
from collections.abc import Iterator

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
from custodes.relay.auth import secret_digest
from custodes.relay.models import SellerContact, SellerCredential
from custodes.relay.server import RunningRelay, start
from custodes.relay.service import Relay
from custodes.relay.types import RelayConfig
from custodes.store.engine import transaction
from custodes.vault.keyring import FileKeyring
from tests.support.marketplace import T0, seed
from tests.support.relay import (  # noqa: F401  (names the relay tests share)
    ACME,
    C1_EMAIL,
    C2_EMAIL,
    DOMAIN,
    OTHER,
    SELLER_OF,
    SHADY,
    Smarthost,
    World,
    free_port,
)


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
    """One secret per seller per test run, stored as `custodes relay credentials` stores it;
    SB's as an argon2id hash, as credentials issued before the digest scheme are."""
    secret = secrets.token_urlsafe(24)
    return secret, hash_password(secret) if seller_id == "SB" else secret_digest(secret)


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
