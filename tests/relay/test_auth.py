"""Sellers prove who they are with SMTP AUTH: the envelope sender (MAIL FROM) is a claim anyone
can make, so it never identifies a seller. Each attack here was written before the fix, and
failed (a spoofed MAIL FROM was relayed to the customer)."""

from __future__ import annotations

import smtplib

from sqlalchemy import select
from sqlalchemy.orm import Session

from custodes.relay.models import RelayMessage
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
