"""The same nightly on every engine: gold tables equal on the rs and the delta-spark
storage engine, on Spark classic, over Spark Connect, on Sail, and on an s3:// lakehouse."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pyarrow as pa
import pytest
import yaml
from chispa import assert_df_equality
from deltalake import DeltaTable, write_deltalake

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
    children, spark, inputs, rs_nightly, tmp_path
):
    """In this process, beside the child nightlies (`children` starts them first)."""
    cfg = copy_inputs(inputs, tmp_path / "lakehouse", "spark")
    record = run_steps(spark, load_settings(cfg), list(STEPS))
    assert record.status == "succeeded"
    assert WRITERS["spark"] in committed_by(cfg.table_path("gold", "member_measures"))
    assert WRITERS["rs"] in committed_by(rs_nightly.table_path("gold", "member_measures"))
    assert_same_gold(spark, rs_nightly, cfg)


class Nightly:
    """`p4e run nightly` in a child process, as a user runs it, on the test's Spark
    settings and `env`; started at once, or once the nightly `after` has ended."""

    def __init__(
        self, cfg: Config, folder: Path, env: dict[str, str], after: Nightly | None = None
    ) -> None:
        self.cfg = cfg
        self.log = folder / "nightly.log"
        self.process: subprocess.Popen[bytes] | None = None
        self._launch = threading.Thread(target=self._start, args=(folder, env, after))
        self._launch.start()

    def _start(self, folder: Path, env: dict[str, str], after: Nightly | None) -> None:
        if after is not None:
            after.wait()
        conf_dir = folder / "conf"
        shutil.copytree(self.cfg.conf_dir, conf_dir)
        data = {**self.cfg.data, "spark": {**self.cfg["spark"], "conf": dict(TEST_SPARK_CONF)}}
        (conf_dir / self.cfg.file_name).write_text(yaml.safe_dump(data))
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [*CLI, "run", "nightly", "--conf", str(conf_dir / self.cfg.file_name)],
                env={**os.environ, **env},
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def wait(self) -> int:
        self._launch.join()
        assert self.process is not None
        return self.process.wait(timeout=2400)

    def finished(self) -> Config:
        """The run's configuration, once it succeeded."""
        assert self.wait() == 0, self.log.read_text()[-4000:]
        return self.cfg

    def stop(self) -> None:
        self._launch.join()
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


# Resolves delta-spark and hadoop-aws into the Ivy cache, so the children started at
# once do not download the same jars into it concurrently (Ivy then fails to move one's
# part file over the other's: "impossible to move part file to definitive one").
RESOLVE_JARS = """
from pyspark.sql import SparkSession
from p4e.session import delta_spark_conf, object_store_conf
conf = object_store_conf()
conf = {**conf, **delta_spark_conf(conf)}
SparkSession.builder.master("local[1]").config(map=conf).getOrCreate().stop()
"""


def resolve_jars() -> None:
    """Fill the Ivy cache with every jar a child resolves, in one process, first."""
    subprocess.run([sys.executable, "-c", RESOLVE_JARS], check=True, capture_output=True)


@pytest.fixture(scope="module")
def children(inputs, s3_server, sail_server, tmp_path_factory) -> Iterator[dict[str, Nightly]]:
    """Every child-process nightly: on an s3:// lakehouse and over Spark Connect on each
    storage engine, and on Sail where it is installed, started at once (the two Connect
    runs one after the other). Each waits mostly on its JVM, its server or the S3 server,
    so together they take little longer than the slowest."""
    resolve_jars()
    runs: dict[str, Nightly] = {}
    for engine in ("spark", "rs"):
        folder = tmp_path_factory.mktemp(f"s3-{engine}")
        cfg = upload_inputs(inputs, s3_server, f"s3://lake/{engine}", engine)
        runs[f"s3-{engine}"] = Nightly(cfg, folder, s3_server)
    # One local Connect server at a time: the client always finds it on port 15002.
    for engine, after in (("spark", None), ("rs", "connect-spark")):
        folder = tmp_path_factory.mktemp(f"connect-{engine}")
        cfg = copy_inputs(inputs, folder / "lakehouse", engine)
        previous = runs[after] if after else None
        runs[f"connect-{engine}"] = Nightly(cfg, folder, {"SPARK_REMOTE": "local[2]"}, previous)
    if sail_server is not None:
        folder = tmp_path_factory.mktemp("sail")
        cfg = copy_inputs(inputs, folder / "lakehouse", "rs")
        runs["sail"] = Nightly(cfg, folder, {"SPARK_REMOTE": sail_server})
    yield runs
    for run in runs.values():
        run.stop()


@pytest.mark.parametrize("engine", ["spark", "rs"])
def test_the_nightly_over_spark_connect_equals_spark_classic(children, spark, rs_nightly, engine):
    """`p4e run nightly` as a user runs it with SPARK_REMOTE=local[2]: the client starts a
    local Spark Connect server and speaks only the Connect protocol to it."""
    cfg = children[f"connect-{engine}"].finished()
    assert WRITERS[engine] in committed_by(cfg.table_path("gold", "member_measures"))
    assert_same_gold(spark, rs_nightly, cfg)


@pytest.fixture(scope="module")
def sail_server() -> Iterator[str | None]:
    """A Sail Spark Connect server on a loopback port (its `sc://` address), or None
    where Sail is not installed."""
    sail = shutil.which("sail", path=str(Path(sys.executable).parent))
    if sail is None:
        yield None
        return
    port = free_port()
    server = subprocess.Popen(
        [sail, "spark", "server", "--ip", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(port, "Sail")
        yield f"sc://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_the_nightly_on_sail_equals_spark(children, spark, rs_nightly):
    """`p4e run nightly` over Spark Connect to Sail, on the rs storage engine (Sail has no
    delta-spark): the same gold tables as Spark classic."""
    if "sail" not in children:
        pytest.skip("Sail is not installed (pip install -e '.[sail]')")
    assert_same_gold(spark, rs_nightly, children["sail"].finished())


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(port: int, server: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        with socket.socket() as attempt:
            if attempt.connect_ex(("127.0.0.1", port)) == 0:
                return
        assert time.monotonic() < deadline, f"{server} did not start listening on {port}"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def s3_server() -> Iterator[dict[str, str]]:
    """moto's S3 server on a loopback port with one bucket, `lake`; yields the AWS
    variables that point S3A, delta-rs and pyarrow at it."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    env = {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_ACCESS_KEY_ID": "p4e-test",
        "AWS_SECRET_ACCESS_KEY": "p4e-test",
        "AWS_REGION": "us-east-1",
        "AWS_ALLOW_HTTP": "true",
    }
    try:
        wait_for(port, "moto's S3 server")
        s3_client(env).create_bucket(Bucket="lake")
        yield env
    finally:
        server.terminate()
        server.wait(timeout=30)


def upload_inputs(inputs: Config, s3: dict[str, str], lakehouse: str, engine: str) -> Config:
    """The raw tables of `inputs` copied file by file under `lakehouse` on the S3 server."""
    raw = Path(inputs.lakehouse) / "raw"
    bucket, prefix = lakehouse.removeprefix("s3://").split("/", 1)
    client = s3_client(s3)
    for file in sorted(p for p in raw.rglob("*") if p.is_file()):
        client.upload_file(str(file), bucket, f"{prefix}/raw/{file.relative_to(raw)}")
    return inputs.with_overrides(lakehouse=lakehouse, storage={"engine": engine})


def s3_client(env: dict[str, str]) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=env["AWS_REGION"],
    )


@pytest.mark.parametrize("engine", ["spark", "rs"])
def test_the_nightly_on_an_s3_lakehouse_equals_the_local_one(
    children, spark, rs_nightly, s3_server, engine
):
    """`p4e run nightly` on `s3://lake/<engine>` (hadoop-aws resolved from Maven Central,
    S3A for Spark, delta-rs's object store with S3 conditional puts for its commits)."""
    cfg = children[f"s3-{engine}"].finished()
    table = cfg.table_path("gold", "member_measures")
    assert WRITERS[engine] in committed_by(table, storage_options=s3_server)
    store = open_store(spark, "rs")
    for name in NIGHTLY_GOLD:
        on_s3 = DeltaTable(cfg.table_path("gold", name), storage_options=s3_server)
        assert_df_equality(
            comparable(store.read(rs_nightly.table_path("gold", name))),
            comparable(spark.createDataFrame(on_s3.to_pyarrow_table())),
            ignore_row_order=True,
            ignore_nullable=True,
        )
    reports = s3_client(s3_server).list_objects_v2(Bucket="lake", Prefix=f"{engine}/reports/")
    assert reports.get("KeyCount", 0) > 0


def test_racing_rs_commits_on_s3_both_land(s3_server):
    """Two delta-rs writers append from the same snapshot: the S3 conditional put refuses
    the second writer's commit file, so it retries at the next version instead of
    overwriting the first one's (which an unconditional put would do silently)."""
    uri = "s3://lake/race"
    write_deltalake(uri, pa.table({"x": [1]}), storage_options=s3_server)
    first, second = (DeltaTable(uri, storage_options=s3_server) for _ in range(2))
    write_deltalake(first, pa.table({"x": [2]}), mode="append")
    write_deltalake(second, pa.table({"x": [3]}), mode="append")
    table = DeltaTable(uri, storage_options=s3_server)
    assert table.version() == 2
    assert sorted(table.to_pyarrow_table()["x"].to_pylist()) == [1, 2, 3]
