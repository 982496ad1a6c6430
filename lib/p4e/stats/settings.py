"""The `stats:` configuration, the measure directions and the dimension's reference category."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from p4e.config import Config, read_yaml
from p4e.errors import ConfigError

REFERENCE_RULES = ("fixed", "best")
GAP_SUMMARIES = ("weighted_mean", "max", "variance")
SCOPES = ("plan", "all")
DIRECTIONS = ("higher", "lower")
DEFAULT_REFERENCE = "white"


@dataclass(frozen=True)
class Eligibility:
    """Thresholds of the baseline eligibility test (SPEC §6)."""

    baseline_years: tuple[int, ...] = (2021, 2022)
    min_members: float = 100
    min_reference: float = 30
    min_focus: float = 30
    max_se: float = 0.03


@dataclass(frozen=True)
class StatsSettings:
    """Everything the rates, gaps, bootstrap and eligibility computations are told.

    Attributes:
        dimension: name of the dimension (written to the output tables).
        directions: measure id -> 'higher' | 'lower' (which way is better).
        reference_category: the fixed reference subgroup (used when reference_rule is 'fixed').
        reference_rule: 'fixed' or 'best' (best-performing scored subgroup, per group-year).
        gap_summary: 'weighted_mean', 'max' or 'variance'.
        replicates: bootstrap replicates B.
        seed: run seed; every (group, year) derives its own random stream from it.
        ci_level: coverage of the percentile confidence intervals.
        min_cell_publish: weighted denominators below this are flagged suppressed.
        min_scored: weighted denominators below this are not scored.
        scope: 'plan' (plan members only) or 'all' (every attributed patient).
        eligibility: baseline eligibility thresholds.
    """

    dimension: str
    directions: Mapping[str, str]
    reference_category: str = DEFAULT_REFERENCE
    reference_rule: str = "fixed"
    gap_summary: str = "weighted_mean"
    replicates: int = 1000
    seed: int = 0
    ci_level: float = 0.95
    min_cell_publish: float = 11
    min_scored: float = 30
    scope: str = "plan"
    eligibility: Eligibility = Eligibility()

    def __post_init__(self) -> None:
        _check_choice("stats.reference", self.reference_rule, REFERENCE_RULES)
        _check_choice("stats.gap_summary", self.gap_summary, GAP_SUMMARIES)
        _check_choice("stats.scope", self.scope, SCOPES)
        for measure, direction in self.directions.items():
            _check_choice(f"direction of measure {measure}", direction, DIRECTIONS)
        if self.replicates < 2:
            raise ConfigError(f"stats.replicates must be at least 2, not {self.replicates}")
        if not 0 < self.ci_level < 1:
            raise ConfigError(f"stats.ci_level must lie strictly in (0, 1), not {self.ci_level}")
        if not self.eligibility.baseline_years:
            raise ConfigError("stats.eligibility.baseline_years must name at least one year")

    @property
    def percentiles(self) -> tuple[float, float]:
        """Lower and upper percentile (0-100) of the confidence interval."""
        tail = (1 - self.ci_level) / 2 * 100
        return tail, 100 - tail


def load_settings(cfg: Config, directions: Mapping[str, str] | None = None) -> StatsSettings:
    """Build the settings from the main configuration and the files it points to.

    Args:
        cfg: main configuration (its `stats:` and `dimension:` keys, `paths.measures`
            and `paths.dimensions`).
        directions: measure id -> direction; read from `conf/measures/*.yaml` when None.

    Raises:
        ConfigError: a value is missing, has the wrong type, or is not one of the choices.
    """
    section = cfg.get("stats") or {}
    elig = section.get("eligibility") or {}
    dimension = str(cfg.get("dimension", "race_ethnicity"))
    try:
        return StatsSettings(
            dimension=dimension,
            directions=dict(directions) if directions is not None else load_directions(cfg),
            reference_category=str(
                section.get("reference_category") or dimension_reference(cfg, dimension)
            ),
            reference_rule=str(section.get("reference", "fixed")),
            gap_summary=str(section.get("gap_summary", "weighted_mean")),
            replicates=int(section.get("replicates", 1000)),
            seed=int(section.get("seed", 0)),
            ci_level=float(section.get("ci_level", 0.95)),
            min_cell_publish=float(section.get("min_cell_publish", 11)),
            min_scored=float(section.get("min_scored", 30)),
            scope=str(section.get("scope", "plan")),
            eligibility=Eligibility(
                baseline_years=tuple(int(y) for y in elig.get("baseline_years", (2021, 2022))),
                min_members=float(elig.get("min_members", 100)),
                min_reference=float(elig.get("min_reference", 30)),
                min_focus=float(elig.get("min_focus", 30)),
                max_se=float(elig.get("max_se", 0.03)),
            ),
        )
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"invalid value in the `stats:` configuration section: {exc}") from exc


def load_directions(cfg: Config) -> dict[str, str]:
    """Measure id -> direction ('higher' | 'lower') from every `conf/measures/*.yaml`.

    Files whose name starts with `_` hold shared fragments, not measures, and are skipped.

    Raises:
        ConfigError: a measure file lacks `id` or has an unknown `direction`.
    """
    directions = {}
    files = sorted(Path(cfg.conf_path("measures")).glob("*.yaml"))
    for file in (f for f in files if not f.name.startswith("_")):
        data = read_yaml(file)
        if "id" not in data:
            raise ConfigError(f"{file} has no `id`")
        direction = str(data.get("direction", ""))
        _check_choice(f"{file}: direction", direction, DIRECTIONS)
        directions[str(data["id"])] = direction
    return directions


def dimension_reference(cfg: Config, dimension: str) -> str:
    """The `reference_category` of `conf/dimensions/<dimension>.yaml` (default 'white')."""
    file = Path(cfg.conf_path("dimensions")) / f"{dimension}.yaml"
    if not file.is_file():
        return DEFAULT_REFERENCE
    data = read_yaml(file)
    return str(data.get("reference_category") or data.get("reference") or DEFAULT_REFERENCE)


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"{name} is {value!r}; use one of {', '.join(choices)}")
