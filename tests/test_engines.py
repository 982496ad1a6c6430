"""The same nightly on every engine: gold tables equal on the rs and the delta-spark
storage engine, on Spark classic and over Spark Connect."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from chispa import assert_df_equality

from conftest import NIGHTLY_GOLD, TEST_SPARK_CONF, WRITERS, committed_by, comparable
from p4e.config import Config, load_settings
from p4e.generate import generate_lakehouse
from p4e.pipeline import STEPS, run_steps
from p4e.storage import open_store

pytestmark = pytest.mark.slow
CLI = (sys.executable, "-c", "import sys; from p4e.cli import main; sys.exit(main())")


@pytest.fixture(scope="module")
def inputs(spark, base_config, tmp_path_factory) -> Config:
    """A small generated lakehouse: its raw tables are every engine's input."""
    cfg = base_config.with_overrides(
        lakehouse=str(tmp_path_factory.mktemp("engines") / "inputs"),
        stats={**base_config["stats"], "replicates": 50},
    )
    generate_lakehouse(spark, load_settings(cfg), members=400, seed=7)
    return cfg


def copy_inputs(inputs: Config, lakehouse: Path, engine: str) -> Config:
    shutil.copytree(Path(inputs.lakehouse) / "raw", lakehouse / "raw")
    return inputs.with_overrides(lakehouse=str(lakehouse), storage={"engine": engine})


@pytest.fixture(scope="module")
def rs_nightly(spark, inputs, tmp_path_factory) -> Config:
    cfg = copy_inputs(inputs, tmp_path_factory.mktemp("rs") / "lakehouse", "rs")
    assert run_steps(spark, load_settings(cfg), list(STEPS)).status == "succeeded"
    return cfg


def assert_same_gold(spark, expected: Config, actual: Config) -> None:
    store = open_store(spark, "rs")
    for table in NIGHTLY_GOLD:
        assert_df_equality(
            comparable(store.read(expected.table_path("gold", table))),
            comparable(store.read(actual.table_path("gold", table))),
            ignore_row_order=True,
            ignore_nullable=True,
        )


def test_the_delta_spark_engine_writes_the_gold_tables_of_the_rs_engine(
    spark, inputs, rs_nightly, tmp_path
):
    cfg = copy_inputs(inputs, tmp_path / "lakehouse", "spark")
    record = run_steps(spark, load_settings(cfg), list(STEPS))
    assert record.status == "succeeded"
    assert WRITERS["spark"] in committed_by(cfg.table_path("gold", "member_measures"))
    assert WRITERS["rs"] in committed_by(rs_nightly.table_path("gold", "member_measures"))
    assert_same_gold(spark, rs_nightly, cfg)


@pytest.mark.parametrize("engine", ["spark", "rs"])
def test_the_nightly_over_spark_connect_equals_spark_classic(
    spark, inputs, rs_nightly, tmp_path, engine
):
    """`p4e run nightly` as a user runs it with SPARK_REMOTE=local[2]: the client starts a
    local Spark Connect server and speaks only the Connect protocol to it."""
    cfg = copy_inputs(inputs, tmp_path / "lakehouse", engine)
    conf_dir = tmp_path / "conf"
    shutil.copytree(cfg.conf_dir, conf_dir)
    data = {**cfg.data, "spark": {**cfg["spark"], "conf": dict(TEST_SPARK_CONF)}}
    (conf_dir / cfg.file_name).write_text(yaml.safe_dump(data))
    done = subprocess.run(
        [*CLI, "run", "nightly", "--conf", str(conf_dir / cfg.file_name)],
        env={**os.environ, "SPARK_REMOTE": "local[2]"},
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    assert WRITERS[engine] in committed_by(cfg.table_path("gold", "member_measures"))
    assert_same_gold(spark, rs_nightly, cfg)
