"""HAZMAT: turns vault ciphertext back into plaintext PII.

For humans, the one caller is the access decision point (`custodes.access`), after the decision
is committed to the ledger. Anything else importing this module is a design defect; the relay
(machine-to-machine forwarding) is the only other intended caller. Values returned here must
never be logged, raised in exceptions or written anywhere but the response that was authorised.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from custodes.store.hot_reads import HotReader
from custodes.vault.envelope import CIPHERTEXT_VERSION, NONCE_BYTES, key_context
from custodes.vault.errors import DecryptionError, ShreddedError, VaultError
from custodes.vault.keyring import Keyring
from custodes.vault.models import PII_FIELDS, VaultRecord

# The vault's own row query, in driver SQL: a driver row (attribute access by column name) is all
# decryption needs, and the hot reveal path skips the ORM.
_SELECT = (
    "SELECT customer_id, kek_version, wrapped_key, name_ct, email_ct, phone_ct, address_ct "
    "FROM vault_records WHERE customer_id "
)
_ROW = _SELECT + "= ?"
_CHUNK = 500  # ids per IN (...) list


class VaultRow(NamedTuple):
    """A vault row as the driver returns it, its columns by name (all `decrypt_fields` reads)."""

    customer_id: str
    kek_version: int | None
    wrapped_key: bytes | None
    name_ct: bytes | None
    email_ct: bytes | None
    phone_ct: bytes | None
    address_ct: bytes | None


def decrypt_customer(
    reads: HotReader, keyring: Keyring, customer_id: str, fields: Iterable[str]
) -> dict[str, str | None] | None:
    """The named fields of one customer, or None when the vault holds no such customer."""
    found = reads.first(_ROW, (customer_id,))
    if found is None:
        return None
    return decrypt_fields(VaultRow(*found), fields, keyring)


def vault_rows(reads: HotReader, customer_ids: Sequence[str]) -> dict[str, VaultRow]:
    """Many customers' vault rows, by id (a batch's decryptions read them once)."""
    rows: dict[str, VaultRow] = {}
    for start in range(0, len(customer_ids), _CHUNK):
        chunk = customer_ids[start : start + _CHUNK]
        sql = _SELECT + f"IN ({', '.join('?' for _ in chunk)})"
        rows.update((found[0], VaultRow(*found)) for found in reads.rows(sql, chunk))
    return rows


def decrypt_fields(
    record: VaultRecord | VaultRow, fields: Iterable[str], keyring: Keyring
) -> dict[str, str | None]:
    """Decrypt the named fields of one record; a failed check raises, never returns garbage."""
    wanted = tuple(fields)
    for field in wanted:
        if field not in PII_FIELDS:
            raise VaultError(f"unknown PII field {field!r}")
    customer_id = record.customer_id
    if record.wrapped_key is None or record.kek_version is None:
        raise ShreddedError(f"customer {customer_id} was erased; their data is gone")
    data_key = keyring.unwrap(record.kek_version, record.wrapped_key, key_context(customer_id))
    cipher = AESGCM(data_key)
    prefix = b"custodes/pii/v1|" + customer_id.encode() + b"|"
    out: dict[str, str | None] = {}
    for field in wanted:
        blob: bytes | None = getattr(record, _COLUMNS[field])
        if blob is None:
            out[field] = None
            continue
        if blob[:1] != CIPHERTEXT_VERSION or len(blob) < _MIN_BLOB:
            raise DecryptionError(f"ciphertext of {field} for {customer_id} is malformed")
        try:
            plain = cipher.decrypt(blob[1:_NONCE_END], blob[_NONCE_END:], prefix + field.encode())
        except InvalidTag:
            raise DecryptionError(
                f"ciphertext of {field} for {customer_id} failed authentication"
            ) from None
        out[field] = plain.decode()
    return out


_COLUMNS = {field: f"{field}_ct" for field in PII_FIELDS}
_NONCE_END = 1 + NONCE_BYTES
_MIN_BLOB = 1 + NONCE_BYTES + 16
