"""Baseline eligibility: an existing inequity whose reduction can be measured.

One rule, `baseline_decision` (docs/methodology.md, "Eligibility"), fed by two sources:

- a contract's frozen baseline (`p4e.settlement.baseline`): the contract gap of the
  panel bootstrap over the baseline years, `stats.decision_replicates` replicates;
- gold/eligibility (`eligibility` below), the screening of every group and measure over
  the stats baseline years from the published bootstrap, whose years are drawn
  independently (their covariance is 0: the baseline SE is understated and the change
  SE overstated on persistent outcomes, so it is an indication, not a decision).

A pair is eligible when the reference and at least one focus subgroup are scored in
every baseline year; the baseline gap is positive and significant (the share of
replicates at or below 0 is under alpha / 2, i.e. the percentile CI lies above 0); and
a reduction can be detected: mdc80 = (z(1 - alpha / 2) + z(power)) x SE_change is at
most `max_mdc_share` x the gap, where SE_change is the SE of one more year's gap minus
the baseline: Var(B) + mean_y Var(G_y) - 2 mean_{y != y'} Cov(G_y, G_y').

A decision whose statistic lies within 2 Monte-Carlo SDs of its threshold is flagged
(`near_threshold`); the Monte-Carlo SD is that of the statistic over 20 batches of the
replicates, divided by sqrt(20).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import pyarrow as pa
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import to_arrow_schema
from pyspark.sql.types import StructField, StructType

from p4e.config.stats import Eligibility, StatsSettings
from p4e.stats.resample import interval
from p4e.tables import ELIGIBILITY
from p4e.tables.model import spark_type
from p4e.tables.vocabulary import ALL_GROUPS, ALL_SUBGROUP, SUMMARY_LEVEL, UNATTRIBUTED

REASONS = (
    "no_data",
    "reference_not_scored",
    "no_focus_scored",
    "no_significant_gap",
    "reduction_not_detectable",
)
BATCHES = 20
NEAR = 2.0  # Monte-Carlo SDs


@dataclass(frozen=True)
class BaselineDecision:
    """The eligibility of one (group, measure) and the figures behind it."""

    is_eligible: bool
    reasons: tuple[str, ...]
    gap: float | None
    ci_low: float | None
    ci_high: float | None
    se: float | None
    se_change: float | None
    mdc80: float | None
    share_not_positive: float | None
    near_threshold: tuple[str, ...]


def mdc_factor(rule: Eligibility, ci_level: float) -> float:
    """z(1 - alpha / 2) + z(power): the minimum detectable change in SEs (2.80 by default)."""
    normal = NormalDist()
    return normal.inv_cdf(1 - (1 - ci_level) / 2) + normal.inv_cdf(rule.power)


def change_se(gap_reps: np.ndarray, yearly: np.ndarray) -> float:
    """SE of (one more year's gap - the baseline gap), from the baseline's replicates.

    Args:
        gap_reps: (B,) replicates of the baseline gap.
        yearly: (K, B) replicates of each baseline year's gap (same draws).
    """
    stack = _complete(gap_reps, yearly)
    if stack.shape[-1] < 2:
        return math.nan
    return float(np.sqrt(_change_variance(stack)))


def _complete(gap_reps: np.ndarray, yearly: np.ndarray) -> np.ndarray:
    """(1 + K, R): the baseline gap's and each year's replicates, where all are finite."""
    stack = np.vstack([gap_reps, yearly])
    return stack[:, np.isfinite(stack).all(axis=0)]


def _change_variance(stack: np.ndarray) -> np.ndarray:
    """Var(B) + mean_y Var(G_y) - 2 mean_{y != y'} Cov(G_y, G_y') of (..., 1 + K, R)."""
    centred = stack - stack.mean(axis=-1, keepdims=True)
    cov = centred @ centred.swapaxes(-1, -2) / (stack.shape[-1] - 1)
    k = stack.shape[-2] - 1
    years = cov[..., 1:, 1:]
    trace = np.trace(years, axis1=-2, axis2=-1)
    variance = cov[..., 0, 0] + trace / k
    if k > 1:
        variance = variance - 2 * (years.sum(axis=(-2, -1)) - trace) / (k * (k - 1))
    return np.asarray(np.maximum(variance, 0.0))


def _change_se_mc_sd(gap_reps: np.ndarray, yearly: np.ndarray) -> float:
    """Monte-Carlo SD of `change_se`, by batch means (vectorised over the batches)."""
    stack = _complete(gap_reps, yearly)
    size = stack.shape[-1] // BATCHES
    if size < 2:
        return 0.0
    batches = stack[:, : size * BATCHES].reshape(stack.shape[0], BATCHES, size).swapaxes(0, 1)
    values = np.sqrt(_change_variance(batches))
    return float(np.std(values, ddof=1) / math.sqrt(BATCHES))


def mc_sd(replicates: np.ndarray, statistic: Callable[[np.ndarray], float]) -> float:
    """Monte-Carlo SD of `statistic` over the replicates (last axis), by batch means."""
    batches = np.array_split(np.arange(replicates.shape[-1]), BATCHES)
    values = np.array([statistic(replicates[..., b]) for b in batches], dtype=np.float64)
    values = values[np.isfinite(values)]
    return float(np.std(values, ddof=1) / math.sqrt(len(values))) if len(values) > 1 else 0.0


def is_near(value: float, threshold: float, sd: float) -> bool:
    """True when `value` lies within NEAR Monte-Carlo SDs of `threshold`."""
    return bool(sd > 0 and abs(value - threshold) < NEAR * sd)


def share_not_positive(replicates: np.ndarray) -> float:
    """Share of the (finite) replicates at or below 0."""
    finite = replicates[np.isfinite(replicates)]
    return float(np.mean(finite <= 0)) if len(finite) else math.nan


def baseline_decision(
    gap: float | None,
    gap_reps: np.ndarray,
    yearly: np.ndarray,
    *,
    reference_scored: bool,
    focus_scored: bool,
    rule: Eligibility,
    ci_level: float,
) -> BaselineDecision:
    """Apply the eligibility rule of the module docstring.

    Args:
        gap: the baseline gap (None when it is not defined).
        gap_reps: (B,) its replicates.
        yearly: (K, B) replicates of each baseline year's gap, drawn with `gap_reps`.
        reference_scored: the reference is scored in every baseline year.
        focus_scored: some focus subgroup is scored in every baseline year.
        rule: the eligibility thresholds.
        ci_level: coverage of the intervals (alpha = 1 - ci_level).
    """
    reasons = []
    if not reference_scored:
        reasons.append("reference_not_scored")
    if not focus_scored:
        reasons.append("no_focus_scored")
    if gap is None or not np.isfinite(gap) or not np.isfinite(gap_reps).any():
        reasons.append("no_significant_gap")
        return BaselineDecision(False, tuple(reasons), None, None, None, None, None, None,
                                None, ())  # fmt: skip
    low, high, se = (float(v) for v in interval(gap_reps, _percentiles(ci_level)))
    tail = (1 - ci_level) / 2
    not_positive = share_not_positive(gap_reps)
    near = []
    if is_near(not_positive, tail, mc_sd(gap_reps, share_not_positive)):
        near.append("significant_gap")
    if gap <= 0 or not_positive >= tail:
        reasons.append("no_significant_gap")
    factor = mdc_factor(rule, ci_level)
    se_change = change_se(gap_reps, yearly)
    mdc80 = factor * se_change
    if gap > 0:
        ratio_sd = factor * _change_se_mc_sd(gap_reps, yearly) / gap
        if is_near(mdc80 / gap, rule.max_mdc_share, ratio_sd):
            near.append("detectable_reduction")
    if not (gap > 0 and mdc80 <= rule.max_mdc_share * gap):
        reasons.append("reduction_not_detectable")
    return BaselineDecision(
        not reasons, tuple(reasons), float(gap), low, high, se, se_change, mdc80, not_positive,
        tuple(near),
    )  # fmt: skip


def _percentiles(ci_level: float) -> tuple[float, float]:
    tail = (1 - ci_level) / 2 * 100
    return tail, 100 - tail


# --- gold/eligibility: the screening of every (group, measure) --------------------------


def _columns(ddl: str) -> list[tuple[str, str]]:
    return [(c.split(" ", 1)[0], c.split(" ", 1)[1]) for c in ddl.split(", ")]


_INPUT = (
    "group_id STRING, measure_id STRING, year INT, replicate INT, gap DOUBLE, "
    "n_reference DOUBLE, n_focus_scored INT, n_members DOUBLE, max_focus_n DOUBLE"
)
_OUTPUT = (
    "group_id STRING, measure_id STRING, n_baseline_years INT, n_members DOUBLE, "
    "n_reference DOUBLE, max_focus_n DOUBLE, baseline_equity_gap DOUBLE, "
    "baseline_ci_low DOUBLE, baseline_ci_high DOUBLE, se DOUBLE, mdc80 DOUBLE, "
    "is_eligible BOOLEAN, reasons ARRAY<STRING>, near_threshold ARRAY<STRING>"
)
_OUTPUT_ARROW = to_arrow_schema(
    StructType([StructField(name, spark_type(kind)) for name, kind in _columns(_OUTPUT)])
)


def eligibility(
    subgroup_rates: DataFrame,
    equity_gaps: DataFrame,
    gap_replicates: DataFrame,
    settings: StatsSettings,
) -> DataFrame:
    """gold/eligibility: the screening of every provider group and measure.

    The baseline gap is the mean of the yearly summary gaps over the stats baseline
    years, its replicate b the mean of the years' replicates b. ALL_GROUPS and
    UNATTRIBUTED are not provider groups and get no row.
    """
    rule = settings.eligibility
    years = list(rule.baseline_years)
    keys = ["group_id", "measure_id", "year"]
    chosen = (~F.col("group_id").isin(ALL_GROUPS, UNATTRIBUTED)) & F.col("year").isin(years)
    members = subgroup_rates.filter(chosen & (F.col("subgroup") == ALL_SUBGROUP)).select(
        *keys, F.col("n").alias("n_members")
    )
    focus = (
        equity_gaps.filter(chosen & (F.col("level") != SUMMARY_LEVEL))
        .groupBy(*keys)
        .agg(F.max("n_focus").alias("max_focus_n"))
    )
    summary = (
        equity_gaps.filter(chosen & (F.col("level") == SUMMARY_LEVEL))
        .select(*keys, F.lit(-1).alias("replicate"), "gap", "n_reference", "n_focus_scored")
        .join(members, on=keys, how="left")
        .join(focus, on=keys, how="left")
    )
    replicates = gap_replicates.filter(chosen).select(
        *keys, "replicate", F.col("equity_gap").alias("gap")
    )
    rows = summary.unionByName(replicates, allowMissingColumns=True).select(
        *[F.col(name).cast(kind) for name, kind in _columns(_INPUT)]
    )

    def screen(table: pa.Table) -> pa.Table:
        return _screen(table, years, settings)

    decided = rows.groupBy("group_id", "measure_id").applyInArrow(screen, schema=_OUTPUT)
    return ELIGIBILITY.conform(
        decided.select(
            "*",
            F.lit(settings.dimension).alias("dimension"),
            F.array(*[F.lit(y) for y in years]).cast("array<int>").alias("baseline_years"),
            F.lit(rule.max_mdc_share).alias("max_mdc_share"),
            F.lit(rule.power).alias("power"),
            (F.size("near_threshold") > 0).alias("is_near_threshold"),
            F.lit(settings.replicates).cast("int").alias("replicates"),
        )
    )


def _screen(table: pa.Table, years: Sequence[int], settings: StatsSettings) -> pa.Table:
    """The decision of one (group, measure) from its summary and replicate rows."""
    rows = table.to_pandas()
    summary = rows[rows["replicate"] == -1].set_index("year").reindex(years)
    reps = rows[rows["replicate"] >= 0].pivot_table(
        index="year", columns="replicate", values="gap", aggfunc="first"
    )
    yearly = reps.reindex(years).to_numpy(dtype=np.float64)
    complete = np.isfinite(yearly).all(axis=0)
    has_gap = bool(summary["gap"].notna().all()) and complete.any()
    decision = baseline_decision(
        float(summary["gap"].mean()) if has_gap else None,
        yearly[:, complete].mean(axis=0) if has_gap else np.empty(0),
        yearly[:, complete] if has_gap else np.empty((len(years), 0)),
        reference_scored=bool((summary["n_reference"] >= settings.min_scored).all()),
        focus_scored=bool((summary["n_focus_scored"] >= 1).all()),
        rule=settings.eligibility,
        ci_level=settings.ci_level,
    )
    present = summary["gap"].notna()
    out = {
        "group_id": [rows["group_id"].iloc[0]],
        "measure_id": [rows["measure_id"].iloc[0]],
        "n_baseline_years": [int(present.sum())],
        "n_members": [float(summary["n_members"].fillna(0).sum() / len(years))],
        "n_reference": [float(summary["n_reference"].fillna(0).sum() / len(years))],
        "max_focus_n": [float(summary["max_focus_n"].fillna(0).sum() / len(years))],
        "baseline_equity_gap": [decision.gap],
        "baseline_ci_low": [decision.ci_low],
        "baseline_ci_high": [decision.ci_high],
        "se": [decision.se],
        "mdc80": [decision.mdc80],
        "is_eligible": [decision.is_eligible],
        "reasons": [list(decision.reasons)],
        "near_threshold": [list(decision.near_threshold)],
    }
    return pa.table(out, schema=_OUTPUT_ARROW)
