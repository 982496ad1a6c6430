"""The run log `gold/job_runs`: one row per pipeline run, succeeded or failed."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from pyspark.sql.types import StructType

from p4e.context import RunContext
from p4e.tables import ddl_schema

JOB_RUNS_SCHEMA = ddl_schema(
    "run_id STRING, status STRING, started_at TIMESTAMP, ended_at TIMESTAMP, "
    "steps ARRAY<STRING>, step_seconds MAP<STRING, DOUBLE>, config_hash STRING, "
    "code_version STRING, versions_read MAP<STRING, BIGINT>, "
    "versions_written MAP<STRING, BIGINT>, row_counts MAP<STRING, BIGINT>, error STRING, "
    "years_computed ARRAY<INT>, input_fingerprints MAP<STRING, STRING>"
)


@dataclass
class RunRecord:
    """What a run did; written as one row of `gold/job_runs` when the run ends."""

    run_id: str
    steps: list[str]
    started_at: dt.datetime
    config_hash: str
    code_version: str
    status: str = "running"
    ended_at: dt.datetime | None = None
    step_seconds: dict[str, float] = field(default_factory=dict)
    versions_read: dict[str, int] = field(default_factory=dict)
    versions_written: dict[str, int] = field(default_factory=dict)
    row_counts: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    years_computed: list[int] | None = None
    input_fingerprints: dict[str, str] = field(default_factory=dict)


def write_run(ctx: RunContext, record: RunRecord) -> int:
    """Append `record` to `gold/job_runs`; returns the committed version.

    A run log written by an older p4e gets the columns it lacks first (null for its
    earlier runs).
    """
    path = ctx.path("gold", "job_runs")
    if ctx.store.exists(path):
        have = set(ctx.store.schema(path)[0].names)
        missing = [f for f in JOB_RUNS_SCHEMA.fields if f.name not in have]
        if missing:
            ctx.store.add_columns(path, StructType(missing))
    row = tuple(record.__dict__[name] for name in JOB_RUNS_SCHEMA.names)
    df = ctx.spark.createDataFrame([row], JOB_RUNS_SCHEMA)
    return ctx.store.write(df, path, "append")
