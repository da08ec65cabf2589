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

import operator
from dataclasses import dataclass
from functools import reduce
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from custodes.dataset.reader import read_dataset
from custodes.dataset.schema import ACCESS_FILE, ACCESS_KEYS, CSV_COLUMNS, SIGNAL_KEYS, SIGNALS_FILE
from custodes.detect.inputs import REVEALING_ACTIONS, SCHEMAS
from custodes.errors import InputError
from custodes.marketplace.models import (
    ACCESS_ACTIONS,
    CASE_KINDS,
    EMPLOYEE_ROLES,
    REVIEW_STATUSES,
    SELLER_STATUSES,
    SIGNAL_KINDS,
)

OFFSET = r"(Z|[+-][0-9]{2}(:?[0-9]{2})?)$"  # an explicit offset, as the DuckDB reader requires
BOM = "\ufeff"
REPLACEMENT = "\ufffd"  # what Spark's decoders put where a byte was not UTF-8


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


def _ts(column: Any) -> Any:
    """ISO 8601 text with an explicit offset (or a timestamp) → epoch seconds; else null."""
    from pyspark.sql import functions as F

    text = column.cast("string")
    parsed = F.unix_micros(column.cast("timestamp"))
    return F.when(text.rlike(OFFSET), F.floor(parsed / 1_000_000)).cast("bigint")


def _ts_any(frame: Any, name: str) -> Any:
    """A time column as epoch seconds whether the file holds text (CSV, JSON) or timestamps."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    kind = frame.schema[name].dataType
    if isinstance(kind, T.TimestampType | T.TimestampNTZType):
        return F.floor(F.unix_micros(F.col(name).cast("timestamp")) / 1_000_000).cast("bigint")
    return _ts(F.col(name))


def _is_local(uri: str) -> bool:
    return urlparse(uri).scheme in ("", "file")


def _local_path(uri: str) -> Path:
    parsed = urlparse(uri)
    return Path(parsed.path if parsed.scheme == "file" else uri)


class _SparkFolder:
    """Reads, checks and shapes one dataset folder with Spark."""

    def __init__(self, spark: Any, uri: str) -> None:
        self.spark = spark
        self.uri = uri.rstrip("/")
        jvm = spark.sparkContext._jvm
        self._hadoop_path = jvm.org.apache.hadoop.fs.Path
        self._conf = spark.sparkContext._jsc.hadoopConfiguration()

    # -- files ------------------------------------------------------------------------------

    def path(self, name: str) -> str:
        return f"{self.uri}/{name}"

    def exists(self, name: str) -> bool:
        p = self._hadoop_path(self.path(name))
        return bool(p.getFileSystem(self._conf).exists(p))

    def fail(self, file: str, problem: str) -> None:
        """A check failed: on a local folder, the dataset reader names the line."""
        if _is_local(self.uri) and not self.exists(_parquet(file)):
            read_dataset(_local_path(self.uri))  # raises "file:line: ..." for the first problem
        raise InputError(f"{file}: {problem}")

    def csv(self, name: str) -> Any:
        """A reference file: Parquet if there is one, else the CSV (all text, empty = null)."""
        from pyspark.sql import functions as F

        if self.exists(_parquet(name)):
            frame = self.spark.read.parquet(self.path(_parquet(name)))
        elif self.exists(name):
            frame = (
                self.spark.read.option("header", True)
                .option("multiLine", True)
                .option("escape", '"')
                .option("mode", "FAILFAST")
                .option("encoding", "UTF-8")
                .csv(self.path(name))
            )
            frame = frame.toDF(*[c.removeprefix(BOM) for c in frame.columns])
        else:
            raise InputError(f"{name}: file missing from the dataset folder")
        missing = [c for c in CSV_COLUMNS[name] if c not in frame.columns]
        if missing:
            self.fail(name, f"missing column(s): {', '.join(missing)}")
        cols = []
        for c in CSV_COLUMNS[name]:
            kind = frame.schema[c].dataType.typeName()
            if kind in ("timestamp", "timestamp_ntz"):
                cols.append(F.col(c))
            else:
                text = F.col(c).cast("string")
                cols.append(F.when(text != "", text).alias(c))
        return frame.select(*cols)

    def lines(self, name: str, keys: tuple[str, ...], required: bool) -> Any | None:
        """A JSON Lines file (or its Parquet twin) as columns plus ``line`` (1-based)."""
        from pyspark.sql import functions as F
        from pyspark.sql import types as T

        lists = {"customer_ids", "fields"}
        schema = T.StructType(
            [
                T.StructField(k, T.ArrayType(T.StringType()) if k in lists else T.StringType())
                for k in keys
            ]
        )
        if self.exists(_parquet(name)):
            raw = self.spark.read.parquet(self.path(_parquet(name)))
            numbered = _numbered(raw)
            # As in JSON Lines, an absent column is null (a writer may drop an all-null one).
            return numbered.select(
                "line",
                *[
                    F.col(k) if k in raw.columns else F.lit(None).cast(schema[k].dataType).alias(k)
                    for k in keys
                ],
            )
        if not self.exists(name):
            if required:
                raise InputError(f"{name}: file missing from the dataset folder")
            return None
        text = _numbered(self.spark.read.text(self.path(name)))
        value = F.regexp_replace(F.col("value"), f"^{BOM}", "")
        text = text.select("line", value.alias("value")).filter(F.trim(F.col("value")) != "")
        parsed = text.select(
            "line",
            F.col("value").contains(REPLACEMENT).alias("_not_utf8"),
            F.from_json("value", schema, {"mode": "PERMISSIVE"}).alias("j"),
            F.from_json("value", T.MapType(T.StringType(), T.StringType())).alias("_keys"),
        )
        bad = parsed.filter(
            F.col("_not_utf8")
            | F.col("j").isNull()
            | F.col("_keys").isNull()
            | (F.size(F.array_except(F.map_keys("_keys"), F.array(*map(F.lit, keys)))) > 0)
        )
        if not bad.isEmpty():
            self.fail(name, "malformed line (not UTF-8, not a JSON object, or unknown keys)")
        return parsed.select("line", *[F.col(f"j.{k}").alias(k) for k in keys])

    # -- checks -----------------------------------------------------------------------------

    def validate(
        self,
        file: str,
        frame: Any,
        *,
        key: str | None = None,
        checks: tuple[tuple[Any, str], ...] = (),
        refs: tuple[tuple[str, Any, str, bool], ...] = (),
    ) -> None:
        """All of a file's checks in one Spark job; fail on the first problem found.

        ``key`` must be unique and present; each ``checks`` condition counts bad rows; each
        ``refs`` entry (column, target frame, target key, required) must resolve when set.
        """
        from pyspark.sql import functions as F

        joined = frame
        named: list[tuple[Any, str]] = []
        if key is not None:
            text = [c for c in frame.columns if frame.schema[c].dataType.typeName() == "string"]
            undecodable = [F.coalesce(F.col(c).contains(REPLACEMENT), F.lit(False)) for c in text]
            named.append((reduce(operator.or_, undecodable), "not UTF-8"))
            named.append((F.col(key).isNull(), f"duplicate or empty {key}"))
        named.extend(checks)
        for i, (column, target, target_key, required) in enumerate(refs):
            found = f"_ref{i}"
            keys = target.select(F.col(target_key).alias(found)).distinct()
            joined = joined.join(keys, F.col(column) == F.col(found), "left")
            missing = F.col(found).isNull()
            cond = (
                (F.col(column).isNull() | missing)
                if required
                else (F.col(column).isNotNull() & missing)
            )
            named.append((cond, f"unknown or empty {column}" if required else f"unknown {column}"))
        sums = [F.sum(F.when(c, 1).otherwise(0)).alias(f"c{i}") for i, (c, _) in enumerate(named)]
        if key is not None:
            sums += [F.count(F.lit(1)).alias("rows"), F.countDistinct(key).alias("distinct")]
        row = joined.agg(*sums).collect()[0]
        for i, (_, problem) in enumerate(named):
            if row[f"c{i}"]:
                self.fail(file, problem)
        if key is not None and row["rows"] != row["distinct"]:
            self.fail(file, f"duplicate or empty {key}")


def _parquet(name: str) -> str:
    return name.rsplit(".", 1)[0] + ".parquet"


def _numbered(frame: Any) -> Any:
    """``frame`` plus ``line``: the 1-based row number inside its file, computed in Spark.

    Rows of one file block are read in order and get consecutive ids; a block's first line
    is one more than the rows of the file's earlier blocks (a line that crosses a block edge
    belongs to the block where it starts, as Hadoop's line reader does).
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    tagged = frame.select(
        "*",
        F.col("_metadata.file_path").alias("_file"),
        F.col("_metadata.file_block_start").alias("_block"),
        F.monotonically_increasing_id().alias("_id"),
    ).persist()
    blocks = tagged.groupBy("_file", "_block").agg(
        F.min("_id").alias("_first"), F.count(F.lit(1)).alias("_n")
    )
    earlier = (
        Window.partitionBy("_file").orderBy("_block").rowsBetween(Window.unboundedPreceding, -1)
    )
    blocks = blocks.select(
        "_file",
        "_block",
        "_first",
        F.coalesce(F.sum("_n").over(earlier), F.lit(0)).alias("_before"),
    )
    line = F.col("_before") + (F.col("_id") - F.col("_first")) + 1
    return (
        tagged.join(F.broadcast(blocks), ["_file", "_block"])
        .select("*", line.alias("line"))
        .drop("_file", "_block", "_id", "_first", "_before")
    )


def load_folder_spark(spark: Any, uri: str | Path) -> SparkInputs:
    """Read and check a dataset folder with Spark; the canonical tables stay in Spark."""
    from pyspark.sql import functions as F

    r = _SparkFolder(spark, str(uri))
    folder = r._hadoop_path(r.uri)
    if not folder.getFileSystem(r._conf).isDirectory(folder):
        raise InputError(f"{uri}: not a dataset folder")
    raw = {n.removesuffix(".csv"): r.csv(n) for n in CSV_COLUMNS}
    emp, cus, sel = raw["employees"], raw["customers"], raw["sellers"]
    pro, ords, rev, cas = raw["products"], raw["orders"], raw["reviews"], raw["cases"]

    def enum(column: str, allowed: tuple[str, ...]) -> tuple[Any, str]:
        return (F.col(column).isNull() | ~F.col(column).isin(*allowed), f"bad {column}")

    def bad_time(frame: Any, column: str, required: bool = False) -> tuple[Any, str]:
        null = F.col(column).isNull()
        cond = (~null & _ts_any(frame, column).isNull()) | (null if required else F.lit(False))
        return cond, f"bad {column}"

    market = (
        ("customer_id", cus, "customer_id", True),
        ("product_id", pro, "product_id", True),
        ("seller_id", sel, "seller_id", True),
    )
    rating = F.col("rating").cast("string")
    r.validate(
        "employees.csv",
        emp,
        key="employee_id",
        checks=(enum("role", EMPLOYEE_ROLES), bad_time(emp, "hired_at"), bad_time(emp, "left_at")),
        refs=(("manager_id", emp, "employee_id", False),),
    )
    r.validate(
        "customers.csv",
        cus,
        key="customer_id",
        checks=(
            (F.col("email").isNull() & F.col("phone").isNull(), "customer without e-mail or phone"),
            bad_time(cus, "created_at"),
        ),
    )
    r.validate(
        "sellers.csv",
        sel,
        key="seller_id",
        checks=(
            enum("status", SELLER_STATUSES),
            bad_time(sel, "created_at"),
            bad_time(sel, "banned_at"),
        ),
    )
    r.validate("products.csv", pro, key="product_id", refs=(("seller_id", sel, "seller_id", True),))
    r.validate(
        "orders.csv",
        ords,
        key="order_id",
        checks=(bad_time(ords, "ordered_at", required=True),),
        refs=market,
    )
    r.validate(
        "reviews.csv",
        rev,
        key="review_id",
        checks=(
            (rating.isNull() | ~rating.isin("1", "2", "3", "4", "5"), "bad rating"),
            enum("status", REVIEW_STATUSES),
            bad_time(rev, "created_at", required=True),
            bad_time(rev, "removed_at"),
        ),
        refs=(*market, ("removed_by", emp, "employee_id", False)),
    )
    r.validate(
        "cases.csv",
        cas,
        key="case_id",
        checks=(
            enum("kind", CASE_KINDS),
            bad_time(cas, "opened_at", required=True),
            bad_time(cas, "closed_at"),
        ),
        refs=(
            ("employee_id", emp, "employee_id", True),
            ("customer_id", cus, "customer_id", False),
            ("seller_id", sel, "seller_id", False),
        ),
    )
    access = r.lines(ACCESS_FILE, ACCESS_KEYS, required=True)
    assert access is not None
    access = access.select("*", _ts_any(access, "time").alias("ts")).persist()
    r.validate(
        ACCESS_FILE,
        access,
        checks=(
            (F.col("time").isNull() | F.col("ts").isNull(), "bad time"),
            (F.col("action").isNull() | ~F.col("action").isin(*ACCESS_ACTIONS), "unknown action"),
        ),
        refs=(
            ("employee_id", emp, "employee_id", True),
            ("seller_id", sel, "seller_id", False),
            ("product_id", pro, "product_id", False),
            ("review_id", rev, "review_id", False),
            ("case_id", cas, "case_id", False),
        ),
    )
    links = access.select(
        (F.col("line") - 1).alias("event_id"),
        F.explode(F.array_distinct(F.coalesce("customer_ids", F.array()))).alias("customer_id"),
    )
    r.validate(ACCESS_FILE, links, refs=(("customer_id", cus, "customer_id", False),))

    signals = r.lines(SIGNALS_FILE, SIGNAL_KEYS, required=False)
    if signals is None:
        signals = spark.createDataFrame(
            [],
            "line bigint, time string, kind string, seller_id string, customer_id string, "
            "email string",
        )
    signals = signals.select("*", _ts_any(signals, "time").alias("ts"))
    r.validate(
        SIGNALS_FILE,
        signals,
        checks=(
            (F.col("ts").isNull(), "bad time"),
            (F.col("kind").isNull() | ~F.col("kind").isin(*SIGNAL_KINDS), "bad signal kind"),
        ),
        refs=(("seller_id", sel, "seller_id", False), ("customer_id", cus, "customer_id", False)),
    )
    return SparkInputs(_canonical(access, links, raw, signals), str(uri))


def _canonical(access: Any, links: Any, raw: dict[str, Any], signals: Any) -> dict[str, Any]:
    from pyspark.sql import functions as F

    n_fields = F.coalesce(F.size("fields"), F.lit(0))
    n_fields = F.when(n_fields < 0, 0).otherwise(n_fields)  # size(null) is -1 in legacy mode
    n_customers = F.coalesce(F.size("customer_ids"), F.lit(0))
    n_customers = F.when(n_customers < 0, 0).otherwise(n_customers)
    events = access.select(
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
    emp, cus = raw["employees"], raw["customers"]
    by_email = (
        cus.filter(F.col("email").isNotNull())
        .groupBy(F.lower("email").alias("_email"))
        .agg(F.min("customer_id").alias("_by_email"))
    )
    sig = signals.join(by_email, F.lower(signals.email) == by_email._email, "left").select(
        (F.col("line") - 1).alias("signal_id"),
        F.concat(F.lit(f"{SIGNALS_FILE}:"), F.col("line").cast("string")).alias("evidence"),
        "ts",
        "kind",
        "seller_id",
        F.coalesce(F.col("customer_id"), F.col("_by_email")).alias("customer_id"),
    )
    rev = raw["reviews"]
    frames = {
        "events": events,
        "event_customers": links,
        "employees": emp.select(
            "employee_id",
            "role",
            "team",
            "manager_id",
            _ts_any(emp, "hired_at").alias("hired_ts"),
            _ts_any(emp, "left_at").alias("left_ts"),
            "region",
        ),
        "customers": cus.select("customer_id", _ts_any(cus, "created_at").alias("created_ts")),
        "sellers": raw["sellers"].select(
            "seller_id", "status", _ts_any(raw["sellers"], "banned_at").alias("banned_ts")
        ),
        "products": raw["products"].select("product_id", "seller_id", "category"),
        "orders": raw["orders"].select(
            "order_id",
            "customer_id",
            "product_id",
            "seller_id",
            _ts_any(raw["orders"], "ordered_at").alias("ordered_ts"),
        ),
        "reviews": rev.select(
            "review_id",
            "customer_id",
            "product_id",
            "seller_id",
            "rating",
            _ts_any(rev, "created_at").alias("created_ts"),
            "status",
            _ts_any(rev, "removed_at").alias("removed_ts"),
            "removed_by",
        ),
        "cases": raw["cases"].select(
            "case_id",
            "kind",
            "employee_id",
            "customer_id",
            "seller_id",
            _ts_any(raw["cases"], "opened_at").alias("opened_ts"),
            _ts_any(raw["cases"], "closed_at").alias("closed_ts"),
        ),
        "signals": sig,
    }
    return {name: _typed(frame, name).persist() for name, frame in frames.items()}


def write_lines_spark(spark: Any, lines: list[str], uri: str) -> int:
    """Write alert lines where Spark can reach (a folder of text parts, replaced if present).

    Alerts are few (the budget caps them per day), so they come from the driver's list.
    """
    frame = spark.createDataFrame([(line,) for line in lines], "value string")
    frame.coalesce(1).write.mode("overwrite").text(uri)
    return len(lines)
