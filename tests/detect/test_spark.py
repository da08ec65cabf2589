"""The same Ibis expressions on local Spark give the same alerts as on DuckDB."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from custodes.detect.engine import connect, spark_session
from custodes.detect.inputs import load_folder
from custodes.detect.pipeline import run, to_json_lines
from custodes.sim import SimConfig
from custodes.sim.scenarios import generate_labelled
from tests.detect.conftest import KEY

pytest.importorskip("pyspark")
TINY = SimConfig(seed=12, customers=1200, employees=60, days=14)


@pytest.fixture(scope="module")
def spark() -> Iterator[object]:
    if shutil.which("java") is None:
        pytest.skip("Java is needed for Spark")
    session = spark_session("local[2]")
    session.conf.set("spark.sql.shuffle.partitions", "2")
    yield session
    session.stop()


def test_spark_matches_duckdb(spark: object, tmp_path: Path) -> None:
    generate_labelled(tmp_path / "data", tmp_path / "labels.json", TINY)
    inputs = load_folder(tmp_path / "data")
    duck = connect("duckdb")
    try:
        expected = run(inputs, duck)
    finally:
        duck.close()
    got = run(inputs, connect("spark", spark=spark))
    assert expected.alerts, "the tiny world should raise some alerts"
    assert to_json_lines(got, KEY) == to_json_lines(expected, KEY)
    assert got.stats == expected.stats
