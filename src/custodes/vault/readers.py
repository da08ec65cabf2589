"""Reads of the vault's blind index for analytics (detection): digests to ids, never plaintext."""

from __future__ import annotations

from sqlalchemy import Connection, select

from custodes.vault.models import BlindIndexEntry


def blind_index_customers(conn: Connection, kind: str) -> dict[bytes, list[str]]:
    """Blind-index digest -> the customers holding it, for one ``kind`` (e.g. ``"email"``)."""
    t = BlindIndexEntry
    found: dict[bytes, list[str]] = {}
    for digest, customer in conn.execute(select(t.digest, t.customer_id).where(t.kind == kind)):
        found.setdefault(bytes(digest), []).append(str(customer))
    return found
