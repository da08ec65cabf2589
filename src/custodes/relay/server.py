"""`custodes relay serve`: the relay on SMTP (aiosmtpd) and its delivery worker (smtplib).

The listener answers each RCPT with the relay's routing decision (one recipient per message:
a second gets 452, and the client sends it again) and each DATA only after the message is
scanned and committed to the queue or refused. A worker thread drains the queue to the
smarthost. Database work runs in threads so the event loop keeps serving other sessions.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from custodes.relay.queue import Claimed, SmtpSender, claim, deliver_one
from custodes.relay.service import Relay, RelayRefused, Route
from custodes.relay.writer import GroupWriter

log = logging.getLogger(__name__)


class RelayHandler:
    def __init__(self, relay: Relay, wake: threading.Event | None = None) -> None:
        self.relay = relay
        self.wake = wake

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if envelope.rcpt_tos:
            return "452 4.5.3 One recipient per message, please send again"
        try:
            route = await asyncio.to_thread(self.relay.route, envelope.mail_from or "", address)
        except RelayRefused as refusal:
            return refusal.reply
        except Exception:
            log.exception("relay: routing failed")
            return "451 4.3.0 Temporary failure, try again later"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.append(options)
        session.relay_route = route  # type: ignore[attr-defined]
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        route: Route | None = getattr(session, "relay_route", None)
        session.relay_route = None  # type: ignore[attr-defined]
        if route is None:
            return "503 5.5.1 No valid recipient"
        data = envelope.original_content or envelope.content
        if not isinstance(data, bytes):
            data = str(data).encode("utf-8", errors="surrogateescape")
        try:
            accepted = await asyncio.to_thread(self.relay.receive, route, data)
        except RelayRefused as refusal:
            return refusal.reply
        except Exception:
            log.exception("relay: receiving failed")
            return "451 4.3.0 Temporary failure, try again later"
        if self.wake is not None:
            self.wake.set()
        return accepted.reply


class DeliveryWorker(threading.Thread):
    """Drains the queue to the smarthost until stopped; wakes on new mail or every second.

    Each pass claims a batch and delivers it on `parallel` connections at once: the door's
    ledger appends and the sent marks of concurrent deliveries share their commits."""

    def __init__(
        self, relay: Relay, host: str, port: int, wake: threading.Event, parallel: int = 8
    ) -> None:
        super().__init__(name="relay-delivery", daemon=True)
        self.relay = relay
        self.host, self.port = host, port
        self.wake = wake
        self.stopping = threading.Event()
        self.pool = ThreadPoolExecutor(parallel, thread_name_prefix="relay-send")
        self.parallel = parallel
        self._local = threading.local()
        self._senders: list[SmtpSender] = []

    def _sender(self) -> SmtpSender:
        sender = getattr(self._local, "sender", None)
        if sender is None:
            sender = self._local.sender = SmtpSender(self.host, self.port)
            self._senders.append(sender)
        return sender

    def _deliver(self, message: Claimed) -> bool:
        relay = self.relay
        return deliver_one(relay.engine, message, self._sender(), relay.recipient, relay._write)

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                batch = claim(self.relay.engine, self.relay.keyring, limit=8 * self.parallel)
                sent = sum(self.pool.map(self._deliver, batch))
            except Exception:
                log.exception("relay: delivery pass failed")
                sent = 0
            if not sent:
                self.wake.wait(1.0)
                self.wake.clear()
        self.pool.shutdown(wait=True)
        for sender in self._senders:
            sender.close()

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()
        self.join(timeout=30)


@dataclass
class RunningRelay:
    controller: Controller
    worker: DeliveryWorker | None
    writer: GroupWriter
    relay: Relay

    @property
    def port(self) -> int:
        return int(self.controller.port)

    def stop(self) -> None:
        self.controller.stop()
        if self.worker is not None:
            self.worker.stop()
        self.writer.close()
        self.relay.writer = None


def start(
    relay: Relay,
    host: str = "127.0.0.1",
    port: int = 2525,
    smarthost: tuple[str, int] | None = None,
    **smtp: Any,
) -> RunningRelay:
    """Listen on (host, port) and, given a smarthost, deliver to it; returns a handle."""
    wake = threading.Event()
    writer = GroupWriter(relay.engine)
    relay.writer = writer
    handler = RelayHandler(relay, wake)
    # Sessions wait on the database in threads; enough of them that commits are shared.
    loop = asyncio.new_event_loop()
    loop.set_default_executor(ThreadPoolExecutor(32, thread_name_prefix="relay-smtp"))
    controller = Controller(
        handler,
        loop=loop,
        hostname=host,
        port=port,
        data_size_limit=relay.config.max_size,
        ident="custodes relay",
        **smtp,
    )
    controller.start()
    worker = None
    if smarthost is not None:
        worker = DeliveryWorker(relay, smarthost[0], smarthost[1], wake)
        worker.start()
    return RunningRelay(controller, worker, writer, relay)
