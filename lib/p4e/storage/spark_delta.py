"""The `spark` engine: the delta-spark connector, where its jars are on the classpath."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pyspark.sql import DataFrame, Row, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from p4e.errors import ConcurrentWriteConflict, P4eError, TableNotFound
from p4e.storage.base import DeltaStore, WriteMode


def delta_spark_available(spark: SparkSession) -> bool:
    """True when the delta-spark classes load in the session's JVM.

    This is the one place p4e touches `_jvm`; over Spark Connect (no JVM handle)
    the Delta session extension in the server's conf is taken as the sign.
    """
    jvm = getattr(spark, "_jvm", None)
    if jvm is None:
        return "DeltaSparkSessionExtension" in (spark.conf.get("spark.sql.extensions", "") or "")
    try:
        jvm.java.lang.Class.forName(
            "io.delta.tables.DeltaTable",
            False,
            jvm.java.lang.Thread.currentThread().getContextClassLoader(),
        )
    except Exception:  # py4j wraps ClassNotFoundException
        return False
    return True


class SparkDeltaStore(DeltaStore):
    """Delta tables through `format("delta")` and Delta's SQL commands only (no
    `delta.tables` client), so the same code runs on Spark classic and over Spark Connect."""

    name = "spark"

    def _describe(self, what: str, path: str, *columns: str, limit: str = "") -> list[Row]:
        """Rows of `DESCRIBE DETAIL|HISTORY` (TableNotFound where no table is)."""
        with _missing_as_not_found(path):
            return (
                self.spark.sql(f"DESCRIBE {what} {_table(path)} {limit}").select(*columns).collect()
            )

    def exists(self, path: str) -> bool:
        try:
            self.read(path)
        except TableNotFound:
            return False
        return True

    def version(self, path: str) -> int:
        return int(self._describe("HISTORY", path, "version", limit="LIMIT 1")[0]["version"])

    def history(self, path: str) -> list[dict[str, Any]]:
        rows = self._describe("HISTORY", path, "version", "timestamp", "operation")
        return [r.asDict() for r in rows]

    def schema(self, path: str) -> tuple[StructType, list[str]]:
        partitions = self._describe("DETAIL", path, "partitionColumns")[0]["partitionColumns"]
        return self.read(path).schema, list(partitions)

    def read(self, path: str, version: int | None = None) -> DataFrame:
        reader = self.spark.read.format("delta")
        if version is not None:
            reader = reader.option("versionAsOf", version)
        with _missing_as_not_found(path):
            df = reader.load(path)
            df.schema  # noqa: B018 - resolves the table now (lazily over Spark Connect)
        return df

    def add_columns(self, path: str, columns: StructType) -> None:
        ddl = ", ".join(f"`{f.name}` {f.dataType.simpleString()}" for f in columns.fields)
        self.spark.sql(f"ALTER TABLE {_table(path)} ADD COLUMNS ({ddl})")

    def _write(
        self,
        df: DataFrame,
        path: str,
        mode: WriteMode,
        partition_by: list[str],
        replace_where: dict[str, list[Any]] | None,
    ) -> int:
        writer = _default_collation(df).write.format("delta").mode(mode)
        if partition_by:
            writer = writer.partitionBy(*partition_by)
        if replace_where:
            writer = writer.option(
                "replaceWhere",
                " AND ".join(
                    f"`{k}` IN ({', '.join(_sql_literal(v) for v in values)})"
                    for k, values in replace_where.items()
                ),
            )
        try:
            writer.save(path)
        except Exception as exc:
            if _CONFLICT.search(f"{type(exc).__name__} {exc}"):
                raise ConcurrentWriteConflict(
                    f"another writer committed to {path} first; nothing was written ({exc})"
                ) from exc
            if "DELTA_REPLACE_WHERE_MISMATCH" in str(exc):
                raise P4eError(
                    f"cannot replace {replace_where} in {path}: the data holds rows of "
                    "another partition; nothing was written"
                ) from exc
            raise
        return self.version(path)


# Delta's optimistic-concurrency failures (ConcurrentAppendException,
# ConcurrentDeleteReadException, …; error classes DELTA_CONCURRENT_*), raised through py4j
# or Spark Connect as generic errors carrying the name.
_CONFLICT = re.compile(r"Concurrent\w*Exception|DELTA_CONCURRENT_")


def _default_collation(df: DataFrame) -> DataFrame:
    """`df` with every string-holding column cast to its type's DDL text.

    Spark Connect limitation (pyspark 4.2 client): a Python `StringType()` (in a cast, a
    schema or a UDF's return type) reaches the server as a string explicitly collated
    UTF8_BINARY, which delta-spark writes into the table schema as
    `string collate UTF8_BINARY`, a type delta-rs and older Delta readers refuse. A cast to
    the DDL text is parsed by the server as the plain `string` (docs/engines.md).
    """
    strings = [f for f in df.schema.fields if "string" in f.dataType.simpleString()]
    if not strings:
        return df
    return df.withColumns({f.name: F.col(f.name).cast(f.dataType.simpleString()) for f in strings})


# What Delta answers for a path that holds no Delta table.
_MISSING = re.compile(r"DELTA_MISSING_DELTA_TABLE|DELTA_TABLE_NOT_FOUND|PATH_NOT_FOUND")


@contextmanager
def _missing_as_not_found(path: str) -> Iterator[None]:
    """Delta's "no table here" errors as TableNotFound; every other error as it is."""
    try:
        yield
    except Exception as exc:
        if _MISSING.search(str(exc)):
            raise TableNotFound(f"no Delta table at {path}") from exc
        raise


def _table(path: str) -> str:
    return "delta.`" + path.replace("`", "``") + "`"


def _sql_literal(value: Any) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return str(value)
