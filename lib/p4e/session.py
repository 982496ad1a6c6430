"""Building the Spark session every job and test passes on explicitly."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from pyspark.sql import SparkSession

from p4e.config import Config

# Settings p4e relies on whatever the configuration says: Delta readers expect
# microsecond timestamps, and every date computation is done in UTC.
REQUIRED_CONF = {
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.sql.session.timeZone": "UTC",
}


def build_session(cfg: Config, extra_conf: Mapping[str, str] | None = None) -> SparkSession:
    """Return the Spark session for a p4e run.

    Under spark-submit (or with SPARK_REMOTE set for Spark Connect) the master comes
    from the launcher; otherwise `spark.master` from the configuration is used.
    Executors run the driver's interpreter unless PYSPARK_PYTHON is already set.

    Args:
        cfg: main configuration; its `spark` section gives master, app name and conf.
        extra_conf: settings applied last, e.g. by tests.
    """
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    spark_cfg = cfg["spark"]
    builder = SparkSession.builder.appName(spark_cfg.get("app_name", "p4e"))
    launched = "SPARK_REMOTE" in os.environ or _under_spark_submit()
    if not launched:
        builder = builder.master(spark_cfg.get("master", "local[*]"))
    settings = {**{k: str(v) for k, v in spark_cfg.get("conf", {}).items()}, **REQUIRED_CONF}
    settings.update(extra_conf or {})
    for key, value in settings.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    for key, value in REQUIRED_CONF.items():
        spark.conf.set(key, value)
    return spark


def _under_spark_submit() -> bool:
    """True when spark-submit launched this interpreter (its launcher exports SPARK_ENV_LOADED)."""
    return os.environ.get("SPARK_ENV_LOADED") == "1"
