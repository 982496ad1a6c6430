"""Delta Lake storage behind one small interface, with two engines (README, "Storage engines").

`rs` (the embedded default) drives delta-rs from Spark: executors write Parquet,
the driver commits the files in one Delta transaction. `spark` uses the
delta-spark connector where its jars are on the classpath. Both write ordinary
Delta tables that any Delta reader opens.

Every job obtains its store from `open_store(spark, settings.engine)` and uses only:

    store.read(path, version=None)           -> DataFrame
    store.write(df, path, mode, partition_by=None, replace_where=None) -> version
    store.exists(path), store.version(path), store.history(path)
"""

from __future__ import annotations

import logging

from pyspark.sql import SparkSession

from p4e.config.sections import ENGINES
from p4e.errors import ConfigError
from p4e.storage.base import DeltaStore, WriteMode
from p4e.storage.rs import RsStore
from p4e.storage.spark_delta import SparkDeltaStore, delta_spark_available

log = logging.getLogger("p4e")


def open_store(spark: SparkSession, engine: str) -> DeltaStore:
    """The Delta store of `storage.engine` (auto | spark | rs).

    Raises:
        ConfigError: an unknown engine, or `spark` without the delta-spark classes on the
            classpath.
    """
    if engine not in ENGINES:
        raise ConfigError(f"storage.engine is {engine!r}; use one of {', '.join(ENGINES)}")
    if engine == "auto":
        engine = "spark" if delta_spark_available(spark) else "rs"
        log.info(
            "storage engine: %s (auto: delta-spark classes %s)",
            engine,
            "loaded" if engine == "spark" else "not on the classpath",
        )
    if engine == "spark":
        if not delta_spark_available(spark):
            raise ConfigError(
                "storage.engine is 'spark' but the delta-spark classes are not on the "
                "classpath; add the delta-spark jars (spark.jars.packages) or use engine 'rs'"
            )
        return SparkDeltaStore(spark)
    return RsStore(spark)


__all__ = ["DeltaStore", "RsStore", "SparkDeltaStore", "WriteMode", "open_store"]
