"""The nightly pipeline end to end on a generated lakehouse: outputs, run log, idempotency."""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
from chispa import assert_df_equality
from deltalake import DeltaTable
from pyspark.sql import functions as F

from conftest import KEPT_ON_RERUN, NIGHTLY_GOLD, comparable
from p4e.config import load_settings
from p4e.pipeline import STEPS, run_steps
from p4e.storage import open_store


def results(store, path, version=None):
    """A gold table's rows as compared (`conftest.comparable`)."""
    return comparable(store.read(path, version))


def test_nightly_writes_every_gold_table_and_logs_the_run(nightly_twice):
    cfg, store, first, _, _ = nightly_twice
    for table in NIGHTLY_GOLD:  # the generator plants no bad rows, so quarantine may be empty
        rows = DeltaTable(cfg.table_path("gold", table)).to_pyarrow_table().num_rows
        assert rows > 0 or table == "quarantine", table
    assert first.status == "succeeded"
    assert set(first.step_seconds) == {*STEPS, "changes"}
    rows = store.read(cfg.table_path("gold", "job_runs")).orderBy("started_at", "status").collect()
    runs = [r for r in rows if r["status"] != "running"]
    assert [r["status"] for r in runs] == ["succeeded", "succeeded"]
    assert [r["run_id"] for r in rows if r["status"] == "running"] == [r["run_id"] for r in runs]
    assert runs[0]["versions_written"]["gold/member_measures"] >= 0
    claims = "silver/medical_claim"
    assert runs[0]["versions_read"][claims] == runs[0]["versions_written"][claims]
    assert runs[0]["row_counts"]["validate.medical_claim.raw"] == (
        runs[0]["row_counts"]["validate.medical_claim.silver"]
        + runs[0]["row_counts"]["validate.medical_claim.rejected"]
    )


def test_second_nightly_on_same_inputs_computes_no_year_and_leaves_gold_identical(
    nightly_twice,
):
    cfg, store, first, second, first_versions = nightly_twice
    assert first.years_computed == cfg["years"] and second.years_computed == []
    assert set(second.step_seconds) == {
        "validate", "membership", "events", "changes", "settle", "report"
    }  # fmt: skip
    assert second.input_fingerprints == first.input_fingerprints
    for table in NIGHTLY_GOLD:
        path = cfg.table_path("gold", table)
        if table in KEPT_ON_RERUN:  # not rewritten...
            assert store.version(path) == first_versions[table]
        else:  # ...or rewritten by validation and settlement...
            assert store.version(path) > first_versions[table]
        assert_df_equality(  # ...with identical contents
            results(store, path, first_versions[table]),
            results(store, path),
            ignore_row_order=True,
            ignore_nullable=True,
        )


def test_a_failed_run_is_logged_with_its_error(spark, nightly_twice):
    cfg, store, _, _, _ = nightly_twice
    settings = load_settings(cfg)
    answers = dataclasses.replace(settings.dimension, source_table="no_such_table")
    broken = dataclasses.replace(settings, dimension=answers)
    with pytest.raises(Exception, match="no_such_table"):
        run_steps(spark, broken, ["validate"])
    last = (
        store.read(cfg.table_path("gold", "job_runs")).orderBy(F.col("started_at").desc()).first()
    )
    assert last["status"] == "failed" and "no_such_table" in last["error"]


def test_a_run_killed_mid_measures_leaves_consistent_tables_and_the_next_run_completes(
    spark, nightly_twice, tmp_path
):
    cfg, _, _, _, _ = nightly_twice
    lakehouse = tmp_path / "lakehouse"
    shutil.copytree(cfg.lakehouse, lakehouse)
    killed_cfg = cfg.with_overrides(lakehouse=str(lakehouse))
    store = open_store(spark, load_settings(killed_cfg).engine)
    before = {t: store.version(killed_cfg.table_path("gold", t)) for t in NIGHTLY_GOLD}

    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from p4e.cli import main; sys.exit(main())",
            "run",
            "measures",  # the step a nightly spends longest in, run on its own
            "--lakehouse",
            str(lakehouse),
        ],
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 600
    for line in process.stderr:
        if "step measures: started" in line or time.monotonic() > deadline:
            break
    time.sleep(3)  # well inside the measure step (it writes one year after another)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL

    for table in NIGHTLY_GOLD:  # every table opens at a committed version; nothing half-written
        path = killed_cfg.table_path("gold", table)
        assert store.version(path) >= before[table]
        assert DeltaTable(path).to_pyarrow_table().num_rows > 0 or table == "quarantine"
    runs = store.read(killed_cfg.table_path("gold", "job_runs"))
    started = {r["run_id"] for r in runs.filter("status = 'running'").collect()}
    ended = {r["run_id"] for r in runs.filter("status != 'running'").collect()}
    assert len(started - ended) == 1  # the killed run: started, never ended

    recovery = run_steps(spark, load_settings(killed_cfg), list(STEPS), changed_years_only=True)
    assert recovery.years_computed == cfg["years"]  # the killed run invalidated every year
    for table in NIGHTLY_GOLD:  # the recovery run reproduces the uninterrupted run's results
        assert_df_equality(
            results(store, cfg.table_path("gold", table)),
            results(store, killed_cfg.table_path("gold", table)),
            ignore_row_order=True,
            ignore_nullable=True,
        )
