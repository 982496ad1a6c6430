"""Pay-for-equity contracts: `conf/contracts/*.yaml` read into frozen dataclasses.

Every field is checked on load; an error names the file and the field
(`conf/contracts/x.yaml: payout.tiers[1].share must be ...`). Money and shares are
read as `Decimal` (from the YAML text of the number), so no float rounding enters
the amounts. The rules the fields feed are docs/methodology.md, "Settlement". A
contract file looks like:

    id: C-G901                       # contract id (unique over the folder)
    name: Harbor Community Health equity contract
    groups: [G901]                   # provider group(s); each is settled on its own
    term: {start_year: 2023, years: 3}
    baseline_years: [2021, 2022]     # all before term.start_year; frozen at first settlement
    scope: plan                      # plan | all   (must match stats.scope)
    dimension: race_ethnicity        # must match the dimension of the gold tables
    reference: fixed                 # fixed | best (best scored subgroup at baseline, frozen)
    baseline_vintage: restated       # restated | frozen: which baseline gap settles
    measures:                        # weights + completeness.weight sum to 1
      - {id: COL, weight: 0.4}
      - {id: WCV, weight: 0.4}
    ineligible: renormalise          # renormalise | forfeit (upside weights only)
    eligibility: {max_mdc_share: 0.5, power: 0.8}   # optional overrides of stats.eligibility
    guard_tolerance: 0.01            # a focus subgroup declining more voids the credit
    guard_test: point                # point | significant (focus subgroups; p4e.settlement.guard)
    credit_confidence: 0.99          # one-sided confidence the credited reduction is > 0
    elimination_threshold: 0.01      # gap at or below this is eliminated (default 0.01)
    payout:
      method: tiers                  # tiers | linear (interpolate between tier points)
      tiers: [{closure: 0.25, share: 0.25}, {closure: 0.5, share: 0.5},
              {closure: 0.75, share: 0.75}]
      eliminated_share: 1.0          # default 1.0
      maintenance_share: 0           # default 0: pays a pair with no significant baseline
                                     # gap only when its change CI shows no widening
    downside: {share: 0.25}          # optional: a significantly widened gap costs this share
                                     # of the measure's pool at its contract weight
    completeness:
      weight: 0.2
      tiers: [{self_reported: 0.5, share: 0.5}, {self_reported: 0.8, share: 1.0}]
    pool: {fixed: 100000}            # or {pmpm: 2.50}: per member month of the group
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from decimal import Decimal
from itertools import pairwise
from pathlib import Path
from typing import Any

from p4e.config.fields import REQUIRED, Field
from p4e.errors import ConfigError

SCOPES = ("plan", "all")
REFERENCE_RULES = ("fixed", "best")
VINTAGES = ("restated", "frozen")
METHODS = ("tiers", "linear")
INELIGIBLE_RULES = ("renormalise", "forfeit")
GUARD_TESTS = ("point", "significant")
POOL_KINDS = ("fixed", "pmpm")
WEIGHT_TOLERANCE = Decimal("0.000001")
THRESHOLDS = ("max_mdc_share", "power")
FIELDS = (
    "id", "name", "groups", "term", "baseline_years", "scope", "dimension", "reference",
    "baseline_vintage", "measures", "ineligible", "eligibility", "guard_tolerance",
    "guard_test", "credit_confidence", "elimination_threshold", "payout", "downside",
    "completeness", "pool",
)  # fmt: skip


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
        eliminated_share: share when the gap is eliminated with every guard passing.
        maintenance_share: share for a pair without a significant baseline gap whose gap
            did not widen (0: such pairs are simply ineligible).
    """

    method: str
    tiers: tuple[Tier, ...]
    eliminated_share: Decimal = Decimal(1)
    maintenance_share: Decimal = Decimal(0)


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
        downside_share: share of a measure's pool (at its contract weight) lost when its
            gap widened significantly (0 = no downside).
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
    baseline_vintage: str
    measures: tuple[MeasureTerm, ...]
    ineligible: str
    eligibility: Mapping[str, float]
    guard_tolerance: float
    guard_test: str
    credit_confidence: float
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


def parse_contract(
    file: Path, data: Mapping[str, Any], known_measures: Collection[str] | Mapping[str, str]
) -> Contract:
    """Validate one contract document.

    Args:
        file: its file (named in errors).
        data: the parsed YAML mapping.
        known_measures: measure ids configured in `conf/measures`, or a mapping from
            each id and former id (alias, e.g. HBD) to the measure id it names now.

    Raises:
        ConfigError: a field is missing, unknown or invalid; the message names it.
    """
    doc = Field(file, data).mapping(FIELDS)
    groups = doc["groups"]
    group_ids = [item.text() for item in groups.items(non_empty=True)]
    if len(set(group_ids)) != len(group_ids):
        groups.fail(f"repeats a group: {group_ids!r}")
    term = doc["term"].mapping(("start_year", "years"))
    start_year = term["start_year"].integer(low=1900)
    baseline = doc["baseline_years"].years()
    if max(baseline) >= start_year:
        doc["baseline_years"].fail(f"must all come before term.start_year {start_year}")
    items = doc["measures"].items(non_empty=True)
    names = (
        known_measures if isinstance(known_measures, Mapping) else {m: m for m in known_measures}
    )
    measures = tuple(_measure(item, names) for item in items)
    ids = [m.measure_id for m in measures]
    if len(set(ids)) != len(ids):
        doc["measures"].fail(f"lists a measure twice: {ids}")
    completeness = _completeness(doc["completeness"])
    total = sum((m.weight for m in measures), completeness.weight)
    if abs(total - 1) > WEIGHT_TOLERANCE:
        doc["measures"].fail(f"weights plus completeness.weight sum to {total}, not 1")
    return Contract(
        contract_id=doc["id"].text(),
        name=doc["name"].text(doc["id"].text()),
        groups=tuple(group_ids),
        start_year=start_year,
        term_years=term["years"].integer(low=1),
        baseline_years=baseline,
        scope=doc["scope"].choice(SCOPES, "plan"),
        dimension=doc["dimension"].text(),
        reference=doc["reference"].choice(REFERENCE_RULES, "fixed"),
        baseline_vintage=doc["baseline_vintage"].choice(VINTAGES, "restated"),
        measures=measures,
        ineligible=doc["ineligible"].choice(INELIGIBLE_RULES, "renormalise"),
        eligibility=doc["eligibility"].parsed(_thresholds, {}),
        guard_tolerance=float(doc["guard_tolerance"].decimal("0.01", low=Decimal(0))),
        guard_test=doc["guard_test"].choice(GUARD_TESTS, "point"),
        credit_confidence=doc["credit_confidence"].number(0.99, low=0.5, high=0.9999),
        elimination_threshold=float(doc["elimination_threshold"].decimal("0.01", low=Decimal(0))),
        payout=_payout(doc["payout"]),
        downside_share=doc["downside"].parsed(_downside, Decimal(0)),
        completeness=completeness,
        pool=_pool(doc["pool"]),
        source=str(file),
    )


def _measure(field: Field, known: Mapping[str, str]) -> MeasureTerm:
    """A measure of the contract; a former id (alias) names the measure it became."""
    field.mapping(("id", "weight"))
    measure_id = field["id"].text()
    if measure_id not in known:
        field["id"].fail(f"{measure_id!r} is not a configured measure")
    return MeasureTerm(known[measure_id], field["weight"].decimal(low=Decimal(0)))


def _share(field: Field, default: object = REQUIRED) -> Decimal:
    return field.decimal(default, low=Decimal(0), high=Decimal(1))


def _tiers(field: Field, threshold: str) -> tuple[Tier, ...]:
    tiers = []
    for item in field.items(non_empty=True):
        item.mapping((threshold, "share"))
        tiers.append(Tier(_share(item[threshold]), _share(item["share"])))
    if any(a.threshold >= b.threshold or a.share > b.share for a, b in pairwise(tiers)):
        field.fail(f"must increase strictly in {threshold} and never decrease in share")
    return tuple(tiers)


def _completeness(field: Field) -> Completeness:
    field.mapping(("weight", "tiers"))
    return Completeness(_share(field["weight"]), _tiers(field["tiers"], "self_reported"))


def _thresholds(field: Field) -> dict[str, float]:
    field.mapping(THRESHOLDS)
    bounds = {"max_mdc_share": (0.0, 1.0), "power": (0.5, 0.99)}
    return {
        k: field[k].number(low=bounds[k][0], high=bounds[k][1])
        for k in THRESHOLDS
        if field[k].is_given
    }


def _payout(field: Field) -> Payout:
    field.mapping(("method", "tiers", "eliminated_share", "maintenance_share"))
    return Payout(
        method=field["method"].choice(METHODS, "tiers"),
        tiers=_tiers(field["tiers"], "closure"),
        eliminated_share=_share(field["eliminated_share"], 1),
        maintenance_share=_share(field["maintenance_share"], 0),
    )


def _downside(field: Field) -> Decimal:
    field.mapping(("share",))
    return _share(field["share"])


def _pool(field: Field) -> Pool:
    field.mapping(POOL_KINDS)
    if len(field.keys()) != 1:
        field.fail(f"must hold exactly one of: {', '.join(POOL_KINDS)}")
    kind = field.keys()[0]
    return Pool(kind, field[kind].decimal(low=Decimal(0)))


def load_contracts(
    folder: Path, known_measures: Collection[str] | Mapping[str, str]
) -> dict[str, Contract]:
    """Every contract of `folder` (`paths.contracts`), by contract id.

    Args:
        folder: the contracts folder.
        known_measures: as for `parse_contract`.

    Raises:
        ConfigError: a file is invalid, or two files use the same contract id.
    """
    contracts: dict[str, Contract] = {}
    for file in sorted(Path(folder).glob("*.yaml")):
        contract = parse_contract(file, Field.document(file).value, known_measures)
        if contract.contract_id in contracts:
            other = contracts[contract.contract_id].source
            raise ConfigError(f"{file}: id {contract.contract_id!r} is already used by {other}")
        contracts[contract.contract_id] = contract
    return contracts
