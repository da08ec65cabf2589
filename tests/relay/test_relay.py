"""The relay end to end on loopback SMTP: a seller never sees a real customer address, in
either direction, in headers, bodies, bounces or refusals; every refusal has its SMTP code and
is recorded; delivery goes through the one door and the ledger."""

from __future__ import annotations

import json
import smtplib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from custodes.ledger.models import LedgerEntryRow
from custodes.relay.errors import RelayRefused
from custodes.relay.models import OutboundMessage, RelayMessage
from custodes.relay.server import RunningRelay, start
from tests.support.relay import (
    ACME,
    C1_EMAIL,
    C2_EMAIL,
    DOMAIN,
    SELLER_OF,
    SHADY,
    Smarthost,
    World,
    free_port,
    mail,
)


def login(client: smtplib.SMTP, world: World | None, sender: str) -> None:
    """A seller's session logs in as that seller (its contact address is only a claim)."""
    if world is not None and sender in SELLER_OF:
        client.login(*world.credentials[SELLER_OF[sender]])


def send(
    listener: RunningRelay, sender: str, rcpt: str, data: bytes, world: World | None = None
) -> tuple[int, bytes]:
    """One message over SMTP; with `world`, a seller's sender logs in first."""
    with smtplib.SMTP("127.0.0.1", listener.port, timeout=10) as client:
        client.ehlo()
        login(client, world, sender)
        code, _ = client.mail(sender)
        assert code == 250
        code, text = client.rcpt(rcpt)
        if code != 250:
            return code, text
        return client.data(data)


def records(world: World) -> list[tuple[str, str, int]]:
    with Session(world.engine) as session:
        return [
            (r.verdict, r.reason, r.smtp_code)
            for r in session.scalars(select(RelayMessage).order_by(RelayMessage.received_at))
        ]


def test_seller_to_customer_goes_through_the_door(
    world: World, listener: RunningRelay, smarthost: tuple[Smarthost, int]
) -> None:
    host, _ = smarthost
    alias = f"{world.a1}@{DOMAIN}"
    body = "Your widget ships today. Questions: private.seller@gmail.com, thanks."
    code, _ = send(listener, ACME, alias, mail(ACME, alias, body, Reply_To=ACME), world)
    assert code == 250
    assert host.wait(1)
    envelope_from, rcpts, content = host.messages[0]
    assert rcpts == [C1_EMAIL]  # only the smarthost (the customer's mailbox) sees it
    assert envelope_from.startswith("bounce+") and envelope_from.endswith("@" + DOMAIN)
    text = content.decode()
    assert ACME not in text and "private.seller@gmail.com" not in text  # redacted by DLP
    assert f"Reply-To: {alias}" in text and "Acme via Test Market" in text
    assert "CAFxyz123" not in text  # the sender's own Message-ID is not passed on
    with Session(world.engine) as session:
        entries = [json.loads(d) for d in session.scalars(select(LedgerEntryRow.data))]
    relayed = [e for e in entries if e["action"] == "message.relay"]
    assert [(e["actor"], e["decision"], e["fields"]) for e in relayed] == [
        ("relay", "allow", ["email"])
    ]
    assert C1_EMAIL not in json.dumps(entries)
    assert records(world)[-1][:2] == ("redacted", "ok")


def test_customer_reply_reaches_the_seller_without_the_customers_address(
    world: World, listener: RunningRelay, smarthost: tuple[Smarthost, int]
) -> None:
    host, _ = smarthost
    alias = f"{world.a1}@{DOMAIN}"
    body = (
        f"Thanks! Call me on +44 20 7946 0111.\n\nOn Monday, Acme <{alias}> wrote:\n> hi\n"
        f"-- \nQuentin <{C1_EMAIL}>"
    )
    data = mail(
        C1_EMAIL.upper(),
        alias,
        body,
        Sender=C1_EMAIL,
        Return_Path=C1_EMAIL,
        X_Original_From=C1_EMAIL,
        Received=f"from [10.0.0.1] by mx for <{C1_EMAIL}>",
    )
    code, _ = send(listener, C1_EMAIL.upper(), alias, data)
    assert code == 250
    assert host.wait(1)
    _, rcpts, content = host.messages[0]
    assert rcpts == [ACME]
    lowered = content.decode().lower()
    assert C1_EMAIL.lower() not in lowered
    assert "7946 0111" not in lowered
    assert f"from: buyer via test market <{alias}>".lower() in lowered


def test_refusals_have_smtp_codes_and_are_recorded(
    world: World, listener: RunningRelay, smarthost: tuple[Smarthost, int]
) -> None:
    a1, c2 = f"{world.a1}@{DOMAIN}", f"{world.c2}@{DOMAIN}"
    cases = [
        (ACME, f"nobody@{DOMAIN}", 550, "unknown_alias"),
        (ACME, "someone@elsewhere.example", 550, "foreign_domain"),
        (ACME, c2, 550, "other_sellers_alias"),  # SA writing into SC's conversation
        (SHADY, a1, 550, "other_sellers_alias"),
        ("stranger@spam.example", a1, 550, "unknown_sender"),
        (C2_EMAIL, a1, 550, "unknown_sender"),  # a customer, but not this pair's
    ]
    for sender, rcpt, code, reason in cases:
        got, _ = send(listener, sender, rcpt, mail(sender, rcpt, "hello"), world)
        assert got == code, (sender, rcpt)
        assert records(world)[-1] == ("refused", reason, code)
    blocked = mail(ACME, a1, "x", subject="=?utf-8?q?hi?=")
    with smtplib.SMTP("127.0.0.1", listener.port, timeout=10) as client:
        client.ehlo()
        login(client, world, ACME)
        client.mail(ACME)
        assert client.rcpt(a1)[0] == 250
        assert client.rcpt(c2)[0] == 452  # one recipient per message
        assert client.data(blocked)[0] == 250
    assert smarthost[0].wait(1)
    assert len(smarthost[0].messages) == 1


def test_blocked_seller_and_blocked_content(world: World, listener: RunningRelay) -> None:
    from custodes.marketplace.models import Seller
    from custodes.store.engine import transaction

    a1 = f"{world.a1}@{DOMAIN}"
    world.relay.config.seller_dlp.actions["email"] = "block"
    code, _ = send(listener, ACME, a1, mail(ACME, a1, "write to me at x.y@gmail.com"), world)
    assert code == 550 and records(world)[-1] == ("blocked", "content_blocked", 550)
    with transaction(world.engine) as session:
        session.get(Seller, "SA").status = "suspended"  # type: ignore[union-attr]
    code, _ = send(listener, ACME, a1, mail(ACME, a1, "hello"), world)
    assert code == 550 and records(world)[-1] == ("refused", "seller_blocked", 550)


def test_oversized_messages_are_refused(world: World) -> None:
    world.relay.config.max_size = 10_000
    running = start(world.relay, port=free_port())
    try:
        a1 = f"{world.a1}@{DOMAIN}"
        big = mail(ACME, a1, ("x" * 70 + "\n") * 300)
        with smtplib.SMTP("127.0.0.1", running.port, timeout=10) as client:
            login(client, world, ACME)
            with pytest.raises(smtplib.SMTPSenderRefused) as refused_early:
                client.sendmail(ACME, [a1], big)  # declares SIZE: refused at MAIL FROM
            assert refused_early.value.smtp_code == 552
        assert send(running, ACME, a1, big, world)[0] in (
            552,
            500,
        )  # undeclared: refused after DATA
        assert send(running, ACME, a1, mail(ACME, a1, "small"), world)[0] == 250
    finally:
        running.stop()
    with pytest.raises(RelayRefused) as refused:  # the relay checks too, whatever the listener
        world.relay.receive(world.relay.route(ACME, a1, "SA"), b"x" * 20_000)
    assert refused.value.code == 552


def test_bounces_stop_at_the_relay(
    world: World, listener: RunningRelay, smarthost: tuple[Smarthost, int]
) -> None:
    host, _ = smarthost
    a1 = f"{world.a1}@{DOMAIN}"
    assert send(listener, ACME, a1, mail(ACME, a1, "hello"), world)[0] == 250
    assert host.wait(1)
    bounce_to = host.messages[0][0]
    dsn = (
        f"From: MAILER-DAEMON@mx.example\r\nTo: {bounce_to}\r\nSubject: Undelivered\r\n"
        f"Content-Type: text/plain\r\n\r\nDelivery to {C1_EMAIL} failed: mailbox full\r\n"
    ).encode()
    assert send(listener, "", bounce_to, dsn)[0] == 250
    assert records(world)[-1][:2] == ("bounce", "delivery_report")
    assert len(host.messages) == 1  # nothing went to the seller
    with Session(world.engine) as session:
        statuses = set(session.scalars(select(OutboundMessage.status)))
    assert statuses == {"bounced"}


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x00\xff\xfe garbage \r\n\r\n",
        b"Subject: =?utf-8?b?!!!notbase64?=\r\n"
        b"Content-Type: multipart/mixed; boundary=\r\n\r\n--\r\n",
        b"Content-Type: text/plain; charset=x-nonexistent\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n@@@@",
    ],
)
def test_malformed_input_is_answered_and_the_listener_keeps_serving(
    world: World, listener: RunningRelay, data: bytes
) -> None:
    a1 = f"{world.a1}@{DOMAIN}"
    code, _ = send(listener, ACME, a1, data, world)
    assert code in (250, 550)
    assert send(listener, ACME, a1, mail(ACME, a1, "still there?"), world)[0] == 250


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.binary(max_size=3000),
    st.lists(
        st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=60),
        max_size=4,
    ),
)
def test_fuzzed_sessions_never_crash_the_listener(
    world: World, listener: RunningRelay, data: bytes, commands: list[str]
) -> None:
    a1 = f"{world.a1}@{DOMAIN}"
    with smtplib.SMTP("127.0.0.1", listener.port, timeout=10) as client:
        for command in commands:  # arbitrary command lines: answered, never fatal
            code, _ = client.docmd(command.replace("\r", " ").replace("\n", " "))
            assert 200 <= code < 600
        client.rset()
        client.ehlo()
        login(client, world, ACME)
        assert client.mail(ACME)[0] == 250
        assert client.rcpt(a1)[0] == 250
        try:
            code, _ = client.data(data)
        except smtplib.SMTPDataError as error:
            code = error.smtp_code
        assert code in (250, 500, 550, 552, 554)
    assert send(listener, ACME, a1, mail(ACME, a1, "still there?"), world)[0] == 250
