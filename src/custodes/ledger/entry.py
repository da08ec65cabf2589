"""Ledger entries: canonical JSON (RFC 8785 style) of one decision, and never any PII.

Canonical bytes make an entry's leaf hash reproducible by anyone. The PII guard is structural
(customers appear only as pseudonyms) plus a content check that refuses anything shaped like an
e-mail address or a phone number, so a careless caller cannot leak into a log that is forever.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from custodes.ledger.errors import FormatError
from custodes.pii import code_looks_like_pii, id_looks_like_pii
from custodes.vocabulary import DECISIONS

MAX_ENTRY_BYTES = 65535  # C2SP tlog-tiles entry bundles prefix each entry with a uint16 length
_CODE = re.compile(r"^[a-z0-9_.:/-]{1,64}$")
_TOKEN = re.compile(r"^[A-Za-z0-9_.:/-]{1,128}$")
_PSEUDONYM = re.compile(r"cp_[a-z2-7]{16,}")


class PIIRefused(FormatError):
    """Something that looks like PII was about to enter the ledger; it was refused."""


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no insignificant whitespace, UTF-8; floats refused (no canonical form here)."""
    _reject_floats(value)
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode()


def _reject_floats(value: Any) -> None:
    if isinstance(value, float):
        raise FormatError("floats are not allowed in ledger entries")
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise FormatError("ledger entry keys must be strings")
            _reject_floats(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _reject_floats(item)


def format_time(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise FormatError("ledger times must be timezone-aware")
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class LedgerEntry:
    """One decision as it is recorded. Resources are typed references: `customer:cp_…` etc."""

    time: datetime
    actor: str
    action: str
    decision: str
    resources: Sequence[str] = ()
    fields: Sequence[str] = ()
    justification: str | None = None
    case: str | None = None
    approval: str | None = None
    reason: str | None = None
    kind: str = "access.decision"
    extra: Mapping[str, str | int | bool | None] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "v": 1,
            "kind": self.kind,
            "time": format_time(self.time),
            "actor": self.actor,
            "action": self.action,
            "decision": self.decision,
            "resources": list(self.resources),
            "fields": list(self.fields),
            "justification": self.justification,
            "case": self.case,
            "approval": self.approval,
            "reason": self.reason,
            **({"extra": dict(sorted(self.extra.items()))} if self.extra else {}),
        }

    @classmethod
    def decode(cls, data: bytes) -> LedgerEntry:
        """Bytes from another process (the sequencer socket): accepted only if they are
        exactly the canonical encoding of an entry that passes every check."""
        try:
            raw = json.loads(data)
            if not isinstance(raw, dict) or raw.get("v") != 1:
                raise ValueError("not a v1 entry")
            time = datetime.fromisoformat(str(raw["time"]).replace("Z", "+00:00"))
            entry = cls(
                time=time,
                actor=raw["actor"],
                action=raw["action"],
                decision=raw["decision"],
                resources=tuple(raw["resources"]),
                fields=tuple(raw["fields"]),
                justification=raw["justification"],
                case=raw["case"],
                approval=raw["approval"],
                reason=raw["reason"],
                kind=raw["kind"],
                extra=dict(raw.get("extra", {})),
            )
        except (ValueError, KeyError, TypeError, RecursionError):
            raise FormatError("not a ledger entry") from None
        if entry.encode() != data:
            raise FormatError("a ledger entry must be in canonical form")
        return entry

    def encode(self) -> bytes:
        """Validated canonical bytes: what is hashed into the tree."""
        check_entry(self)
        data = canonical_json(self.to_json())
        if len(data) > MAX_ENTRY_BYTES:
            raise FormatError(f"ledger entry is {len(data)} bytes; the limit is {MAX_ENTRY_BYTES}")
        return data


def check_entry(entry: LedgerEntry) -> None:
    """Structural checks plus the PII guard; raises with the field name, never the value."""
    _token("actor", entry.actor)
    _code("action", entry.action)
    _code("kind", entry.kind)
    if entry.decision not in DECISIONS:
        raise FormatError(f"decision must be one of {', '.join(DECISIONS)}")
    for resource in entry.resources:
        _resource(resource)
    for name in entry.fields:
        _code("fields", name)
    for label, value in (
        ("justification", entry.justification),
        ("reason", entry.reason),
    ):
        if value is not None:
            _code(label, value)
    for label, value in (("case", entry.case), ("approval", entry.approval)):
        if value is not None:
            _token(label, value)
    for key, value in entry.extra.items():
        _code("extra key", key)
        if isinstance(value, str):
            _token(f"extra.{key}", value)
        elif isinstance(value, bool) or value is None:
            pass
        elif isinstance(value, int):
            _guard(f"extra.{key}", str(value))  # a number can be a phone number too
        else:
            raise FormatError(f"extra.{key} must be a string, an integer, a boolean or null")


def _code(label: str, value: str) -> None:
    if not isinstance(value, str) or not _CODE.fullmatch(value):
        raise FormatError(f"{label} must be a short lowercase code")
    _guard(label, value)


def check_token(label: str, value: str) -> None:
    """Whether `value` may stand in the ledger as an id (raises FormatError if not)."""
    _token(label, value)


def _token(label: str, value: str) -> None:
    if not isinstance(value, str) or not _TOKEN.fullmatch(value):
        raise FormatError(f"{label} must be an id or pseudonym (letters, digits, _.:/-)")
    _guard_id(label, value)


def _guard_id(label: str, value: str) -> None:
    if id_looks_like_pii(value):
        raise PIIRefused(f"{label} looks like an e-mail address or phone number; refused")


def _resource(value: str) -> None:
    if not isinstance(value, str):
        raise FormatError("resources must look like `kind:id`")
    kind, _, ident = value.partition(":")
    if not kind or not ident:
        raise FormatError("resources must look like `kind:id`")
    if (
        kind.lower().startswith("customer")
        and kind != "customerset"
        and not _PSEUDONYM.fullmatch(ident)
    ):
        raise PIIRefused("customers enter the ledger as pseudonyms (cp_…), never as raw ids")
    _token("resource", value)


def _guard(label: str, value: str) -> None:
    if code_looks_like_pii(value):
        raise PIIRefused(f"{label} looks like an e-mail address or phone number; refused")
