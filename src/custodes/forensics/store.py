"""Attribution on the database: the read index, kept up to date from the ledger's access index
and the imported access events, and looked up per leaked customer.

`refresh_index` consumes both sources from where it last stopped (positions commit with their
rows), so it is cheap before every attribution. The access index says who touched which
customer under which entry; the entry says which fields: only e-mail reads are indexed.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, and_, func, insert, select, update
from sqlalchemy.orm import Session

from custodes.forensics.models import (
    Canary,
    EmailRead,
    Exposure,
    IndexPosition,
    ReaderTotal,
)
from custodes.forensics.reads import EMAIL_READ_ACTIONS, Read, reads_email
from custodes.forensics.source import CanaryExposure, SignalRef
from custodes.ledger.models import LedgerAccessIndex, LedgerEntryRow
from custodes.marketplace.models import Customer, ImportedAccessEvent, OutsideSignal
from custodes.store.base import as_utc
from custodes.store.engine import transaction
from custodes.vault.errors import VaultError
from custodes.vault.keyring import Keyring
from custodes.vault.models import BlindIndexEntry
from custodes.vault.pseudonym import blind_index
from custodes.vocabulary import Verdict

CHUNK = 500
STEP = 50_000  # source rows per refresh transaction


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass
class _Pending:
    """Reads gathered in one refresh step, before they are merged into the table."""

    pairs: dict[tuple[str, str], list[Any]] = field(default_factory=dict)

    def add(
        self, employee: str, customer: str, time: datetime, idx: int | None, line: int | None
    ) -> None:
        got = self.pairs.get((employee, customer))
        if got is None:
            self.pairs[(employee, customer)] = [1, time, time, idx, line]
            return
        got[0] += 1
        if time < got[1]:
            got[1], got[3], got[4] = time, idx, line
        got[2] = max(got[2], time)


def _position(session: Session, source: str) -> int:
    row = session.get(IndexPosition, source, with_for_update=True)
    if row is None:
        session.add(IndexPosition(source=source, position=0))
        session.flush()
        return 0
    return row.position


def _set_position(session: Session, source: str, position: int) -> None:
    session.execute(
        update(IndexPosition).where(IndexPosition.source == source).values(position=position)
    )


def _from_ledger(session: Session, pending: _Pending) -> bool:
    pos = _position(session, "ledger")
    top = session.scalar(select(func.max(LedgerAccessIndex.row_id))) or 0
    if top <= pos:
        return False
    hi = min(top, pos + STEP)
    rows = session.execute(
        select(
            LedgerAccessIndex.idx,
            LedgerAccessIndex.actor,
            LedgerAccessIndex.subject_id,
            LedgerAccessIndex.action,
            LedgerAccessIndex.time,
        ).where(
            LedgerAccessIndex.row_id > pos,
            LedgerAccessIndex.row_id <= hi,
            LedgerAccessIndex.subject_kind == "customer",
            LedgerAccessIndex.decision == Verdict.ALLOW,
            LedgerAccessIndex.action.in_(EMAIL_READ_ACTIONS),
        )
    ).all()
    fields: dict[int, list[str]] = {}
    for chunk in _chunks(sorted({r.idx for r in rows})):
        for idx, data in session.execute(
            select(LedgerEntryRow.idx, LedgerEntryRow.data).where(LedgerEntryRow.idx.in_(chunk))
        ):
            fields[idx] = list(json.loads(data).get("fields", []))
    for r in rows:
        if reads_email(r.action, fields.get(r.idx, ["?"])):
            pending.add(r.actor, r.subject_id, as_utc(r.time), r.idx, None)  # type: ignore[arg-type]
    _set_position(session, "ledger", hi)
    return True


def _from_imports(session: Session, pending: _Pending) -> bool:
    pos = _position(session, "imported")
    top = session.scalar(select(func.max(ImportedAccessEvent.event_id))) or 0
    if top <= pos:
        return False
    hi = min(top, pos + STEP)
    rows = session.execute(
        select(
            ImportedAccessEvent.employee_id,
            ImportedAccessEvent.action,
            ImportedAccessEvent.customer_ids,
            ImportedAccessEvent.fields,
            ImportedAccessEvent.time,
            ImportedAccessEvent.source_line,
        ).where(
            ImportedAccessEvent.event_id > pos,
            ImportedAccessEvent.event_id <= hi,
            ImportedAccessEvent.action.in_(EMAIL_READ_ACTIONS),
        )
    ).all()
    for r in rows:
        if reads_email(r.action, json.loads(r.fields)):
            for customer in json.loads(r.customer_ids):
                pending.add(r.employee_id, customer, as_utc(r.time), None, r.source_line)  # type: ignore[arg-type]
    _set_position(session, "imported", hi)
    return True


def _merge(session: Session, pending: _Pending) -> None:
    if not pending.pairs:
        return
    customers = sorted({c for _, c in pending.pairs})
    existing: dict[tuple[str, str], EmailRead] = {}
    for chunk in _chunks(customers):
        for row in session.scalars(select(EmailRead).where(EmailRead.customer_id.in_(chunk))):
            if (row.employee_id, row.customer_id) in pending.pairs:
                existing[(row.employee_id, row.customer_id)] = row
    new_per_employee: dict[str, int] = {}
    inserts: list[dict[str, Any]] = []
    for (employee, customer), (n, first, last, idx, line) in pending.pairs.items():
        found = existing.get((employee, customer))
        if found is None:
            inserts.append(
                {
                    "employee_id": employee,
                    "customer_id": customer,
                    "reads": n,
                    "first_time": first,
                    "last_time": last,
                    "ledger_index": idx,
                    "source_line": line,
                }
            )
            new_per_employee[employee] = new_per_employee.get(employee, 0) + 1
            continue
        found.reads += n
        found.last_time = max(found.last_time, last)
        if first < found.first_time:
            found.first_time, found.ledger_index, found.source_line = first, idx, line
    if inserts:
        session.execute(insert(EmailRead), inserts)
    employees = sorted(new_per_employee)
    totals = {}
    for chunk in _chunks(employees):
        totals.update(
            {
                t.employee_id: t
                for t in session.scalars(
                    select(ReaderTotal).where(ReaderTotal.employee_id.in_(chunk))
                )
            }
        )
    for employee in employees:
        if employee in totals:
            totals[employee].customers += new_per_employee[employee]
        else:
            session.add(ReaderTotal(employee_id=employee, customers=new_per_employee[employee]))


def refresh_index(engine: Engine) -> int:
    """Bring the read index up to date; returns how many (employee, customer) reads it merged."""
    merged = 0
    while True:
        with transaction(engine) as session:
            pending = _Pending()
            moved = _from_ledger(session, pending)
            moved = _from_imports(session, pending) or moved
            _merge(session, pending)
            merged += sum(int(v[0]) for v in pending.pairs.values())
        if not moved:
            return merged


class DatabaseReads:
    """The `ReadIndex` protocol over the read index table (see `refresh_index`)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._population: int | None = None

    @property
    def population(self) -> int:
        if self._population is None:
            with Session(self.engine) as session:
                customers = session.scalar(
                    select(func.count()).select_from(Customer).where(Customer.erased_at.is_(None))
                )
                canaries = session.scalar(select(func.count()).select_from(Canary))
            self._population = max(int(customers or 0) - int(canaries or 0), 1)
        return self._population

    def readers(self, customer_ids: Collection[str]) -> dict[str, list[Read]]:
        out: dict[str, list[Read]] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(sorted(customer_ids)):
                for r in conn.execute(
                    select(
                        EmailRead.customer_id,
                        EmailRead.employee_id,
                        EmailRead.first_time,
                        EmailRead.last_time,
                        EmailRead.reads,
                        EmailRead.ledger_index,
                        EmailRead.source_line,
                    ).where(EmailRead.customer_id.in_(chunk))
                ):
                    ref = (
                        f"ledger:{r.ledger_index}"
                        if r.ledger_index is not None
                        else f"access.jsonl:{r.source_line}"
                    )
                    out.setdefault(r.customer_id, []).append(
                        Read(r.employee_id, r.first_time, r.last_time, r.reads, ref)
                    )
        return out

    def read_counts(self, employee_ids: Collection[str]) -> dict[str, int]:
        out: dict[str, int] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(sorted(employee_ids)):
                out.update(
                    (k, v)
                    for k, v in conn.execute(
                        select(ReaderTotal.employee_id, ReaderTotal.customers).where(
                            ReaderTotal.employee_id.in_(chunk)
                        )
                    ).all()
                )
        return out

    def read_count_between(self, employee_id: str, lo: datetime, hi: datetime) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.scalar(
                    select(func.count())
                    .select_from(EmailRead)
                    .where(
                        and_(
                            EmailRead.employee_id == employee_id,
                            EmailRead.first_time >= lo,
                            EmailRead.first_time <= hi,
                        )
                    )
                )
                or 0
            )


class DatabaseSource:
    """Attribution's view of the database: blind-index lookup, canaries, signals, pseudonyms."""

    def __init__(self, engine: Engine, keyring: Keyring) -> None:
        self.engine = engine
        self.keyring = keyring
        self.reads = DatabaseReads(engine)

    def resolve(self, addresses: Collection[str]) -> dict[str, str]:
        try:
            key = self.keyring.blind_index_key
        except VaultError:
            raise
        digests = {blind_index(key, "email", a): a for a in addresses}
        out: dict[str, str] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(list(digests)):
                for customer_id, digest in conn.execute(
                    select(BlindIndexEntry.customer_id, BlindIndexEntry.digest).where(
                        BlindIndexEntry.kind == "email", BlindIndexEntry.digest.in_(chunk)
                    )
                ):
                    out.setdefault(digests[bytes(digest)], customer_id)
        return out

    def canaries(self, customer_ids: Collection[str]) -> dict[str, CanaryExposure]:
        out: dict[str, CanaryExposure] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(sorted(customer_ids)):
                for r in conn.execute(
                    select(
                        Canary.customer_id,
                        Exposure.exposure_id,
                        Exposure.kind,
                        Exposure.employee_id,
                        Exposure.created_at,
                        Exposure.ledger_index,
                    )
                    .join(Exposure, Exposure.exposure_id == Canary.exposure_id)
                    .where(Canary.customer_id.in_(chunk))
                ):
                    out[r.customer_id] = CanaryExposure(
                        r.exposure_id, r.kind, r.employee_id, r.created_at, r.ledger_index
                    )
        return out

    def signals(self, customer_ids: Collection[str]) -> list[SignalRef]:
        """Signals naming these customers by id, or by the blind index of their e-mail."""
        out: list[SignalRef] = []
        with self.engine.connect() as conn:
            for chunk in _chunks(sorted(customer_ids)):
                for r in conn.execute(
                    select(
                        OutsideSignal.kind,
                        BlindIndexEntry.customer_id,
                        OutsideSignal.seller_id,
                        OutsideSignal.time,
                        OutsideSignal.source_line,
                    )
                    .join(
                        BlindIndexEntry,
                        and_(
                            BlindIndexEntry.kind == "email",
                            BlindIndexEntry.digest == OutsideSignal.email_index,
                        ),
                    )
                    .where(
                        OutsideSignal.customer_id.is_(None),
                        BlindIndexEntry.customer_id.in_(chunk),
                        OutsideSignal.kind.in_(("offplatform_contact", "canary_hit")),
                    )
                ):
                    out.append(
                        SignalRef(
                            r.kind,
                            r.customer_id,
                            r.seller_id,
                            r.time,
                            f"signals.jsonl:{r.source_line}",
                        )
                    )
                for q in conn.execute(
                    select(
                        OutsideSignal.kind,
                        OutsideSignal.customer_id,
                        OutsideSignal.seller_id,
                        OutsideSignal.time,
                        OutsideSignal.source_line,
                    ).where(
                        OutsideSignal.customer_id.in_(chunk),
                        OutsideSignal.kind.in_(("offplatform_contact", "canary_hit")),
                    )
                ):
                    out.append(
                        SignalRef(
                            q.kind,
                            q.customer_id,
                            q.seller_id,
                            q.time,
                            f"signals.jsonl:{q.source_line}",
                        )
                    )
        return out

    def display(self, customer_ids: Collection[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(sorted(customer_ids)):
                out.update(
                    (k, v)
                    for k, v in conn.execute(
                        select(Customer.customer_id, Customer.pseudonym).where(
                            Customer.customer_id.in_(chunk)
                        )
                    ).all()
                )
        return out
