"""The run log `gold/job_runs`: one row per pipeline run, succeeded or failed."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from pyspark.sql.types import StructType

from p4e.context import RunContext
from p4e.tables import JOB_RUNS


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
    reason: str | None = None


def write_run(ctx: RunContext, record: RunRecord) -> int:
    """Append `record` to `gold/job_runs`; returns the committed version.

    A run log written by an older p4e gets the columns it lacks first (null for its
    earlier runs).
    """
    path = ctx.path(JOB_RUNS)
    schema = JOB_RUNS.schema()
    if ctx.store.exists(path):
        have = set(ctx.store.schema(path)[0].names)
        missing = [f for f in schema.fields if f.name not in have]
        if missing:
            ctx.store.add_columns(path, StructType(missing))
    row = tuple(record.__dict__[name] for name in schema.names)
    return ctx.store.write(ctx.spark.createDataFrame([row], schema), path, "append")
