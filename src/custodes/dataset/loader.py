"""Loads a validated dataset folder into the database in ONE transaction, sealing PII on the way.

Any error anywhere rolls everything back: the database is left exactly as it was.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, LargeBinary, insert, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from custodes.dataset.errors import ImportRefused
from custodes.dataset.reader import (
    Dataset,
    DatasetError,
    KnownIds,
    Rejection,
    read_dataset,
)
from custodes.dataset.schema import ACCESS_FILE, DATASET_FILES, SIGNALS_FILE
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
from custodes.store.engine import insert_sql
from custodes.vault.keyring import Keyring
from custodes.vault.models import BlindIndexEntry, VaultRecord
from custodes.vault.pseudonym import blind_index
from custodes.vault.service import CustomerPII, prepare_customer

BATCH = 5000
Progress = Callable[[str, int], None]


@dataclass(frozen=True)
class ImportReport:
    counts: dict[str, int]
    rejected: list[Rejection] = field(default_factory=list)


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
CHUNK = 1000


VAULT_COLUMNS = (
    "customer_id",
    "kek_version",
    "wrapped_key",
    "pseudonym_salt",
    "name_ct",
    "email_ct",
    "phone_ct",
    "address_ct",
    "name_mask",
    "email_mask",
    "phone_mask",
)
INDEX_COLUMNS = ("customer_id", "kind", "digest")


@dataclass(frozen=True)
class SealedChunk:
    """Rows ready for executemany, built in the worker: the parent only inserts."""

    pseudonyms: list[tuple[str, str]]
    vault_rows: list[tuple[object, ...]]
    index_rows: list[tuple[object, ...]]


def _seal_chunk(
    rows: list[tuple[int, str, str | None, str | None, str | None, str | None]],
) -> tuple[SealedChunk, tuple[int, str] | None]:
    """Seal a chunk in a worker; errors come back as values (exceptions may not pickle)."""
    assert _SEAL_KEYRING is not None
    chunk = SealedChunk([], [], [])
    for line, customer_id, name, email, phone, country in rows:
        pii = CustomerPII(name=name, email=email, phone=phone)
        try:
            prepared = prepare_customer(_SEAL_KEYRING, customer_id, pii, country)
        except InputError as exc:
            return chunk, (line, str(exc))
        chunk.pseudonyms.append((customer_id, prepared.pseudonym))
        chunk.vault_rows.append(tuple(prepared.vault_row[c] for c in VAULT_COLUMNS))
        chunk.index_rows.extend(tuple(r[c] for c in INDEX_COLUMNS) for r in prepared.index_rows)
    return chunk, None


def sealed_chunks(dataset: Dataset, keyring: Keyring) -> Iterator[SealedChunk]:
    """Encrypt every customer's PII in chunks, in order; on every core for large imports, so
    the caller can insert one chunk while the next is being sealed.

    A bad e-mail or phone names its line, never its value.
    """
    global _SEAL_KEYRING
    rows = [
        (line, r["customer_id"], r["name"], r["email"], r["phone"], r["country"])
        for line, r in dataset.customers
    ]
    chunks = [rows[i : i + CHUNK] for i in range(0, len(rows), CHUNK)]
    workers = os.cpu_count() or 1
    _SEAL_KEYRING = keyring
    try:
        if len(rows) >= PARALLEL_FROM and workers > 1:
            context = multiprocessing.get_context("fork")
            with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
                yield from _checked(pool.map(_seal_chunk, chunks))
        else:
            yield from _checked(_seal_chunk(chunk) for chunk in chunks)
    finally:
        _SEAL_KEYRING = None


def _checked(
    results: Iterable[tuple[SealedChunk, tuple[int, str] | None]],
) -> Iterator[SealedChunk]:
    for prepared, error in results:
        if error is not None:
            raise DatasetError("customers.csv", error[0], error[1])
        yield prepared


def _insert(
    session: Session, model: type, file: str, rows: list[tuple[int, dict[str, Any]]]
) -> None:
    """Core executemany on the session's connection: no ORM bookkeeping on the bulk path.

    Each batch runs in a savepoint; if the database refuses it, its rows are tried one by one
    to name the line it refused (then the whole import is rolled back).
    """
    if not rows:
        return
    connection = session.connection()
    statement = insert(model.__table__)  # type: ignore[attr-defined]
    for start in range(0, len(rows), BATCH):
        batch = rows[start : start + BATCH]
        try:
            with connection.begin_nested():
                connection.execute(statement, [r for _, r in batch])
        except SQLAlchemyError as exc:
            raise _refused_row(connection, statement, file, batch, exc) from None


def _refused_row(
    connection: Any,
    statement: Any,
    file: str,
    batch: list[tuple[int, dict[str, Any]]],
    exc: SQLAlchemyError,
) -> InputError:
    """The first line of ``batch`` the database refuses, and why (the error's class only:
    a driver's message may echo the row's values)."""
    for line, row in batch:
        try:
            with connection.begin_nested():
                connection.execute(statement, [row])
        except SQLAlchemyError as row_exc:
            return DatasetError(file, line, f"the database refused this row ({_reason(row_exc)})")
    return ImportRefused(f"{file}: the database refused the rows ({_reason(exc)})")


def _reason(exc: SQLAlchemyError) -> str:
    return type(getattr(exc, "orig", None) or exc).__name__


def import_dataset(
    engine: Engine,
    folder: Path,
    keyring: Keyring,
    progress: Progress | None = None,
    *,
    quarantine: bool = False,
) -> ImportReport:
    """Validate the folder against the database, then write all of it or nothing.

    With ``quarantine``, rows with a problem (and rows referring to them) are left out and
    returned in ``ImportReport.rejected``; the valid rest is written, still in one transaction.
    """
    with Session(engine) as session:
        dataset = read_dataset(folder, known_ids(session), quarantine=quarantine)
    signal_rows = _signal_rows(dataset, keyring)
    try:
        with Session(engine) as session, session.begin():
            _insert(session, Employee, "employees.csv", dataset.employees)
            _tick(progress, "employees", len(dataset.employees))
            _insert_customers(session, dataset, keyring, progress)
            for name, table in (
                ("sellers", Seller),
                ("products", Product),
                ("orders", Order),
                ("reviews", Review),
                ("cases", Case),
            ):
                rows = getattr(dataset, name)
                _insert(session, table, f"{name}.csv", rows)
                _tick(progress, name, len(rows))
            _insert(session, ImportedAccessEvent, ACCESS_FILE, dataset.access)
            _tick(progress, "access", len(dataset.access))
            _insert(session, OutsideSignal, SIGNALS_FILE, signal_rows)
            _tick(progress, "signals", len(signal_rows))
    except SQLAlchemyError as exc:
        # At commit: the driver's message can echo parameters; keep only the class.
        raise ImportRefused(
            f"{folder}: the database refused the import at commit ({_reason(exc)}); "
            "nothing was written"
        ) from None
    return ImportReport(dataset.counts(), dataset.rejected)


def _signal_rows(dataset: Dataset, keyring: Keyring) -> list[tuple[int, dict[str, Any]]]:
    """Signals with their reported e-mail replaced by its blind index (never stored in clear)."""
    signal_rows = []
    for line, row in dataset.signals:
        email = row.pop("email")  # already normalised and checked by the reader
        row["email_index"] = (
            None if email is None else blind_index(keyring.blind_index_key, "email", email)
        )
        signal_rows.append((line, row))
    return signal_rows


def _insert_customers(
    session: Session, dataset: Dataset, keyring: Keyring, progress: Progress | None
) -> None:
    """Insert each sealed chunk while the workers seal the next one."""
    customer_meta = {row["customer_id"]: row for _, row in dataset.customers}
    for sealed in sealed_chunks(dataset, keyring):
        try:
            _insert_raw(
                session,
                Customer,
                [
                    {
                        "customer_id": customer_id,
                        "pseudonym": pseudonym,
                        "country": customer_meta[customer_id]["country"],
                        "region": customer_meta[customer_id]["region"],
                        "language": customer_meta[customer_id]["language"],
                        "created_at": customer_meta[customer_id]["created_at"],
                    }
                    for customer_id, pseudonym in sealed.pseudonyms
                ],
            )
            _executemany(session, VaultRecord, VAULT_COLUMNS, sealed.vault_rows)
            _executemany(session, BlindIndexEntry, INDEX_COLUMNS, sealed.index_rows)
        except SQLAlchemyError as exc:
            first = sealed.pseudonyms[0][0] if sealed.pseudonyms else None
            raise ImportRefused(
                f"customers.csv: the database refused the chunk of customers from "
                f"{first!r} on ({_reason(exc)}); nothing was written"
            ) from None
        _tick(progress, "customers", len(sealed.pseudonyms))


def total_rows(folder: Path) -> int | None:
    """Lines in the folder's files (an upper bound on rows), for a progress bar's total."""
    total = 0
    try:
        for name in DATASET_FILES:
            path = folder / name
            if path.is_file():
                with path.open("rb") as handle:
                    while chunk := handle.read(1 << 20):
                        total += chunk.count(b"\n")
    except OSError:
        return None
    return total


def _insert_raw(session: Session, model: type, rows: list[dict[str, object]]) -> None:
    """Plain DBAPI executemany, applying each column type's own bind processor: the same
    values SQLAlchemy would send, without its per-row bookkeeping on the bulk path."""
    if not rows:
        return
    table = model.__table__  # type: ignore[attr-defined]
    dialect = session.get_bind().dialect
    names = tuple(rows[0])
    # bytes go to both drivers as they are; other types (times) need their processor.
    pairs = [
        (
            name,
            None
            if isinstance(table.columns[name].type, LargeBinary)
            else table.columns[name].type._cached_bind_processor(dialect),
        )
        for name in names
    ]
    _executemany(
        session,
        model,
        names,
        [tuple(r[n] if p is None or r[n] is None else p(r[n]) for n, p in pairs) for r in rows],
    )


def _executemany(
    session: Session, model: type, columns: tuple[str, ...], rows: list[tuple[object, ...]]
) -> None:
    """Rows already in column order and driver-ready (bytes, ints, strings, bound times)."""
    if not rows:
        return
    table = model.__table__  # type: ignore[attr-defined]
    sql = insert_sql(session.get_bind().dialect, table.name, columns)
    connection = session.connection()
    for start in range(0, len(rows), BATCH):
        connection.exec_driver_sql(sql, rows[start : start + BATCH])


def _tick(progress: Progress | None, name: str, count: int) -> None:
    if progress:
        progress(name, count)
