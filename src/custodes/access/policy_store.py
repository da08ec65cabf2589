"""Applied policy versions: every change is validated, made by a policy administrator, ledgered,
then stored; and the policy in force is only ever one whose change is in the signed ledger.

The ledger entry carries the policy's SHA-256, so anyone holding the log can tell which policy
was in force when; the text itself stays in the database (it holds no PII). A row inserted by
hand, or a text edited in place, does not become the policy: loading fails closed.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from custodes.access.facts import employee_active
from custodes.access.model import ACTIONS, DUAL_CONTROL, Justification, Resource
from custodes.access.models import PolicyProposal, PolicyVersion
from custodes.access.policy import Policy, validate_policy
from custodes.errors import ConfigError, InputError
from custodes.ledger.checkpoint import open_checkpoint
from custodes.ledger.entry import LedgerEntry
from custodes.ledger.errors import LedgerError
from custodes.ledger.models import LedgerAccessIndex
from custodes.ledger.note import Verifier
from custodes.ledger.proof import verify_inclusion
from custodes.ledger.rfc6962 import leaf_hash
from custodes.ledger.storage import LedgerReader
from custodes.marketplace.models import Employee
from custodes.vocabulary import Verdict

if TYPE_CHECKING:
    from custodes.access.door import Door, Outcome

POLICY_ADMINS = frozenset({"privacy_officer"})
APPROVALS = sorted(DUAL_CONTROL | {"customer.view", "break_glass"})
POLICY_ACTIONS = [*ACTIONS, *(f"approve.{a}" for a in APPROVALS)]
POLICY_CHANGE_WHY = Justification("legal", None, "policy change")


class PolicyIntegrityError(ConfigError):
    """The stored policy does not match a ledgered change: refuse to decide anything."""


class Appender(Protocol):
    def append(
        self, data: bytes, index: Any = (), timeout: float = 10.0, guards: Any = ()
    ) -> Any: ...


def current_policy(engine: Engine, verifier: Verifier | None = None) -> Policy:
    """The latest applied policy, checked against its `policy.apply` entry (and, with the log's
    verifier, that entry's inclusion in the signed checkpoint); the shipped default when no
    change was ever applied. Anything else fails closed."""
    with Session(engine) as session:
        row = session.scalar(select(PolicyVersion).order_by(PolicyVersion.version.desc()).limit(1))
        applied = session.scalar(
            select(func.max(LedgerAccessIndex.idx)).where(
                LedgerAccessIndex.action == "policy.apply",
                LedgerAccessIndex.decision.in_((Verdict.RECORDED, Verdict.ALLOW)),
                LedgerAccessIndex.subject_kind == "policy",
            )
        )
    if row is None and applied is None:
        return Policy.default()
    if row is None or applied is None or int(applied) != row.ledger_index:
        raise PolicyIntegrityError(
            "the stored policy is not the latest ledgered policy change; refusing to decide "
            "(restore access_policy_versions from a backup, or apply the policy again)"
        )
    policy = Policy(row.text)
    reader = LedgerReader(engine)
    try:
        data = reader.entry(row.ledger_index)
        entry = json.loads(data)
        if not _entry_applies(entry, policy.sha256, row.version):
            raise PolicyIntegrityError("the stored policy text differs from its ledgered hash")
        if verifier is not None:
            _check_included(reader, row.ledger_index, data, verifier)
    except (LedgerError, ValueError) as exc:
        raise PolicyIntegrityError(
            f"the policy's ledger entry does not check out ({exc})"
        ) from None
    return policy


def _entry_applies(entry: dict[str, Any], sha256: str, version: int) -> bool:
    """A direct change names hash and version; a dual-controlled execution names the policy
    it carries out as its resource, and is an allow under an approved request."""
    if entry.get("action") != "policy.apply":
        return False
    extra = entry.get("extra", {})
    if entry.get("decision") == Verdict.RECORDED:
        return bool(extra.get("sha256") == sha256 and extra.get("version") == version)
    return bool(
        entry.get("decision") == Verdict.ALLOW
        and entry.get("resources") == [f"policy:{sha256}"]
        and extra.get("request")
    )


def propose_policy(door: Door, text: str, proposed_by: str) -> Outcome:
    """Validate and keep the text, then ask for the dual-controlled `policy.apply`: it takes
    effect only when a second privacy officer approves and the proposer executes. The caller
    has proven `proposed_by`; anyone but an active policy administrator is a recorded deny
    (reason `not_policy_admin`) and nothing is kept."""
    validate_policy(text, POLICY_ACTIONS)
    policy = Policy(text)
    resource = Resource("policy", (policy.sha256,))
    now = datetime.now(UTC)
    with Session(door.engine) as session:
        admin = session.get(Employee, proposed_by)
        may = admin is not None and employee_active(admin, now) and admin.role in POLICY_ADMINS
    if not may:
        return door.record_refusal(
            proposed_by, "policy.apply", resource, POLICY_CHANGE_WHY, reason="not_policy_admin"
        )
    with Session(door.engine) as session, session.begin():
        if session.get(PolicyProposal, policy.sha256) is None:
            session.add(
                PolicyProposal(
                    sha256=policy.sha256, text=text, proposed_by=proposed_by, proposed_at=now
                )
            )
    return door.request(proposed_by, "policy.apply", resource, POLICY_CHANGE_WHY)


def _check_included(reader: LedgerReader, index: int, data: bytes, verifier: Verifier) -> None:
    latest = reader.latest_checkpoint(cosigned=False)
    if latest is None or latest[0] <= index:
        raise PolicyIntegrityError("no signed checkpoint covers the policy's ledger entry")
    checkpoint = open_checkpoint(latest[1], verifier, verifier.name)
    proof = reader.inclusion_proof(index, checkpoint.size)
    verify_inclusion(index, checkpoint.size, leaf_hash(data), proof, checkpoint.root_hash)


def apply_policy(engine: Engine, ledger: Appender, text: str, applied_by: str) -> PolicyVersion:
    """Validate (Cedar parse + schema), check the administrator, record, then store."""
    validate_policy(text, POLICY_ACTIONS)  # raises ConfigError naming the problem
    policy = Policy(text)
    now = datetime.now(UTC)
    with Session(engine) as session:
        admin = session.get(Employee, applied_by)
        if admin is None or not employee_active(admin, now) or admin.role not in POLICY_ADMINS:
            raise InputError(
                f"{applied_by} may not change the policy: only an active "
                f"{' or '.join(sorted(POLICY_ADMINS))} may"
            )
        version = (session.scalar(select(func.max(PolicyVersion.version))) or 0) + 1
    receipt = ledger.append(
        LedgerEntry(
            time=now,
            actor=applied_by,
            action="policy.apply",
            decision=Verdict.RECORDED,
            kind="policy.change",
            extra={"sha256": policy.sha256, "version": version},
        ).encode(),
        [
            {
                "actor": applied_by,
                "subject_kind": "policy",
                "subject_id": f"v{version}",
                "action": "policy.apply",
                "decision": Verdict.RECORDED,
                "time": now,
            }
        ],
    )
    index = receipt if isinstance(receipt, int) else receipt.index
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
