"""`custodes relay serve`: the relay on SMTP (aiosmtpd) and its delivery worker (smtplib).

The listener answers each RCPT with the relay's routing decision (one recipient per message:
a second gets 452, and the client sends it again) and each DATA only after the message is
scanned and committed to the queue or refused. Sellers log in (SMTP AUTH, see `relay.auth`);
the secret crosses the wire in the clear only on loopback, anywhere else only after STARTTLS.
Database work and password checks run in threads so the event loop keeps serving.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import ssl
import threading
from base64 import b64decode
from binascii import Error as Base64Error
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email._header_value_parser import get_addr_spec, get_angle_addr
from email.errors import HeaderParseError
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import MISSING, SMTP, AuthResult, Envelope, Session

from custodes.relay.auth import SellerAuthenticator
from custodes.relay.delivery import DeliveryWorker
from custodes.relay.errors import RelayInputError, RelayRefused
from custodes.relay.service import Relay
from custodes.relay.types import Accepted, Route
from custodes.relay.writer import GroupWriter

log = logging.getLogger(__name__)


class RelaySMTP(SMTP):
    """aiosmtpd's SMTP session, with its address parser minus the `typing.Protocol` class it
    builds on every call (each MAIL and RCPT): that cost as much CPU as routing the message.
    Same parsing, same answers."""

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        if not arg:
            return "", ""
        try:
            parse = get_angle_addr if arg.lstrip().startswith("<") else get_addr_spec
            address, rest = parse(arg)
        except HeaderParseError:
            return None, None
        addr = str(address.addr_spec)
        local_part = addr.rpartition("@")[0]
        if self.local_part_limit and len(local_part) > self.local_part_limit:
            return None, None
        return addr, rest


class RelayController(Controller):
    """A controller whose sessions are `RelaySMTP`."""

    def factory(self) -> SMTP:
        return RelaySMTP(self.handler, **self.SMTP_kwargs)


class RelayHandler:
    def __init__(
        self, relay: Relay, wake: threading.Event | None, authenticator: SellerAuthenticator
    ) -> None:
        self.relay = relay
        self.wake = wake
        self.authenticator = authenticator
        # On SQLite the database work is local and short: sessions run it on the event loop
        # and only wait for the group commit, instead of parking a thread per message.
        self.inline = relay.engine.dialect.name == "sqlite"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if envelope.rcpt_tos:
            return "452 4.5.3 One recipient per message, please send again"
        seller = session.auth_data if session.authenticated else None
        mail_from = envelope.mail_from or ""
        try:
            if self.inline:  # a local SQLite read: cheaper than a thread hop
                route = self.relay.route(mail_from, address, seller)
            else:
                route = await asyncio.to_thread(self.relay.route, mail_from, address, seller)
        except RelayRefused as refusal:
            return refusal.reply
        except Exception:
            log.exception("relay: routing failed")
            return "451 4.3.0 Temporary failure, try again later"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        setattr(session, "relay_route", route)  # noqa: B010  (aiosmtpd sessions take attributes)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        route: Route | None = getattr(session, "relay_route", None)
        setattr(session, "relay_route", None)  # noqa: B010
        if route is None:
            return "503 5.5.1 No valid recipient"
        data = envelope.original_content or envelope.content
        if not isinstance(data, bytes):
            data = str(data).encode("utf-8", errors="surrogateescape")
        try:
            answer = await self._receive(route, data)
        except RelayRefused as refusal:
            return refusal.reply
        except Exception:
            log.exception("relay: receiving failed")
            return "451 4.3.0 Temporary failure, try again later"
        if self.wake is not None:
            self.wake.set()
        return answer.reply

    async def _receive(self, route: Route, data: bytes) -> Accepted:
        """Scan on the loop and await the shared commit (SQLite), or all of it in a thread."""
        writer = self.relay.writer
        if not self.inline or writer is None or route.direction == "bounce":
            return await asyncio.to_thread(self.relay.receive, route, data)
        answer, work = self.relay.judge(route, data)
        await writer.write_async(work)
        if isinstance(answer, RelayRefused):
            raise answer
        return answer

    # SMTP AUTH (RFC 4954): PLAIN and LOGIN, checked off the event loop.
    async def auth_PLAIN(self, server: SMTP, args: list[str]) -> AuthResult:
        blob = await _answer(server, args, "")
        if blob is None:
            return AuthResult(success=False)
        parts = blob.split(b"\0")
        if len(parts) != 3:
            await server.push("501 5.5.2 Can't split auth value")
            return AuthResult(success=False)
        return await self._check(parts[1], parts[2])

    async def auth_LOGIN(self, server: SMTP, args: list[str]) -> AuthResult:
        login = await _answer(server, args, "Username:")
        if login is None:
            return AuthResult(success=False)
        secret = await _answer(server, [args[0]], "Password:")
        if secret is None:
            return AuthResult(success=False)
        return await self._check(login, secret)

    async def _check(self, login: bytes, secret: bytes) -> AuthResult:
        seller = await asyncio.to_thread(self.authenticator.verify, login, secret)
        if seller is None:
            log.warning("relay: a failed seller login")
            return AuthResult(success=False, handled=False)  # 535 5.7.8
        return AuthResult(success=True, auth_data=seller)


async def _answer(server: SMTP, args: list[str], challenge: str) -> bytes | None:
    """The client's base64 answer: given inline after the mechanism, or asked for."""
    if len(args) > 1:
        try:
            return b64decode(args[1].encode(), validate=True)
        except (Base64Error, ValueError):
            await server.push("501 5.5.2 Can't decode base64")
            return None
    answer = await server.challenge_auth(challenge)
    return None if answer is MISSING else bytes(answer)


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
        # The loop's reading connection goes back before the loop stops (callbacks in order).
        self.controller.loop.call_soon_threadsafe(self.relay.release_reader)
        self.controller.stop()
        if self.worker is not None:
            self.worker.stop()
        self.writer.close()
        self.relay.writer = None


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def start(
    relay: Relay,
    host: str = "127.0.0.1",
    port: int = 2525,
    smarthost: tuple[str, int] | None = None,
    tls: ssl.SSLContext | None = None,
    **smtp: Any,
) -> RunningRelay:
    """Listen on (host, port) and, given a smarthost, deliver to it; returns a handle.
    Off loopback a TLS context is required: seller secrets never cross a network in clear."""
    if tls is None and not _loopback(host):
        raise RelayInputError("the relay listens beyond loopback only with TLS (--tls-cert)")
    wake = threading.Event()
    writer = GroupWriter(relay.engine)
    relay.writer = writer
    handler = RelayHandler(relay, wake, SellerAuthenticator(relay.engine))
    # Sessions wait on the database in threads; enough of them that commits are shared.
    loop = asyncio.new_event_loop()
    loop.set_default_executor(ThreadPoolExecutor(32, thread_name_prefix="relay-smtp"))
    controller = RelayController(
        handler,
        loop=loop,
        hostname=host,
        port=port,
        data_size_limit=relay.config.max_size,
        ident="custodes relay",
        tls_context=tls,
        require_starttls=tls is not None,
        auth_require_tls=tls is not None,
        **smtp,
    )
    controller.start()
    worker = None
    if smarthost is not None:
        worker = DeliveryWorker(relay, smarthost[0], smarthost[1], wake)
        worker.start()
    return RunningRelay(controller, worker, writer, relay)
