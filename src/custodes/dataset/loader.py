"""Loads a validated dataset folder into the database in ONE transaction, sealing PII on the way.

Any error anywhere rolls everything back: the database is left exactly as it was.
"""

from __future__ import annotations

from collections.abc import Callable
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


def seal_customers(
    dataset: Dataset, keyring: Keyring, progress: Progress | None = None
) -> list[PreparedCustomer]:
    """Encrypt every customer's PII; a bad e-mail or phone names its line, never its value."""
    sealed = []
    for line, row in dataset.customers:
        pii = CustomerPII(name=row["name"], email=row["email"], phone=row["phone"])
        try:
            sealed.append(prepare_customer(keyring, row["customer_id"], pii, row["country"]))
        except InputError as exc:
            raise DatasetError("customers.csv", line, str(exc)) from None
        if progress and len(sealed) % BATCH == 0:
            progress("customers", BATCH)
    if progress:
        progress("customers", len(sealed) % BATCH)
    return sealed


def _insert(session: Session, table: type, rows: list[dict[str, object]]) -> None:
    for start in range(0, len(rows), BATCH):
        session.execute(insert(table), rows[start : start + BATCH])


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
            _insert(session, VaultRecord, [p.vault_row for p in sealed])
            _insert(session, BlindIndexEntry, [r for p in sealed for r in p.index_rows])
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


def _tick(progress: Progress | None, name: str, count: int) -> None:
    if progress:
        progress(name, count)
