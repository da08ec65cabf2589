"""The relay's test world: addresses on the small marketplace, a smarthost that records what it
receives, a free loopback port, and a message as a mail client would write it."""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import SMTP

from sqlalchemy import Engine

from custodes.ledger.sequencer import GroupCommitter
from custodes.relay.service import Relay
from custodes.vault.keyring import FileKeyring
from tests.support.marketplace import CUSTOMERS

DOMAIN = "relay.test"
ACME = "orders@acme.example"  # seller SA (active), ordered by C1
SHADY = "boss@shady.example"  # seller SB (banned)
OTHER = "hello@other.example"  # seller SC (active), ordered by C2
C1_EMAIL = CUSTOMERS["C1"].email or ""
C2_EMAIL = CUSTOMERS["C2"].email or ""
SELLER_OF = {ACME: "SA", SHADY: "SB", OTHER: "SC"}  # contact address -> seller


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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def mail(
    sender: str, to: str, body: str, subject: str = "About your order", **headers: str
) -> bytes:
    message = EmailMessage()
    message["From"] = f"Someone <{sender}>"
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = "<CAFxyz123@mail.gmail.example>"
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message.as_bytes(policy=SMTP)
