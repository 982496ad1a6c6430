"""The pipeline steps in order, and the run that executes them and logs to `gold/job_runs`.

Each step is `run(ctx)` of its module. A run shares one RunContext, so a later
step reads exactly the table versions an earlier step wrote. The run log gets a
`running` row when a run starts and a final row (`succeeded` or `failed`, with
every version read and written, row counts, timings and the error) when it
ends; a run with only its `running` row was killed.
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pyspark.sql import SparkSession

from p4e import __version__, changes
from p4e.config import Settings
from p4e.context import RunContext
from p4e.errors import P4eError
from p4e.runlog import RunRecord, write_run
from p4e.tables import JOB_RUNS

log = logging.getLogger("p4e")

# Step name -> module whose `run(ctx)` executes it, in pipeline order.
STEPS: dict[str, str] = {
    "validate": "p4e.validation",
    "membership": "p4e.membership",
    "events": "p4e.events",
    "demographics": "p4e.demographics",
    "measures": "p4e.measures",
    "rates": "p4e.stats",
    "settle": "p4e.settlement",
    "report": "p4e.reports",
}
# Steps run on demand only, not in the nightly.
ON_DEMAND: dict[str, str] = {"baseline": "p4e.settlement.baseline"}


def step_function(name: str) -> Callable[[RunContext], Any]:
    """The `run(ctx)` of step `name`.

    Raises:
        P4eError: the step name is unknown, listing the known ones.
    """
    modules = {**STEPS, **ON_DEMAND}
    if name not in modules:
        raise P4eError(f"unknown step {name!r}; steps are: {', '.join(modules)}, nightly")
    run: Callable[[RunContext], Any] = importlib.import_module(modules[name]).run
    return run


def run_steps(
    spark: SparkSession,
    settings: Settings,
    steps: Sequence[str],
    *,
    run_id: str | None = None,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    changed_years_only: bool = False,
    reason: str | None = None,
) -> RunRecord:
    """Run `steps` in order in one context and append the outcome to `gold/job_runs`.

    A run of every step (the nightly) fingerprints each configured year's inputs
    after validation, membership and events (`p4e.changes`) and records them when it succeeds. With
    `changed_years_only`, the year-by-year steps then compute only the years whose
    fingerprint changed since the last nightly, and are skipped when none did;
    settlement and reports always cover every configured year.

    Args:
        spark: session.
        settings: the run's settings; `years` are the measurement years the steps compute.
        steps: step names, in the order to run them.
        run_id: id of the run in the log (a new UUID when None).
        options: step name -> keyword arguments of its `run` (e.g. settle's contract_ids).
        changed_years_only: compute only the years whose inputs changed (nightly).
        reason: why the run is made, logged with it (a baseline rebuild says why).

    Returns:
        The run record written (status "succeeded").

    Raises:
        Exception: whatever a step raised, after the failed run was logged.
    """
    fingerprinted = set(steps) == set(STEPS)
    if changed_years_only and not fingerprinted:
        raise P4eError("only a run of every step (the nightly) can compute only changed years")
    functions = [(name, step_function(name)) for name in steps]
    ctx = RunContext.create(spark, settings, run_id or uuid.uuid4().hex)
    record = RunRecord(
        run_id=ctx.run_id,
        steps=list(steps),
        started_at=_now(),
        config_hash=settings.config.digest(),
        code_version=__version__,
        reason=reason,
    )
    write_run(ctx, record)  # a run killed before it ends stays visible as "running"
    fingerprints: dict[str, str] = {}
    try:
        for name, function in functions:
            if name in changes.YEARLY_STEPS and not ctx.years:
                log.info("step %s: skipped, no year's inputs changed", name)
                continue
            _run_step(ctx, record, name, function, (options or {}).get(name, {}))
            if name == "events" and fingerprinted:
                started = time.perf_counter()
                changed, fingerprints = changes.detect(ctx)
                if changed_years_only:
                    ctx.years = changed
                record.step_seconds["changes"] = round(time.perf_counter() - started, 3)
        if set(steps) & set(changes.YEARLY_STEPS):
            record.years_computed = list(ctx.years)
        record.input_fingerprints = fingerprints
        record.status = "succeeded"
    except BaseException as exc:
        record.status = "failed"
        record.error = f"{type(exc).__name__}: {exc}"[:4000]
        raise
    finally:
        record.ended_at = _now()
        record.versions_read = dict(ctx.versions_read)
        record.versions_written = dict(ctx.versions_written)
        write_run(ctx, record)
        log.info("run %s %s; logged to %s", ctx.run_id, record.status, ctx.path(JOB_RUNS))
    return record


def _run_step(
    ctx: RunContext,
    record: RunRecord,
    name: str,
    function: Callable[..., Any],
    options: Mapping[str, Any],
) -> None:
    """Run one step, logging its start, time and counts into the log and `record`."""
    started = time.perf_counter()
    log.info("step %s: started", name)
    result = function(ctx, **options)
    seconds = time.perf_counter() - started
    record.step_seconds[name] = round(seconds, 3)
    record.row_counts.update(_row_counts(name, result))
    log.info("step %s: done in %.1f s%s", name, seconds, _summary(result))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _row_counts(step: str, result: Any) -> dict[str, int]:
    """Flatten a step's returned counts ({table: n} or {table: {kind: n}}) for the log."""
    if not isinstance(result, dict):
        return {}
    flat: dict[str, int] = {}
    for key, value in result.items():
        if isinstance(value, dict):
            flat.update({f"{step}.{key}.{k}": int(v) for k, v in value.items()})
        elif isinstance(value, int):
            flat[f"{step}.{key}"] = value
    return flat


def _summary(result: Any) -> str:
    counts = _row_counts("", result)
    return "" if not counts else " (" + ", ".join(f"{k[1:]}={v}" for k, v in counts.items()) + ")"
