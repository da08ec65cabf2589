"""The relay's writes as plain driver rows (see `relay.writer`): a queued message, the record
of what the relay did with a message, a sent mark, a bounce. Built without a database, so a
session can prepare its write on the event loop and only wait for the shared commit."""

from __future__ import annotations

import json
from datetime import datetime

from custodes.relay.writer import Rows

_QUEUED = (
    "INSERT INTO relay_outbound (message_id, created_at, direction, alias, envelope_from, "
    "kek_version, wrapped_key, body_ct, status, attempts, next_attempt_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'queued', 0, ?)"
)
_RECORD = (
    "INSERT INTO relay_messages (message_id, received_at, direction, seller_id, alias, verdict, "
    "reason, smtp_code, findings, kek_version, wrapped_key, held_ct) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
# Only a row this worker holds ('sending'): a mark never overwrites another worker's outcome.
_SENT = (
    "UPDATE relay_outbound SET status = 'sent', sent_at = ?, lease_until = NULL, body_ct = ? "
    "WHERE message_id = ? AND status = 'sending'"
)
_BOUNCED = (
    "UPDATE relay_outbound SET status = 'bounced', last_error = 'bounced', body_ct = ? "
    "WHERE message_id = ?"
)
Sealed = tuple[int, bytes, bytes]  # kek version, wrapped data key, ciphertext


def queued(
    message_id: str, now: datetime, direction: str, alias: str, sender: str, body: Sealed
) -> Rows:
    """A message accepted for delivery, due now, its body sealed."""
    return Rows(_QUEUED, (message_id, now, direction, alias, sender, *body, now))


def record(
    message_id: str,
    now: datetime,
    direction: str,
    seller_id: str | None,
    alias: str | None,
    outcome: tuple[str, str, int],
    findings: list[dict[str, str]],
    held: Sealed | None = None,
) -> Rows:
    """What the relay did with a message: `outcome` is (verdict, reason, SMTP code); finding
    kinds only, never the matched text; `held` the sealed message kept for review."""
    verdict, reason, code = outcome
    kept = held or (None, None, None)
    text = json.dumps(findings)
    return Rows(
        _RECORD, (message_id, now, direction, seller_id, alias, verdict, reason, code, text, *kept)
    )


def sent(message_id: str, now: datetime) -> Rows:
    """Marks a message sent and drops its sealed body."""
    return Rows(_SENT, (now, b"", message_id))


def bounced(message_id: str) -> Rows:
    return Rows(_BOUNCED, (b"", message_id))
