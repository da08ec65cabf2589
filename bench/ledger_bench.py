"""Ledger: root computation against hashlib, durable appends against pymerkle, proof latency."""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from pymerkle import SqliteTree
from sqlalchemy import create_engine, text

from bench.report import Row, best_of
from custodes.ledger.rfc6962 import root_from_leaf_hashes
from custodes.ledger.sequencer import Sequencer
from custodes.ledger.storage import LedgerReader
from custodes.store.engine import make_engine
from custodes.store.migrate import upgrade

PG_ADMIN = os.environ.get(
    "CUSTODES_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BATCH = 256


def _entries(n: int) -> list[bytes]:
    return [
        b'{"action":"customer.view","actor":"ep_%020d","decision":"allow","n":%d}' % (i, i)
        for i in range(n)
    ]


def _root_rows(n: int) -> list[Row]:
    leaves = [hashlib.sha256(i.to_bytes(8, "big")).digest() for i in range(n)]
    messages = [b"\x01" + leaves[i] + leaves[i ^ 1] for i in range(n - 1)]
    sha = hashlib.sha256

    def bound() -> None:  # the n-1 node hashes any root needs, nothing else
        for m in messages:
            sha(m).digest()

    ours = best_of(lambda: root_from_leaf_hashes(leaves))
    raw = best_of(bound)
    return [
        Row(
            f"in-memory root, {n:,} leaves",
            n / ours,
            "leaves/s",
            "hashlib bound",
            ours / raw,
            "<= 2x",
        )
    ]


def _append_rate(url: str, entries: list[bytes]) -> float:
    engine = make_engine(url)
    upgrade(engine)
    with Sequencer(engine) as seq:
        start = time.perf_counter()
        for i in range(0, len(entries), BATCH):
            seq.append_batch(entries[i : i + BATCH])
        elapsed = time.perf_counter() - start
    engine.dispose()
    return len(entries) / elapsed


def _pymerkle_rate(path: Path, entries: list[bytes]) -> float:
    tree = SqliteTree(str(path))
    start = time.perf_counter()
    for i in range(0, len(entries), BATCH):
        tree.append_entries(entries[i : i + BATCH])
    elapsed = time.perf_counter() - start
    tree.close()
    return len(entries) / elapsed


def _pg_database() -> tuple[str, str] | None:
    try:
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        name = f"custodes_bench_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
    except Exception:
        return None
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", name


def _drop_pg(name: str) -> None:
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _proof_latency(tmp: Path, size: int) -> float:
    engine = make_engine(f"sqlite:///{tmp / 'proofs.db'}")
    upgrade(engine)
    chunk = 8192
    with Sequencer(engine) as seq:
        for start in range(0, size, chunk):
            seq.append_batch(_entries_range(start, min(start + chunk, size)))
    reader = LedgerReader(engine)
    rng = random.Random(1)
    samples = []
    for _ in range(2000):
        index = rng.randrange(size)
        t = time.perf_counter()
        reader.inclusion_proof(index, size)
        samples.append(time.perf_counter() - t)
    engine.dispose()
    return statistics.median(samples)


def _entries_range(start: int, end: int) -> list[bytes]:
    return [b'{"n":%d}' % i for i in range(start, end)]


def run(quick: bool = False) -> list[Row]:
    rows = _root_rows(100_000 if quick else 1_000_000)
    entries = _entries(20_000 if quick else 200_000)
    tmp = Path(tempfile.mkdtemp(prefix="custodes-ledger-bench-"))
    try:
        peer = _pymerkle_rate(tmp / "pymerkle.db", entries)
        ours = _append_rate(f"sqlite:///{tmp / 'ledger.db'}", entries)
        rows.append(
            Row(
                f"durable append, SQLite, batches of {BATCH}",
                ours,
                "entries/s",
                f"pymerkle SqliteTree ({peer:,.0f}/s)",
                ours / peer,
                ">= 50,000/s",
            )
        )
        pg = _pg_database()
        if pg is not None:
            url, name = pg
            try:
                rate = _append_rate(url, entries)
            finally:
                _drop_pg(name)
            rows.append(
                Row(
                    f"durable append, PostgreSQL, batches of {BATCH}",
                    rate,
                    "entries/s",
                    f"pymerkle SqliteTree ({peer:,.0f}/s)",
                    rate / peer,
                    ">= 20,000/s",
                )
            )
        size = 200_000 if quick else 10_000_000
        median = _proof_latency(tmp, size)
        rows.append(
            Row(
                f"inclusion proof from storage, {size:,}-entry log (SQLite)",
                median * 1e3,
                "ms median",
                "",
                None,
                "<= 1 ms",
            )
        )
    finally:
        shutil.rmtree(tmp)
    return rows
