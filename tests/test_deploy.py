"""The example schedules in deploy/ parse and submit the real nightly entrypoint."""

from __future__ import annotations

import ast
from pathlib import Path

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
ROOT = DEPLOY.parent


def test_airflow_dag_parses_and_submits_the_nightly_job():
    tree = ast.parse((DEPLOY / "airflow_p4e_nightly.py").read_text())
    calls = {
        node.func.id: {k.arg: k.value for k in node.keywords}
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }
    submit = calls["SparkSubmitOperator"]
    assert ast.literal_eval(calls["DAG"]["schedule"]) == "30 2 * * *"
    assert "jobs/nightly.py" in ast.unparse(submit["application"])
    assert (ROOT / "jobs" / "nightly.py").is_file()
    args = ast.unparse(submit["application_args"])
    assert "--conf" in args and "--lakehouse" in args


def test_cron_line_has_five_time_fields_and_runs_the_nightly():
    lines = [
        line
        for line in (DEPLOY / "p4e-nightly.cron").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert len(lines) == 1
    fields = lines[0].split()
    minute, hour, day, month, weekday = fields[:5]
    assert 0 <= int(minute) < 60 and 0 <= int(hour) < 24 and (day, month, weekday) == ("*",) * 3
    assert "spark-submit" in lines[0] and "jobs/nightly.py" in lines[0]
