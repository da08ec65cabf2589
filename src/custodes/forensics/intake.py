"""`custodes canary serve`: the mailbox behind every canary address.

Mail to a canary is a hit: recorded (time, a keyed digest and the domain of the envelope
sender, header names and the Message-ID's digest, the message's SHA-256, the source) and
raised as an alert naming the exposure, the employee it was shown to, and when. Mail to any
other address is refused (550); nothing about a hit is echoed to the sender.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from email import message_from_bytes
from email.utils import parseaddr
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from custodes.errors import InputError
from custodes.forensics.models import Canary, CanaryHit, Exposure
from custodes.store.engine import transaction
from custodes.vault.keyring import Keyring
from custodes.vault.models import BlindIndexEntry
from custodes.vault.normalise import normalise_email
from custodes.vault.pseudonym import blind_index

log = logging.getLogger(__name__)
Alert = Callable[[dict[str, Any]], None]


class Intake:
    def __init__(
        self, engine: Engine, keyring: Keyring, alert: Alert, show: Callable[[str], str]
    ) -> None:
        self.engine, self.keyring, self.alert, self.show = engine, keyring, alert, show

    def canary(self, address: str) -> tuple[str, Exposure | None] | None:
        """The canary (and its exposure) an address belongs to, or None."""
        try:
            normalised = normalise_email(parseaddr(address)[1])
        except InputError:
            return None
        digest = blind_index(self.keyring.blind_index_key, "email", normalised)
        with Session(self.engine) as session:
            row = session.execute(
                select(Canary.customer_id, Canary.exposure_id)
                .join(BlindIndexEntry, BlindIndexEntry.customer_id == Canary.customer_id)
                .where(BlindIndexEntry.kind == "email", BlindIndexEntry.digest == digest)
            ).first()
            if row is None:
                return None
            exposure = session.get(Exposure, row.exposure_id) if row.exposure_id else None
            if exposure is not None:
                session.expunge(exposure)
        return row.customer_id, exposure

    def hit(self, rcpt: str, mail_from: str, data: bytes, source: str = "smtp") -> bool:
        found = self.canary(rcpt)
        if found is None:
            return False
        customer_id, exposure = found
        now = datetime.now(UTC)
        message = message_from_bytes(data)
        sender = parseaddr(mail_from)[1].lower()
        message_id = str(message.get("Message-ID", ""))
        headers = {
            "names": sorted({k.lower() for k in message})[:50],
            "received": len(message.get_all("Received") or []),
            "message_id_sha256": hashlib.sha256(message_id.encode()).hexdigest()
            if message_id
            else None,
        }
        with transaction(self.engine) as session:
            session.add(
                CanaryHit(
                    customer_id=customer_id,
                    exposure_id=exposure.exposure_id if exposure else None,
                    employee_id=exposure.employee_id if exposure else None,
                    time=now,
                    source=source,
                    sender_digest=hmac.digest(
                        self.keyring.blind_index_key, b"sender|" + sender.encode(), "sha256"
                    )
                    if sender
                    else None,
                    sender_domain=sender.rpartition("@")[2][:255] or None,
                    headers=json.dumps(headers),
                    message_sha256=hashlib.sha256(data).hexdigest(),
                )
            )
        self.alert(
            {
                "kind": "canary_hit",
                "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "exposure": exposure.exposure_id if exposure else None,
                "exposure_kind": exposure.kind if exposure else None,
                "exposed_at": exposure.created_at.strftime("%Y-%m-%dT%H:%M:%SZ")
                if exposure
                else None,
                "employee_id": self.show(exposure.employee_id) if exposure else None,
                "ledger_index": exposure.ledger_index if exposure else None,
                "sender_domain": sender.rpartition("@")[2] or None,
                "source": source,
            }
        )
        return True


class IntakeHandler:
    def __init__(self, intake: Intake) -> None:
        self.intake = intake

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        try:
            found = await asyncio.to_thread(self.intake.canary, address)
        except Exception:
            log.exception("canary intake: lookup failed")
            return "451 4.3.0 Temporary failure"
        if found is None:
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        data = envelope.original_content or envelope.content or b""
        if not isinstance(data, bytes):
            data = str(data).encode("utf-8", errors="surrogateescape")
        try:
            for rcpt in envelope.rcpt_tos:
                await asyncio.to_thread(self.intake.hit, rcpt, envelope.mail_from or "", data)
        except Exception:
            log.exception("canary intake: recording failed")
            return "451 4.3.0 Temporary failure"
        return "250 2.0.0 OK"


def jsonl_alerts(path: Path) -> Alert:
    """Alerts appended to a JSON Lines file (for a SIEM), one line per hit."""
    lock = threading.Lock()

    def write(alert: dict[str, Any]) -> None:
        line = json.dumps(alert, sort_keys=True) + "\n"
        with lock, path.open("a", encoding="utf-8") as handle:
            handle.write(line)
        log.warning("canary hit: exposure %s", alert.get("exposure"))

    return write


def start(intake: Intake, host: str, port: int) -> Controller:
    controller = Controller(
        IntakeHandler(intake), hostname=host, port=port, ident="custodes canary intake"
    )
    controller.start()
    return controller
