"""Building the Spark session every job and test passes on explicitly."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path

import pyspark
from pyspark.sql import SparkSession

from p4e.config.settings import Settings
from p4e.errors import ConfigError

# Settings p4e relies on whatever the configuration says: Delta readers expect
# microsecond timestamps, and every date computation is done in UTC.
REQUIRED_CONF = {
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.sql.session.timeZone": "UTC",
}

DELTA_CONF = {
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
}
# Libraries delta-spark's POM pulls in that the pyspark distribution already ships (at
# other versions): excluded, so the classpath carries Spark's copy only.
SHIPPED_WITH_SPARK = (
    "org.apache.hadoop:hadoop-client-api",
    "org.apache.hadoop:hadoop-client-runtime",
    "org.apache.parquet:parquet-column",
    "org.apache.parquet:parquet-common",
    "org.apache.parquet:parquet-encoding",
    "org.apache.parquet:parquet-format-structures",
    "org.apache.parquet:parquet-hadoop",
    "org.apache.parquet:parquet-jackson",
    "com.fasterxml.jackson.core:jackson-annotations",
    "com.fasterxml.jackson.core:jackson-core",
    "com.fasterxml.jackson.core:jackson-databind",
    "org.apache.logging.log4j:log4j-api",
    "org.apache.logging.log4j:log4j-core",
    "org.apache.logging.log4j:log4j-slf4j2-impl",
    "org.slf4j:slf4j-api",
    "org.xerial.snappy:snappy-java",
    "com.github.luben:zstd-jni",
    "org.roaringbitmap:RoaringBitmap",
    "org.roaringbitmap:shims",
    "io.airlift:aircompressor",
    "com.google.code.findbugs:jsr305",
    "org.locationtech.jts:jts-core",
    "commons-pool:commons-pool",
    "commons-logging:commons-logging",
)


def build_session(settings: Settings, extra_conf: Mapping[str, str] | None = None) -> SparkSession:
    """Return the Spark session for a p4e run.

    Under spark-submit, or with SPARK_REMOTE naming a Spark Connect server, the master
    and the classpath are the launcher's or the server's. Otherwise (a local run, or
    SPARK_REMOTE=local[...] starting a local Connect server) `spark.master` comes from the
    configuration, and the jars the run needs are resolved from Maven Central (cached in
    ~/.ivy2.5.2): delta-spark of the installed `delta-spark` package for
    `storage.engine: spark`, hadoop-aws for an `s3://` lakehouse. `auto` and `rs` fetch
    nothing (auto then runs on rs, README "Storage engines"). Executors run the driver's
    interpreter unless PYSPARK_PYTHON is already set.

    Args:
        settings: the run's settings: the `spark:` section (master, app name, conf),
            `storage.engine` (auto | spark | rs) and the lakehouse.
        extra_conf: settings applied last, e.g. by tests.

    Raises:
        ConfigError: a local run needs jars and they do not resolve.
    """
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    spark_settings = settings.spark
    conf = {**spark_settings.conf, **REQUIRED_CONF, **(extra_conf or {})}
    remote = os.environ.get("SPARK_REMOTE")
    master = None if remote or _under_spark_submit() else spark_settings.master
    if remote:  # Spark Connect refuses a master beside the remote
        conf.pop("spark.master", None)
    local_jvm = not _under_spark_submit() and (remote is None or remote.startswith("local"))
    needs = []
    if local_jvm and settings.engine == "spark":
        needs.append(("the delta-spark jars", delta_spark_conf, "; use storage.engine auto or rs"))
    if local_jvm and is_object_store(settings.config.lakehouse):
        needs.append(("hadoop-aws, which an s3:// lakehouse needs,", object_store_conf, ""))
    for _, add, _ in needs:
        conf = {**conf, **add(conf)}
    try:
        return _session(spark_settings.app_name, master, conf)
    except Exception as exc:
        if not needs:
            raise
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        what = " and ".join(n[0] for n in needs)
        hints = "".join(n[2] for n in needs)
        raise ConfigError(
            f"{what} could not be resolved from Maven Central ({first_line}){hints} where "
            "Maven is out of reach"
        ) from exc


def delta_spark_conf(conf: Mapping[str, str] | None = None) -> dict[str, str]:
    """Spark settings that put delta-spark on a session: its Maven artifact for the
    installed `delta-spark` and pyspark versions (the name
    `delta.configure_spark_with_delta_pip` gives) added to `spark.jars.packages`, the
    libraries Spark ships excluded from its dependencies, the Delta extension and catalog.
    spark-submit takes the same as `--conf` (README "Storage engines")."""
    spark_minor = ".".join(pyspark.__version__.split(".")[:2])
    artifact = f"io.delta:delta-spark_{spark_minor}_2.13:{metadata.version('delta-spark')}"
    return {**DELTA_CONF, **_with_package(conf or {}, artifact)}


def is_object_store(lakehouse: str) -> bool:
    """True for a lakehouse on S3-compatible object storage (`s3://` or `s3a://`)."""
    return lakehouse.startswith(("s3://", "s3a://"))


def object_store_conf(conf: Mapping[str, str] | None = None) -> dict[str, str]:
    """Spark settings for an `s3://` lakehouse: hadoop-aws at the Hadoop version pyspark
    ships, S3A serving both `s3://` and `s3a://`, and, where AWS_ENDPOINT_URL names an
    S3-compatible server, that endpoint with path-style addressing. Credentials and region
    come from the usual AWS variables or profile (S3A's default provider chain), which
    delta-rs and pyarrow read too (README "Object storage")."""
    settings = {
        **_with_package(conf or {}, f"org.apache.hadoop:hadoop-aws:{_hadoop_version()}"),
        "spark.hadoop.fs.s3.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
    }
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if endpoint:
        settings["spark.hadoop.fs.s3a.endpoint"] = endpoint
        settings["spark.hadoop.fs.s3a.path.style.access"] = "true"
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if region:
        settings["spark.hadoop.fs.s3a.endpoint.region"] = region
    return settings


def _with_package(conf: Mapping[str, str], artifact: str) -> dict[str, str]:
    """`spark.jars.packages` with `artifact` added, and Spark's own libraries excluded."""
    packages = [p for p in conf.get("spark.jars.packages", "").split(",") if p]
    excludes = [e for e in conf.get("spark.jars.excludes", "").split(",") if e]
    return {
        "spark.jars.packages": ",".join(dict.fromkeys([*packages, artifact])),
        "spark.jars.excludes": ",".join(dict.fromkeys([*excludes, *SHIPPED_WITH_SPARK])),
    }


def _hadoop_version() -> str:
    """The Hadoop version of the jars pyspark ships (hadoop-aws must match it exactly)."""
    jars = sorted((Path(pyspark.__file__).parent / "jars").glob("hadoop-client-api-*.jar"))
    if not jars:
        raise ConfigError("pyspark ships no hadoop-client-api jar; put hadoop-aws on the classpath")
    return jars[0].name.removeprefix("hadoop-client-api-").removesuffix(".jar")


def _session(app_name: str, master: str | None, conf: Mapping[str, str]) -> SparkSession:
    builder = SparkSession.builder.appName(app_name)
    if master is not None:
        builder = builder.master(master)
    for key, value in conf.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    for key, value in REQUIRED_CONF.items():
        spark.conf.set(key, value)
    return spark


def _under_spark_submit() -> bool:
    """True when spark-submit launched this interpreter (its launcher exports SPARK_ENV_LOADED)."""
    return os.environ.get("SPARK_ENV_LOADED") == "1"
