"""The nightly computes only the years whose inputs changed since it last ran (p4e.changes)."""

from __future__ import annotations

import datetime as dt
import shutil

import pyarrow as pa
from chispa import assert_df_equality
from deltalake import DeltaTable
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from conftest import NIGHTLY_GOLD, YEARLY_GOLD, comparable
from p4e import changes
from p4e.config import load_settings
from p4e.context import RunContext
from p4e.pipeline import STEPS, run_steps
from p4e.runlog import RunRecord, write_run
from p4e.storage import open_store
from p4e.tables import JOB_RUNS

OLD_MISSING = ("years_computed", "input_fingerprints", "reason")  # job_runs columns added later


def copy_of(nightly_twice, tmp_path):
    """The shared nightly lakehouse, copied so a test may change its inputs."""
    cfg, *_ = nightly_twice
    shutil.copytree(cfg.lakehouse, tmp_path / "lakehouse")
    copied = cfg.with_overrides(lakehouse=str(tmp_path / "lakehouse"))
    return copied


def files_by_year(path: str) -> dict[int, set[str]]:
    actions = pa.table(DeltaTable(path).get_add_actions(flatten=True)).to_pylist()
    by_year: dict[int, set[str]] = {}
    for action in actions:
        by_year.setdefault(int(action["partition.year"]), set()).add(action["path"])
    return by_year


def test_fingerprints_ignore_row_order_and_see_every_value(spark):
    schema = "id STRING, a STRING, b STRING, year INT"
    rows = [("1", "x", None, 2024), ("2", None, "y", 2025), ("3", "z", "z", 2025)]

    def digest(data):
        df = spark.createDataFrame(data, schema)
        return changes.table_fingerprints(df, lambda y: F.col("year") == y, [2023, 2024, 2025])

    base = digest(rows)
    assert digest(rows[::-1]) == base
    assert base[2023] == "0:0" and base[2024].startswith("1:") and base[2025].startswith("2:")
    moved_null = [("1", None, "x", 2024), *rows[1:]]
    assert digest(moved_null)[2024] != base[2024] and digest(moved_null)[2025] == base[2025]
    assert digest([*rows, rows[2]])[2025].startswith("3:")  # a duplicate row counts
    every = changes.table_fingerprints(
        spark.createDataFrame(rows, schema), lambda y: None, [2024, 2025]
    )
    assert every[2024] == every[2025] and every[2024].startswith("3:")


def test_a_new_claim_recomputes_only_its_year_and_matches_a_full_recompute(
    spark, nightly_twice, tmp_path
):
    cfg = copy_of(nightly_twice, tmp_path)
    store = open_store(spark, load_settings(cfg).engine)
    yearly_before = {t: files_by_year(cfg.table_path("gold", t)) for t in YEARLY_GOLD[:4]}
    claims = store.read(cfg.table_path("raw", "medical_claim"))
    fobt = claims.filter((F.year("claim_start_date") == 2025) & (F.col("hcpcs_code") == "82270"))
    late = fobt.orderBy("claim_id").limit(1)  # a FOBT counts in its own year only
    new = late.withColumns(
        {
            "claim_id": F.lit("NEW-1"),
            "claim_start_date": F.lit(dt.date(2025, 11, 20)),
            "claim_line_start_date": F.lit(dt.date(2025, 11, 20)),
        }
    )
    store.write(new, cfg.table_path("raw", "medical_claim"), "append")

    incremental = run_steps(spark, load_settings(cfg), list(STEPS), changed_years_only=True)
    assert incremental.years_computed == [2025]
    for table, before in yearly_before.items():
        after = files_by_year(cfg.table_path("gold", table))
        assert {y: f for y, f in after.items() if y != 2025} == {
            y: f for y, f in before.items() if y != 2025
        }, table  # earlier years' files untouched
        assert after[2025] != before[2025], table
    versions = {t: store.version(cfg.table_path("gold", t)) for t in NIGHTLY_GOLD}

    full = run_steps(spark, load_settings(cfg), list(STEPS))
    assert full.years_computed == cfg["years"]
    assert full.input_fingerprints == incremental.input_fingerprints
    for table in NIGHTLY_GOLD:  # the incremental result is the full recompute's
        path = cfg.table_path("gold", table)
        assert_df_equality(
            comparable(store.read(path, versions[table])),
            comparable(store.read(path)),
            ignore_row_order=True,
            ignore_nullable=True,
        )


def test_config_change_or_a_manual_yearly_step_makes_every_year_changed(
    spark, nightly_twice, tmp_path
):
    cfg = copy_of(nightly_twice, tmp_path)
    assert changes.detect(RunContext.create(spark, load_settings(cfg)))[0] == []
    run_steps(spark, load_settings(cfg), ["settle"])  # settles every year: no year goes stale
    assert changes.detect(RunContext.create(spark, load_settings(cfg)))[0] == []
    with_b = cfg.with_overrides(
        stats={**cfg["stats"], "replicates": 50}, spark={"master": "local[1]"}
    )
    changed, _ = changes.detect(RunContext.create(spark, load_settings(with_b)))
    assert changed == cfg["years"]  # the stats config changed; the Spark master does not count
    same_results = cfg.with_overrides(spark={"master": "local[1]"}, years=[2024, 2025])
    assert changes.detect(RunContext.create(spark, load_settings(same_results)))[0] == []
    by_hand = load_settings(cfg.with_overrides(years=[2025]))
    run_steps(spark, by_hand, ["measures"])  # by hand, outside a nightly
    changed, _ = changes.detect(RunContext.create(spark, load_settings(cfg)))
    assert changed == cfg["years"]


def test_each_input_row_counts_for_the_years_that_read_it(spark, cfg):
    rows_of = {name: r.rows_of for name, r in changes.year_rows(load_settings(cfg)).items()}
    span = range(2019, 2027)

    def years_reading(table: str, row: dict, schema: str | None = None) -> list[int]:
        df = spark.createDataFrame([row], schema)
        conditions = {y: rows_of[table](y) for y in span}
        read = df.select(
            *[(c if c is not None else F.lit(True)).alias(str(y)) for y, c in conditions.items()]
        ).first()
        return [y for y in span if read[str(y)]]

    d = dt.date
    # exclusions with no start (e.g. a colectomy at any time) read every earlier event
    assert years_reading("events", {"event_date": d(2016, 5, 1)}) == list(span)
    assert years_reading("events", {"event_date": d(2023, 5, 1)}) == list(range(2023, 2027))
    assert years_reading("events", {"event_date": d(2026, 1, 2)}) == [2026]
    # enrollment reaches back: COL reads MY-1, BCS from Oct 1 of MY-2
    spans = {"enrollment_start_date": d(2023, 7, 1), "enrollment_end_date": d(2024, 6, 30)}
    assert years_reading("spans", spans) == [2023, 2024, 2025]
    autumn = {"enrollment_start_date": d(2020, 1, 1), "enrollment_end_date": d(2022, 10, 1)}
    assert years_reading("spans", autumn) == [2020, 2021, 2022, 2023, 2024]
    summer = {"enrollment_start_date": d(2020, 1, 1), "enrollment_end_date": d(2022, 9, 30)}
    assert years_reading("spans", summer) == [2020, 2021, 2022, 2023]
    still_enrolled = {"enrollment_start_date": d(2024, 7, 1), "enrollment_end_date": None}
    open_ended = "enrollment_start_date date, enrollment_end_date date"
    assert years_reading("spans", still_enrolled, open_ended) == [2024, 2025, 2026]
    assert years_reading("member_groups", {"year": 2024}) == [2024]
    assert years_reading("race_ethnicity", {"recorded_date": d(2022, 3, 1)}) == list(
        range(2022, 2027)
    )
    assert years_reading("members", {"member_id": "M1"}) == list(span)


def test_a_run_log_from_before_the_fingerprints_gets_their_columns(spark, cfg):
    ctx = RunContext.create(spark, load_settings(cfg))
    old = StructType([f for f in JOB_RUNS.schema().fields if f.name not in OLD_MISSING])
    row = ("old", "succeeded", None, None, ["validate"], {}, "c", "0.0", {}, {}, {}, None)
    ctx.store.write(spark.createDataFrame([row], old), ctx.path(JOB_RUNS), "append")
    record = RunRecord("new", ["validate"], dt.datetime(2026, 1, 1), "c", "0.1")
    record.years_computed = [2025]
    write_run(ctx, record)
    runs = {r["run_id"]: r for r in ctx.store.read(ctx.path(JOB_RUNS)).collect()}
    assert runs["old"]["years_computed"] is None and runs["new"]["years_computed"] == [2025]
