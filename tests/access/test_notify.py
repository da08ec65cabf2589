"""Approvers are notified through real SMTP (aiosmtpd on loopback); the mail carries no PII."""

from __future__ import annotations

import socket
from email import message_from_bytes
from typing import Any

from aiosmtpd.controller import Controller

from custodes.access.notify import SmtpNotifier
from tests.support.api import Api
from tests.support.marketplace import CUSTOMERS


class Sink:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope)
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_request_mails_the_eligible_approvers(api: Api) -> None:
    sink = Sink()
    port = _free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        api.client.app.state.door.notifier = SmtpNotifier("127.0.0.1", port)
        response = api.call(
            "POST",
            "/v1/requests",
            "P1",
            json={
                "action": "customer.export",
                "resource": {"kind": "customer", "ids": ["C1", "C2"], "fields": ["email"]},
                "justification": {"code": "legal"},
            },
        )
        assert response.status_code == 202
    finally:
        controller.stop()
    [envelope] = sink.messages
    assert envelope.rcpt_tos == ["P2@staff.invalid"]  # the other privacy officer only
    mail = message_from_bytes(envelope.content)
    assert "customer.export" in mail["Subject"]
    text = envelope.content.decode()
    for pii in CUSTOMERS.values():
        assert pii.email not in text and pii.name not in text
