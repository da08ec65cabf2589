"""Relay: the DLP scan in process, and messages through scan and forward on loopback SMTP.

DLP corpus: 2,000 seller messages, 70% clean and 30% carrying an address, a phone, a URL or a
solicitation phrase, as plain text, multipart/alternative (text + HTML), base64 and
quoted-printable, some with a CSV attachment. Figure: messages scanned per second; peer: only
parsing the same bytes with the standard library (the floor any MIME-aware scan pays).
Target >= 2,000 msg/s.

Relay: `custodes relay serve`'s server (aiosmtpd) on loopback, a smarthost (aiosmtpd) that
counts what it receives, the durable queue and its delivery worker; clients send N messages
over a few SMTP connections. Figure: messages per second from the first send until the
smarthost has all of them (scanned, queued in the database, alias resolved through the door,
forwarded). Target >= 300 msg/s.
"""

from __future__ import annotations

import random
import time
from email import message_from_bytes
from email.message import EmailMessage

from bench.report import Row
from custodes.relay.dlp import Policy, scan

PLANTS = (
    "write to jane.doe@gmail.com",
    "call me on +44 20 7946 0958",
    "see www.cheap-deals.com for more",
    "message me on WhatsApp",
    "jane at gmail dot com",
    "(415) 555-2671",
)
FILLER = (
    "thanks for your order the parcel ships tomorrow tracking is in your orders page please "
    "leave a review if you are happy with the item we hope it arrives in time for the weekend"
)
WORDS = FILLER.split(" ")


def message(rng: random.Random, n: int) -> bytes:
    text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(30, 120)))
    if rng.random() < 0.3:
        words = text.split()
        words.insert(rng.randrange(len(words)), rng.choice(PLANTS))
        text = " ".join(words)
    msg = EmailMessage()
    msg["From"] = f"shop{n % 50}@seller.example"
    msg["To"] = f"a{n:06d}@relay.example"
    msg["Subject"] = f"Your order {n}"
    shape = rng.random()
    if shape < 0.4:
        msg.set_content(text)
    elif shape < 0.6:
        msg.set_content(text, cte="quoted-printable")
    elif shape < 0.9:
        msg.set_content(text)
        msg.add_alternative(f"<html><body><p>{text}</p></body></html>", subtype="html")
    else:
        msg.set_content(text, cte="base64")
        msg.add_attachment(b"item,qty\nwidget,1\n", "text", "csv", filename="order.csv")
    return msg.as_bytes()


def dlp_rows(quick: bool) -> list[Row]:
    rng = random.Random(3)
    corpus = [message(rng, n) for n in range(500 if quick else 2000)]
    policy = Policy(allowed_domains=("relay.example",))
    assert sum(1 for m in corpus if scan(m, policy).findings) > len(corpus) // 5
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for raw in corpus:
            scan(raw, policy)
        best = min(best, time.perf_counter() - start)
    start = time.perf_counter()
    for raw in corpus:
        for part in message_from_bytes(raw).walk():
            part.get_payload(decode=True)
    floor = time.perf_counter() - start
    rate = len(corpus) / best
    return [
        Row(
            f"DLP scan, {len(corpus)} mixed messages (30% with findings), in process",
            rate,
            "msg/s",
            f"stdlib parse only {len(corpus) / floor:,.0f} msg/s",
            rate / (len(corpus) / floor),
            ">= 2,000 msg/s",
        )
    ]


def run(quick: bool = False) -> list[Row]:
    return dlp_rows(quick)
