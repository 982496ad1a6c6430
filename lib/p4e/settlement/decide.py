"""One (contract, group, performance year) settled in numpy, on its panel bootstrap.

docs/methodology.md, "Settlement". The panel holds the contract's baseline years and
the performance year, with the answers in force at the end of the performance year
(the restated vintage). Per measure, for the observed data and every replicate: the
restated baseline gap, the performance gap, the reference's and the focus subgroups'
declines, the credited reduction and the closure (`closure`), the guard (`guard`), the
rule that settles (`rules`) and its share; then the distribution of the money, per
measure and for the total. The paid amounts are the observed labels' Decimal shares,
rounded on the driver (`p4e.settlement.rows`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np

from p4e.config.contracts import Contract
from p4e.config.stats import StatsSettings
from p4e.settlement import rules as R
from p4e.settlement.closure import (
    Focus,
    closure,
    contract_gap,
    credited_reduction,
    reference_decline,
    subgroup_declines,
)
from p4e.settlement.guard import GuardResult, decline_guard
from p4e.stats.eligibility import is_near, mc_sd, share_not_positive
from p4e.stats.gaps import SIGN
from p4e.stats.panel import PanelRates
from p4e.stats.resample import interval, nanmean, nanstd


@dataclass(frozen=True)
class Frozen:
    """A measure's frozen baseline, as the settlement reads it (gold/contract_baselines).

    Attributes:
        focus: reference and focus (category indices); None when not scored at baseline.
        gap, gap_replicates: the as-contracted baseline gap and its (B,) replicates.
        is_maintenance: ineligible only for want of a significant gap, under a contract
            paying maintenance.
        near_threshold: the baseline decisions near their thresholds.
    """

    baseline_id: str
    focus: Focus | None
    gap: float | None
    gap_replicates: np.ndarray
    is_eligible: bool
    reasons: tuple[str, ...]
    is_maintenance: bool
    mdc80: float | None
    near_threshold: tuple[str, ...]

    @property
    def counts(self) -> bool:
        """Whether the measure keeps its upside weight: eligible, or a maintenance pair."""
        return self.is_eligible or self.is_maintenance


@dataclass(frozen=True)
class PanelSpec:
    """Everything the executors are told about one (contract, group, performance year).

    Attributes:
        weights, contract_weights: measure id -> upside weight, contract weight (floats:
            they only shape the distribution of the money).
        pool: the group's pool for the year.
        completeness_amount: the completeness component's amount (it has no sampling
            uncertainty).
    """

    contract: Contract
    rules: StatsSettings
    group_id: str
    year: int
    frozen: Mapping[str, Frozen]
    weights: Mapping[str, float]
    contract_weights: Mapping[str, float]
    pool: float
    completeness_amount: float


Row = dict[str, Any]


def decide_estimators(
    rates: Mapping[str, PanelRates],
    spec: PanelSpec,
    measures: Sequence[str],
    categories: Sequence[str],
) -> list[Row]:
    """`decide` on the paying estimator's rates (stats.estimator), with the other
    estimator's closure and tier beside each measure row. The other estimator keeps the
    frozen focus and weights but settles against its own restated baseline gap (the
    frozen gap is the paying estimator's)."""
    paying, other = spec.rules.estimator, spec.rules.other_estimator
    rows = decide(rates[paying], spec, measures, categories)
    restated = {
        m: dataclasses.replace(f, gap=None, gap_replicates=np.empty(0))
        for m, f in spec.frozen.items()
    }
    alternative = decide(
        rates[other], dataclasses.replace(spec, frozen=restated), measures, categories
    )
    by_measure = {row["measure_id"]: row for row in alternative}
    for row in rows:
        if row["measure_id"] is None:
            continue
        alt = by_measure[row["measure_id"]]
        row.update(
            {
                "estimator": paying,
                f"closure_{paying}": row.get("closure"),
                f"closure_{other}": alt.get("closure"),
                "tier_other_estimator": alt["tier"],
                "is_estimator_sensitive": alt["tier"] != row["tier"],
            }
        )
    return rows


def decide(
    panel: PanelRates, spec: PanelSpec, measures: Sequence[str], categories: Sequence[str]
) -> list[Row]:
    """The measure rows (observed figures, label, money distribution) and the total row."""
    rows, amounts = [], []
    for m, measure in enumerate(measures):
        if measure not in spec.frozen:
            continue
        row, shares = _measure(panel, m, measure, spec, categories)
        weight = np.where(shares < 0, spec.contract_weights[measure], spec.weights[measure])
        amount = spec.pool * weight * shares
        rows.append({**row, **_money(amount[1:], shares[1:])})
        amounts.append(amount)
    total = sum(amounts, np.zeros(panel.rates_rep.shape[0] + 1)) + spec.completeness_amount
    replicates = total[1:]
    rows.append(
        {
            "measure_id": None,
            "expected_amount": float(replicates.mean()),
            "amount_p05": float(np.percentile(replicates, 5)),
            "amount_p50": float(np.percentile(replicates, 50)),
            "amount_p95": float(np.percentile(replicates, 95)),
            "p_zero": float(np.mean(replicates == 0)),
        }
    )
    return rows


def _money(amount: np.ndarray, shares: np.ndarray) -> Row:
    return {
        "expected_share": float(shares.mean()),
        "expected_amount": float(amount.mean()),
        "amount_p05": float(np.percentile(amount, 5)),
        "amount_p95": float(np.percentile(amount, 95)),
    }


@dataclass(frozen=True)
class _Figures:
    """One measure's figures, arrays over (observed, replicates...).

    Attributes:
        base, perf: (R, S) mean baseline and performance-year rates.
        present: (F,) focus subgroups scored in the performance year.
        has_gap: the reference and a focus subgroup are scored in the performance year.
        restated, settling: the restated baseline gap and the one that settles.
        performance: the performance gap.
        decline, declines: the reference's decline and (R, F) the focus subgroups'.
        credited, closed, change: credited reduction, closure, performance - baseline.
    """

    base: np.ndarray
    perf: np.ndarray
    present: np.ndarray
    has_gap: bool
    restated: np.ndarray
    settling: np.ndarray
    performance: np.ndarray
    decline: np.ndarray
    declines: np.ndarray
    credited: np.ndarray
    closed: np.ndarray
    change: np.ndarray


def _figures_of(
    panel: PanelRates, m: int, sign: float, focus: Focus, frozen: Frozen, spec: PanelSpec,
    n_categories: int,
) -> _Figures:  # fmt: skip
    contract, rules = spec.contract, spec.rules
    k = len(contract.baseline_years)
    rates = np.concatenate([panel.rates[None, m], panel.rates_rep[:, m]])[..., :n_categories]
    base, perf = nanmean(rates[:, :k], axis=1), rates[:, k]
    n_perf = panel.n[m, k, :n_categories]
    present = n_perf[list(focus.subgroups)] >= rules.min_scored
    restated = contract_gap(base, focus, sign)
    settling = restated
    if contract.baseline_vintage == "frozen" and frozen.gap is not None:
        settling = np.concatenate([[frozen.gap], frozen.gap_replicates])
    performance = contract_gap(perf, focus, sign, present)
    decline = reference_decline(base, perf, focus, sign)
    credited = credited_reduction(settling, performance, decline)
    return _Figures(
        base=base,
        perf=perf,
        present=present,
        has_gap=bool(n_perf[focus.reference] >= rules.min_scored and present.any()),
        restated=restated,
        settling=settling,
        performance=performance,
        decline=decline,
        declines=subgroup_declines(base, perf, focus, sign),
        credited=credited,
        closed=closure(credited, settling),
        change=performance - settling,
    )


def _evidence(
    figures: _Figures, frozen: Frozen, spec: PanelSpec
) -> tuple[R.Evidence, GuardResult, list[str], tuple[float, float]]:
    """The rules' evidence, the guard, the decisions near their thresholds, the change CI."""
    contract, rules = spec.contract, spec.rules
    alpha = 1 - rules.ci_level
    low, high, _ = interval(figures.change[1:], rules.percentiles)
    z = NormalDist().inv_cdf(rules.ci_level) if contract.guard_test == "significant" else 0.0
    se = nanstd(figures.declines[1:], axis=0)
    guard = decline_guard(figures.declines, se, figures.present, contract.guard_tolerance, z)
    not_credited = share_not_positive(figures.credited[1:])
    not_widened = share_not_positive(figures.change[1:])
    evidence = R.Evidence(
        is_eligible=frozen.is_eligible,
        is_maintenance=frozen.is_maintenance,
        has_performance_gap=figures.has_gap,
        is_widened=bool(figures.has_gap and not_widened < alpha / 2),
        is_credit_significant=bool(not_credited <= 1 - contract.credit_confidence),
        is_kept=bool(figures.has_gap and high <= contract.elimination_threshold),
        is_guard_passed=guard.is_passed,
        is_eliminated=(figures.performance <= contract.elimination_threshold)
        & (figures.decline <= contract.guard_tolerance),
        closure=figures.closed,
    )
    near = list(frozen.near_threshold)
    credit_sd = mc_sd(figures.credited[1:], share_not_positive)
    if is_near(not_credited, 1 - contract.credit_confidence, credit_sd):
        near.append("significant_reduction")
    if is_near(not_widened, alpha / 2, mc_sd(figures.change[1:], share_not_positive)):
        near.append("widening")
    return evidence, guard, near, (float(low), float(high))


def _measure(
    panel: PanelRates, m: int, measure: str, spec: PanelSpec, categories: Sequence[str]
) -> tuple[Row, np.ndarray]:
    """One measure: its row's figures and the (1 + B,) shares (observed first)."""
    frozen = spec.frozen[measure]
    size = panel.rates_rep.shape[0] + 1
    row: Row = {
        "measure_id": measure,
        "baseline_id": frozen.baseline_id,
        "is_eligible": frozen.is_eligible,
        "eligibility_reasons": list(frozen.reasons),
        "baseline_gap_frozen": frozen.gap,
        "mdc80": frozen.mdc80,
    }
    focus = frozen.focus
    if focus is None or not focus.subgroups:
        labels = np.full(size, R.INELIGIBLE, dtype=object)
        return {**row, **_labels_row(labels, list(frozen.near_threshold))}, np.zeros(size)
    sign = SIGN[spec.rules.directions[measure]]
    figures = _figures_of(panel, m, sign, focus, frozen, spec, len(categories))
    evidence, guard, near, (low, high) = _evidence(figures, frozen, spec)
    labels = R.outcome_labels(evidence, spec.contract)
    worst = int(guard.worst[0])
    row.update(
        {
            "reference": categories[focus.reference],
            **_figures("baseline", figures.settling, spec.rules),
            "baseline_gap_restated": _value(figures.restated[0]),
            **_figures("performance", figures.performance, spec.rules),
            "change": _value(figures.change[0]),
            "change_ci_low": _value(low),
            "change_ci_high": _value(high),
            "reference_decline": _value(figures.decline[0]),
            "credited_reduction": _value(figures.credited[0]),
            "closure": _value(figures.closed[0]),
            "is_credit_significant": evidence.is_credit_significant,
            "is_guard_passed": bool(guard.is_passed[0]),
            "guard_subgroup": categories[focus.subgroups[worst]] if worst >= 0 else None,
            "guard_decline": _value(guard.decline[0]),
            "is_eliminated": bool(evidence.is_eliminated[0]),
            "is_widened": evidence.is_widened,
            "subgroups": _subgroups(panel, m, sign, focus, categories, figures, spec),
            **_labels_row(labels, near),
        }
    )
    return row, R.shares(labels, figures.closed, spec.contract)


def _labels_row(labels: np.ndarray, near: list[str]) -> Row:
    """The observed label, the replicates' label frequencies, the near-threshold list."""
    names, counts = np.unique(labels[1:].astype(str), return_counts=True)
    total = max(len(labels) - 1, 1)
    return {
        "tier": str(labels[0]),
        "tier_probabilities": {
            str(n): float(c / total) for n, c in zip(names, counts, strict=True)
        },
        "near_threshold": near,
    }


def _figures(name: str, values: np.ndarray, rules: StatsSettings) -> Row:
    """The observed value and percentile CI (and SE for the baseline) of a gap."""
    low, high, se = interval(values[1:], rules.percentiles)
    return {
        f"{name}_gap": _value(values[0]),
        f"{name}_ci_low": _value(low),
        f"{name}_ci_high": _value(high),
        **({f"{name}_se": _value(se)} if name == "baseline" else {}),
    }


def _subgroups(
    panel: PanelRates,
    m: int,
    sign: float,
    focus: Focus,
    categories: Sequence[str],
    figures: _Figures,
    spec: PanelSpec,
) -> list[Row]:
    """Every subgroup scored in each baseline year and in the year: rates, decline, SE."""
    k = len(spec.contract.baseline_years)
    n = panel.n[m, : k + 1, : len(categories)]
    scored = (n >= spec.rules.min_scored).all(axis=0)
    weights = dict(zip(focus.subgroups, focus.weights, strict=True))
    decline = sign * (figures.base - figures.perf)
    se = nanstd(decline[1:], axis=0)
    return [
        {
            "subgroup": categories[int(s)],
            "role": "reference" if s == focus.reference else "focus" if s in weights else "other",
            "weight": weights.get(int(s)),
            "baseline_rate": _value(figures.base[0, s]),
            "performance_rate": _value(figures.perf[0, s]),
            "decline": _value(decline[0, s]),
            "se": _value(se[s]),
        }
        for s in np.flatnonzero(scored)
    ]


def _value(value: Any) -> float | None:
    number = float(value)
    return number if np.isfinite(number) else None
