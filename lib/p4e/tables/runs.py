"""gold/job_runs (the run log) and gold/quarantine (bad input rows with their reasons)."""

from __future__ import annotations

from p4e.tables.model import Table, columns

JOB_RUNS = Table(
    "gold",
    "job_runs",
    "one row per run start ('running') and one per run end",
    "The run log: what ran, on which versions, how long, and how it ended.",
    columns(
        ("run_id", "STRING", "run id"),
        ("status", "STRING", "running | succeeded | failed (a run with only 'running' was killed)"),
        ("started_at", "TIMESTAMP", "start time, UTC"),
        ("ended_at", "TIMESTAMP", "end time, UTC (null on the start row)"),
        ("steps", "ARRAY<STRING>", "steps of the run, in order"),
        (
            "step_seconds",
            "MAP<STRING,DOUBLE>",
            "seconds per step (and 'changes': fingerprinting the inputs)",
        ),
        ("config_hash", "STRING", "digest of the configuration"),
        ("code_version", "STRING", "p4e version"),
        (
            "versions_read",
            "MAP<STRING,BIGINT>",
            "Delta version read of every table, by layer/table",
        ),
        (
            "versions_written",
            "MAP<STRING,BIGINT>",
            "Delta version written of every table, by layer/table",
        ),
        ("row_counts", "MAP<STRING,BIGINT>", "rows written or checked, by step.table[.kind]"),
        ("error", "STRING", "the error of a failed run"),
        (
            "years_computed",
            "ARRAY<INT>",
            "years the yearly steps computed ([]: none changed; null: not run)",
        ),
        (
            "input_fingerprints",
            "MAP<STRING,STRING>",
            "nightly: '<year>/<input>' -> digest of what gold reflects",
        ),
        ("reason", "STRING", "why the run was made, when it says (a baseline rebuild)"),
    ),
)

QUARANTINE = Table(
    "gold",
    "quarantine",
    "one row per input row rejected or flagged by validation",
    "Bad input with its reason; raw = silver + rejected for every table.",
    columns(
        ("table", "STRING", "input table"),
        ("action", "STRING", "rejected (kept out of silver) | flagged (kept, with a warning)"),
        ("reason", "STRING", "the rule that failed"),
        ("row_json", "STRING", "the original row as JSON"),
    ),
    partition_by=("table",),
)
