"""After importing a simulated marketplace, no customer e-mail, phone or name is on disk."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import text

from custodes.dataset.loader import import_dataset
from custodes.sim import SimConfig, generate
from custodes.store.engine import make_engine
from custodes.store.migrate import upgrade
from custodes.vault.keyring import FileKeyring
from tests.support.idp import oidc_env, running_provider, signed_token


def _plaintext_values(folder: Path) -> set[bytes]:
    with (folder / "customers.csv").open(newline="") as handle:
        customers = list(csv.DictReader(handle))
    others: set[str] = set()
    for name in ("employees.csv", "sellers.csv"):
        with (folder / name).open(newline="") as handle:
            others |= {row["name"] for row in csv.DictReader(handle)}
    values = set()
    for row in customers:
        values.add(row["email"])
        if row["phone"]:
            values.add(row["phone"])
        # A customer who shares a name with an employee or seller is not a leak of theirs.
        if row["name"] not in others:
            values.add(row["name"])
    return {v.encode() for v in values}


def _leaks(blob: bytes, values: set[bytes]) -> list[bytes]:
    return [v for v in values if v in blob]


def test_database_wal_and_output_hold_no_plaintext(tmp_path: Path) -> None:
    data = tmp_path / "dataset"
    generate(data, SimConfig(seed=11, customers=1500, employees=40, days=10))
    values = _plaintext_values(data)
    assert len(values) > 3000

    home = tmp_path / "home"
    env = {**os.environ, "CUSTODES_HOME": str(home)}
    env.pop("CUSTODES_DATABASE_URL", None)
    outputs = []
    officer, proof = _privacy_officer(data), tmp_path / "id_token"
    erase = ["customers", "erase", "C000007", "--operator", officer, "--yes"]
    with running_provider() as provider:  # erasure is on the privacy officer's own proof
        env.update(oidc_env(provider))
        proof.write_text(signed_token(provider, officer))
        for args in (
            ["init"],
            ["import", str(data)],
            ["keys", "rotate"],
            [*erase, "--id-token-file", str(proof)],
        ):
            done = subprocess.run(
                [sys.executable, "-m", "custodes.cli.main", *args],
                env=env,
                capture_output=True,
                timeout=300,
                check=True,
            )
            outputs += [done.stdout, done.stderr]
    files = [p for p in home.rglob("*") if p.is_file() and p.parent.name != "keys"]
    assert any(p.name == "custodes.db" for p in files)
    blob = b"".join(p.read_bytes() for p in files) + b"".join(outputs)
    assert _leaks(blob, values) == []


def test_live_wal_holds_no_plaintext(tmp_path: Path) -> None:
    data = tmp_path / "dataset"
    generate(data, SimConfig(seed=12, customers=800, employees=30, days=7))
    values = _plaintext_values(data)
    db = tmp_path / "live.db"
    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)
    with engine.connect() as conn:
        conn.execute(text("PRAGMA wal_autocheckpoint=0"))  # keep every page in the WAL
        import_dataset(engine, data, FileKeyring.create(tmp_path / "keys"))
        wal = Path(f"{db}-wal")
        assert wal.exists() and wal.stat().st_size > 0
        blob = db.read_bytes() + wal.read_bytes()
        assert _leaks(blob, values) == []
    engine.dispose()


def _privacy_officer(data: Path) -> str:
    import csv

    with (data / "employees.csv").open(encoding="utf-8") as handle:
        return next(
            r["employee_id"] for r in csv.DictReader(handle) if r["role"] == "privacy_officer"
        )
