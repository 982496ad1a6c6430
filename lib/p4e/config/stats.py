"""The `stats:` section: rates, gaps, bootstrap precision, publication and eligibility rules."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from p4e.config.fields import Field, Reader, settings_of
from p4e.tables.vocabulary import ESTIMATORS, WEIGHTED

REFERENCE_RULES = ("fixed", "best")
GAP_SUMMARIES = ("weighted_mean", "max", "variance")
SCOPES = ("plan", "all")
# Eligibility and settlement decide on at least this many replicates.
MIN_DECISION_REPLICATES = 10_000


@dataclass(frozen=True)
class Eligibility:
    """The baseline eligibility test (docs/methodology.md, "Eligibility").

    Attributes:
        baseline_years: the years whose mean is the baseline.
        max_mdc_share: the minimum detectable change at `power` must be at most this
            share of the baseline gap.
        power: the power of the minimum detectable change.
    """

    baseline_years: tuple[int, ...]
    max_mdc_share: float = 0.5
    power: float = 0.8


@dataclass(frozen=True)
class StatsSettings:
    """Everything the rates, gaps, bootstrap and eligibility computations are told.

    Attributes:
        dimension: name of the dimension (written to the output tables).
        directions: measure id -> 'higher' | 'lower' (which way is better).
        eligibility: baseline eligibility thresholds.
        reference_category: the fixed reference subgroup (used when reference_rule is
            'fixed'; the dimension's reference category unless `stats:` names one).
        reference_rule: 'fixed' or 'best' (best-performing scored subgroup, per group-year).
        gap_summary: 'weighted_mean', 'max' or 'variance'.
        replicates: bootstrap replicates B of the published rates and gaps.
        decision_replicates: replicates behind eligibility and settlement decisions.
        seed: run seed; every (group, year) derives its own random stream from it.
        ci_level: coverage of the percentile confidence intervals.
        min_cell_publish: weighted denominators below this are suppressed.
        min_scored: weighted denominators below this are not scored.
        scope: 'plan' (plan members only) or 'all' (every attributed patient).
        estimator: 'weighted' or 'corrected' (p4e.stats.corrected): the subgroup rates
            eligibility and settlement decide on; both are published.
    """

    dimension: str
    directions: Mapping[str, str]
    eligibility: Eligibility
    reference_category: str
    reference_rule: str = "fixed"
    gap_summary: str = "weighted_mean"
    replicates: int = 1000
    decision_replicates: int = 10_000
    seed: int = 0
    ci_level: float = 0.95
    min_cell_publish: float = 11
    min_scored: float = 30
    scope: str = "plan"
    estimator: str = WEIGHTED

    @property
    def other_estimator(self) -> str:
        """The estimator settlement records beside the one it pays on."""
        return next(e for e in ESTIMATORS if e != self.estimator)

    @property
    def percentiles(self) -> tuple[float, float]:
        """Lower and upper percentile (0-100) of the confidence interval."""
        tail = (1 - self.ci_level) / 2 * 100
        return tail, 100 - tail

    @property
    def alpha(self) -> float:
        """1 - ci_level: two-sided error of the intervals (alpha / 2 in each tail)."""
        return 1.0 - self.ci_level

    @property
    def ci_label(self) -> str:
        """The CI level as reports write it: '95%'."""
        return f"{self.ci_level * 100:g}%"


def parse_stats(
    section: Field,
    *,
    dimension: str,
    reference: str,
    codes: tuple[str, ...],
    directions: Mapping[str, str],
) -> StatsSettings:
    """The `stats:` section of the main configuration.

    Args:
        section: the section (`stats`).
        dimension: the dimension's name.
        reference: the dimension's reference category (the default of reference_category).
        codes: the dimension's category codes.
        directions: measure id -> direction, from the measure definitions.

    Raises:
        ConfigError: a value is missing, of the wrong type or not one of the choices.
    """
    thresholds = section["eligibility"].mapping()
    eligibility = settings_of(
        Eligibility,
        thresholds,
        {
            "max_mdc_share": lambda f: f.number(low=0.0, high=1.0),
            "power": lambda f: f.number(low=0.5, high=0.99),
        },
        also=("baseline_years",),
        baseline_years=thresholds["baseline_years"].years(),
    )
    readers: dict[str, Reader | tuple[str, Reader]] = {
        "scope": lambda f: f.choice(SCOPES),
        "replicates": lambda f: f.integer(low=2),
        "decision_replicates": lambda f: f.integer(low=MIN_DECISION_REPLICATES),
        "seed": Field.integer,
        "ci_level": lambda f: f.number(low=0.5, high=0.999),
        "min_cell_publish": lambda f: f.number(low=0),
        "min_scored": lambda f: f.number(low=0),
        "reference": ("reference_rule", lambda f: f.choice(REFERENCE_RULES)),
        "gap_summary": lambda f: f.choice(GAP_SUMMARIES),
        "estimator": lambda f: f.choice(ESTIMATORS),
    }
    return settings_of(
        StatsSettings,
        section,
        readers,
        also=("reference_category", "eligibility"),
        dimension=dimension,
        directions=dict(directions),
        eligibility=eligibility,
        reference_category=section["reference_category"].choice(codes, reference),
    )
