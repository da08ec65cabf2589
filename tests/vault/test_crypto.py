"""Envelope encryption: round trips, and every kind of tampering fails loudly, never as garbage."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custodes.vault import _hazmat
from custodes.vault.errors import DecryptionError, KeyringError, ShreddedError
from custodes.vault.keyring import FileKeyring
from custodes.vault.models import VaultRecord
from custodes.vault.service import CustomerPII, prepare_customer

PII = CustomerPII(name="Zoë Ångström", email="Zoe.A@Example.org", phone="+442079460123")


def _record(keyring: FileKeyring, customer_id: str = "C1", pii: CustomerPII = PII) -> VaultRecord:
    prepared = prepare_customer(keyring, customer_id, pii, "GB")
    return VaultRecord(**prepared.vault_row)


def test_round_trip_every_field(keyring: FileKeyring) -> None:
    pii = replace(PII, address="1 Rue de la Paix\n75002 Paris")
    record = _record(keyring, pii=pii)
    out = _hazmat.decrypt_fields(record, ["name", "email", "phone", "address"], keyring)
    assert out == {
        "name": "Zoë Ångström",
        "email": "Zoe.A@Example.org",  # as given: a local part may be case-sensitive
        "phone": "+442079460123",
        "address": "1 Rue de la Paix\n75002 Paris",
    }


@settings(max_examples=60, deadline=None)
@given(name=st.text(min_size=1, max_size=200), address=st.text(max_size=300))
def test_round_trip_arbitrary_unicode(
    tmp_path_factory: pytest.TempPathFactory, name: str, address: str
) -> None:
    keyring = _shared_keyring(tmp_path_factory)
    record = _record(keyring, pii=CustomerPII(name=name, email="a@b.example", address=address))
    out = _hazmat.decrypt_fields(record, ["name", "address"], keyring)
    assert out == {"name": name, "address": address}


_KEYRINGS: dict[int, FileKeyring] = {}


def _shared_keyring(factory: pytest.TempPathFactory) -> FileKeyring:
    key = id(factory)
    if key not in _KEYRINGS:
        _KEYRINGS[key] = FileKeyring.create(factory.mktemp("keys"))
    return _KEYRINGS[key]


@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_any_flipped_bit_is_refused(
    tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    keyring = _shared_keyring(tmp_path_factory)
    record = _record(keyring)
    column = data.draw(st.sampled_from(["name_ct", "email_ct", "phone_ct", "wrapped_key"]))
    blob = bytearray(getattr(record, column))
    bit = data.draw(st.integers(0, len(blob) * 8 - 1))
    blob[bit // 8] ^= 1 << (bit % 8)
    setattr(record, column, bytes(blob))
    with pytest.raises(DecryptionError):
        _hazmat.decrypt_fields(record, ["name", "email", "phone"], keyring)


def test_ciphertext_moved_to_another_field_fails(keyring: FileKeyring) -> None:
    record = _record(keyring)
    record.name_ct, record.email_ct = record.email_ct, record.name_ct
    with pytest.raises(DecryptionError):
        _hazmat.decrypt_fields(record, ["name"], keyring)
    with pytest.raises(DecryptionError):
        _hazmat.decrypt_fields(record, ["email"], keyring)


def test_ciphertext_moved_to_another_customer_fails(keyring: FileKeyring) -> None:
    a, b = _record(keyring, "C1"), _record(keyring, "C2")
    b.email_ct = a.email_ct
    with pytest.raises(DecryptionError):
        _hazmat.decrypt_fields(b, ["email"], keyring)
    # Moving the wrapped key as well: the key is bound to its customer, so it will not unwrap.
    b.wrapped_key = a.wrapped_key
    with pytest.raises(DecryptionError):
        _hazmat.decrypt_fields(b, ["email"], keyring)


def test_wrong_keyring_fails(keyring: FileKeyring, tmp_path: Path) -> None:
    record = _record(keyring)
    other = FileKeyring.create(tmp_path / "other")
    with pytest.raises(DecryptionError):
        _hazmat.decrypt_fields(record, ["email"], other)


def test_truncated_ciphertext_fails(keyring: FileKeyring) -> None:
    record = _record(keyring)
    record.email_ct = record.email_ct[:10]
    with pytest.raises(DecryptionError):
        _hazmat.decrypt_fields(record, ["email"], keyring)


def test_shredded_record_fails(keyring: FileKeyring) -> None:
    record = _record(keyring)
    record.wrapped_key = None
    record.kek_version = None
    with pytest.raises(ShreddedError):
        _hazmat.decrypt_fields(record, ["email"], keyring)


def test_retired_version_no_longer_unwraps(keyring: FileKeyring) -> None:
    record = _record(keyring)
    keyring.add_version()
    keyring.retire(1)
    with pytest.raises(KeyringError):
        _hazmat.decrypt_fields(record, ["email"], keyring)


def test_keyring_file_is_private_and_not_overwritten(tmp_path: Path) -> None:
    FileKeyring.create(tmp_path / "k")
    path = tmp_path / "k" / "keyring.json"
    assert path.stat().st_mode & 0o777 == 0o600
    with pytest.raises(KeyringError):
        FileKeyring.create(tmp_path / "k")


def test_errors_and_reprs_carry_no_pii(keyring: FileKeyring) -> None:
    assert "Example" not in repr(PII) and "Zo" not in repr(PII)
    record = _record(keyring)
    record.email_ct = b"\x01" + bytes(40)
    with pytest.raises(DecryptionError) as info:
        _hazmat.decrypt_fields(record, ["email"], keyring)
    assert "example" not in str(info.value).lower()
