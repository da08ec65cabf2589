"""Applied policy versions: every change is validated, ledgered, then stored.

The ledger entry carries the policy's SHA-256, so anyone holding the log can tell which policy
was in force when; the text itself stays in the database (it holds no PII).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from custodes.access.models import PolicyVersion
from custodes.access.policy import Policy
from custodes.ledger.entry import LedgerEntry


class Appender(Protocol):
    def append(self, data: bytes, index: object = (), timeout: float = 10.0) -> int: ...


def current_policy(engine: Engine) -> Policy:
    """The latest applied policy, or the shipped default when none was ever applied."""
    with Session(engine) as session:
        text = session.scalar(
            select(PolicyVersion.text).order_by(PolicyVersion.version.desc()).limit(1)
        )
    return Policy(text) if text else Policy.default()


def apply_policy(engine: Engine, ledger: Appender, text: str, applied_by: str) -> PolicyVersion:
    """Validate (Cedar parse), record in the ledger, then store as the next version."""
    policy = Policy(text)  # raises ConfigError if it does not parse
    now = datetime.now(UTC)
    with Session(engine) as session:
        version = (session.scalar(select(func.max(PolicyVersion.version))) or 0) + 1
    index = ledger.append(
        LedgerEntry(
            time=now,
            actor=applied_by,
            action="policy.apply",
            decision="recorded",
            kind="policy.change",
            extra={"sha256": policy.sha256, "version": version},
        ).encode()
    )
    row = PolicyVersion(
        version=version,
        sha256=policy.sha256,
        text=text,
        applied_by=applied_by,
        applied_at=now,
        ledger_index=index,
    )
    with Session(engine, expire_on_commit=False) as session, session.begin():
        session.add(row)
    return row
