"""One local Spark session for the whole test run, configured for speed."""

from __future__ import annotations

from pathlib import Path

import pytest
from deltalake import DeltaTable
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import MapType

from p4e.config import Config, load_config, load_settings
from p4e.generate import generate_lakehouse
from p4e.pipeline import STEPS, run_steps
from p4e.session import build_session
from p4e.storage import open_store

TEST_SPARK_CONF = {
    "spark.master": "local[2]",
    "spark.sql.shuffle.partitions": "2",
    "spark.default.parallelism": "2",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.session.timeZone": "UTC",
    "spark.driver.memory": "2g",
    "spark.log.level": "ERROR",
    "spark.sql.adaptive.coalescePartitions.initialPartitionNum": "2",
    "spark.databricks.delta.snapshotPartitions": "2",
}


@pytest.fixture(scope="session")
def base_config() -> Config:
    """The shipped configuration on the rs engine (the local default; the engine tests
    run the spark engine beside it)."""
    return load_config().with_overrides(storage={"engine": "rs"})


@pytest.fixture(scope="session")
def spark(base_config):
    """The one session, with the delta-spark jars from Maven so both engines can run."""
    with_jars = base_config.with_overrides(storage={"engine": "spark"})
    session = build_session(load_settings(with_jars), TEST_SPARK_CONF)
    yield session


@pytest.fixture()
def cfg(base_config, tmp_path: Path) -> Config:
    """The shipped configuration with a fresh lakehouse under the test's tmp folder."""
    return base_config.with_overrides(lakehouse=str(tmp_path / "lakehouse"))


@pytest.fixture()
def store(spark, cfg):
    return open_store(spark, load_settings(cfg).engine)


# Gold tables only the year-by-year steps write (demographics, measures, rates).
YEARLY_GOLD = (
    "member_measures",
    "subgroup_rates",
    "equity_gaps",
    "gap_replicates",
    "eligibility",
    "data_completeness",
)
NIGHTLY_GOLD = (
    "member_measures",
    "subgroup_rates",
    "equity_gaps",
    "gap_replicates",
    "settlements",
    "eligibility",
    "data_completeness",
    "quarantine",
    "contract_baselines",
)
# Gold tables a nightly on unchanged inputs leaves at their versions: the yearly ones, and
# the contract baselines, frozen by the first settlement.
KEPT_ON_RERUN = (*YEARLY_GOLD, "contract_baselines")


@pytest.fixture(scope="session")
def nightly_twice(spark, base_config, tmp_path_factory):
    """Generate a small lakehouse, run the nightly, note gold versions, run it again.

    The second run computes only the years whose inputs changed: none.
    Shared by the pipeline and report tests (a nightly run is the slowest fixture)."""
    cfg = base_config.with_overrides(
        lakehouse=str(tmp_path_factory.mktemp("nightly") / "lakehouse"),
        stats={**base_config["stats"], "replicates": 100},
    )
    settings = load_settings(cfg)
    generate_lakehouse(spark, settings, members=3000, seed=11)
    first = run_steps(spark, settings, list(STEPS))
    store = open_store(spark, settings.engine)
    versions = {t: store.version(cfg.table_path("gold", t)) for t in NIGHTLY_GOLD}
    second = run_steps(spark, settings, list(STEPS), changed_years_only=True)
    return cfg, store, first, second, versions


# What each engine writes into a commit's commitInfo (engineInfo or clientVersion).
WRITERS = {"spark": "Delta-Lake/", "rs": "delta-rs"}


def committed_by(table: str, storage_options: dict[str, str] | None = None) -> str:
    """The writer named in the commitInfo of the table's latest commit."""
    info = DeltaTable(table, storage_options=storage_options).history(limit=1)[0]
    return str(info.get("engineInfo") or info.get("clientVersion"))


LINEAGE = ("input_versions", "created_run_id", "created_at")


def comparable(df: DataFrame) -> DataFrame:
    """`df` ready for chispa's row-order-free comparison: every MAP column as its JSON text
    (Spark cannot sort maps), without the lineage columns (`input_versions`, the Delta
    versions a row read, and the run and time that froze a baseline: they say where and
    when a result was computed, not what it is)."""
    df = df.drop(*(c for c in LINEAGE if c in df.columns))
    maps = [f.name for f in df.schema.fields if isinstance(f.dataType, MapType)]
    return df.withColumns({name: F.to_json(name) for name in maps})


def pytest_collection_modifyitems(items):
    """Tests on the shared nightly lakehouse (two nightlies and more) are `slow`:
    `pytest -m "not slow"` runs the rest in a few minutes."""
    for item in items:
        if "nightly_twice" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)
