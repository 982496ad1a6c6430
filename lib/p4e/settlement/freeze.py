"""A contract's baseline from its baseline panel: reference, focus, gap, eligibility (numpy).

docs/methodology.md, "Eligibility". Per measure, on the panel bootstrap of the
contract's baseline years (answers of the last baseline year): the focus subgroups
and their weights are frozen (`p4e.settlement.closure.freeze_focus`); the baseline
gap is the contract gap of the subgroups' mean baseline rates, with its replicates and
each baseline year's gap replicates; `p4e.stats.eligibility.baseline_decision`
decides. `p4e.settlement.baseline` writes the result to gold/contract_baselines once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from p4e.config.contracts import Contract
from p4e.config.stats import StatsSettings
from p4e.settlement.closure import Focus, contract_gap, freeze_focus
from p4e.settlement.decide import Frozen
from p4e.stats.eligibility import BaselineDecision, baseline_decision
from p4e.stats.gaps import SIGN
from p4e.stats.panel import PanelRates
from p4e.stats.resample import nanmean


@dataclass(frozen=True)
class MeasureBaseline:
    """The frozen baseline of one measure of a contract group.

    Attributes:
        focus: reference and focus subgroups (None when the reference is not scored).
        rates: category index -> mean baseline rate (reference and focus subgroups).
        n_members, n_reference, n_focus: mean rate population, reference size and
            total focus size per baseline year.
        gap_replicates: (B,) replicates of the baseline gap.
    """

    measure_id: str
    focus: Focus | None
    decision: BaselineDecision
    rates: dict[int, float]
    n_members: float
    n_reference: float
    n_focus: float
    gap_replicates: np.ndarray


def freeze_measures(
    panel: PanelRates,
    measures: Sequence[str],
    categories: Sequence[str],
    contract: Contract,
    rules: StatsSettings,
) -> list[MeasureBaseline]:
    """The baseline of every measure of the contract in a baseline panel."""
    fixed = list(categories).index(rules.reference_category)
    chosen = {term.measure_id for term in contract.measures}
    return [
        _measure(panel, m, measure, len(categories), contract, rules, fixed)
        for m, measure in enumerate(measures)
        if measure in chosen
    ]


def _measure(
    panel: PanelRates,
    m: int,
    measure: str,
    n_categories: int,
    contract: Contract,
    rules: StatsSettings,
    fixed: int,
) -> MeasureBaseline:
    k = len(contract.baseline_years)
    sign = SIGN[rules.directions[measure]]
    n_base = panel.n[m, :k, :n_categories]
    rates = nanmean(panel.rates[m, :k, :n_categories], axis=0)
    rates_rep = nanmean(panel.rates_rep[:, m, :k, :n_categories], axis=1)
    focus = freeze_focus(
        n_base, rates, sign=sign, rule=contract.reference, fixed=fixed, min_scored=rules.min_scored
    )
    n_members = float(panel.n[m, :k, -1].mean())
    if n_members == 0:
        decision = BaselineDecision(
            is_eligible=False, reasons=("no_data",), gap=None, ci_low=None, ci_high=None,
            se=None, se_change=None, mdc80=None, share_not_positive=None, near_threshold=(),
        )  # fmt: skip
        return MeasureBaseline(measure, None, decision, {}, 0.0, 0.0, 0.0, np.empty(0))
    if focus is None or not focus.subgroups:
        decision = baseline_decision(
            None, np.empty(0), np.empty((k, 0)), reference_scored=focus is not None,
            focus_scored=False, rule=rules.eligibility, ci_level=rules.ci_level,
        )  # fmt: skip
        reference = float(n_base.mean(axis=0)[focus.reference]) if focus else 0.0
        return MeasureBaseline(measure, focus, decision, {}, n_members, reference, 0.0,
                               np.empty(0))  # fmt: skip
    gap_reps = contract_gap(rates_rep, focus, sign)
    yearly = np.stack(
        [contract_gap(panel.rates_rep[:, m, y, :n_categories], focus, sign) for y in range(k)]
    )
    decision = baseline_decision(
        float(contract_gap(rates, focus, sign)),
        gap_reps,
        yearly,
        reference_scored=True,
        focus_scored=True,
        rule=rules.eligibility,
        ci_level=rules.ci_level,
    )
    sizes = n_base.mean(axis=0)
    kept = (focus.reference, *focus.subgroups)
    return MeasureBaseline(
        measure_id=measure,
        focus=focus,
        decision=decision,
        rates={s: float(rates[s]) for s in kept},
        n_members=n_members,
        n_reference=float(sizes[focus.reference]),
        n_focus=float(sizes[list(focus.subgroups)].sum()),
        gap_replicates=gap_reps,
    )


def frozen(baseline: MeasureBaseline, contract: Contract, baseline_id: str) -> Frozen:
    """A measure's baseline as a settlement reads it."""
    decision = baseline.decision
    maintenance = bool(
        contract.payout.maintenance_share > 0
        and baseline.focus is not None
        and decision.reasons == ("no_significant_gap",)
    )
    return Frozen(
        baseline_id=baseline_id,
        focus=baseline.focus,
        gap=decision.gap,
        gap_replicates=baseline.gap_replicates,
        is_eligible=decision.is_eligible,
        reasons=decision.reasons,
        is_maintenance=maintenance,
        mdc80=decision.mdc80,
        near_threshold=decision.near_threshold,
    )
