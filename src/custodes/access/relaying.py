"""The one door's part in the buyer–seller relay: the relay's service principal asks for a
customer's real address to deliver a seller's message (`message.relay`), and trust & safety
asks to read a message the relay held (`message.view`). Both are decided and recorded here.

The relay delivers in batches, so the door answers a batch of addresses in one call: one read
of the facts for every pair, one decision and one `message.relay` entry per message, all
appended together (one sequencer commit and signature for the lot, when the ledger takes
submissions), and each address decrypted only after its own entry is signed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from datetime import datetime
from typing import Any

from custodes.access.core import Core, Outcome
from custodes.access.errors import NotFound
from custodes.access.facts import Facts, load_facts
from custodes.access.judging import Ask, decide_and_record
from custodes.access.model import Decision, Justification, Resource
from custodes.access.recording import Record, encode
from custodes.access.requests import approver_context
from custodes.ledger.errors import LedgerError, LedgerUnavailable
from custodes.ledger.sequencer import Receipt
from custodes.store.hot_reads import HotReader
from custodes.vault import _hazmat
from custodes.vocabulary import Verdict

FIELDS = ("email",)
CHUNK = 500  # ids per IN (...) list
Pair = tuple[str, str]  # (seller_id, customer_id)
Run = Callable[..., Iterable[Any]]  # map, or a pool's map

_SELLERS = "SELECT seller_id, status FROM sellers WHERE seller_id IN ({})"
_ORDERS = "SELECT DISTINCT seller_id, customer_id FROM orders WHERE customer_id IN ({})"


def relay_address(core: Core, service: str, seller_id: str, customer_id: str) -> Outcome:
    """The customer's real address for delivery, recorded before it is decrypted. Allowed only
    to the relay service, for a pair with an order, while the seller is active."""
    found = relay_addresses(core, service, [(seller_id, customer_id)])[0]
    if isinstance(found, Exception):
        raise found
    return found


def relay_addresses(
    core: Core, service: str, pairs: Sequence[Pair], run: Run = map
) -> list[Outcome | Exception]:
    """`relay_address` for each pair, in order: its outcome, or the exception that call would
    have raised (the ledger could not record: `LedgerUnavailable`, nothing decrypted; the
    customer was erased: a `VaultError`). `run` maps appends for a ledger without `submit`."""
    if not pairs:
        return []
    now = core.clock()
    sellers, ordered, facts = _facts(core, pairs, now)
    records = []
    for seller_id, customer_id in pairs:
        context = {
            **approver_context(None, None, "", now),  # type: ignore[arg-type]
            "role": "service",
            "active": True,
            "service": service,
            "pair_has_order": (seller_id, customer_id) in ordered,
            "seller_active": sellers.get(seller_id) == "active",
        }
        answer = core.policy.evaluate("message.relay", context)  # cached per distinct context
        reason = answer.policies[0] if answer.policies else "no_rule_permits"
        outcome = Verdict.ALLOW if answer.allowed else Verdict.DENY
        resource = Resource("customer", (customer_id,), FIELDS)
        record = Record(
            service,
            "message.relay",
            resource,
            None,
            outcome,
            reason,
            facts[customer_id],
            now,
            actor_known=True,  # the relay's own service principal
        )
        records.append((record, answer.policies))
    receipts = _append_all(core, [record for record, _ in records], run)
    decisions = [
        receipt if isinstance(receipt, Exception) else core.decided(record, receipt, policies)
        for (record, policies), receipt in zip(records, receipts, strict=True)
    ]
    return _revealed(core, pairs, decisions)


def _facts(
    core: Core, pairs: Sequence[Pair], now: datetime
) -> tuple[dict[str, str], set[Pair], dict[str, Facts]]:
    """Every pair's facts in one read: sellers' status, which pairs have an order, and each
    customer's recording facts (as `Core.facts_for` gives them, one customer each)."""
    seller_ids = sorted({s for s, _ in pairs})
    customer_ids = sorted({c for _, c in pairs})
    sellers = dict(_in(core.reads, _SELLERS, seller_ids))
    ordered = {(s, c) for s, c in _in(core.reads, _ORDERS, customer_ids)}
    every = load_facts(
        core.reads,
        "",
        "none",
        Resource("customer", tuple(customer_ids), FIELDS),
        Justification("legal"),
        now,
        core.config.limits,
    )
    facts = {}
    for customer_id in customer_ids:
        pseudonym = every.pseudonyms.get(customer_id)
        known = pseudonym is not None
        facts[customer_id] = dataclasses.replace(
            every,
            resource_found=known,
            context=dict(every.context),
            customer_ids=[customer_id] if known else [],
            pseudonyms={customer_id: pseudonym} if pseudonym is not None else {},
        )
    return sellers, ordered, facts


def _in(reads: HotReader, sql: str, ids: Sequence[str]) -> list[Any]:
    """Rows of `sql` (one `IN ({})`) for every id, a chunk at a time."""
    rows: list[Any] = []
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        rows += reads.rows(sql.format(", ".join("?" for _ in chunk)), chunk)
    return rows


def _append_all(core: Core, records: Sequence[Record], run: Run) -> list[Receipt | Exception]:
    """Each record its own entry, all submitted before any is waited for, so they share the
    group committer's batches; each answer is its entry's receipt or why it has none."""
    submit = getattr(core.ledger, "submit", None)
    if submit is None:  # e.g. a sequencer in another process: the appends side by side
        return list(run(lambda record: _guarded(core.record, record), records))
    key = core.keyring.pseudonym_key
    encoded: list[tuple[bytes, Any] | Exception] = []
    for record in records:
        try:
            encoded.append(encode(record, key))
        except Exception as exc:  # refused by the entry's own checks: this one only
            encoded.append(exc)
    # Submitted back to back, after all the encoding: the committer takes them as one batch
    # (interleaved with encoding, it would wake for the first and commit a batch of one).
    pending: list[Future[Receipt] | Exception] = []
    for item in encoded:
        try:
            pending.append(item if isinstance(item, Exception) else submit(*item))
        except Exception as exc:
            pending.append(exc)
    return [_settled(item) for item in pending]


def _guarded(append: Callable[[Record], Receipt], record: Record) -> Receipt | Exception:
    try:
        return append(record)
    except Exception as exc:
        return exc


def _settled(item: Future[Receipt] | Exception, timeout: float = 10.0) -> Receipt | Exception:
    """A submitted entry's receipt, or the error `Ledger.append` would have raised."""
    if isinstance(item, Exception):
        return item
    try:
        return item.result(timeout)
    except LedgerError as exc:
        return exc
    except Exception as exc:
        return LedgerUnavailable(f"the ledger could not record ({type(exc).__name__})")


def _revealed(
    core: Core, pairs: Sequence[Pair], decisions: Sequence[Decision | Exception]
) -> list[Outcome | Exception]:
    """The outcomes: addresses decrypted (one read of the vault rows) only for the pairs whose
    allow is recorded and signed; denials carry no data."""
    allowed = sorted({c for (_, c), d in zip(pairs, decisions, strict=True) if _allows(d)})
    rows = _hazmat.vault_rows(core.reads, allowed) if allowed else {}
    out: list[Outcome | Exception] = []
    for (_, customer_id), decision in zip(pairs, decisions, strict=True):
        if isinstance(decision, Exception):
            out.append(decision)
        elif not decision.allowed:
            out.append(Outcome(decision))
        elif customer_id not in rows:
            out.append(NotFound(f"no customer {customer_id}"))
        else:
            try:
                values = _hazmat.decrypt_fields(rows[customer_id], FIELDS, core.keyring)
            except Exception as exc:  # erased meanwhile, or a ciphertext that fails its check
                out.append(exc)
                continue
            out.append(Outcome(decision, values.get("email")))
    return out


def _allows(decision: Decision | Exception) -> bool:
    return not isinstance(decision, Exception) and decision.allowed


def held_message(core: Core, employee_id: str, customer_id: str, why: Justification) -> Decision:
    """Trust & safety asks to read a message the relay held; the relay shows it only after an
    allow."""
    resource = Resource("customer", (customer_id,))
    decision, _ = decide_and_record(core, Ask(employee_id, "message.view", resource, why))
    return decision
