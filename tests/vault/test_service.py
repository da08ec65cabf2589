"""The vault against a real database (SQLite and PostgreSQL): store, look up, rotate, erase."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from custodes.marketplace.models import Customer
from custodes.store.engine import transaction
from custodes.vault import _hazmat
from custodes.vault.errors import AlreadyErased, KeyringError, ShreddedError, VaultError
from custodes.vault.keyring import FileKeyring
from custodes.vault.models import VaultRecord
from custodes.vault.service import (
    CustomerPII,
    erase_customer,
    find_by_email,
    find_by_phone,
    insert_prepared,
    masked_view,
    prepare_customer,
    retire_key_version,
    rotate_keys,
    vault_stats,
)


def _add_customers(engine: Engine, keyring: FileKeyring, count: int) -> list[str]:
    ids = [f"C{i:05d}" for i in range(count)]
    prepared = [
        prepare_customer(
            keyring,
            cid,
            CustomerPII(
                name=f"Person {i}", email=f"person{i}@example.net", phone=f"+4420794{i:05d}"
            ),
            "GB",
        )
        for i, cid in enumerate(ids)
    ]
    with transaction(engine) as session:
        session.add_all(
            Customer(customer_id=p.customer_id, pseudonym=p.pseudonym) for p in prepared
        )
        session.flush()
        insert_prepared(session, prepared)
    return ids


def _read(engine: Engine, keyring: FileKeyring, customer_id: str) -> dict[str, str | None]:
    with Session(engine) as session:
        record = session.get(VaultRecord, customer_id)
        assert record is not None
        return _hazmat.decrypt_fields(record, ["name", "email", "phone"], keyring)


def test_store_lookup_and_mask(engine: Engine, keyring: FileKeyring) -> None:
    _add_customers(engine, keyring, 3)
    with Session(engine) as session:
        assert find_by_email(session, keyring, " PERSON1@example.net") == ["C00001"]
        assert find_by_email(session, keyring, "nobody@example.net") == []
        assert find_by_phone(session, keyring, "020 7940 0002", "GB") == ["C00002"]
        [masked] = masked_view(session, ["C00001"])
    assert masked.email == "p***@e***.net"
    assert masked.phone == "+44 ***-***-0001"
    assert masked.name == "P*** ***"  # a one-character part shows nothing
    assert _read(engine, keyring, "C00002")["email"] == "person2@example.net"


def test_erase_destroys_one_customer_only(engine: Engine, keyring: FileKeyring) -> None:
    _add_customers(engine, keyring, 3)
    with transaction(engine) as session:
        erase_customer(session, "C00001")
    with pytest.raises(ShreddedError):
        _read(engine, keyring, "C00001")
    assert _read(engine, keyring, "C00000")["name"] == "Person 0"
    assert _read(engine, keyring, "C00002")["name"] == "Person 2"
    with Session(engine) as session:
        record = session.get(VaultRecord, "C00001")
        assert record is not None
        assert record.wrapped_key is None and record.email_ct is None and record.email_mask is None
        assert find_by_email(session, keyring, "person1@example.net") == []
        customer = session.get(Customer, "C00001")
        assert customer is not None and customer.erased_at is not None
    # Even a keyring that still holds every KEK cannot bring the data back: the key is gone.
    with pytest.raises(VaultError), transaction(engine) as session:
        erase_customer(session, "C00001")


def test_a_racing_second_erasure_fails_instead_of_erasing_again(
    engine: Engine, keyring: FileKeyring
) -> None:
    """Two erasures of one customer that both checked before either committed: the second must
    fail (its ledger entry then says so), not overwrite the first's erasure time as if it had
    erased. PostgreSQL (read committed) needs the conditional update; SQLite refuses the stale
    snapshot's write by itself."""
    _add_customers(engine, keyring, 1)
    with Session(engine) as late:
        stale = late.get(VaultRecord, "C00000")  # checked: not erased yet
        assert stale is not None and stale.shredded_at is None
        with transaction(engine) as first:
            erase_customer(first, "C00000")
        with Session(engine) as probe:
            erased_at = probe.get(VaultRecord, "C00000").shredded_at  # type: ignore[union-attr]
        refused: type[Exception] = AlreadyErased
        if engine.dialect.name == "sqlite":
            refused = OperationalError  # "database is locked": the snapshot is stale
        with pytest.raises(refused):
            erase_customer(late, "C00000")
        late.rollback()
    with Session(engine) as session:
        assert session.get(VaultRecord, "C00000").shredded_at == erased_at  # type: ignore[union-attr]


def test_rotation_while_reads_go_on(engine: Engine, keyring: FileKeyring) -> None:
    ids = _add_customers(engine, keyring, 120)
    failures: list[BaseException] = []
    reads = 0
    stop = threading.Event()

    def reader() -> None:
        nonlocal reads
        while not stop.is_set():
            for cid in ids[::7]:
                try:
                    assert _read(engine, keyring, cid)["email"] is not None
                    reads += 1
                except BaseException as exc:
                    failures.append(exc)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        report = rotate_keys(engine, keyring, batch_size=7)
    finally:
        stop.set()
        thread.join()
    assert not failures
    assert reads > 0
    assert report.new_version == 2 and report.rewrapped == 120 and report.batches == 18
    with Session(engine) as session:
        versions = set(session.scalars(select(VaultRecord.kek_version)))
        assert versions == {2}
        assert vault_stats(session)["kek_v2"] == 120
    retire_key_version(engine, keyring, 1)
    assert _read(engine, keyring, ids[5])["email"] == "person5@example.net"


def test_retire_refused_while_keys_depend_on_it(engine: Engine, keyring: FileKeyring) -> None:
    _add_customers(engine, keyring, 2)
    keyring.add_version()
    with pytest.raises(KeyringError, match="still wrapped"):
        retire_key_version(engine, keyring, 1)
