"""The Delta storage engines: real Delta tables, atomic writes, failure and conflict safety."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal
from pathlib import Path

import pytest
from chispa import assert_df_equality
from deltalake import DeltaTable
from pyspark.sql import functions as F

from p4e.config import load_settings
from p4e.errors import ConcurrentWriteConflict, ConfigError, P4eError, SchemaMismatch, TableNotFound
from p4e.storage import SparkDeltaStore, open_store
from p4e.storage.spark_delta import delta_spark_available

SCHEMA = "id BIGINT, year INT, day DATE, at TIMESTAMP, amount DECIMAL(18,2), label STRING"


def rows(year: int, n: int = 3, label: str = "a") -> list[tuple]:
    return [
        (
            year * 100 + i,
            year,
            dt.date(year, 1, 1) + dt.timedelta(days=i),
            dt.datetime(year, 6, 1, 12, tzinfo=dt.timezone.utc) + dt.timedelta(minutes=i),
            Decimal(f"{i}.25"),
            None if i == 0 else label,
        )
        for i in range(n)
    ]


ENGINES = ("rs", "spark")
RS_ONLY = pytest.mark.parametrize("store", ["rs"], indirect=True)


@pytest.fixture(params=ENGINES)
def store(request, spark):
    """Each storage test runs on both engines (RS_ONLY: the rs engine's staged commits)."""
    return open_store(spark, request.param)


@pytest.fixture()
def table(cfg) -> str:
    return cfg.table_path("gold", "t")


@pytest.fixture()
def seeded(spark, store, table):
    df = spark.createDataFrame(rows(2023) + rows(2024), SCHEMA)
    store.write(df, table, "overwrite", partition_by=["year"])
    return df


def data_folders(table: str) -> set[str]:
    return {p.name for p in Path(table).iterdir() if p.name.startswith("data-")}


def test_auto_engine_is_spark_where_the_delta_spark_classes_load(spark, cfg):
    assert delta_spark_available(spark), "the test session resolves delta-spark from Maven"
    assert isinstance(open_store(spark, "auto"), SparkDeltaStore)
    with pytest.raises(ConfigError, match=r"storage\.engine must be one of auto, spark, rs"):
        load_settings(cfg.with_overrides(storage={"engine": "mysql"}))


def test_round_trip_is_a_real_delta_table(spark, store, table, seeded):
    assert_df_equality(store.read(table), seeded, ignore_row_order=True, ignore_nullable=True)
    delta = DeltaTable(table)
    assert delta.metadata().partition_columns == ["year"]
    arrow = delta.to_pyarrow_table().sort_by("id")
    assert arrow.num_rows == 6
    assert arrow.column("amount").to_pylist()[1] == Decimal("1.25")
    assert arrow.column("at").to_pylist()[0] == dt.datetime(
        2023, 6, 1, 12, 0, tzinfo=dt.timezone.utc
    )
    assert arrow.column("label").to_pylist()[0] is None


def test_replace_where_replaces_exactly_one_partition(spark, store, table, seeded):
    replacement = spark.createDataFrame(rows(2024, n=2, label="new"), SCHEMA)
    version = store.write(replacement, table, "overwrite", replace_where={"year": 2024})
    assert version == 1
    latest = store.read(table)
    assert_df_equality(
        latest.filter("year = 2023"),
        seeded.filter("year = 2023"),
        ignore_row_order=True,
        ignore_nullable=True,
    )
    assert_df_equality(
        latest.filter("year = 2024"), replacement, ignore_row_order=True, ignore_nullable=True
    )
    assert_df_equality(
        store.read(table, version=0), seeded, ignore_row_order=True, ignore_nullable=True
    )
    assert [h["version"] for h in store.history(table)] == [1, 0]


def test_replace_where_with_a_list_replaces_those_partitions_in_one_commit(
    spark, store, table, seeded
):
    store.write(spark.createDataFrame(rows(2025), SCHEMA), table, "append")
    replacement = spark.createDataFrame(rows(2023, n=1, label="x") + rows(2025, n=2), SCHEMA)
    version = store.write(replacement, table, "overwrite", replace_where={"year": [2023, 2025]})
    assert version == 2
    counts = store.read(table).groupBy("year").count().orderBy("year").collect()
    assert counts == [(2023, 1), (2024, 3), (2025, 2)]
    with pytest.raises(P4eError, match="the data holds rows of"):
        store.write(seeded, table, "overwrite", replace_where={"year": [2023, 2025]})
    with pytest.raises(ValueError, match="no value"):
        store.write(replacement, table, "overwrite", replace_where={"year": []})
    assert store.version(table) == 2


def test_append_adds_rows(spark, store, table, seeded):
    store.write(spark.createDataFrame(rows(2025), SCHEMA), table, "append")
    assert store.read(table).groupBy("year").count().orderBy("year").collect() == [
        (2023, 3),
        (2024, 3),
        (2025, 3),
    ]


def test_replace_where_refuses_rows_of_another_partition(spark, store, table, seeded):
    wrong = spark.createDataFrame(rows(2025), SCHEMA)
    with pytest.raises(P4eError, match="the data holds rows of"):
        store.write(wrong, table, "overwrite", replace_where={"year": 2024})
    assert store.version(table) == 0
    if store.name == "rs":  # rs checks before it commits; its staged folder is gone
        assert len(data_folders(table)) == 1


def test_schema_mismatch_names_the_columns(spark, store, table, seeded):
    bad = seeded.drop("label").withColumn("year", F.col("year").cast("string"))
    bad = bad.withColumn("extra", F.lit(1))
    with pytest.raises(SchemaMismatch) as info:
        store.write(bad, table, "append")
    message = str(info.value)
    assert "missing column 'label'" in message
    assert "unexpected column 'extra'" in message
    assert "column 'year' is string, table has int" in message
    assert store.version(table) == 0


def test_failed_spark_job_commits_nothing(spark, store, table, seeded):
    failing = spark.createDataFrame(rows(2023, n=50), SCHEMA).withColumn(
        "label",
        F.when(F.col("id") == 202340, F.raise_error(F.lit("boom"))).otherwise(F.col("label")),
    )
    with pytest.raises(Exception, match="boom"):
        store.write(failing.repartition(4), table, "overwrite")
    assert store.version(table) == 0
    assert_df_equality(store.read(table), seeded, ignore_row_order=True, ignore_nullable=True)
    if store.name == "rs":  # delta-spark leaves an aborted job's files to VACUUM
        assert len(data_folders(table)) == 1
    assert DeltaTable(table).to_pyarrow_table().num_rows == 6


@RS_ONLY
def test_overwrite_after_a_concurrent_commit_is_a_conflict(spark, store, table, seeded):
    mine = spark.createDataFrame(rows(2023, label="mine"), SCHEMA)
    theirs = spark.createDataFrame(rows(2024, label="theirs"), SCHEMA)
    staged = store.stage(mine, table, ["year"])
    store.write(theirs, table, "append")
    with pytest.raises(ConcurrentWriteConflict, match="another writer committed"):
        store.commit(staged, "overwrite")
    assert store.version(table) == 1
    assert store.read(table).count() == 9
    assert DeltaTable(table).to_pyarrow_table().num_rows == 9


@RS_ONLY
def test_partition_overwrites_racing_for_one_partition_conflict(spark, store, table, seeded):
    first = spark.createDataFrame(rows(2024, label="first"), SCHEMA)
    second = spark.createDataFrame(rows(2024, label="second"), SCHEMA)
    staged = store.stage(first, table, ["year"], {"year": 2024})
    store.write(second, table, "overwrite", replace_where={"year": 2024})
    with pytest.raises(ConcurrentWriteConflict):
        store.commit(staged, "overwrite", {"year": 2024})
    labels = {r["label"] for r in store.read(table).filter("year = 2024").collect()}
    assert labels == {None, "second"}


@RS_ONLY
def test_concurrent_appends_both_land(spark, store, table, seeded):
    a = store.stage(spark.createDataFrame(rows(2025), SCHEMA), table, ["year"])
    store.write(spark.createDataFrame(rows(2026), SCHEMA), table, "append")
    assert store.commit(a, "append") == 2
    assert store.read(table).count() == 12


def test_two_threads_overwriting_leave_one_consistent_table(spark, store, table, seeded):
    writes = {
        label: spark.createDataFrame(rows(2023, n=20, label=label), SCHEMA) for label in ("x", "y")
    }
    outcomes: dict[str, str] = {}

    def write(label: str) -> None:
        try:
            store.write(writes[label], table, "overwrite")
            outcomes[label] = "ok"
        except ConcurrentWriteConflict:
            outcomes[label] = "conflict"

    threads = [threading.Thread(target=write, args=(label,)) for label in writes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert "ok" in outcomes.values()
    final = {r["label"] for r in store.read(table).collect()} - {None}
    assert len(final) == 1  # never a mixture of the two overwrites
    assert DeltaTable(table).to_pyarrow_table().num_rows == 20


def test_empty_write_creates_an_empty_table(spark, store, table):
    store.write(spark.createDataFrame([], SCHEMA), table, "overwrite", partition_by=["year"])
    assert store.read(table).count() == 0
    assert (
        store.read(table).schema.simpleString()
        == spark.createDataFrame([], SCHEMA).schema.simpleString()
    )


def test_missing_table_is_a_clear_error(store, cfg):
    with pytest.raises(TableNotFound, match="no Delta table at"):
        store.read(cfg.table_path("silver", "nothing"))


@pytest.mark.parametrize("writer,other", [("rs", "spark"), ("spark", "rs")])
def test_a_table_written_by_one_engine_is_kept_by_the_other(spark, table, writer, other):
    first, second = open_store(spark, writer), open_store(spark, other)
    seeded = spark.createDataFrame(rows(2023) + rows(2024), SCHEMA)
    first.write(seeded, table, "overwrite", partition_by=["year"])
    assert second.schema(table)[1] == ["year"]
    assert_df_equality(second.read(table), seeded, ignore_row_order=True, ignore_nullable=True)
    assert second.write(spark.createDataFrame(rows(2025), SCHEMA), table, "append") == 1
    replacement = spark.createDataFrame(rows(2024, n=1, label="new"), SCHEMA)
    assert second.write(replacement, table, "overwrite", replace_where={"year": 2024}) == 2
    for store in (first, second):
        assert store.version(table) == 2
        assert [h["version"] for h in store.history(table)] == [2, 1, 0]
        assert_df_equality(
            store.read(table, version=0), seeded, ignore_row_order=True, ignore_nullable=True
        )
        counts = store.read(table).groupBy("year").count().orderBy("year").collect()
        assert counts == [(2023, 3), (2024, 1), (2025, 3)]
    assert DeltaTable(table).to_pyarrow_table().num_rows == 7


def test_an_rs_commit_after_a_delta_spark_commit_is_a_conflict(spark, table):
    rs, delta_spark = open_store(spark, "rs"), open_store(spark, "spark")
    rs.write(
        spark.createDataFrame(rows(2023) + rows(2024), SCHEMA),
        table,
        "overwrite",
        partition_by=["year"],
    )
    staged = rs.stage(
        spark.createDataFrame(rows(2024, label="rs"), SCHEMA), table, ["year"], {"year": 2024}
    )
    theirs = spark.createDataFrame(rows(2024, label="spark"), SCHEMA)
    delta_spark.write(theirs, table, "overwrite", replace_where={"year": 2024})
    with pytest.raises(ConcurrentWriteConflict):
        rs.commit(staged, "overwrite", {"year": 2024})
    labels = {r["label"] for r in delta_spark.read(table).filter("year = 2024").collect()}
    assert labels == {None, "spark"}
    assert rs.version(table) == 1
