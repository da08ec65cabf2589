"""Telling approvers a request waits for them: SMTP, or an in-memory outbox when unconfigured.

Messages carry request ids, actions and masked previews only, never PII.
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Protocol


class Notifier(Protocol):
    def notify(self, recipients: list[str], subject: str, body: str) -> None: ...


@dataclass
class Outbox:
    """Keeps messages in memory (tests, the demo, and setups without SMTP)."""

    messages: list[tuple[list[str], str, str]] = field(default_factory=list)

    def notify(self, recipients: list[str], subject: str, body: str) -> None:
        self.messages.append((recipients, subject, body))


@dataclass
class SmtpNotifier:
    """Real SMTP (e.g. a relay on loopback); failures are raised so the caller can record them."""

    host: str
    port: int
    sender: str = "custodes@staff.invalid"
    timeout: float = 10.0

    def notify(self, recipients: list[str], subject: str, body: str) -> None:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = ", ".join(recipients)
        message["Subject"] = subject
        message.set_content(body)
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            smtp.send_message(message)
