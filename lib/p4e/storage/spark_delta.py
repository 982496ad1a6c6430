"""The `spark` engine: the delta-spark connector, where its jars are on the classpath."""

from __future__ import annotations

from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import StructType

from p4e.errors import ConcurrentWriteConflict, TableNotFound
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
    """Delta tables through `format("delta")` and `delta.tables.DeltaTable`."""

    name = "spark"

    def _delta_table(self, path: str) -> Any:
        from delta.tables import DeltaTable

        if not self.exists(path):
            raise TableNotFound(f"no Delta table at {path}")
        return DeltaTable.forPath(self.spark, path)

    def exists(self, path: str) -> bool:
        from delta.tables import DeltaTable

        return bool(DeltaTable.isDeltaTable(self.spark, path))

    def version(self, path: str) -> int:
        return int(self._delta_table(path).history(1).collect()[0]["version"])

    def history(self, path: str) -> list[dict[str, Any]]:
        rows = self._delta_table(path).history().select("version", "timestamp", "operation")
        return [row.asDict() for row in rows.collect()]

    def schema(self, path: str) -> tuple[StructType, list[str]]:
        detail = self._delta_table(path).detail().select("partitionColumns").first()
        return self.read(path).schema, list(detail["partitionColumns"])

    def read(self, path: str, version: int | None = None) -> DataFrame:
        self._delta_table(path)
        reader = self.spark.read.format("delta")
        if version is not None:
            reader = reader.option("versionAsOf", version)
        return reader.load(path)

    def add_columns(self, path: str, columns: StructType) -> None:
        ddl = ", ".join(f"`{f.name}` {f.dataType.simpleString()}" for f in columns.fields)
        self.spark.sql(f"ALTER TABLE delta.`{path}` ADD COLUMNS ({ddl})")

    def _write(
        self,
        df: DataFrame,
        path: str,
        mode: WriteMode,
        partition_by: list[str],
        replace_where: dict[str, list[Any]] | None,
    ) -> int:
        writer = df.write.format("delta").mode(mode)
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
            if "ConcurrentAppendException" in str(exc) or "Concurrent" in type(exc).__name__:
                raise ConcurrentWriteConflict(
                    f"another writer committed to {path} first; nothing was written ({exc})"
                ) from exc
            raise
        return self.version(path)


def _sql_literal(value: Any) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return str(value)
