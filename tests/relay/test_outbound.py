"""The outgoing message: an allow-listed header block and, when the scan changed nothing, the
body exactly as it came in; the result parses to the same message the generator would write."""

from __future__ import annotations

from email import message_from_bytes
from email.message import EmailMessage
from email.policy import SMTP

from custodes.relay.dlp import parse
from custodes.relay.outbound import WIRE, rewrite_headers, wire_bytes

SENDER = ("Acme via Test Market", "rabc@relay.test")


def _incoming() -> bytes:
    message = EmailMessage()
    message["From"] = "Acme <orders@acme.example>"
    message["To"] = "rabc@relay.test"
    message["Subject"] = "Your order, with a long subject line that the sender's client folded " * 2
    message["Received"] = "from [10.0.0.1] by mx.acme.example"
    message["X-Originating-IP"] = "10.0.0.1"
    message["References"] = "<a1@mail.acme.example> <m1@relay.test>"
    message.set_content("Parcel ships today.\n")
    message.add_attachment(b"item,qty\nwidget,1\n", "text", "csv", filename="order.csv")
    return message.as_bytes(policy=SMTP)


def test_the_body_goes_out_as_received_and_the_headers_are_rebuilt() -> None:
    raw = _incoming()
    spliced_message, generated_message = parse(raw), parse(raw)
    for message in (spliced_message, generated_message):
        rewrite_headers(message, "relay.test", SENDER, "msg_1")
    spliced = wire_bytes(spliced_message, raw)
    generated = wire_bytes(generated_message, None)
    assert spliced.split(b"\r\n\r\n", 1)[1] == raw.split(b"\r\n\r\n", 1)[1]
    head = spliced.split(b"\r\n\r\n", 1)[0].decode()
    for gone in ("Received", "X-Originating-IP", "orders@acme.example", "a1@mail.acme.example"):
        assert gone not in head
    assert "References: <m1@relay.test>" in head and "Reply-To: rabc@relay.test" in head
    ours, theirs = message_from_bytes(spliced), message_from_bytes(generated)
    assert ours.items() == theirs.items() or [k for k, _ in ours.items()] == [
        k for k, _ in theirs.items()
    ]
    assert [p.get_payload(decode=True) for p in ours.walk()] == [
        p.get_payload(decode=True) for p in theirs.walk()
    ]
    assert generated == generated_message.as_bytes(policy=WIRE)
