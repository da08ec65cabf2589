"""Spark reads the folder with its own readers and gives the same alerts as DuckDB.

The world has nulls in every nullable column (CSV cells and JSON keys alike), which is what
crashed the old path (a nullable integer became a float on its way through pandas), and runs
with a cluster-style master (local[2]).
"""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from custodes.detect.engine import connect, spark_session
from custodes.detect.inputs import load_folder
from custodes.detect.pipeline import run, to_json_lines
from custodes.errors import InputError
from custodes.sim import SimConfig
from custodes.sim.scenarios import generate_labelled
from tests.support.detect import KEY

pytest.importorskip("pyspark")
TINY = SimConfig(seed=12, customers=1200, employees=60, days=14)

NULLABLE = {
    "employees.csv": ("team", "manager_id", "hired_at", "left_at", "region"),
    "customers.csv": ("name", "country", "region", "language", "created_at"),
    "sellers.csv": ("country", "created_at", "banned_at"),
    "products.csv": ("category", "title"),
    "orders.csv": (),
    "reviews.csv": ("removed_at", "removed_by"),
    "cases.csv": ("customer_id", "seller_id", "closed_at"),
}
ACCESS_NULLABLE = (
    "seller_id",
    "product_id",
    "review_id",
    "case_id",
    "justification",
    "fields",
    "customer_ids",
)


def null_every_nullable_column(folder: Path) -> None:
    """Empty a share of every nullable CSV column, null or drop every optional JSON key."""
    for name, columns in NULLABLE.items():
        path = folder / name
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        fields = list(rows[0])
        for n, row in enumerate(rows):
            for k, column in enumerate(columns):
                if (n + k) % 4 == 0:
                    row[column] = ""
            if name == "customers.csv" and n % 5 == 1:  # one of e-mail or phone may be empty
                row["phone" if row["email"] else "email"] = ""
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fields, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
    access = folder / "access.jsonl"
    lines = [json.loads(line) for line in access.read_text().splitlines()]
    for n, event in enumerate(lines):
        key = ACCESS_NULLABLE[n % len(ACCESS_NULLABLE)]
        if n % 3 == 0:
            event[key] = None
        elif n % 3 == 1:
            event.pop(key, None)
    access.write_text("".join(json.dumps(e) + "\n" for e in lines))
    customers = list(csv.DictReader((folder / "customers.csv").open(encoding="utf-8")))
    with_email = next(c for c in customers if c["email"])
    signals = folder / "signals.jsonl"
    extra = [
        {
            "time": "2026-01-06T10:00:00Z",
            "kind": "canary_hit",
            "seller_id": None,
            "customer_id": None,
            "email": with_email["email"].upper(),
        },
        {
            "time": "2026-01-07T10:00:00+01:00",
            "kind": "customer_complaint",
            "seller_id": None,
            "customer_id": None,
            "email": None,
        },
    ]
    with signals.open("a", encoding="utf-8") as handle:
        handle.write("".join(json.dumps(s) + "\n" for s in extra))


@pytest.fixture(scope="module")
def spark() -> Iterator[object]:
    if shutil.which("java") is None:
        pytest.skip("Java is needed for Spark")
    session = spark_session("local[2]")
    session.conf.set("spark.sql.shuffle.partitions", "2")
    yield session
    session.stop()


def test_spark_reads_the_folder_itself_and_matches_duckdb(spark: object, tmp_path: Path) -> None:
    from custodes.detect.spark_inputs import load_folder_spark

    folder = tmp_path / "data"
    generate_labelled(folder, tmp_path / "labels.json", TINY)
    null_every_nullable_column(folder)
    duck = connect("duckdb")
    try:
        expected = run(load_folder(folder), duck)
    finally:
        duck.close()
    got = run(load_folder_spark(spark, folder.as_uri()), connect("spark", spark=spark))
    assert expected.alerts, "the tiny world should raise some alerts"
    assert to_json_lines(got, KEY) == to_json_lines(expected, KEY)
    assert got.stats == expected.stats


def test_arrow_tables_with_null_integers_reach_spark_intact(spark: object) -> None:
    engine = connect("spark", spark=spark)
    table = pa.table(
        {
            "closed_ts": pa.array([1769114291, None], pa.int64()),
            "rating": pa.array([None, 5], pa.int32()),
            "reveal": pa.array([None, True], pa.bool_()),
        }
    )
    expr = engine.register("t", table)
    assert engine.fetch(expr.order_by("closed_ts"))["closed_ts"].tolist()[0] == 1769114291


def test_spark_names_the_line_of_a_bad_row(spark: object, tmp_path: Path) -> None:
    from custodes.detect.spark_inputs import load_folder_spark
    from tests.support.dataset import write_dataset

    folder = write_dataset(tmp_path / "d")
    with (folder / "access.jsonl").open("a") as handle:
        handle.write(
            json.dumps(
                {"time": "2025-01-09T00:00:00Z", "employee_id": "E2", "action": "customer.steal"}
            )
            + "\n"
        )
    with pytest.raises(InputError, match=r"^access.jsonl:3: action 'customer.steal'"):
        load_folder_spark(spark, str(folder))


def test_spark_reads_parquet_twins_of_the_files(spark: object, tmp_path: Path) -> None:
    """Each file may be NAME.parquet instead (times as text or as timestamps)."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq
    from pyarrow import csv as pacsv

    from custodes.detect.spark_inputs import load_folder_spark
    from tests.support.dataset import write_dataset

    text = write_dataset(tmp_path / "text")
    expected = load_folder(text).counts()
    folder = tmp_path / "parquet"
    folder.mkdir()
    for name in NULLABLE:
        table = pacsv.read_csv(
            text / name,
            convert_options=pacsv.ConvertOptions(
                column_types={
                    c: pa.string() for c in csv.DictReader((text / name).open()).fieldnames or []
                },
                strings_can_be_null=True,
            ),
        )
        if name == "orders.csv":  # a real timestamp column, as a warehouse export would have
            when = pc.strptime(table["ordered_at"], format="%Y-%m-%dT%H:%M:%SZ", unit="s")
            table = table.set_column(
                table.schema.get_field_index("ordered_at"),
                "ordered_at",
                pc.assume_timezone(when, "UTC"),
            )
        pq.write_table(table, folder / name.replace(".csv", ".parquet"))
    for name in ("access", "signals"):
        rows = [json.loads(line) for line in (text / f"{name}.jsonl").read_text().splitlines()]
        pq.write_table(pa.Table.from_pylist(rows), folder / f"{name}.parquet")
    got = load_folder_spark(spark, str(folder))
    assert got.counts() == expected
    events = got.frames["events"].orderBy("event_id").collect()
    assert [e["evidence"] for e in events] == ["access.jsonl:1", "access.jsonl:2"]
