"""Folder inputs stay in DuckDB (used in place, exported on demand); explained-path precedence."""

from __future__ import annotations

import gc
import json
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from custodes.dataset.reader import DatasetError, read_dataset
from custodes.detect.engine import connect, duckdb_connection
from custodes.detect.features import DAY_S, HOUR_S, build_features
from custodes.detect.inputs import SCHEMAS, Inputs, load_folder
from tests.support.dataset import write_dataset


def _schemas_held() -> set[str]:
    con = duckdb_connection()
    try:
        sql = "SELECT schema_name FROM duckdb_schemas() WHERE schema_name LIKE 'inputs_%'"
        return {name for (name,) in con.execute(sql).fetchall()}
    finally:
        con.close()


def test_folder_tables_are_used_in_place_and_freed(labelled: tuple[Path, dict]) -> None:
    inputs = load_folder(labelled[0])
    assert inputs.resident is not None
    schema = inputs.resident.schema
    engine = connect("duckdb")
    try:
        tables = engine.inputs(inputs)
        assert (
            engine.fetch(tables["events"].count().as_table()).iloc[0, 0]
            == (inputs.counts()["events"])
        )
    finally:
        engine.close()
    events = inputs.events  # Arrow on demand: ids and evidence follow the file's lines
    assert events.schema == SCHEMAS["events"]
    lines = (labelled[0] / "access.jsonl").read_text(encoding="utf-8").splitlines()
    assert events["event_id"].to_pylist() == list(range(len(lines)))
    assert events["evidence"][-1].as_py() == f"access.jsonl:{len(lines)}"
    assert schema in _schemas_held()
    del inputs, events
    gc.collect()
    assert schema not in _schemas_held()


T0 = 1_767_571_200  # 2026-01-05T00:00:00Z


def _table(name: str, rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=SCHEMAS[name])


def _world() -> Inputs:
    """A reports to M, M to T; A holds customer and seller cases, M a seller case."""
    reads = [  # (event_id, employee, customer, time)
        (0, "A", "c1", T0 + HOUR_S),  # A's case on c1: case
        (1, "A", "c3", T0 + HOUR_S),  # c3 bought from s1, A's case on s1: seller_case
        (2, "M", "c4", T0 + 2 * HOUR_S),  # A's case on c4 (chain) beats M's on s1 (seller)
        (3, "B", "c2", T0 + HOUR_S),  # no path
        (4, "A", "c1", T0 + 10 * DAY_S),  # the case closed long before: no path
        (5, "A", "c5", T0 + HOUR_S),  # case beats seller_case
        (6, "T", "c4", T0 + 2 * HOUR_S),  # one level up: chain
    ]
    events = [
        {
            "event_id": i,
            "evidence": f"t:{i}",
            "ts": ts,
            "employee_id": e,
            "action": "customer.view",
            "n_fields": 1,
            "n_customers": 1,
            "reveal": True,
        }
        for i, e, _, ts in reads
    ]
    cases = [
        {
            "case_id": "K1",
            "kind": "customer_contact",
            "employee_id": "A",
            "customer_id": "c1",
            "opened_ts": T0,
            "closed_ts": T0 + DAY_S,
        },
        {
            "case_id": "K2",
            "kind": "seller_support",
            "employee_id": "A",
            "seller_id": "s1",
            "opened_ts": T0,
        },
        {
            "case_id": "K3",
            "kind": "customer_contact",
            "employee_id": "A",
            "customer_id": "c4",
            "opened_ts": T0,
        },
        {
            "case_id": "K4",
            "kind": "customer_contact",
            "employee_id": "A",
            "customer_id": "c5",
            "opened_ts": T0,
        },
        {
            "case_id": "K5",
            "kind": "seller_support",
            "employee_id": "M",
            "seller_id": "s1",
            "opened_ts": T0,
        },
    ]
    bought = ("c3", "c4", "c5")
    return Inputs(
        events=_table("events", events),
        event_customers=_table(
            "event_customers", [{"event_id": i, "customer_id": c} for i, _, c, _ in reads]
        ),
        employees=_table(
            "employees",
            [
                {"employee_id": e, "role": "support_agent", "manager_id": m}
                for e, m in (("A", "M"), ("M", "T"), ("T", None), ("B", None))
            ],
        ),
        customers=_table(
            "customers", [{"customer_id": f"c{i}", "created_ts": 0} for i in range(6)]
        ),
        sellers=_table("sellers", [{"seller_id": "s1", "status": "active"}]),
        products=_table("products", [{"product_id": "p1", "seller_id": "s1"}]),
        orders=_table(
            "orders",
            [
                {
                    "order_id": f"o{c}",
                    "customer_id": c,
                    "product_id": "p1",
                    "seller_id": "s1",
                    "ordered_ts": 0,
                }
                for c in bought
            ],
        ),
        reviews=_table("reviews", []),
        cases=_table("cases", cases),
        signals=_table("signals", []),
    )


def test_explained_path_is_the_first_that_applies() -> None:
    engine = connect("duckdb")
    try:
        reads = engine.fetch(build_features(engine, _world()).reads)
    finally:
        engine.close()
    got = {
        int(r.event_id): (r.path if isinstance(r.path, str) else None, bool(r.explained))
        for r in reads.itertuples()
    }
    assert got == {
        0: ("case", True),
        1: ("seller_case", True),
        2: ("chain", True),
        3: (None, False),
        4: (None, False),
        5: ("case", True),
        6: ("chain", True),
    }


def test_a_rejected_folder_leaves_no_tables_behind(labelled: tuple[Path, dict], tmp_path) -> None:
    folder = tmp_path / "data"
    shutil.copytree(labelled[0], folder)
    path = folder / "access.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[2] = lines[2].replace('"action": "', '"action": "x')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    before = _schemas_held()
    with pytest.raises(DatasetError, match=r"^access\.jsonl:3:") as err:
        load_folder(folder)
    # Even while the error (and its traceback, holding the reader) is alive.
    assert err.tb is not None and _schemas_held() == before


def test_features_outlive_the_inputs_object(labelled: tuple[Path, dict]) -> None:
    """Scoring may go on after the caller drops its `Inputs`: the engine holds the tables."""
    engine = connect("duckdb")
    try:
        features = build_features(engine, load_folder(labelled[0]))
        gc.collect()
        assert engine.fetch(features.ev.count().as_table()).iloc[0, 0] > 0
    finally:
        engine.close()


def test_duckdb_spills_only_to_a_private_folder() -> None:
    """Raw input tables (with e-mails) must not spill into the working directory."""
    con = duckdb_connection()
    try:
        (folder,) = con.execute("SELECT current_setting('temp_directory')").fetchone()
    finally:
        con.close()
    assert Path(folder).is_dir() and not Path(folder).is_relative_to(Path.cwd())
    assert Path(folder).stat().st_mode & 0o077 == 0


def test_folder_with_byte_order_marks_and_null_emails_reads_like_the_import(
    tmp_path: Path,
) -> None:
    folder = write_dataset(tmp_path / "bom")
    with (folder / "signals.jsonl").open("a") as handle:
        handle.write(
            json.dumps(
                {
                    "time": "2025-02-02T00:00:00Z",
                    "kind": "canary_hit",
                    "seller_id": "S1",
                    "customer_id": None,
                    "email": None,
                }
            )
            + "\n"
        )
    for name in ("customers.csv", "employees.csv", "access.jsonl", "signals.jsonl"):
        path = folder / name
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    counts = load_folder(folder).counts()
    assert counts["events"] == 2 and counts["employees"] == 3 and counts["signals"] == 2
    assert len(read_dataset(folder).signals) == 2
