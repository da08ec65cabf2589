"""Keyed pseudonyms: stable ids for the ledger and alerts that reveal nothing without the vault."""

from __future__ import annotations

import base64
import hashlib
import hmac


def customer_pseudonym(key: bytes, salt: bytes, customer_id: str) -> str:
    """HMAC-SHA256(key, salt || id), salted per customer so ids cannot be brute-forced by list."""
    mac = hmac.new(key, salt + customer_id.encode(), hashlib.sha256).digest()
    return "cp_" + base64.b32encode(mac[:20]).decode().lower()


def employee_pseudonym(key: bytes, employee_id: str) -> str:
    """Employees are shown pseudonymised in alerts until an investigator opens a case."""
    mac = hmac.new(key, b"employee|" + employee_id.encode(), hashlib.sha256).digest()
    return "ep_" + base64.b32encode(mac[:20]).decode().lower()


def blind_index(key: bytes, kind: str, normalised: str) -> bytes:
    """HMAC-SHA256 over a normalised value, domain-separated by kind (email/phone)."""
    return hmac.new(key, kind.encode() + b"|" + normalised.encode(), hashlib.sha256).digest()
