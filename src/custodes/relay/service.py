"""The relay's decisions, independent of SMTP plumbing: who may write to which alias, what a
message may carry, and what leaves (headers rebuilt from an allow-list, aliases only).

Directions: a seller writing from their registered contact address to the alias of one of
their own pairs reaches the customer (`to_customer`); the customer replying from their own
address reaches the seller (`to_seller`). Anything else is refused with the SMTP reply a
mail server would give, and recorded. Delivery bounces come back to `bounce+<id>@domain` and
stop at the relay: a DSN quotes the real recipient, so it is never passed on.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from email.message import Message
from email.utils import parseaddr
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from custodes.access.core import Outcome
from custodes.access.door import Door
from custodes.access.model import new_id
from custodes.errors import InputError
from custodes.relay import dlp, rows
from custodes.relay.errors import DeliveryDeferred, PermanentFailure, RelayError, RelayRefused
from custodes.relay.models import SellerContact
from custodes.relay.outbound import rewrite_headers, wire_bytes
from custodes.relay.queue import Claimed
from custodes.relay.sealing import seal_body
from custodes.relay.types import Accepted, Pair, RelayConfig, Route
from custodes.relay.writer import GroupWriter, Rows, Write, commit
from custodes.store.engine import READ_ONLY, driver_sql
from custodes.vault.errors import VaultError
from custodes.vault.keyring import Keyring
from custodes.vault.models import BlindIndexEntry
from custodes.vault.normalise import normalise_email
from custodes.vault.pseudonym import blind_index

log = logging.getLogger(__name__)


_RECIPIENT_SQL = (
    "SELECT a.alias, a.seller_id, a.customer_id, c.address FROM relay_aliases a "
    "LEFT OUTER JOIN relay_seller_contacts c ON c.seller_id = a.seller_id WHERE a.alias IN ({})"
)
_PAIR_SQL = (
    "SELECT a.alias, a.seller_id, a.customer_id, s.status, s.name FROM relay_aliases a "
    "JOIN sellers s ON s.seller_id = a.seller_id WHERE a.alias = ?"
)


def _now() -> datetime:
    return datetime.now(UTC)


class Relay:
    def __init__(
        self, engine: Engine, keyring: Keyring, door: Door, config: RelayConfig | None = None
    ) -> None:
        self.engine = engine
        self.keyring = keyring
        self.door = door
        self.config = config or RelayConfig()
        self.writer: GroupWriter | None = None  # set by the server: shared commits
        self._readers = threading.local()

    # -- routing ----------------------------------------------------------------------------------
    def address(self, alias: str) -> str:
        return f"{alias}@{self.config.domain}"

    def route(self, mail_from: str, rcpt: str, seller: str | None = None) -> Route:
        """Who is writing to whom, or a refusal (recorded). `seller` is the session's
        authenticated seller (SMTP AUTH); without one, nobody writes as a seller."""
        local, _, domain = parseaddr(rcpt)[1].lower().rpartition("@")
        if domain != self.config.domain or not local:
            raise self._refuse(550, "5.7.1 Relaying denied", "foreign_domain")
        if local.startswith("bounce+"):
            return Route("bounce", local, None, None, local[len("bounce+") :])
        found = self._pair(local)
        if found is None:
            raise self._refuse(550, "5.1.1 No such alias", "unknown_alias")
        alias, seller_id, customer_id, status, name = found
        pair = Pair(alias, seller_id, customer_id)
        if seller is not None:
            return self._seller_route(pair, status, name, seller)
        with Session(self.engine) as session:
            return self._customer_route(session, pair, status, name, mail_from)

    def _pair(self, local: str) -> Any:
        """The alias's pair and seller: one read on the hot path (every RCPT), no ORM, no
        transaction. On SQLite through this thread's own driver connection, kept open: the
        pool checkout and result machinery cost more than the query."""
        if self.engine.dialect.name != "sqlite":
            with self.engine.connect().execution_options(**READ_ONLY) as conn:
                return conn.exec_driver_sql(driver_sql(conn.dialect, _PAIR_SQL), (local,)).first()
        raw = getattr(self._readers, "conn", None)
        if raw is None:
            raw = self._readers.conn = self.engine.raw_connection()
        try:
            cursor = raw.cursor()
            try:
                cursor.execute(_PAIR_SQL, (local,))
                return cursor.fetchone()
            finally:
                cursor.close()
        except Exception:
            self.release_reader()
            raise

    def release_reader(self) -> None:
        """Give back this thread's reading connection (see `_pair`)."""
        raw = getattr(self._readers, "conn", None)
        self._readers.conn = None
        if raw is not None:
            raw.close()

    def _seller_route(self, pair: Pair, status: str, name: str, seller: str) -> Route:
        if seller != pair.seller_id:
            raise self._refuse(550, "5.7.1 Not your conversation", "other_sellers_alias", pair)
        if status != "active":
            raise self._refuse(550, "5.7.1 Sender blocked", "seller_blocked", pair)
        return Route("to_customer", pair.alias, pair.seller_id, pair.customer_id, seller_name=name)

    def _customer_route(
        self, session: Session, pair: Pair, status: str, name: str, mail_from: str
    ) -> Route:
        """An unauthenticated session: only the pair's own customer, replying."""
        sender = self._normalised(mail_from)
        if sender is not None and session.scalar(
            select(SellerContact.seller_id).where(SellerContact.address == sender)
        ):
            # A seller's address without the seller's login: a claim, not a seller.
            raise self._refuse(530, "5.7.0 Authentication required", "unauthenticated_seller", pair)
        if sender and self._is_customer(session, pair, sender):
            if status == "banned":
                raise self._refuse(550, "5.7.1 Recipient unavailable", "seller_banned", pair)
            return Route(
                "to_seller", pair.alias, pair.seller_id, pair.customer_id, seller_name=name
            )
        raise self._refuse(550, "5.7.1 Sender not permitted", "unknown_sender", pair)

    @staticmethod
    def _normalised(address: str) -> str | None:
        try:
            return normalise_email(parseaddr(address)[1])
        except InputError:
            return None

    def _is_customer(self, session: Session, pair: Pair, sender: str) -> bool:
        digest = blind_index(self.keyring.blind_index_key, "email", sender)
        found = session.scalar(
            select(BlindIndexEntry.customer_id).where(
                BlindIndexEntry.customer_id == pair.customer_id,
                BlindIndexEntry.kind == "email",
                BlindIndexEntry.digest == digest,
            )
        )
        return found is not None

    def _refuse(self, code: int, text: str, reason: str, pair: Pair | None = None) -> RelayRefused:
        self._record(new_id("msg"), "inbound", pair, "refused", reason, code, [])
        return RelayRefused(code, text, reason)

    # -- receiving ---------------------------------------------------------------------------
    def receive(self, route: Route, data: bytes) -> Accepted:
        """Scan, then queue (committed before the 250), hold, or refuse. Raises RelayRefused."""
        if route.direction == "bounce" and len(data) <= self.config.max_size:
            return self._bounce(route)
        answer, work = self.judge(route, data)
        self.write(work)
        if isinstance(answer, RelayRefused):
            raise answer
        return answer

    def judge(self, route: Route, data: bytes) -> tuple[Accepted | RelayRefused, Write]:
        """`receive` for a message to a pair, without its commit: the answer, and the write
        that must be committed before the answer is given (queue row and record, or the
        record of a hold or refusal). Touches no database, so it can run on the event loop."""
        message_id = new_id("msg")
        if len(data) > self.config.max_size:
            refused = RelayRefused(552, "5.3.4 Message too big", "too_big")
            return refused, self._record_work(
                message_id, "inbound", None, "refused", "too_big", 552, []
            )
        policy = (
            self.config.seller_dlp if route.direction == "to_customer" else self.config.customer_dlp
        )
        result = dlp.scan(data, policy)
        findings = [f.to_json() for f in result.findings]
        direction = route.direction
        if result.malformed or result.verdict == "block":
            reason = "malformed" if result.malformed else "content_blocked"
            refused = RelayRefused(550, "5.7.1 Message refused by content policy", reason)
            work = self._record_work(message_id, direction, route, "blocked", reason, 550, findings)
            return refused, work
        if result.verdict == "hold":
            held = Accepted(message_id, "held", "250 2.0.0 Accepted for review")
            why = "content_review"
            return held, self._record_work(
                message_id, direction, route, "held", why, 250, findings, held=data
            )
        return self._queue(route, data, result, message_id, findings)

    def _queue(
        self,
        route: Route,
        data: bytes,
        result: dlp.Scan,
        message_id: str,
        findings: list[dict[str, str]],
    ) -> tuple[Accepted, Write]:
        """Seal the outgoing message; the write queues it with its record."""
        unchanged = result.verdict == "allow" and result.message is not None
        message = result.message if result.message is not None else dlp.parse(data)
        body = self._outbound(message, route, message_id, data if unchanged else None)
        sealed = seal_body(self.keyring, message_id, body)
        verdict = "redacted" if result.verdict == "redact" else "forwarded"
        now = _now()
        sender = f"bounce+{message_id}@{self.config.domain}"
        work = (
            rows.queued(message_id, now, route.direction, route.alias, sender, sealed),
            self._record_rows(message_id, route.direction, route, (verdict, "ok", 250), findings),
        )
        return Accepted(message_id, verdict, f"250 2.0.0 Queued as {message_id}"), work

    def write(self, work: Write) -> None:
        """Commit `work`: through the group writer when the server runs one."""
        if self.writer is not None:
            self.writer.write(work)
            return
        commit(self.engine, [work])

    def _outbound(
        self, message: Message, route: Route, message_id: str, raw: bytes | None
    ) -> bytes:
        """The message as it leaves (see `relay.outbound`); `raw` when the scan changed
        nothing, so the body is sent as received."""
        if route.direction == "to_customer":
            name = f"{route.seller_name or 'Seller'} via {self.config.marketplace}"
        else:
            name = f"Buyer via {self.config.marketplace}"
        sender = (name, self.address(route.alias))
        rewrite_headers(message, self.config.domain, sender, message_id)
        return wire_bytes(message, raw)

    def _bounce(self, route: Route) -> Accepted:
        """A delivery report for a message we sent: recorded, never forwarded."""
        message_id = new_id("msg")
        outcome = ("bounce", "delivery_report", 250)
        work = [rows.bounced(route.outbound_id)] if route.outbound_id else []
        work.append(self._record_rows(message_id, "bounce", None, outcome, []))
        commit(self.engine, [tuple(work)])
        return Accepted(message_id, "bounce", "250 2.0.0 Delivery report noted")

    def _record(
        self,
        message_id: str,
        direction: str,
        pair: Pair | Route | None,
        verdict: str,
        reason: str,
        code: int,
        findings: list[dict[str, str]],
    ) -> None:
        """Record what the relay did with a message, committed now."""
        self.write(self._record_work(message_id, direction, pair, verdict, reason, code, findings))
        log.info("relay %s %s %s (%s)", message_id, direction, verdict, reason)

    def _record_work(
        self,
        message_id: str,
        direction: str,
        pair: Pair | Route | None,
        verdict: str,
        reason: str,
        code: int,
        findings: list[dict[str, str]],
        held: bytes | None = None,
    ) -> Write:
        sealed = seal_body(self.keyring, message_id, held) if held is not None else None
        outcome = (verdict, reason, code)
        return (self._record_rows(message_id, direction, pair, outcome, findings, sealed),)

    def _record_rows(
        self,
        message_id: str,
        direction: str,
        pair: Pair | Route | None,
        outcome: tuple[str, str, int],
        findings: list[dict[str, str]],
        held: rows.Sealed | None = None,
    ) -> Rows:
        seller, alias = (pair.seller_id, pair.alias) if pair else (None, None)
        return rows.record(message_id, _now(), direction, seller, alias, outcome, findings, held)

    # -- delivery ----------------------------------------------------------------------------
    def recipient(self, message: Claimed) -> str:
        """The real recipient of one queued message (see `recipients`)."""
        found = self.recipients([message])[message.message_id]
        if isinstance(found, RelayError):
            raise found
        return found

    def recipients(
        self, batch: Sequence[Claimed], run: Callable[..., Iterable[Any]] = map
    ) -> dict[str, str | RelayError]:
        """Each message's real recipient, looked up now: a customer's address only through the
        door (each its own `message.relay` decision and entry; the batch's entries appended
        together, so they share the sequencer's commits), a seller's from their contact."""
        with self.engine.connect().execution_options(**READ_ONLY) as conn:
            aliases = sorted({m.alias for m in batch})
            pairs = {}
            for start in range(0, len(aliases), 500):
                chunk = tuple(aliases[start : start + 500])
                sql = _RECIPIENT_SQL.format(", ".join("?" for _ in chunk))
                for row in conn.exec_driver_sql(driver_sql(conn.dialect, sql), chunk):
                    pairs[row.alias] = row
        found: dict[str, str | RelayError] = {}
        door_ids: list[str] = []
        door_pairs: list[tuple[str, str]] = []
        for message in batch:
            pair = pairs.get(message.alias)
            if pair is None:
                found[message.message_id] = PermanentFailure("alias gone")
            elif message.direction == "to_seller":
                found[message.message_id] = pair.address or PermanentFailure(
                    "seller has no contact address"
                )
            else:
                door_ids.append(message.message_id)
                door_pairs.append((pair.seller_id, pair.customer_id))
        if door_pairs:
            outcomes = self.door.relay_addresses(self.config.service, door_pairs, run)
            found.update(zip(door_ids, map(_delivery_address, outcomes), strict=True))
        return found


def _delivery_address(outcome: Outcome | Exception) -> str | RelayError:
    """The door's answer for one message as the delivery worker acts on it."""
    if isinstance(outcome, VaultError):
        return PermanentFailure("customer erased")
    if isinstance(outcome, Exception):  # the ledger is away: recorded nothing, revealed nothing
        return DeliveryDeferred(f"door unavailable ({type(outcome).__name__})")
    if not outcome.decision.allowed or not outcome.data:
        return PermanentFailure(f"door: {outcome.decision.reason}")
    return str(outcome.data)
