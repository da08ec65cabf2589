"""Spark's side of reading a dataset folder: files by name, line numbers, and the checks.

``SparkFolder`` reads a folder's CSV, JSON Lines or Parquet files with Spark's own readers
wherever Spark can reach (local, HDFS, S3), numbers lines in Spark (``numbered_lines``) and
runs each file's checks as one aggregate job; ``spark_inputs`` shapes the checked frames.
"""

from __future__ import annotations

import operator
from functools import reduce
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from custodes.dataset.reader import read_dataset
from custodes.dataset.schema import CSV_COLUMNS
from custodes.detect.errors import DetectInputError as InputError

OFFSET = r"(Z|[+-][0-9]{2}(:?[0-9]{2})?)$"  # an explicit offset, as the DuckDB reader requires
BOM = "\ufeff"
REPLACEMENT = "\ufffd"  # what Spark's decoders put where a byte was not UTF-8


def ts_seconds(column: Any) -> Any:
    """ISO 8601 text with an explicit offset (or a timestamp) → epoch seconds; else null."""
    from pyspark.sql import functions as F

    text = column.cast("string")
    parsed = F.unix_micros(column.cast("timestamp"))
    return F.when(text.rlike(OFFSET), F.floor(parsed / 1_000_000)).cast("bigint")


def ts_any(frame: Any, name: str) -> Any:
    """A time column as epoch seconds whether the file holds text (CSV, JSON) or timestamps."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    kind = frame.schema[name].dataType
    if isinstance(kind, T.TimestampType | T.TimestampNTZType):
        return F.floor(F.unix_micros(F.col(name).cast("timestamp")) / 1_000_000).cast("bigint")
    return ts_seconds(F.col(name))


def _is_local(uri: str) -> bool:
    return urlparse(uri).scheme in ("", "file")


def _local_path(uri: str) -> Path:
    parsed = urlparse(uri)
    return Path(parsed.path if parsed.scheme == "file" else uri)


class SparkFolder:
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
            numbered = numbered_lines(raw)
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
        text = numbered_lines(self.spark.read.text(self.path(name)))
        value = F.regexp_replace(F.col("value"), f"^{BOM}", "")
        text = text.select("line", value.alias("value")).filter(F.trim(F.col("value")) != "")
        parsed = text.select(
            "line",
            F.col("value").contains(REPLACEMENT).alias("_not_utf8"),
            F.from_json("value", schema, {"mode": "PERMISSIVE"}).alias("j"),
            F.from_json("value", "map<string,string>").alias("_keys"),
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


def numbered_lines(frame: Any) -> Any:
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
