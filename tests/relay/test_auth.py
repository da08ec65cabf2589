"""Sellers prove who they are with SMTP AUTH: the envelope sender (MAIL FROM) is a claim anyone
can make, so it never identifies a seller. Each attack here was written before the fix, and
failed (a spoofed MAIL FROM was relayed to the customer)."""

from __future__ import annotations

import smtplib

from sqlalchemy import select
from sqlalchemy.orm import Session

from custodes.relay.auth import SellerAuthenticator, secret_digest
from custodes.relay.credentials import Credentials
from custodes.relay.models import RelayMessage, SellerCredential
from custodes.relay.server import RunningRelay
from tests.support.relay import ACME, C1_EMAIL, DOMAIN, OTHER, Smarthost, World, mail


def _reasons(world: World) -> list[str]:
    with Session(world.engine) as session:
        return list(session.scalars(select(RelayMessage.reason).order_by(RelayMessage.received_at)))


def test_a_spoofed_envelope_sender_is_not_a_seller(
    world: World, listener: RunningRelay, smarthost: tuple[Smarthost, int]
) -> None:
    """Anyone on the network claims to be Acme (MAIL FROM Acme's registered address) and
    writes to Acme's customer: refused, recorded, nothing reaches the customer."""
    alias = f"{world.a1}@{DOMAIN}"
    with smtplib.SMTP("127.0.0.1", listener.port, timeout=10) as client:
        client.ehlo()
        assert client.mail(ACME)[0] == 250
        code, _ = client.rcpt(alias)
        assert code == 530  # 5.7.0 Authentication required
    assert _reasons(world)[-1] == "unauthenticated_seller"
    assert not smarthost[0].wait(1, timeout=1.5)


def test_another_sellers_credentials_do_not_open_this_conversation(
    world: World, listener: RunningRelay, smarthost: tuple[Smarthost, int]
) -> None:
    """Seller SC, properly authenticated, claims Acme's address in MAIL FROM: still SC."""
    alias = f"{world.a1}@{DOMAIN}"
    with smtplib.SMTP("127.0.0.1", listener.port, timeout=10) as client:
        client.ehlo()
        client.login(*world.credentials["SC"])
        client.mail(ACME)
        code, _ = client.rcpt(alias)
        assert code == 550
    assert _reasons(world)[-1] == "other_sellers_alias"
    assert not smarthost[0].wait(1, timeout=1.5)


def test_wrong_and_unknown_credentials_are_refused(world: World, listener: RunningRelay) -> None:
    login, password = world.credentials["SA"]
    for attempt in ((login, password + "x"), ("SZ", password), (login.lower(), password)):
        with smtplib.SMTP("127.0.0.1", listener.port, timeout=10) as client:
            client.ehlo()
            try:
                client.login(*attempt)
            except smtplib.SMTPAuthenticationError as exc:
                assert exc.smtp_code == 535
            else:
                raise AssertionError(f"{attempt[0]} logged in with a wrong password")


def test_an_authenticated_seller_reaches_their_customer(
    world: World, listener: RunningRelay, smarthost: tuple[Smarthost, int]
) -> None:
    alias = f"{world.a1}@{DOMAIN}"
    with smtplib.SMTP("127.0.0.1", listener.port, timeout=10) as client:
        client.ehlo()
        client.login(*world.credentials["SA"])
        # The envelope sender no longer matters: the session's seller does.
        client.sendmail("anything@elsewhere.example", [alias], mail(ACME, alias, "Hello"))
    assert smarthost[0].wait(1)
    assert _reasons(world)[-1] == "ok"


def test_a_seller_cannot_pose_as_a_customer_either(
    world: World, listener: RunningRelay, smarthost: tuple[Smarthost, int]
) -> None:
    """Authenticated as SC, writing into (SA, C1) from C1's address: a seller's session only
    ever writes as that seller."""

    alias = f"{world.a1}@{DOMAIN}"
    with smtplib.SMTP("127.0.0.1", listener.port, timeout=10) as client:
        client.ehlo()
        client.login(*world.credentials["SC"])
        client.mail(C1_EMAIL)
        assert client.rcpt(alias)[0] == 550
    assert not smarthost[0].wait(1, timeout=1.5)
    assert OTHER  # SC's contact address is not needed to write as SC


def test_secrets_are_stored_as_digests_and_legacy_hashes_still_verify(world: World) -> None:
    """New credentials are a digest of a 192-bit random secret (like the API's tokens); one
    issued as argon2id before (SB's, in the fixture) still logs in, and nothing else does."""
    check = SellerAuthenticator(world.engine)
    with Session(world.engine) as session:
        stored = {r.seller_id: r.password_hash for r in session.scalars(select(SellerCredential))}
    sa_login, sa_secret = world.credentials["SA"]
    assert stored["SA"] == secret_digest(sa_secret) and sa_secret not in stored["SA"]
    assert stored["SB"].startswith("$argon2id$")
    assert check.verify(sa_login.encode(), sa_secret.encode()) == "SA"
    sb_login, sb_secret = world.credentials["SB"]
    for _ in range(2):  # the second time from the remembered verification
        assert check.verify(sb_login.encode(), sb_secret.encode()) == "SB"
    wrong = [
        (sa_login, sb_secret),  # another seller's secret
        (sb_login, sa_secret),
        (sa_login, stored["SA"]),  # what is stored is not the secret
        ("SZ", sa_secret),  # no such seller
        (sa_login, ""),
    ]
    for login, secret in wrong:
        assert check.verify(login.encode(), secret.encode()) is None, login
    issuer = Credentials(world.engine, world.ledger.append, world.keyring.pseudonym_key, "os:t")
    issuer.issue("SB")  # rotated: the remembered legacy login no longer opens
    assert check.verify(sb_login.encode(), sb_secret.encode()) is None
