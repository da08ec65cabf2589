"""Vault: sealing and opening against the raw AES-GCM call on the same records; import rate."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bench.report import Row, best_of
from custodes.dataset.loader import import_dataset
from custodes.sim import SimConfig, generate
from custodes.store.engine import make_engine
from custodes.store.migrate import upgrade
from custodes.vault import _hazmat
from custodes.vault.envelope import field_aad, seal
from custodes.vault.keyring import FileKeyring
from custodes.vault.models import VaultRecord
from custodes.vault.service import CustomerPII, prepare_customer

FIELDS = ("name", "email", "phone")


def _records(n: int) -> list[tuple[str, dict[str, str]]]:
    return [
        (
            f"C{i:07d}",
            {
                "name": f"Person Number{i}",
                "email": f"p{i}@example.net",
                "phone": f"+4420794{i % 100000:05d}",
            },
        )
        for i in range(n)
    ]


def _import_seconds(db: Path, folder: Path, keyring: FileKeyring) -> float:
    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)
    start = time.perf_counter()
    import_dataset(engine, folder, keyring)
    elapsed = time.perf_counter() - start
    engine.dispose()
    return elapsed


def run(quick: bool = False) -> list[Row]:
    n = 5_000 if quick else 20_000
    records = _records(n)
    fields = n * len(FIELDS)
    tmp = Path(tempfile.mkdtemp(prefix="custodes-bench-"))
    try:
        keyring = FileKeyring.create(tmp / "keys")
        key = AESGCM.generate_key(bit_length=256)
        nonce = os.urandom(12)

        # The bound: one AES-GCM call per value with everything else prepared beforehand
        # (same values, same associated data; a fixed nonce is fine for timing, never for use).
        plain = [
            (value.encode(), field_aad(cid, field))
            for cid, values in records
            for field, value in values.items()
        ]

        def raw_encrypt() -> None:
            cipher = AESGCM(key)
            for value, aad in plain:
                cipher.encrypt(nonce, value, aad)

        def vault_seal() -> None:
            for cid, values in records:
                seal(cid, values, keyring)

        def vault_prepare() -> None:
            for cid, values in records:
                prepare_customer(keyring, cid, CustomerPII(**values), "GB")

        # The envelope bound: what any per-customer-key design must do per record (a fresh
        # key's AES key schedule, the field encryptions, one wrap), nothing else.
        kek = AESGCM(AESGCM.generate_key(bit_length=256))
        per_record = [
            [(value.encode(), field_aad(cid, field)) for field, value in values.items()]
            for cid, values in records
        ]
        fresh_key = os.urandom(32)

        def raw_envelope() -> None:
            for items in per_record:
                cipher = AESGCM(fresh_key)
                for value, aad in items:
                    cipher.encrypt(nonce, value, aad)
                kek.encrypt(nonce, fresh_key, b"wrap")

        raw = best_of(raw_encrypt) / fields
        envelope = best_of(raw_envelope) / fields
        sealed = best_of(vault_seal) / fields
        prepared = best_of(vault_prepare) / fields

        vault_rows = [
            VaultRecord(**prepare_customer(keyring, cid, CustomerPII(**v), "GB").vault_row)
            for cid, v in records
        ]
        cts = [(AESGCM(key).encrypt(nonce, value, aad), aad) for value, aad in plain]

        def raw_decrypt() -> None:
            cipher = AESGCM(key)
            for ct, aad in cts:
                cipher.decrypt(nonce, ct, aad)

        def vault_open() -> None:
            for record in vault_rows:
                _hazmat.decrypt_fields(record, FIELDS, keyring)

        wrapped_key = kek.encrypt(nonce, fresh_key, b"wrap")
        sealed_records = [
            [(AESGCM(fresh_key).encrypt(nonce, value, aad), aad) for value, aad in items]
            for items in per_record
        ]

        def raw_envelope_open() -> None:
            for items in sealed_records:
                cipher = AESGCM(kek.decrypt(nonce, wrapped_key, b"wrap"))
                for ct, aad in items:
                    cipher.decrypt(nonce, ct, aad)

        raw_d = best_of(raw_decrypt) / fields
        envelope_open = best_of(raw_envelope_open) / fields
        opened = best_of(vault_open) / fields

        customers = 5_000 if quick else 20_000
        data = tmp / "dataset"
        generate(data, SimConfig(seed=3, customers=customers, employees=200, days=7))
        only = tmp / "customers-only"
        shutil.copytree(data, only)
        for name in ("sellers.csv", "products.csv", "orders.csv", "reviews.csv", "cases.csv"):
            header = (only / name).read_text().splitlines(keepends=True)[0]
            (only / name).write_text(header)
        (only / "access.jsonl").write_text("")
        rows = sum(
            max(len(p.read_text().splitlines()) - (p.suffix == ".csv"), 0) for p in data.iterdir()
        )
        customers_rate = customers / _import_seconds(tmp / "only.db", only, keyring)
        folder_seconds = _import_seconds(tmp / "all.db", data, keyring)
    finally:
        shutil.rmtree(tmp)
    us = 1e6
    return [
        Row(
            "vault seal (envelope crypto) per field",
            sealed * us,
            "µs",
            "raw AESGCM.encrypt",
            sealed / raw,
            "<= 3x",
        ),
        Row(
            "vault prepare (normalise+seal+index+mask) per field",
            prepared * us,
            "µs",
            "raw AESGCM.encrypt",
            prepared / raw,
        ),
        Row(
            "vault open (_hazmat) per field",
            opened * us,
            "µs",
            "raw AESGCM.decrypt",
            opened / raw_d,
            "<= 3x",
        ),
        Row(
            "vault seal vs the envelope bound (key schedule + encrypts + wrap)",
            sealed * us,
            "µs",
            f"raw envelope {envelope * us:.2f} µs",
            sealed / envelope,
            "<= 3x",
        ),
        Row(
            "vault open vs the envelope bound (unwrap + key schedule + decrypts)",
            opened * us,
            "µs",
            f"raw envelope {envelope_open * us:.2f} µs",
            opened / envelope_open,
            "<= 3x",
        ),
        Row("raw AESGCM.encrypt per field", raw * us, "µs", "physical bound"),
        Row(
            f"import {customers:,} customers (sealed), SQLite",
            customers_rate,
            "customers/s",
            "",
            None,
            ">= 20,000/s",
        ),
        Row(
            f"import whole simulated folder ({rows:,} rows), SQLite",
            rows / folder_seconds,
            "rows/s",
            f"= {customers / folder_seconds:,.0f} customers/s",
        ),
    ]
