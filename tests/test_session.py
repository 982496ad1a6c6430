"""The session without Maven: `auto` runs on the rs engine and says so in one line;
`spark`, and an s3:// lakehouse, fail clearly (a child process, so the JVM is its own)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

# Every artifact is asked of a port nobody listens on, with an empty Ivy cache.
IVY_SETTINGS = """<ivysettings>
  <settings defaultResolver="nowhere"/>
  <resolvers><ibiblio name="nowhere" m2compatible="true" root="http://127.0.0.1:9/maven2/"/>
  </resolvers>
</ivysettings>
"""

CHILD = """
import logging, sys
from p4e.config import load_config, load_settings
from p4e.errors import ConfigError
from p4e.session import build_session
from p4e.storage import open_store

logging.basicConfig(level=logging.INFO, format="LOG %(name)s %(message)s", stream=sys.stdout)
conf = {{"spark.master": "local[1]", "spark.ui.enabled": "false",
        "spark.jars.ivySettings": {settings!r}, "spark.jars.ivy": {cache!r}}}
base = load_config()
try:
    build_session(load_settings(base.with_overrides(storage={{"engine": "spark"}})), conf)
except ConfigError as exc:
    print("spark engine failed:", exc)
try:
    build_session(load_settings(base.with_overrides(lakehouse="s3://lake/p4e")), conf)
except ConfigError as exc:
    print("s3 lakehouse failed:", exc)
settings = load_settings(base)
spark = build_session(settings, conf)
print("auto engine:", open_store(spark, settings.engine).name)
try:
    open_store(spark, "spark")
except ConfigError as exc:
    print("spark store refused:", exc)
"""


def test_without_maven_auto_runs_on_rs_and_says_so_and_spark_fails_clearly(tmp_path: Path):
    (tmp_path / "ivy.xml").write_text(IVY_SETTINGS)
    child = CHILD.format(settings=str(tmp_path / "ivy.xml"), cache=str(tmp_path / "ivy"))
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(child)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    out = done.stdout.splitlines()
    assert done.returncode == 0, done.stderr[-3000:]
    failed = [line for line in out if line.startswith("spark engine failed:")]
    assert len(failed) == 1
    assert "the delta-spark jars could not be resolved from Maven Central" in failed[0]
    assert "use storage.engine auto or rs" in failed[0]
    s3 = [line for line in out if line.startswith("s3 lakehouse failed:")]
    assert len(s3) == 1
    assert "hadoop-aws, which an s3:// lakehouse needs, could not be resolved" in s3[0]
    assert "auto engine: rs" in out
    assert [line for line in out if line.startswith("LOG p4e ")] == [
        "LOG p4e storage engine: rs (auto: delta-spark classes not on the classpath)"
    ]
    assert any("delta-spark classes are not on the classpath" in line for line in out)
