"""The sequencer socket's frames: a 4-byte length and a JSON object, both ways.

A request carries the entry (`d`), its access-index rows (`i`), its guards (`g`) and, from a
pipelining client, a number (`n`) that its reply repeats: replies may then come back in any
order. Shared by the server (`remote`), the blocking client (`remote`) and the event-loop
client (`pipelined`) so the three cannot drift apart.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from custodes.ledger.appends import IndexRow, Receipt
from custodes.ledger.errors import FormatError, LedgerError, LedgerUnavailable
from custodes.ledger.guard import Guard, GuardRefused
from custodes.vocabulary import DECISIONS, ID, SUBJECT_KINDS

HEADER = struct.Struct(">I")
MAX_FRAME = 1 << 20

_ROW_KEYS = ("actor", "subject_kind", "subject_id", "action", "decision")
_SUBJECT_KINDS = frozenset(SUBJECT_KINDS)


def frame(body: dict[str, Any]) -> bytes:
    data = json.dumps(body, separators=(",", ":")).encode()
    return HEADER.pack(len(data)) + data


def frame_size(header: bytes | bytearray) -> int:
    """The body size a header announces, refused above `MAX_FRAME`."""
    (size,) = HEADER.unpack(header)
    if size > MAX_FRAME:
        raise LedgerError("ledger frame too large")
    return int(size)


def parse(data: bytes | bytearray) -> dict[str, Any]:
    body = json.loads(data)
    if not isinstance(body, dict):
        raise ValueError("a ledger frame is a JSON object")  # as malformed JSON is
    return body


def request(data: bytes, index: Sequence[IndexRow], guards: Sequence[Guard]) -> dict[str, Any]:
    body: dict[str, Any] = {"d": data.decode(), "i": encode_rows(index)}
    if guards:
        body["g"] = [g.to_wire() for g in guards]
    return body


def receipt(reply: dict[str, Any]) -> Receipt:
    """What the caller gets for a reply: the receipt, or the refusal or failure it reports."""
    if reply.get("refused") is True:
        raise GuardRefused("the entry's condition no longer holds")
    if "ok" not in reply:
        raise LedgerUnavailable(f"the ledger could not record ({reply.get('error')})")
    try:
        return Receipt(int(reply["ok"]), int(reply["size"]))
    except (KeyError, TypeError, ValueError):
        raise LedgerUnavailable("the sequencer sent a malformed reply") from None


def encode_rows(rows: Sequence[IndexRow]) -> list[list[Any]]:
    return [
        [r["actor"], r["subject_kind"], r["subject_id"], r["action"], r["decision"], _iso(r)]
        for r in rows
    ]


def _iso(row: IndexRow) -> str:
    moment = row["time"]
    if not isinstance(moment, datetime):
        raise FormatError("an index row's time is a datetime")
    return moment.isoformat()


def decode_rows(rows: Any) -> list[IndexRow]:
    """Access-index rows from a worker, each value checked (ids, known kinds and decisions)."""
    if not isinstance(rows, list):
        raise FormatError("index rows are a list")
    decoded: list[IndexRow] = []
    for row in rows:
        if not isinstance(row, list) or len(row) != 6 or not all(isinstance(v, str) for v in row):
            raise FormatError("an index row is six strings")
        if not all(ID.fullmatch(v) for v in row[:5]):
            raise FormatError("index row values are ids")
        if row[1] not in _SUBJECT_KINDS or row[4] not in DECISIONS:
            raise FormatError("unknown subject kind or decision in an index row")
        time = datetime.fromisoformat(row[5])
        if time.tzinfo is None:
            raise FormatError("index row times carry a time zone")
        decoded.append({**dict(zip(_ROW_KEYS, row[:5], strict=True)), "time": time})
    return decoded


def failure(exc: BaseException) -> dict[str, Any]:
    """The reply for an append that did not happen: a refusal, or the failure's type only
    (never its message, which could name what the entry was about)."""
    if isinstance(exc, GuardRefused):
        return {"refused": True}
    return {"error": type(exc).__name__}
