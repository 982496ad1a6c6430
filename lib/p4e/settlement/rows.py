"""The settlement rows of one contract and performance year, built from the collected figures.

Per (contract, year, group): one row per measure (level 'measure'), one for the
completeness component ('completeness') and one 'total'; the rules are those of
`p4e.settlement.payout`, the columns those of `p4e.tables.SETTLEMENTS`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from statistics import NormalDist
from typing import Any

from p4e.config.contracts import Contract, MeasureTerm
from p4e.config.stats import StatsSettings
from p4e.settlement.figures import Figures
from p4e.settlement.guard import GuardResult, decline_guard, period_rates
from p4e.settlement.payout import (
    MeasureEvidence,
    MeasureOutcome,
    allocate,
    measure_outcome,
    measure_weights,
    pool_amount,
)
from p4e.settlement.tiers import completeness_outcome
from p4e.tables import SETTLEMENTS
from p4e.tables.vocabulary import COMPLETENESS_LEVEL, MEASURE_LEVEL, TOTAL_LEVEL

WEIGHT_QUANTUM = Decimal("0.0000000001")
COLUMNS = SETTLEMENTS.names
Row = dict[str, Any]


def settle_year(
    contract: Contract,
    year: int,
    figures: Figures,
    rules: StatsSettings,
    versions: dict[str, int],
) -> list[Row]:
    """Settlement rows (dicts keyed by column) of one contract and performance year.

    Args:
        contract: the contract.
        year: a performance year of its term.
        figures: the collected figures (`p4e.settlement.figures.gather`).
        rules: `contract_settings(...)` of the contract.
        versions: "layer/table" -> Delta version read, written to `input_versions`.
    """
    rows = []
    pmpm = contract.pool.kind == "pmpm"
    for group in contract.groups:
        evidence = [
            _evidence(contract, term, group, year, figures, rules) for term in contract.measures
        ]
        rows += _group_rows(
            contract,
            year,
            group,
            evidence,
            figures.completeness.get((group, year, contract.dimension)),
            figures.months.get((contract.scope, group, year), 0) if pmpm else None,
            versions,
        )
    return rows


@dataclass(frozen=True)
class _Evidence:
    """A measure's evidence for the rules, and the figures its row shows."""

    evidence: MeasureEvidence
    baseline: Row
    performance: Row
    change: Row


def _evidence(
    contract: Contract,
    term: MeasureTerm,
    group: str,
    year: int,
    figures: Figures,
    rules: StatsSettings,
) -> _Evidence:
    measure = term.measure_id
    baseline = figures.baseline.get((rules.eligibility, group, measure))
    performance = figures.performance.get((group, measure, year), {})
    change = figures.change.get((rules.eligibility, group, measure, year), {})
    z = NormalDist().inv_cdf(rules.ci_level) if contract.guard_test == "significant" else 0.0
    guard = decline_guard(
        period_rates(figures.rates.get((group, measure), []), contract.baseline_years, year),
        rules.directions[measure],
        contract.guard_tolerance,
        z,
    )
    return _Evidence(
        _measure_evidence(measure, baseline, performance, change, guard),
        baseline or {},
        performance,
        change,
    )


def _measure_evidence(
    measure_id: str,
    baseline: Row | None,
    performance: Row,
    change: Row,
    guard: GuardResult,
) -> MeasureEvidence:
    if baseline is None:  # the group has no rate population for the measure at all
        baseline = {"is_eligible": False, "reasons": ["no_data"]}
    return MeasureEvidence(
        measure_id=measure_id,
        is_eligible=bool(baseline.get("is_eligible")),
        reasons=tuple(baseline.get("reasons") or ()),
        baseline_gap=baseline.get("baseline_equity_gap"),
        baseline_ci_low=baseline.get("baseline_ci_low"),
        performance_gap=performance.get("performance_gap"),
        performance_ci_low=performance.get("performance_ci_low"),
        change_ci_low=change.get("change_ci_low"),
        guard=guard,
    )


def _group_rows(
    contract: Contract,
    year: int,
    group: str,
    measures: Sequence[_Evidence],
    share_self_reported: float | None,
    months: int | None,
    versions: dict[str, int],
) -> list[Row]:
    """The measure, completeness and total rows of one group and year."""
    outcomes = [measure_outcome(m.evidence, contract) for m in measures]
    weights = measure_weights(
        contract, {m.evidence.measure_id: m.evidence.is_eligible for m in measures}
    )
    pool = pool_amount(contract, months or 0)
    completeness_tier, completeness_share = completeness_outcome(share_self_reported, contract)
    completeness_weight = contract.completeness.weight
    exact = [
        pool * weights[m.evidence.measure_id] * outcome.share
        for m, outcome in zip(measures, outcomes, strict=True)
    ]
    amounts, total = allocate([*exact, pool * completeness_weight * completeness_share])
    common = {
        **dict.fromkeys(COLUMNS),
        "contract_id": contract.contract_id,
        "year": year,
        "group_id": group,
        "dimension": contract.dimension,
        "baseline_years": list(contract.baseline_years),
        "pool": pool,
        "member_months": months,
        "input_versions": versions,
    }
    rows = [
        {**common, **_measure_row(term, m, outcome, weights[term.measure_id]), "amount": amount}
        for term, m, outcome, amount in zip(
            contract.measures, measures, outcomes, amounts, strict=False
        )
    ]
    rows.append(
        {
            **common,
            "level": COMPLETENESS_LEVEL,
            "share_self_reported": share_self_reported,
            "tier": completeness_tier,
            "share": completeness_share,
            "contract_weight": completeness_weight.quantize(WEIGHT_QUANTUM),
            "weight": completeness_weight.quantize(WEIGHT_QUANTUM),
            "amount": amounts[-1],
        }
    )
    rows.append({**common, "level": TOTAL_LEVEL, "amount": total})
    return rows


def _measure_row(
    term: MeasureTerm, measure: _Evidence, outcome: MeasureOutcome, weight: Decimal
) -> Row:
    """The columns of a measure row but the amount."""
    evidence, baseline, change = measure.evidence, measure.baseline, measure.change
    performance_gap, baseline_gap = evidence.performance_gap, evidence.baseline_gap
    return {
        "level": MEASURE_LEVEL,
        "measure_id": evidence.measure_id,
        "is_eligible": evidence.is_eligible,
        "eligibility_reasons": list(evidence.reasons),
        "baseline_gap": baseline.get("baseline_equity_gap"),
        "baseline_ci_low": baseline.get("baseline_ci_low"),
        "baseline_ci_high": baseline.get("baseline_ci_high"),
        "baseline_se": baseline.get("se"),
        "performance_gap": performance_gap,
        "performance_ci_low": measure.performance.get("performance_ci_low"),
        "performance_ci_high": measure.performance.get("performance_ci_high"),
        "change": None
        if performance_gap is None or baseline_gap is None
        else performance_gap - baseline_gap,
        "change_ci_low": change.get("change_ci_low"),
        "change_ci_high": change.get("change_ci_high"),
        "has_baseline_gap": outcome.has_baseline_gap,
        "closure": outcome.closure,
        "is_guard_passed": evidence.guard.is_passed,
        "guard_subgroup": evidence.guard.subgroup,
        "guard_decline": evidence.guard.decline,
        "is_eliminated": outcome.is_eliminated,
        "is_widened": outcome.is_widened,
        "tier": outcome.tier,
        "share": outcome.share,
        "contract_weight": term.weight.quantize(WEIGHT_QUANTUM),
        "weight": weight.quantize(WEIGHT_QUANTUM),
    }
