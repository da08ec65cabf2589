"""A dataset folder read by Spark's own readers, where Spark can reach it (local, HDFS, S3).

Nothing passes through the driver: CSV, JSON Lines and Parquet files are read by the executors,
checked with aggregate jobs and turned into the canonical tables (``inputs.SCHEMAS``) as Spark
DataFrames, which ``Engine.inputs`` hands to the same Ibis expressions the DuckDB engine runs.

For each file the folder may hold ``NAME.parquet`` (a file or a folder of parts) instead of the
CSV / JSON Lines file, with the same columns (times as ISO 8601 text or as timestamps; the
access file's ``customer_ids`` and ``fields`` as arrays of strings).

Events keep their line in the file as their id and evidence (``access.jsonl:LINE``), as the
DuckDB reader does: each row's line is its index inside its file block (rows of one block are
consecutive ids) plus the rows of the file's earlier blocks, all computed in Spark.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from custodes.dataset.schema import ACCESS_FILE, ACCESS_KEYS, CSV_COLUMNS, SIGNAL_KEYS, SIGNALS_FILE
from custodes.detect.errors import DetectInputError as InputError
from custodes.detect.spark_folder import SparkFolder, ts_any
from custodes.detect.tables import REVEALING_ACTIONS, SCHEMAS
from custodes.marketplace.models import (
    ACCESS_ACTIONS,
    CASE_KINDS,
    EMPLOYEE_ROLES,
    REVIEW_STATUSES,
    SELLER_STATUSES,
    SIGNAL_KINDS,
)


@dataclass
class SparkInputs:
    """The canonical input tables as Spark DataFrames (``SCHEMAS``' names, columns, types)."""

    frames: dict[str, Any]
    source: str

    NAMES = tuple(SCHEMAS)

    def counts(self) -> dict[str, int]:
        return {name: int(frame.count()) for name, frame in self.frames.items()}

    def unpersist(self) -> None:
        for frame in self.frames.values():
            frame.unpersist()


def _spark_type(name: str) -> str:
    return {"string": "string", "int64": "bigint", "int32": "int", "bool": "boolean"}[name]


def _typed(frame: Any, name: str) -> Any:
    """Exactly the canonical columns, in order, with the canonical types."""
    from pyspark.sql import functions as F

    return frame.select(
        *[F.col(f.name).cast(_spark_type(str(f.type))).alias(f.name) for f in SCHEMAS[name]]
    )


def _enum(column: str, allowed: tuple[str, ...]) -> tuple[Any, str]:
    from pyspark.sql import functions as F

    return (F.col(column).isNull() | ~F.col(column).isin(*allowed), f"bad {column}")


def _bad_time(frame: Any, column: str, required: bool = False) -> tuple[Any, str]:
    from pyspark.sql import functions as F

    null = F.col(column).isNull()
    cond = (~null & ts_any(frame, column).isNull()) | (null if required else F.lit(False))
    return cond, f"bad {column}"


def _check_people(r: SparkFolder, raw: dict[str, Any]) -> None:
    """employees, customers and sellers: keys, enumerations and times."""
    from pyspark.sql import functions as F

    emp, cus, sel = raw["employees"], raw["customers"], raw["sellers"]
    r.validate(
        "employees.csv",
        emp,
        key="employee_id",
        checks=(
            _enum("role", EMPLOYEE_ROLES),
            _bad_time(emp, "hired_at"),
            _bad_time(emp, "left_at"),
        ),
        refs=(("manager_id", emp, "employee_id", False),),
    )
    r.validate(
        "customers.csv",
        cus,
        key="customer_id",
        checks=(
            (F.col("email").isNull() & F.col("phone").isNull(), "customer without e-mail or phone"),
            _bad_time(cus, "created_at"),
        ),
    )
    r.validate(
        "sellers.csv",
        sel,
        key="seller_id",
        checks=(
            _enum("status", SELLER_STATUSES),
            _bad_time(sel, "created_at"),
            _bad_time(sel, "banned_at"),
        ),
    )


def _check_trade(r: SparkFolder, raw: dict[str, Any]) -> None:
    """products, orders, reviews and cases: keys, references and times."""
    from pyspark.sql import functions as F

    emp, cus, sel = raw["employees"], raw["customers"], raw["sellers"]
    pro, ords, rev, cas = raw["products"], raw["orders"], raw["reviews"], raw["cases"]
    market = (
        ("customer_id", cus, "customer_id", True),
        ("product_id", pro, "product_id", True),
        ("seller_id", sel, "seller_id", True),
    )
    rating = F.col("rating").cast("string")
    r.validate("products.csv", pro, key="product_id", refs=(("seller_id", sel, "seller_id", True),))
    r.validate(
        "orders.csv",
        ords,
        key="order_id",
        checks=(_bad_time(ords, "ordered_at", required=True),),
        refs=market,
    )
    r.validate(
        "reviews.csv",
        rev,
        key="review_id",
        checks=(
            (rating.isNull() | ~rating.isin("1", "2", "3", "4", "5"), "bad rating"),
            _enum("status", REVIEW_STATUSES),
            _bad_time(rev, "created_at", required=True),
            _bad_time(rev, "removed_at"),
        ),
        refs=(*market, ("removed_by", emp, "employee_id", False)),
    )
    r.validate(
        "cases.csv",
        cas,
        key="case_id",
        checks=(
            _enum("kind", CASE_KINDS),
            _bad_time(cas, "opened_at", required=True),
            _bad_time(cas, "closed_at"),
        ),
        refs=(
            ("employee_id", emp, "employee_id", True),
            ("customer_id", cus, "customer_id", False),
            ("seller_id", sel, "seller_id", False),
        ),
    )


def _read_access(r: SparkFolder, raw: dict[str, Any]) -> tuple[Any, Any]:
    """access.jsonl (or its Parquet twin), checked, and its (event, customer) links."""
    from pyspark.sql import functions as F

    access = r.lines(ACCESS_FILE, ACCESS_KEYS, required=True)
    if access is None:  # pragma: no cover - a required file is never None
        raise InputError(f"{ACCESS_FILE}: file missing from the dataset folder")
    access = access.select("*", ts_any(access, "time").alias("ts")).persist()
    r.validate(
        ACCESS_FILE,
        access,
        checks=(
            (F.col("time").isNull() | F.col("ts").isNull(), "bad time"),
            (F.col("action").isNull() | ~F.col("action").isin(*ACCESS_ACTIONS), "unknown action"),
        ),
        refs=(
            ("employee_id", raw["employees"], "employee_id", True),
            ("seller_id", raw["sellers"], "seller_id", False),
            ("product_id", raw["products"], "product_id", False),
            ("review_id", raw["reviews"], "review_id", False),
            ("case_id", raw["cases"], "case_id", False),
        ),
    )
    links = access.select(
        (F.col("line") - 1).alias("event_id"),
        F.explode(F.array_distinct(F.coalesce("customer_ids", F.array()))).alias("customer_id"),
    )
    r.validate(ACCESS_FILE, links, refs=(("customer_id", raw["customers"], "customer_id", False),))
    return access, links


def _read_signals(spark: Any, r: SparkFolder, raw: dict[str, Any]) -> Any:
    """signals.jsonl (optional), checked."""
    from pyspark.sql import functions as F

    signals = r.lines(SIGNALS_FILE, SIGNAL_KEYS, required=False)
    if signals is None:
        signals = spark.createDataFrame(
            [],
            "line bigint, time string, kind string, seller_id string, customer_id string, "
            "email string",
        )
    signals = signals.select("*", ts_any(signals, "time").alias("ts"))
    r.validate(
        SIGNALS_FILE,
        signals,
        checks=(
            (F.col("ts").isNull(), "bad time"),
            (F.col("kind").isNull() | ~F.col("kind").isin(*SIGNAL_KINDS), "bad signal kind"),
        ),
        refs=(
            ("seller_id", raw["sellers"], "seller_id", False),
            ("customer_id", raw["customers"], "customer_id", False),
        ),
    )
    return signals


def load_folder_spark(spark: Any, uri: str | Path) -> SparkInputs:
    """Read and check a dataset folder with Spark; the canonical tables stay in Spark."""
    r = SparkFolder(spark, str(uri))
    folder = r._hadoop_path(r.uri)
    if not folder.getFileSystem(r._conf).isDirectory(folder):
        raise InputError(f"{uri}: not a dataset folder")
    raw = {n.removesuffix(".csv"): r.csv(n) for n in CSV_COLUMNS}
    _check_people(r, raw)
    _check_trade(r, raw)
    access, links = _read_access(r, raw)
    signals = _read_signals(spark, r, raw)
    frames = {
        "events": _events(access),
        "event_customers": links,
        **_reference(raw),
        "signals": _signals(raw["customers"], signals),
    }
    return SparkInputs({name: _typed(frames[name], name).persist() for name in SCHEMAS}, str(uri))


def _events(access: Any) -> Any:
    from pyspark.sql import functions as F

    n_fields = F.coalesce(F.size("fields"), F.lit(0))
    n_fields = F.when(n_fields < 0, 0).otherwise(n_fields)  # size(null) is -1 in legacy mode
    n_customers = F.coalesce(F.size("customer_ids"), F.lit(0))
    n_customers = F.when(n_customers < 0, 0).otherwise(n_customers)
    return access.select(
        (F.col("line") - 1).alias("event_id"),
        F.concat(F.lit(f"{ACCESS_FILE}:"), F.col("line").cast("string")).alias("evidence"),
        "ts",
        "employee_id",
        "action",
        "seller_id",
        "product_id",
        "review_id",
        "case_id",
        "justification",
        n_fields.alias("n_fields"),
        n_customers.alias("n_customers"),
        ((n_fields > 0) | F.col("action").isin(*REVEALING_ACTIONS)).alias("reveal"),
        F.lit(None).cast("string").alias("approver_id"),
    )


def _signals(cus: Any, signals: Any) -> Any:
    """A reported e-mail is matched to a customer here, then forgotten."""
    from pyspark.sql import functions as F

    by_email = (
        cus.filter(F.col("email").isNotNull())
        .groupBy(F.lower("email").alias("_email"))
        .agg(F.min("customer_id").alias("_by_email"))
    )
    return signals.join(by_email, F.lower(signals.email) == by_email._email, "left").select(
        (F.col("line") - 1).alias("signal_id"),
        F.concat(F.lit(f"{SIGNALS_FILE}:"), F.col("line").cast("string")).alias("evidence"),
        "ts",
        "kind",
        "seller_id",
        F.coalesce(F.col("customer_id"), F.col("_by_email")).alias("customer_id"),
    )


def _reference(raw: dict[str, Any]) -> dict[str, Any]:
    """The reference tables with times as epoch seconds (``ts_any``)."""
    emp, cus, rev = raw["employees"], raw["customers"], raw["reviews"]
    sel, ords, cas = raw["sellers"], raw["orders"], raw["cases"]
    return {
        "employees": emp.select(
            "employee_id",
            "role",
            "team",
            "manager_id",
            ts_any(emp, "hired_at").alias("hired_ts"),
            ts_any(emp, "left_at").alias("left_ts"),
            "region",
        ),
        "customers": cus.select("customer_id", ts_any(cus, "created_at").alias("created_ts")),
        "sellers": sel.select("seller_id", "status", ts_any(sel, "banned_at").alias("banned_ts")),
        "products": raw["products"].select("product_id", "seller_id", "category"),
        "orders": ords.select(
            "order_id",
            "customer_id",
            "product_id",
            "seller_id",
            ts_any(ords, "ordered_at").alias("ordered_ts"),
        ),
        "reviews": rev.select(
            "review_id",
            "customer_id",
            "product_id",
            "seller_id",
            "rating",
            ts_any(rev, "created_at").alias("created_ts"),
            "status",
            ts_any(rev, "removed_at").alias("removed_ts"),
            "removed_by",
        ),
        "cases": cas.select(
            "case_id",
            "kind",
            "employee_id",
            "customer_id",
            "seller_id",
            ts_any(cas, "opened_at").alias("opened_ts"),
            ts_any(cas, "closed_at").alias("closed_ts"),
        ),
    }


def write_lines_spark(spark: Any, lines: list[str], uri: str) -> int:
    """Write alert lines where Spark can reach (a folder of text parts, replaced if present).

    Alerts are few (the budget caps them per day), so they come from the driver's list.
    """
    frame = spark.createDataFrame([(line,) for line in lines], "value string")
    frame.coalesce(1).write.mode("overwrite").text(uri)
    return len(lines)
