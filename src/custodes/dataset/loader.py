"""Loads a validated dataset folder into the database in ONE transaction, sealing PII on the way.

Any error anywhere rolls everything back: the database is left exactly as it was.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from custodes.dataset.reader import Dataset, DatasetError, KnownIds, read_dataset
from custodes.errors import InputError
from custodes.marketplace.models import (
    Case,
    Customer,
    Employee,
    ImportedAccessEvent,
    Order,
    OutsideSignal,
    Product,
    Review,
    Seller,
)
from custodes.store.base import UTCDateTime
from custodes.vault.keyring import Keyring
from custodes.vault.models import BlindIndexEntry, VaultRecord
from custodes.vault.normalise import normalise_email
from custodes.vault.pseudonym import blind_index
from custodes.vault.service import CustomerPII, PreparedCustomer, prepare_customer

BATCH = 5000
Progress = Callable[[str, int], None]


@dataclass(frozen=True)
class ImportReport:
    counts: dict[str, int]


def known_ids(session: Session) -> KnownIds:
    """Ids already stored, so references into existing data resolve and duplicates are caught."""
    return KnownIds(
        employees=set(session.scalars(select(Employee.employee_id))),
        customers=set(session.scalars(select(Customer.customer_id))),
        sellers=set(session.scalars(select(Seller.seller_id))),
        products=set(session.scalars(select(Product.product_id))),
        orders=set(session.scalars(select(Order.order_id))),
        reviews=set(session.scalars(select(Review.review_id))),
        cases=set(session.scalars(select(Case.case_id))),
    )


_SEAL_KEYRING: Keyring | None = None  # handed to forked sealing workers
PARALLEL_FROM = 4000  # below this, process start-up costs more than it saves
CHUNK = 2000


def _seal_chunk(
    rows: list[tuple[int, str, str | None, str | None, str | None, str | None]],
) -> tuple[list[PreparedCustomer], tuple[int, str] | None]:
    """Seal a chunk in a worker; errors come back as values (exceptions may not pickle)."""
    assert _SEAL_KEYRING is not None
    out = []
    for line, customer_id, name, email, phone, country in rows:
        pii = CustomerPII(name=name, email=email, phone=phone)
        try:
            out.append(prepare_customer(_SEAL_KEYRING, customer_id, pii, country))
        except InputError as exc:
            return out, (line, str(exc))
    return out, None


def seal_customers(
    dataset: Dataset, keyring: Keyring, progress: Progress | None = None
) -> list[PreparedCustomer]:
    """Encrypt every customer's PII, on every core for large imports.

    A bad e-mail or phone names its line, never its value.
    """
    global _SEAL_KEYRING
    rows = [
        (line, r["customer_id"], r["name"], r["email"], r["phone"], r["country"])
        for line, r in dataset.customers
    ]
    chunks = [rows[i : i + CHUNK] for i in range(0, len(rows), CHUNK)]
    _SEAL_KEYRING = keyring
    try:
        workers = os.cpu_count() or 1
        if len(rows) >= PARALLEL_FROM and workers > 1:
            context = multiprocessing.get_context("fork")
            with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
                results = list(pool.map(_seal_chunk, chunks))
        else:
            results = [_seal_chunk(chunk) for chunk in chunks]
    finally:
        _SEAL_KEYRING = None
    sealed: list[PreparedCustomer] = []
    for prepared, error in results:
        if error is not None:
            raise DatasetError("customers.csv", error[0], error[1])
        sealed.extend(prepared)
        if progress:
            progress("customers", len(prepared))
    return sealed


def _insert(session: Session, model: type, rows: list[dict[str, object]]) -> None:
    """Core executemany on the session's connection: no ORM bookkeeping on the bulk path."""
    if not rows:
        return
    connection = session.connection()
    statement = insert(model.__table__)  # type: ignore[attr-defined]
    for start in range(0, len(rows), BATCH):
        connection.execute(statement, rows[start : start + BATCH])


def import_dataset(
    engine: Engine, folder: Path, keyring: Keyring, progress: Progress | None = None
) -> ImportReport:
    """Validate the folder against the database, then write all of it or nothing."""
    with Session(engine) as session:
        dataset = read_dataset(folder, known_ids(session))
    sealed = seal_customers(dataset, keyring, progress)
    signal_rows = []
    for line, row in dataset.signals:
        email = row.pop("email")
        if email is not None:
            try:
                normalised = normalise_email(email)
            except InputError:
                raise DatasetError("signals.jsonl", line, "email is not a valid address") from None
            row["email_index"] = blind_index(keyring.blind_index_key, "email", normalised)
        signal_rows.append(row)
    customer_meta = {row["customer_id"]: row for _, row in dataset.customers}
    try:
        with Session(engine) as session, session.begin():
            _insert(session, Employee, [r for _, r in dataset.employees])
            _tick(progress, "employees", len(dataset.employees))
            _insert(
                session,
                Customer,
                [
                    {
                        "customer_id": p.customer_id,
                        "pseudonym": p.pseudonym,
                        "country": customer_meta[p.customer_id]["country"],
                        "region": customer_meta[p.customer_id]["region"],
                        "language": customer_meta[p.customer_id]["language"],
                        "created_at": customer_meta[p.customer_id]["created_at"],
                    }
                    for p in sealed
                ],
            )
            _insert_raw(session, VaultRecord, [p.vault_row for p in sealed])
            _insert_raw(session, BlindIndexEntry, [r for p in sealed for r in p.index_rows])
            _tick(progress, "vault", len(sealed))
            for name, table in (
                ("sellers", Seller),
                ("products", Product),
                ("orders", Order),
                ("reviews", Review),
                ("cases", Case),
            ):
                rows = [r for _, r in getattr(dataset, name)]
                _insert(session, table, rows)
                _tick(progress, name, len(rows))
            _insert(session, ImportedAccessEvent, [r for _, r in dataset.access])
            _tick(progress, "access", len(dataset.access))
            _insert(session, OutsideSignal, signal_rows)
            _tick(progress, "signals", len(signal_rows))
    except SQLAlchemyError as exc:
        # The driver's message can echo parameters; keep only the class and constraint kind.
        reason = type(getattr(exc, "orig", exc)).__name__
        raise InputError(
            f"{folder}: the database refused the import ({reason}); nothing was written"
        ) from None
    return ImportReport(dataset.counts())


def _insert_raw(session: Session, model: type, rows: list[dict[str, object]]) -> None:
    """Plain DBAPI executemany for tables of bytes, ints and strings only (no type processing
    needed): the vault rows are the bulk of an import."""
    if not rows:
        return
    table = model.__table__  # type: ignore[attr-defined]
    names = list(rows[0])
    for name in names:
        column = table.columns[name]
        assert not isinstance(column.type, UTCDateTime), f"{column} needs type processing"
    mark = "?" if session.get_bind().dialect.paramstyle == "qmark" else "%s"
    sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join(mark for _ in names)})"
    connection = session.connection()
    for start in range(0, len(rows), BATCH):
        connection.exec_driver_sql(
            sql, [tuple(r[n] for n in names) for r in rows[start : start + BATCH]]
        )


def _tick(progress: Progress | None, name: str, count: int) -> None:
    if progress:
        progress(name, count)
