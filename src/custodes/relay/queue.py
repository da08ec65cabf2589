"""The durable outbound queue: accepted means committed, delivered means marked, retried on
failure with backoff, each row claimed by one worker at a time under a lease.

A message is committed here before the relay answers 250 to the sender, so a smarthost outage
or a crash loses nothing. A row is marked `sent` in its own commit right after the smarthost
accepts it, and a claimed row is only retried once its lease has run out; so after a crash a
message is sent again only if the crash fell between the smarthost's 250 and that commit (SMTP
offers no way to close that gap; the stable Message-ID lets the receiving side collapse it).
"""

from __future__ import annotations

import contextlib
import smtplib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from custodes.relay import rows
from custodes.relay.errors import PermanentFailure, RelayError
from custodes.relay.models import OutboundMessage
from custodes.relay.sealing import open_body
from custodes.relay.writer import Write, commit, time_binder
from custodes.store.engine import READ_ONLY, driver_sql, transaction
from custodes.vault.keyring import Keyring

LEASE = timedelta(seconds=60)
BACKOFF = (30, 60, 300, 900, 1800, 3600)  # seconds; then hourly
MAX_ATTEMPTS = 48


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Claimed:
    message_id: str
    direction: str
    alias: str
    envelope_from: str
    body: bytes
    attempts: int


Resolve = Callable[[Claimed], str]  # the real recipient, looked up at delivery time


def claim(
    engine: Engine, keyring: Keyring, limit: int = 50, now: datetime | None = None
) -> list[Claimed]:
    """Due messages (queued and due, or claimed by a worker whose lease ran out), leased to us.

    PostgreSQL skips rows another worker holds; SQLite cannot upgrade a reading transaction
    to a writing one while another writer is active, so there the claim is retried briefly."""
    for attempt in range(50):
        try:
            return _claim(engine, keyring, limit, now or _now())
        except OperationalError:
            if engine.dialect.name != "sqlite" or attempt == 49:
                raise
            time.sleep(0.005 * (1 + attempt % 10))
    return []


_DUE = (
    "FROM relay_outbound WHERE (status = 'queued' AND next_attempt_at <= ?) "
    "OR (status = 'sending' AND lease_until <= ?)"
)
_ANY_DUE = f"SELECT 1 {_DUE} LIMIT 1"
_DUE_ROWS = (
    "SELECT message_id, direction, alias, envelope_from, kek_version, wrapped_key, body_ct, "
    f"attempts {_DUE} ORDER BY next_attempt_at LIMIT ?"
)
_LEASE = (
    "UPDATE relay_outbound SET status = 'sending', lease_until = ?, attempts = attempts + 1 "
    "WHERE message_id IN ({})"
)


def _claim(engine: Engine, keyring: Keyring, limit: int, now: datetime) -> list[Claimed]:
    """Driver SQL: the worker claims after every wake, and statement building cost more than
    the queries. Nothing due is seen by a plain read, without taking the write lock."""
    dialect = engine.dialect
    bind = time_binder(dialect)
    due = (bind(now), bind(now))
    with engine.connect().execution_options(**READ_ONLY) as conn:
        if conn.exec_driver_sql(driver_sql(dialect, _ANY_DUE), due).first() is None:
            return []
    locking = " FOR UPDATE SKIP LOCKED" if dialect.name != "sqlite" else ""
    with engine.begin() as conn:
        if dialect.name == "sqlite":
            # Take the write lock first, so a busy database is waited for (busy_timeout)
            # instead of failing when a reading transaction tries to become a writing one.
            conn.exec_driver_sql("UPDATE relay_outbound SET attempts = attempts WHERE 0")
        rows = conn.exec_driver_sql(driver_sql(dialect, _DUE_ROWS + locking), (*due, limit)).all()
        if not rows:
            return []
        # The rows are locked (FOR UPDATE, or SQLite's write lock): one update claims them all.
        ids = [r.message_id for r in rows]
        marks = ", ".join("?" for _ in ids)
        conn.exec_driver_sql(driver_sql(dialect, _LEASE.format(marks)), (bind(now + LEASE), *ids))
    return [
        Claimed(
            r.message_id,
            r.direction,
            r.alias,
            r.envelope_from,
            open_body(keyring, r.message_id, r.kek_version, r.wrapped_key, r.body_ct),
            r.attempts + 1,
        )
        for r in rows
    ]


def sent_update(message_id: str, now: datetime | None = None) -> Write:
    """The write that marks a message sent (and drops its sealed body)."""
    return (rows.sent(message_id, now or _now()),)


def mark_sent(engine: Engine, message_id: str, now: datetime | None = None) -> None:
    commit(engine, [sent_update(message_id, now)])


def mark_failed(
    engine: Engine, message: Claimed, reason: str, permanent: bool, now: datetime | None = None
) -> None:
    """Back to the queue with a later due time, or failed for good (reason has no PII)."""
    now = now or _now()
    final = permanent or message.attempts >= MAX_ATTEMPTS
    delay = BACKOFF[min(message.attempts - 1, len(BACKOFF) - 1)]
    with transaction(engine) as session:
        session.execute(
            update(OutboundMessage)
            .where(
                OutboundMessage.message_id == message.message_id,
                OutboundMessage.status == "sending",
            )
            .values(
                status="failed" if final else "queued",
                next_attempt_at=now + timedelta(seconds=delay),
                lease_until=None,
                last_error=reason[:200],
                **({"body_ct": b""} if final else {}),
            )
        )


class SmtpSender:
    """Delivers to one smarthost, keeping the connection open between messages."""

    def __init__(self, host: str, port: int, timeout: float = 30.0) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self._smtp: smtplib.SMTP | None = None

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is None:
            self._smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        return self._smtp

    def send(self, envelope_from: str, recipient: str, body: bytes) -> None:
        try:
            refused = self._connection().sendmail(envelope_from, [recipient], body)
        except smtplib.SMTPRecipientsRefused as exc:
            code = next(iter(exc.recipients.values()))[0]
            self.close()
            if 500 <= code < 600:
                raise PermanentFailure(f"recipient refused ({code})") from None
            raise OSError(f"recipient deferred ({code})") from None
        except smtplib.SMTPResponseException as exc:
            self.close()
            if 500 <= exc.smtp_code < 600:
                raise PermanentFailure(f"smarthost refused ({exc.smtp_code})") from None
            raise OSError(f"smarthost deferred ({exc.smtp_code})") from None
        except (TimeoutError, smtplib.SMTPException, OSError) as exc:
            self.close()
            raise OSError(f"smarthost unavailable ({type(exc).__name__})") from None
        if refused:
            raise PermanentFailure("recipient refused")

    def close(self) -> None:
        if self._smtp is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self._smtp.quit()
            self._smtp = None


def deliver_one(
    engine: Engine,
    message: Claimed,
    sender: SmtpSender,
    resolve: Resolve,
    commit: Callable[[Write], None] | None = None,
    now: datetime | None = None,
) -> bool:
    """Resolve, send, mark; True if sent. `commit` may share the mark's transaction."""
    try:
        recipient = resolve(message)
        sender.send(message.envelope_from, recipient, message.body)
    except PermanentFailure as exc:
        mark_failed(engine, message, str(exc), permanent=True, now=now)
        return False
    except (OSError, RelayError) as exc:
        mark_failed(engine, message, str(exc), permanent=False, now=now)
        return False
    if commit is None:
        mark_sent(engine, message.message_id, now)
    else:
        commit(sent_update(message.message_id, now))
    return True


def deliver_due(
    engine: Engine,
    keyring: Keyring,
    sender: SmtpSender,
    resolve: Resolve,
    limit: int = 50,
    now: datetime | None = None,
) -> tuple[int, int]:
    """One pass of a single delivery worker: (sent, failed or deferred)."""
    sent = failed = 0
    for message in claim(engine, keyring, limit, now):
        if deliver_one(engine, message, sender, resolve, now=now):
            sent += 1
        else:
            failed += 1
    return sent, failed


def pending(engine: Engine) -> dict[str, int]:
    """Counts per status (for `relay status` and tests)."""
    with Session(engine) as session:
        rows = session.execute(select(OutboundMessage.status, OutboundMessage.message_id)).all()
    out: dict[str, int] = {}
    for status, _ in rows:
        out[status] = out.get(status, 0) + 1
    return out
