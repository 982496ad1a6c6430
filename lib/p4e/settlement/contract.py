"""Pay-for-equity contracts: `conf/contracts/*.yaml` loaded into frozen dataclasses.

Every field is checked on load; an error names the file and the field
(`conf/contracts/x.yaml: payout.tiers[1].share must be ...`). Money and shares are
read as `Decimal` (from the YAML text of the number), so no float rounding enters
the amounts. A contract file looks like:

    id: C-G901                       # contract id (unique over the folder)
    name: Harbor Community Health equity contract
    groups: [G901]                   # provider group(s); each is settled on its own
    term: {start_year: 2023, years: 3}
    baseline_years: [2021, 2022]     # all before term.start_year
    scope: plan                      # plan | all   (must match stats.scope)
    dimension: race_ethnicity        # must match the dimension of the gold tables
    reference: fixed                 # fixed | best (must match stats.reference)
    measures:                        # weights + completeness.weight sum to 1
      - {id: COL, weight: 0.4}
      - {id: WCV, weight: 0.4}
    ineligible: renormalise          # renormalise | forfeit
    eligibility: {max_se: 0.03}      # optional overrides of stats.eligibility thresholds
    guard_tolerance: 0.01            # decline guard (default 0.01)
    guard_test: point                # point | significant (see p4e.settlement.guard)
    elimination_threshold: 0.01      # gap at or below this is eliminated (default 0.01)
    payout:
      method: tiers                  # tiers | linear (interpolate between tier points)
      tiers: [{closure: 0.25, share: 0.25}, {closure: 0.5, share: 0.5},
              {closure: 0.75, share: 0.75}]
      eliminated_share: 1.0          # default 1.0
      no_baseline_gap_share: 1.0     # default 1.0
    downside: {share: 0.25}          # optional: a significantly widened gap costs this share
    completeness:
      weight: 0.2
      tiers: [{self_reported: 0.5, share: 0.5}, {self_reported: 0.8, share: 1.0}]
    pool: {fixed: 100000}            # or {pmpm: 2.50}: per member month of the group
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from itertools import pairwise
from pathlib import Path
from typing import Any

from p4e.config import Config, read_yaml
from p4e.errors import ConfigError

SCOPES = ("plan", "all")
REFERENCE_RULES = ("fixed", "best")
METHODS = ("tiers", "linear")
INELIGIBLE_RULES = ("renormalise", "forfeit")
GUARD_TESTS = ("point", "significant")
POOL_KINDS = ("fixed", "pmpm")
WEIGHT_TOLERANCE = Decimal("0.000001")
_KEYS = {
    "id",
    "name",
    "groups",
    "term",
    "baseline_years",
    "scope",
    "dimension",
    "reference",
    "measures",
    "ineligible",
    "eligibility",
    "guard_tolerance",
    "guard_test",
    "elimination_threshold",
    "payout",
    "downside",
    "completeness",
    "pool",
}
_THRESHOLDS = ("min_members", "min_reference", "min_focus", "max_se")


@dataclass(frozen=True)
class Tier:
    """A tier point: at least `threshold` (closure, or self-reported share) earns `share`."""

    threshold: Decimal
    share: Decimal


@dataclass(frozen=True)
class MeasureTerm:
    """A measure of the contract and its weight in the pool."""

    measure_id: str
    weight: Decimal


@dataclass(frozen=True)
class Payout:
    """How closure maps to a share of a measure's pool.

    Attributes:
        method: 'tiers' (the share of the highest tier reached) or 'linear' (piecewise
            linear through (0, 0) and the tier points, flat after the last one).
        tiers: tier points in increasing closure order.
        eliminated_share: share when the gap is eliminated with the guard passing.
        no_baseline_gap_share: share for keeping a gap that was not there at baseline.
    """

    method: str
    tiers: tuple[Tier, ...]
    eliminated_share: Decimal = Decimal(1)
    no_baseline_gap_share: Decimal = Decimal(1)


@dataclass(frozen=True)
class Completeness:
    """The data completeness component: tiers on the self-reported share, and its weight."""

    weight: Decimal
    tiers: tuple[Tier, ...]


@dataclass(frozen=True)
class Pool:
    """The money at stake per group and performance year: `fixed` amount or `pmpm` rate."""

    kind: str
    amount: Decimal


@dataclass(frozen=True)
class Contract:
    """One validated contract (see the module docstring for the file format).

    Attributes:
        eligibility: threshold overrides (name -> value) of `stats.eligibility`.
        downside_share: share of a measure's pool lost when its gap widened
            significantly (0 = no downside).
        source: the file it was loaded from.
    """

    contract_id: str
    name: str
    groups: tuple[str, ...]
    start_year: int
    term_years: int
    baseline_years: tuple[int, ...]
    scope: str
    dimension: str
    reference: str
    measures: tuple[MeasureTerm, ...]
    ineligible: str
    eligibility: Mapping[str, float]
    guard_tolerance: float
    guard_test: str
    elimination_threshold: float
    payout: Payout
    downside_share: Decimal
    completeness: Completeness
    pool: Pool
    source: str

    @property
    def performance_years(self) -> tuple[int, ...]:
        """The years of the term, each settled once."""
        return tuple(range(self.start_year, self.start_year + self.term_years))


class _Fields:
    """Typed access to one YAML mapping, with errors naming the file and the field."""

    def __init__(self, file: Path, data: Mapping[str, Any], prefix: str = "") -> None:
        self.file = file
        self.data = data
        self.prefix = prefix

    def error(self, field: str, message: str) -> ConfigError:
        return ConfigError(f"{self.file}: {self.prefix}{field} {message}")

    def sub(self, field: str, *, required: bool = True) -> _Fields | None:
        value = self.data.get(field)
        if value is None and not required:
            return None
        if not isinstance(value, Mapping):
            raise self.error(field, "must be a mapping")
        return _Fields(self.file, value, f"{self.prefix}{field}.")

    def items(self, field: str) -> list[_Fields]:
        value = self.data.get(field)
        if not isinstance(value, list) or not value:
            raise self.error(field, "must be a non-empty list")
        out = []
        for i, item in enumerate(value):
            if not isinstance(item, Mapping):
                raise self.error(f"{field}[{i}]", "must be a mapping")
            out.append(_Fields(self.file, item, f"{self.prefix}{field}[{i}]."))
        return out

    def only(self, allowed: set[str] | Sequence[str]) -> None:
        unknown = sorted(set(self.data) - set(allowed))
        if unknown:
            raise self.error(
                unknown[0], f"is not a known field; known: {', '.join(sorted(allowed))}"
            )

    def text(self, field: str, default: str | None = None) -> str:
        value = self.data.get(field, default)
        if not isinstance(value, str) or not value.strip():
            raise self.error(field, "must be a non-empty string")
        return value

    def choice(self, field: str, choices: Sequence[str], default: str | None = None) -> str:
        value = self.text(field, default)
        if value not in choices:
            raise self.error(field, f"is {value!r}; use one of {', '.join(choices)}")
        return value

    def integer(self, field: str, *, minimum: int) -> int:
        value = self.data.get(field)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.error(field, f"must be an integer >= {minimum}, not {value!r}")
        return value

    def years(self, field: str) -> tuple[int, ...]:
        value = self.data.get(field)
        if not isinstance(value, list) or not value:
            raise self.error(field, "must be a non-empty list of years")
        if any(isinstance(y, bool) or not isinstance(y, int) for y in value):
            raise self.error(field, f"must hold integer years, not {value!r}")
        if len(set(value)) != len(value):
            raise self.error(field, f"repeats a year: {value!r}")
        return tuple(sorted(value))

    def decimal(
        self, field: str, default: Any = None, *, low: Decimal, high: Decimal | None = None
    ) -> Decimal:
        value = self.data.get(field, default)
        try:
            if isinstance(value, bool) or value is None:
                raise InvalidOperation
            number = Decimal(str(value))
        except InvalidOperation:
            raise self.error(field, f"must be a number, not {value!r}") from None
        if not number.is_finite() or number < low or (high is not None and number > high):
            bounds = f"between {low} and {high}" if high is not None else f">= {low}"
            raise self.error(field, f"must be {bounds}, not {value!r}")
        return number

    def tiers(self, field: str, threshold: str) -> tuple[Tier, ...]:
        tiers = []
        for item in self.items(field):
            item.only({threshold, "share"})
            tiers.append(
                Tier(
                    item.decimal(threshold, low=Decimal(0), high=Decimal(1)),
                    item.decimal("share", low=Decimal(0), high=Decimal(1)),
                )
            )
        if any(a.threshold >= b.threshold or a.share > b.share for a, b in pairwise(tiers)):
            raise self.error(
                field, f"must increase strictly in {threshold} and never decrease in share"
            )
        return tuple(tiers)


def parse_contract(file: Path, data: Mapping[str, Any], known_measures: set[str]) -> Contract:
    """Validate one contract document.

    Args:
        file: its file (named in errors).
        data: the parsed YAML mapping.
        known_measures: measure ids configured in `conf/measures`.

    Raises:
        ConfigError: a field is missing, unknown or invalid; the message names it.
    """
    top = _Fields(file, data)
    top.only(_KEYS)
    contract_id = top.text("id")
    groups = data.get("groups")
    if (
        not isinstance(groups, list)
        or not groups
        or not all(isinstance(g, str) and g for g in groups)
    ):
        raise top.error("groups", f"must be a non-empty list of group ids, not {groups!r}")
    if len(set(groups)) != len(groups):
        raise top.error("groups", f"repeats a group: {groups!r}")
    term = top.sub("term")
    term.only({"start_year", "years"})
    start_year = term.integer("start_year", minimum=1900)
    baseline = top.years("baseline_years")
    if max(baseline) >= start_year:
        raise top.error("baseline_years", f"must all come before term.start_year {start_year}")
    measures = []
    for item in top.items("measures"):
        item.only({"id", "weight"})
        measure_id = item.text("id")
        if measure_id not in known_measures:
            raise item.error("id", f"{measure_id!r} is not a configured measure")
        measures.append(MeasureTerm(measure_id, item.decimal("weight", low=Decimal(0))))
    ids = [m.measure_id for m in measures]
    if len(set(ids)) != len(ids):
        raise top.error("measures", f"lists a measure twice: {ids}")
    completeness = top.sub("completeness")
    completeness.only({"weight", "tiers"})
    component = Completeness(
        completeness.decimal("weight", low=Decimal(0), high=Decimal(1)),
        completeness.tiers("tiers", "self_reported"),
    )
    total = sum((m.weight for m in measures), component.weight)
    if abs(total - 1) > WEIGHT_TOLERANCE:
        raise top.error("measures", f"weights plus completeness.weight sum to {total}, not 1")
    elig = top.sub("eligibility", required=False)
    overrides: dict[str, float] = {}
    if elig is not None:
        elig.only(_THRESHOLDS)
        overrides = {
            k: float(elig.decimal(k, low=Decimal(0))) for k in _THRESHOLDS if k in elig.data
        }
    payout = top.sub("payout")
    payout.only({"method", "tiers", "eliminated_share", "no_baseline_gap_share"})
    downside = top.sub("downside", required=False)
    if downside is not None:
        downside.only({"share"})
    pool = top.sub("pool")
    pool.only(POOL_KINDS)
    if len(pool.data) != 1:
        raise top.error("pool", "must hold exactly one of: fixed, pmpm")
    kind = next(iter(pool.data))
    return Contract(
        contract_id=contract_id,
        name=str(data.get("name", contract_id)),
        groups=tuple(groups),
        start_year=start_year,
        term_years=term.integer("years", minimum=1),
        baseline_years=baseline,
        scope=top.choice("scope", SCOPES, "plan"),
        dimension=top.text("dimension"),
        reference=top.choice("reference", REFERENCE_RULES, "fixed"),
        measures=tuple(measures),
        ineligible=top.choice("ineligible", INELIGIBLE_RULES, "renormalise"),
        eligibility=overrides,
        guard_tolerance=float(top.decimal("guard_tolerance", "0.01", low=Decimal(0))),
        guard_test=top.choice("guard_test", GUARD_TESTS, "point"),
        elimination_threshold=float(top.decimal("elimination_threshold", "0.01", low=Decimal(0))),
        payout=Payout(
            method=payout.choice("method", METHODS, "tiers"),
            tiers=payout.tiers("tiers", "closure"),
            eliminated_share=payout.decimal("eliminated_share", 1, low=Decimal(0), high=Decimal(1)),
            no_baseline_gap_share=payout.decimal(
                "no_baseline_gap_share", 1, low=Decimal(0), high=Decimal(1)
            ),
        ),
        downside_share=(
            downside.decimal("share", low=Decimal(0), high=Decimal(1))
            if downside is not None
            else Decimal(0)
        ),
        completeness=component,
        pool=Pool(kind, pool.decimal(kind, low=Decimal(0))),
        source=str(file),
    )


def load_contracts(cfg: Config, known_measures: set[str]) -> dict[str, Contract]:
    """Every contract of the folder `paths.contracts`, by contract id.

    Args:
        cfg: main configuration.
        known_measures: measure ids configured in `conf/measures`.

    Raises:
        ConfigError: a file is invalid, or two files use the same contract id.
    """
    contracts: dict[str, Contract] = {}
    for file in sorted(Path(cfg.conf_path("contracts")).glob("*.yaml")):
        contract = parse_contract(file, read_yaml(file), known_measures)
        if contract.contract_id in contracts:
            other = contracts[contract.contract_id].source
            raise ConfigError(f"{file}: id {contract.contract_id!r} is already used by {other}")
        contracts[contract.contract_id] = contract
    return contracts
