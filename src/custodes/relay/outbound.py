"""What leaves the relay: headers rebuilt from an allow-list, the sender and recipient shown as
the pair's alias only, and the relay's own Message-ID.

Nothing else about either party survives (Received, Return-Path, Sender, DKIM, X-…). When the
scan changed nothing, the body goes out as the bytes that came in and only the header block is
written anew: serialising a whole parsed message again cost more than scanning it.
"""

from __future__ import annotations

import re
from email.message import Message
from email.policy import compat32
from email.utils import formataddr

WIRE = compat32.clone(linesep="\r\n")  # SMTP lines end in CRLF; smtplib sends bytes as given
KEEP_HEADERS = frozenset(
    {
        "subject",
        "date",
        "mime-version",
        "content-type",
        "content-transfer-encoding",
        "content-disposition",
        "content-language",
        "in-reply-to",
        "references",
    }
)
_BODY = re.compile(rb"\r?\n\r?\n")


def rewrite_headers(
    message: Message, domain: str, sender: tuple[str, str], message_id: str
) -> None:
    """Keep allow-listed headers (threading ones only where they name our domain), then set
    From, To and Reply-To to the alias (`sender` is its display name and address)."""
    for name in {k.lower() for k in message}:
        if name not in KEEP_HEADERS:
            del message[name]
    for name in ("in-reply-to", "references"):
        values = message.get_all(name) or []
        kept = [
            token
            for value in values
            for token in str(value).split()
            if token.rstrip(">").endswith("@" + domain)
        ]
        del message[name]
        if kept:
            message[name.title()] = " ".join(kept)
    message["From"] = formataddr(sender)
    message["To"] = sender[1]
    message["Reply-To"] = sender[1]
    message["Message-ID"] = f"<{message_id}@{domain}>"


def wire_bytes(message: Message, raw: bytes | None) -> bytes:
    """The message on the wire. With `raw` (the bytes the parsed message came from, unchanged
    below the headers), the header block is written and the body spliced on as received."""
    if raw is None or message.is_multipart() is not _multipart(raw):
        return message.as_bytes(policy=WIRE)
    found = _BODY.search(raw)
    body = raw[found.end() :] if found else b""
    lines = []
    try:
        for name, value in message.items():
            text = str(value).replace("\r\n", "\n").replace("\r", " ").replace("\n", "\r\n")
            lines.append(f"{name}: {text}\r\n".encode("ascii", "surrogateescape"))
    except UnicodeEncodeError:  # a header we set is not ASCII: let the generator encode it
        return message.as_bytes(policy=WIRE)
    return b"".join(lines) + b"\r\n" + body


def _multipart(raw: bytes) -> bool:
    """A cross-check that `raw` parses to the same shape (cheap: the parser said so)."""
    found = _BODY.search(raw)
    head = raw[: found.start()] if found else raw
    return b"multipart/" in head.lower()
