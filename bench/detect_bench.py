"""Detection at scale: a dataset folder of 1M and 10M access events scored on DuckDB.

A simulated marketplace (one month, 400 employees) is tiled into ``k`` independent copies of
its workforce (employee and case ids suffixed, customers and catalogue shared), which is what a
company ``k`` times bigger with the same customers would log. Each size is scored end to end
(read and check the folder, features, signals, alerts) in a fresh subprocess so its peak memory
(max RSS) is its own. Target: 10M events in <= 60 s under 8 GiB.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from bench.report import Row
from custodes.sim import SimConfig, build, write

BASE = SimConfig(seed=2024, customers=100_000, employees=400, days=30)
QUICK_BASE = SimConfig(seed=2024, customers=5_000, employees=100, days=30)


def tile(base: Path, out: Path, events: int) -> int:
    """Write ``out`` as ``base`` with its workforce repeated until ``events`` accesses."""
    out.mkdir(parents=True, exist_ok=True)
    db = duckdb.connect()
    n = db.execute(
        "SELECT count(*) FROM read_json(?, format = 'newline_delimited')",
        [str(base / "access.jsonl")],
    ).fetchall()[0][0]
    copies = max(1, -(-events // n))
    for name in (
        "customers.csv",
        "sellers.csv",
        "products.csv",
        "orders.csv",
        "reviews.csv",
        "signals.jsonl",
    ):
        (out / name).write_bytes((base / name).read_bytes())
    rng = f"range({copies})"
    sfx = "CASE WHEN k = 0 THEN '' ELSE '-' || k END"
    db.execute(
        f"""COPY (SELECT employee_id || {sfx} AS employee_id, name, role, team,
        CASE WHEN manager_id IS NULL THEN NULL ELSE manager_id || {sfx} END AS manager_id,
        hired_at, left_at, region FROM read_csv(?, all_varchar = true), {rng} t(k)
        ORDER BY k, employee_id) TO '{out / "employees.csv"}' (HEADER, DELIMITER ',')""",
        [str(base / "employees.csv")],
    )
    db.execute(
        f"""COPY (SELECT case_id || {sfx} AS case_id, kind, employee_id || {sfx}
        AS employee_id, customer_id, seller_id, opened_at, closed_at
        FROM read_csv(?, all_varchar = true), {rng} t(k) ORDER BY k, case_id)
        TO '{out / "cases.csv"}' (HEADER, DELIMITER ',')""",
        [str(base / "cases.csv")],
    )
    db.execute(
        f"""COPY (SELECT time, employee_id || {sfx} AS employee_id, action, customer_ids,
        seller_id, product_id, review_id,
        CASE WHEN case_id IS NULL THEN NULL ELSE case_id || {sfx} END AS case_id, fields,
        justification FROM read_json(?, format = 'newline_delimited', columns = {{
        'time': 'VARCHAR', 'employee_id': 'VARCHAR', 'action': 'VARCHAR',
        'customer_ids': 'VARCHAR[]', 'seller_id': 'VARCHAR', 'product_id': 'VARCHAR',
        'review_id': 'VARCHAR', 'case_id': 'VARCHAR', 'fields': 'VARCHAR[]',
        'justification': 'VARCHAR'}}), {rng} t(k) ORDER BY time, k LIMIT {events})
        TO '{out / "access.jsonl"}' (FORMAT JSON)""",
        [str(base / "access.jsonl")],
    )
    db.close()
    return events


_CHILD = """
import json, sys, time
from custodes.detect.engine import connect
from custodes.detect.inputs import load_folder
from custodes.detect.pipeline import run
t0 = time.perf_counter()
inputs = load_folder(sys.argv[1])
t1 = time.perf_counter()
engine = connect("duckdb")
result = run(inputs, engine)
t2 = time.perf_counter()
print(json.dumps({"load": t1 - t0, "score": t2 - t1, "total": t2 - t0,
                  "events": inputs.counts()["events"], "alerts": len(result.alerts)}))
"""


_SPARK_CHILD = """
import json, sys, time
from custodes.detect.engine import connect, spark_session
from custodes.detect.pipeline import run
from custodes.detect.spark_inputs import load_folder_spark
session = spark_session("local[2]")
session.sparkContext.setLogLevel("ERROR")
t0 = time.perf_counter()
inputs = load_folder_spark(session, sys.argv[1])
events = inputs.counts()["events"]
t1 = time.perf_counter()
result = run(inputs, connect("spark", spark=session))
t2 = time.perf_counter()
session.stop()
print(json.dumps({"load": t1 - t0, "score": t2 - t1, "total": t2 - t0,
                  "events": events, "alerts": len(result.alerts)}))
"""
SPARK_EVENTS = int(os.environ.get("CUSTODES_BENCH_SPARK_EVENTS", "1000000"))
"""Events for the Spark figure (local[2]; 0 leaves it out). Spark start-up is not timed."""


def spark_available() -> bool:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return False
    return shutil.which("java") is not None


def score_folder(folder: Path, child: str = _CHILD) -> tuple[dict[str, float], float]:
    """Score ``folder`` in a child process: its timings and its peak RSS in GiB."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    out = subprocess.run(
        [sys.executable, "-c", child, str(folder)], check=True, capture_output=True, text=True
    )
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    return figures, max(peak_kib, before) / 2**20


def run(quick: bool) -> list[Row]:
    sizes = (100_000, 300_000) if quick else (1_000_000, 3_000_000, 10_000_000)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="custodes-detect-bench-") as tmp:
        base = Path(tmp) / "base"
        t = time.perf_counter()
        write(build(QUICK_BASE if quick else BASE), base)
        rows.append(Row("detect: simulate base month", time.perf_counter() - t, "s"))
        first: float | None = None
        for n in sizes:
            folder = Path(tmp) / f"n{n}"
            tile(base, folder, n)
            figures, gib = score_folder(folder)
            first = first or figures["total"]
            label = f"{n / 1e6:g}M" if n >= 1e6 else f"{n // 1000}k"
            rows.append(Row(f"detect {label} events: read+check", figures["load"], "s"))
            rows.append(
                Row(
                    f"detect {label} events: end to end",
                    figures["total"],
                    "s",
                    f"{sizes[0] // 1000:,}k events",
                    figures["total"] / first,
                    "<= 60 s at 10M" if n == sizes[-1] else "",
                )
            )
            rows.append(
                Row(
                    f"detect {label} events: peak memory",
                    gib,
                    "GiB",
                    "",
                    None,
                    "< 8 GiB" if n == sizes[-1] else "",
                )
            )
            shutil.rmtree(folder)
        spark_events = min(SPARK_EVENTS, 100_000) if quick else SPARK_EVENTS
        if spark_events and spark_available():
            folder = Path(tmp) / "spark"
            tile(base, folder, spark_events)
            figures, _ = score_folder(folder, _SPARK_CHILD)
            duck, _ = score_folder(folder)
            label = (
                f"{spark_events / 1e6:g}M" if spark_events >= 1e6 else f"{spark_events // 1000}k"
            )
            rows.append(
                Row(f"detect {label} events on Spark local[2]: read+check", figures["load"], "s")
            )
            rows.append(
                Row(
                    f"detect {label} events on Spark local[2]: end to end",
                    figures["total"],
                    "s",
                    "DuckDB, same folder",
                    figures["total"] / duck["total"],
                )
            )
            if figures["alerts"] != duck["alerts"]:
                raise SystemExit("Spark and DuckDB disagree on the number of alerts")
    return rows


if __name__ == "__main__":
    from bench.report import print_rows

    print_rows(run("--quick" in sys.argv))
