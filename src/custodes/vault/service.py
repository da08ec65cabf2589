"""Vault operations: store a customer's PII, look up by blind index, show masks, rotate, erase.

None of these return plaintext. Decryption is `custodes.vault._hazmat`, for `access` only.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, delete, func, insert, select, true, update
from sqlalchemy.orm import Session

from custodes.marketplace.models import Customer
from custodes.store.engine import rows_changed
from custodes.vault.envelope import key_context, seal
from custodes.vault.errors import AlreadyErased, KeyringError, VaultError
from custodes.vault.keyring import FileKeyring, Keyring
from custodes.vault.masking import mask_email, mask_name, mask_phone
from custodes.vault.models import BlindIndexEntry, VaultRecord
from custodes.vault.normalise import normalise_email, normalise_phone
from custodes.vault.pseudonym import blind_index, customer_pseudonym


@dataclass(frozen=True)
class CustomerPII:
    """Plaintext on its way in. Never logged: repr hides the values."""

    name: str | None = None
    email: str | None = None
    phone: str | None = None
    address: str | None = None

    def __repr__(self) -> str:
        present = [f for f in ("name", "email", "phone", "address") if getattr(self, f)]
        return f"CustomerPII(<redacted: {', '.join(present)}>)"


@dataclass(frozen=True)
class PreparedCustomer:
    """Rows ready to insert for one customer: everything already encrypted or keyed."""

    customer_id: str
    pseudonym: str
    vault_row: dict[str, object]
    index_rows: list[dict[str, object]]


def prepare_customer(
    keyring: Keyring, customer_id: str, pii: CustomerPII, country: str | None = None
) -> PreparedCustomer:
    """Normalise, encrypt, mask and index one customer's PII (pure: no database)."""
    values: dict[str, str] = {}
    index_rows: list[dict[str, object]] = []
    masks: dict[str, str | None] = {"name_mask": None, "email_mask": None, "phone_mask": None}
    if pii.email is not None:
        email = normalise_email(pii.email)
        # Sealed as given (trimmed): a local part may be case-sensitive. Index and mask use
        # the normal form, so search still finds it whatever the case.
        values["email"] = pii.email.strip()
        masks["email_mask"] = mask_email(email)
        digest = blind_index(keyring.blind_index_key, "email", email)
        index_rows.append({"customer_id": customer_id, "kind": "email", "digest": digest})
    if pii.phone is not None:
        phone, country_code = normalise_phone(pii.phone, country)
        values["phone"] = phone
        masks["phone_mask"] = mask_phone(phone, country_code)
        digest = blind_index(keyring.blind_index_key, "phone", phone)
        index_rows.append({"customer_id": customer_id, "kind": "phone", "digest": digest})
    if pii.name is not None:
        values["name"] = pii.name
        masks["name_mask"] = mask_name(pii.name)
    if pii.address is not None:
        values["address"] = pii.address
    sealed = seal(customer_id, values, keyring)
    salt = secrets.token_bytes(16)
    row: dict[str, object] = {
        "customer_id": customer_id,
        "kek_version": sealed.kek_version,
        "wrapped_key": sealed.wrapped_key,
        "pseudonym_salt": salt,
        "name_ct": sealed.ciphertexts.get("name"),
        "email_ct": sealed.ciphertexts.get("email"),
        "phone_ct": sealed.ciphertexts.get("phone"),
        "address_ct": sealed.ciphertexts.get("address"),
        **masks,
    }
    pseudonym = customer_pseudonym(keyring.pseudonym_key, salt, customer_id)
    return PreparedCustomer(customer_id, pseudonym, row, index_rows)


def insert_prepared(session: Session, prepared: Iterable[PreparedCustomer]) -> None:
    """Bulk-insert vault rows for customers whose `customers` rows already exist."""
    batch = list(prepared)
    if not batch:
        return
    session.execute(insert(VaultRecord), [p.vault_row for p in batch])
    index_rows = [row for p in batch for row in p.index_rows]
    if index_rows:
        session.execute(insert(BlindIndexEntry), index_rows)


def find_by_email(session: Session, keyring: Keyring, email: str) -> list[str]:
    """Exact-match lookup through the blind index; returns customer ids, never PII."""
    digest = blind_index(keyring.blind_index_key, "email", normalise_email(email))
    rows = session.scalars(
        select(BlindIndexEntry.customer_id)
        .where(BlindIndexEntry.kind == "email", BlindIndexEntry.digest == digest)
        .order_by(BlindIndexEntry.customer_id)
    )
    return list(rows)


def find_by_phone(
    session: Session, keyring: Keyring, phone: str, region: str | None = None
) -> list[str]:
    digest = blind_index(keyring.blind_index_key, "phone", normalise_phone(phone, region)[0])
    rows = session.scalars(
        select(BlindIndexEntry.customer_id)
        .where(BlindIndexEntry.kind == "phone", BlindIndexEntry.digest == digest)
        .order_by(BlindIndexEntry.customer_id)
    )
    return list(rows)


@dataclass(frozen=True)
class MaskedCustomer:
    customer_id: str
    pseudonym: str
    name: str | None
    email: str | None
    phone: str | None
    erased: bool


def masked_view(session: Session, customer_ids: Iterable[str]) -> list[MaskedCustomer]:
    """What search results and approval previews show: masks only, no decryption."""
    ids = list(customer_ids)
    rows = session.execute(
        select(Customer.customer_id, Customer.pseudonym, VaultRecord)
        .join(VaultRecord, VaultRecord.customer_id == Customer.customer_id)
        .where(Customer.customer_id.in_(ids))
    ).all()
    by_id = {
        r[0]: MaskedCustomer(
            r[0],
            r[1],
            r[2].name_mask,
            r[2].email_mask,
            r[2].phone_mask,
            r[2].shredded_at is not None,
        )
        for r in rows
    }
    return [by_id[i] for i in ids if i in by_id]


def erase_customer(session: Session, customer_id: str, now: datetime | None = None) -> None:
    """Crypto-shred: destroy the wrapped data key, salt, ciphertexts, masks and index entries.

    Without the data key no copy of the ciphertext (backups, replicas) can be opened again; the
    customer row and its pseudonym stay, so orders, cases and the ledger keep verifying.
    """
    now = now or datetime.now(UTC)
    record = session.get(VaultRecord, customer_id)
    customer = session.get(Customer, customer_id)
    if record is None or customer is None:
        raise VaultError(f"no customer {customer_id} in the vault")
    # Only a row still unerased: erased before, or by a racing erasure that checked before this
    # one committed, it fails here (and the ledger says so), never erased "again".
    shredded = session.execute(
        update(VaultRecord)
        .where(VaultRecord.customer_id == customer_id, VaultRecord.shredded_at.is_(None))
        .values(
            kek_version=None,
            wrapped_key=None,
            pseudonym_salt=None,
            name_ct=None,
            email_ct=None,
            phone_ct=None,
            address_ct=None,
            name_mask=None,
            email_mask=None,
            phone_mask=None,
            shredded_at=now,
        )
    )
    if not rows_changed(shredded):
        raise AlreadyErased(f"customer {customer_id} was already erased")
    session.execute(delete(BlindIndexEntry).where(BlindIndexEntry.customer_id == customer_id))
    customer.erased_at = now


@dataclass(frozen=True)
class RotationReport:
    new_version: int
    rewrapped: int
    batches: int


def rotate_keys(
    engine: Engine,
    keyring: FileKeyring,
    batch_size: int = 1000,
    progress: Callable[[int], None] | None = None,
) -> RotationReport:
    """Add a KEK version, then re-wrap data keys in small committed batches.

    Data is never re-encrypted and readers never wait: each row names the KEK version that
    unwraps it, and old versions keep unwrapping until they are retired.
    """
    new_version = keyring.add_version()
    return rewrap_keys(engine, keyring, batch_size, progress, new_version)


def rewrap_keys(
    engine: Engine,
    keyring: Keyring,
    batch_size: int = 1000,
    progress: Callable[[int], None] | None = None,
    target: int | None = None,
) -> RotationReport:
    """Re-wrap every live data key not yet under the active KEK (resumable after a crash)."""
    target = keyring.active_version if target is None else target
    total = batches = 0
    last = ""
    while True:
        with Session(engine) as session, session.begin():
            rows = session.execute(
                select(VaultRecord.customer_id, VaultRecord.kek_version, VaultRecord.wrapped_key)
                .where(
                    VaultRecord.wrapped_key.is_not(None),
                    VaultRecord.kek_version != target,
                    VaultRecord.customer_id > last,
                )
                .order_by(VaultRecord.customer_id)
                .limit(batch_size)
            ).all()
            if not rows:
                break
            updates = []
            for customer_id, version, wrapped in rows:
                assert version is not None and wrapped is not None  # selected so above
                context = key_context(customer_id)
                data_key = keyring.unwrap(version, wrapped, context)
                new_version, new_wrapped = keyring.wrap(data_key, context)
                if new_version != target:
                    raise KeyringError("active key version changed during rotation; run again")
                updates.append((customer_id, version, new_wrapped))
            for customer_id, old_version, new_wrapped in updates:
                # Guard on the old version: a concurrent erase or rotation wins, we skip.
                session.execute(
                    update(VaultRecord)
                    .where(
                        VaultRecord.customer_id == customer_id,
                        VaultRecord.kek_version == old_version,
                    )
                    .values(kek_version=target, wrapped_key=new_wrapped)
                )
            last = rows[-1][0]
        total += len(rows)
        batches += 1
        if progress:
            progress(len(rows))
    return RotationReport(target, total, batches)


def retire_key_version(engine: Engine, keyring: FileKeyring, version: int) -> None:
    """Retire a KEK version only when no live data key is still wrapped under it."""
    with Session(engine) as session:
        still = session.scalar(
            select(func.count()).select_from(VaultRecord).where(VaultRecord.kek_version == version)
        )
    if still:
        raise KeyringError(
            f"{still} data keys are still wrapped by version {version}; run `custodes keys rotate`"
        )
    keyring.retire(version)


def vault_stats(session: Session, synthetic: Collection[str] = ()) -> dict[str, int]:
    """Counts for summaries: records, erased records, index entries, records per KEK version.
    `synthetic` customers (canaries, which forensics knows) are not counted as records; the
    per-KEK counts still include them, since their keys rotate like everyone's."""
    real = VaultRecord.customer_id.not_in(list(synthetic)) if synthetic else true()
    records = session.scalar(select(func.count()).select_from(VaultRecord).where(real)) or 0
    erased = (
        session.scalar(
            select(func.count())
            .select_from(VaultRecord)
            .where(VaultRecord.shredded_at.is_not(None), real)
        )
        or 0
    )
    indexed = session.scalar(select(func.count()).select_from(BlindIndexEntry)) or 0
    stats = {"records": records, "erased": erased, "blind_index_entries": indexed}
    if synthetic:
        stats["synthetic"] = len(set(synthetic))
    for version, count in session.execute(
        select(VaultRecord.kek_version, func.count())
        .where(VaultRecord.kek_version.is_not(None))
        .group_by(VaultRecord.kek_version)
        .order_by(VaultRecord.kek_version)
    ):
        stats[f"kek_v{version}"] = count
    return stats
