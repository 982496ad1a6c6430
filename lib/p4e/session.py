"""Building the Spark session every job and test passes on explicitly."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from pyspark.sql import SparkSession

from p4e.config.sections import SparkSettings

# Settings p4e relies on whatever the configuration says: Delta readers expect
# microsecond timestamps, and every date computation is done in UTC.
REQUIRED_CONF = {
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.sql.session.timeZone": "UTC",
}


def build_session(
    settings: SparkSettings, extra_conf: Mapping[str, str] | None = None
) -> SparkSession:
    """Return the Spark session for a p4e run.

    Under spark-submit (or with SPARK_REMOTE set for Spark Connect) the master comes
    from the launcher; otherwise `spark.master` from the configuration is used.
    Executors run the driver's interpreter unless PYSPARK_PYTHON is already set.

    Args:
        settings: the `spark:` section (master, app name, conf).
        extra_conf: settings applied last, e.g. by tests.
    """
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.appName(settings.app_name)
    launched = "SPARK_REMOTE" in os.environ or _under_spark_submit()
    if not launched:
        builder = builder.master(settings.master)
    conf = {**settings.conf, **REQUIRED_CONF, **(extra_conf or {})}
    for key, value in conf.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    for key, value in REQUIRED_CONF.items():
        spark.conf.set(key, value)
    return spark


def _under_spark_submit() -> bool:
    """True when spark-submit launched this interpreter (its launcher exports SPARK_ENV_LOADED)."""
    return os.environ.get("SPARK_ENV_LOADED") == "1"
