"""spark-submit of the nightly to a real Spark standalone cluster on loopback.

The cluster is a master and two one-core workers started from the pyspark
distribution's own `bin/spark-class`; the job is submitted with its own
`bin/spark-submit` as the README's recipe says (code as a zip of lib/ via
--py-files, configuration by path, executors on this interpreter). The cluster is
stopped when the module ends, whatever happened.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pyspark
import pytest
import yaml
from deltalake import DeltaTable

from conftest import WRITERS, committed_by
from p4e.config import load_settings
from p4e.generate import generate_lakehouse
from p4e.session import delta_spark_conf

ROOT = Path(__file__).resolve().parent.parent
SPARK_HOME = Path(pyspark.__file__).parent
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(predicate, what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"cluster: {what} did not happen within {timeout:.0f} s")
        time.sleep(0.5)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A standalone master and two workers on 127.0.0.1; yields (master URL, master log)."""
    folder = tmp_path_factory.mktemp("cluster")
    env = {**os.environ, "SPARK_HOME": str(SPARK_HOME), "SPARK_LOCAL_IP": "127.0.0.1"}
    port = _free_port()
    url = f"spark://127.0.0.1:{port}"
    daemons, master_log = [], folder / "master.log"

    def start(log: Path, *args: str) -> None:
        with log.open("w") as out:
            daemons.append(
                subprocess.Popen(
                    [str(SPARK_HOME / "bin" / "spark-class"), *args],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    env=env,
                    start_new_session=True,
                )
            )

    try:
        start(master_log, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
              "--port", str(port), "--webui-port", str(_free_port()))  # fmt: skip
        _wait_for(lambda: "Starting Spark master" in master_log.read_text(), "master start")
        for i in range(2):
            start(folder / f"worker{i}.log", "org.apache.spark.deploy.worker.Worker",
                  "--host", "127.0.0.1", "--cores", "1", "--memory", "2g",
                  "--webui-port", str(_free_port()), "--work-dir", str(folder / f"work{i}"),
                  url)  # fmt: skip
        _wait_for(lambda: master_log.read_text().count("Registering worker") == 2, "2 workers")
        yield url, master_log
    finally:
        for process in daemons:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in daemons:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def test_spark_submit_of_the_nightly_to_a_standalone_cluster(spark, base_config, cluster, tmp_path):
    url, master_log = cluster
    conf = tmp_path / "conf"
    shutil.copytree(ROOT / "conf", conf)
    settings = yaml.safe_load((conf / "p4e.yaml").read_text())
    settings["stats"]["replicates"] = 100
    (conf / "p4e.yaml").write_text(yaml.safe_dump(settings))
    for contract in (conf / "contracts").glob("*.yaml"):  # two contracts settle on the cluster
        if not contract.name.startswith(("g901", "g903")):
            contract.unlink()
    lakehouse = tmp_path / "lakehouse"
    generate_lakehouse(
        spark,
        load_settings(base_config.with_overrides(lakehouse=str(lakehouse))),
        members=2000,
        seed=5,
    )
    code = shutil.make_archive(str(tmp_path / "p4e"), "zip", ROOT / "lib", "p4e")

    submitted = subprocess.run(
        [
            str(SPARK_HOME / "bin" / "spark-submit"),
            "--master", url,
            "--py-files", code,
            "--conf", f"spark.pyspark.python={sys.executable}",
            "--conf", "spark.executor.memory=1g",
            "--conf", "spark.sql.shuffle.partitions=4",
            *[arg for k, v in delta_spark_conf().items() for arg in ("--conf", f"{k}={v}")],
            str(ROOT / "jobs" / "nightly.py"),
            "--conf", str(conf / "p4e.yaml"),
            "--lakehouse", str(lakehouse),
        ],
        env={**os.environ, "SPARK_HOME": str(SPARK_HOME), "SPARK_LOCAL_IP": "127.0.0.1"},
        capture_output=True, text=True, timeout=1500,
    )  # fmt: skip
    assert submitted.returncode == 0, submitted.stderr[-4000:]
    assert "Registered app p4e" in master_log.read_text()

    logged = submitted.stdout + submitted.stderr
    assert "storage engine: spark (auto: delta-spark classes loaded)" in logged
    assert WRITERS["spark"] in committed_by(str(lakehouse / "gold" / "member_measures"))
    runs = DeltaTable(str(lakehouse / "gold" / "job_runs")).to_pandas()
    assert list(runs["status"].sort_values()) == ["running", "succeeded"]
    settlements = DeltaTable(str(lakehouse / "gold" / "settlements")).to_pandas()
    assert set(settlements["contract_id"]) == {"C-G901", "C-G903"}
    assert (lakehouse / "reports" / "2025" / "equity_report_2025.html").is_file()
