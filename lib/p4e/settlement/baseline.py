"""gold/contract_baselines: a contract term's baseline, frozen the first time it is settled.

docs/methodology.md, "Eligibility". Settlement calls `frozen_baselines`, which reads the
frozen rows of the contracts and freezes (writes once) those of contracts that have
none. A later run never changes a frozen row: the `baseline` step with `rebuild` and a
reason (`p4e baseline --contract C --rebuild --reason "..."`) is the only way, and the
reason is logged in gold/job_runs and on the new rows.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from pyspark.sql import functions as F

from p4e.config.contracts import Contract
from p4e.config.stats import StatsSettings
from p4e.context import RunContext
from p4e.errors import P4eError
from p4e.settlement.closure import Focus
from p4e.settlement.decide import Frozen
from p4e.settlement.freeze import MeasureBaseline, freeze_measures, frozen
from p4e.settlement.panels import Request, request_id, run_panels
from p4e.settlement.terms import contract_settings
from p4e.stats.eligibility import BaselineDecision
from p4e.stats.panel import PanelRates
from p4e.tables import CONTRACT_BASELINES, MEMBER_DEMOGRAPHICS, MEMBER_MEASURES
from p4e.tables.vocabulary import WEIGHTED

Baselines = dict[tuple[str, str, str], Frozen]  # (contract, group, measure) -> frozen


def frozen_baselines(
    ctx: RunContext,
    contracts: Sequence[Contract],
    *,
    rebuild: bool = False,
    reason: str | None = None,
) -> Baselines:
    """The frozen baselines of `contracts`, freezing those not frozen yet (or all, on rebuild).

    Raises:
        P4eError: a rebuild without a reason.
    """
    if rebuild and not reason:
        raise P4eError("a baseline rebuild needs a reason (--reason), logged with the run")
    existing = _existing(ctx, contracts) if not rebuild else {}
    _require_estimator(existing, ctx.settings.stats.estimator)
    missing = [c for c in contracts if c.contract_id not in {k[0] for k in existing}]
    if missing:
        _freeze(ctx, missing, reason)
        existing.update(_existing(ctx, missing))
    categories = ctx.settings.dimension.codes
    by_id = {c.contract_id: c for c in contracts}
    return {key: _frozen(row, categories, by_id[key[0]]) for key, row in existing.items()}


def run(
    ctx: RunContext,
    *,
    contract_ids: Sequence[str] | None = None,
    rebuild: bool = False,
    reason: str | None = None,
) -> dict[str, int]:
    """The `baseline` step: freeze the named contracts' baselines (all contracts by default).

    Returns:
        Frozen rows per contract.
    """
    contracts = ctx.settings.contracts
    unknown = sorted(set(contract_ids or ()) - set(contracts))
    if unknown:
        raise P4eError(f"unknown contract(s) {unknown}; known: {', '.join(sorted(contracts))}")
    chosen = [contracts[c] for c in (contract_ids or sorted(contracts))]
    baselines = frozen_baselines(ctx, chosen, rebuild=rebuild, reason=reason)
    return {c.contract_id: sum(key[0] == c.contract_id for key in baselines) for c in chosen}


def _require_estimator(existing: Mapping[tuple[str, str, str], Any], estimator: str) -> None:
    """Refuse to settle on baselines another estimator froze (a silent change of basis).

    Raises:
        P4eError: naming the contract, both estimators and the rebuild command.
    """
    for (contract_id, _, _), row in sorted(existing.items()):
        frozen_with = row.get("estimator") or WEIGHTED  # frozen before the choice existed
        if frozen_with != estimator:
            raise P4eError(
                f"contract {contract_id}: its baselines were frozen with the {frozen_with} "
                f"estimator but stats.estimator is {estimator!r}; set it back, or rebuild "
                f'them: p4e baseline --contract {contract_id} --rebuild --reason "..."'
            )


def _existing(ctx: RunContext, contracts: Sequence[Contract]) -> dict[tuple[str, str, str], Any]:
    if not ctx.exists(CONTRACT_BASELINES):
        return {}
    ids = [c.contract_id for c in contracts]
    rows = ctx.read(CONTRACT_BASELINES).filter(F.col("contract_id").isin(ids)).collect()
    return {(r["contract_id"], r["group_id"], r["measure_id"]): r.asDict() for r in rows}


def _freeze(ctx: RunContext, contracts: Sequence[Contract], reason: str | None) -> None:
    """Compute the baselines of `contracts` and replace their partitions in one commit."""
    stats = ctx.settings.stats
    measures, categories = ctx.settings.measures.ids, ctx.settings.dimension.codes
    rules = {c.contract_id: contract_settings(stats, c) for c in contracts}
    requests, by_panel = [], {}
    for contract in contracts:
        for group in contract.groups:
            panel_id = request_id(contract.contract_id, group, None)
            years = contract.baseline_years
            requests.append(Request(panel_id, group, years, max(years), stats.seed))
            by_panel[panel_id] = (contract, group)

    def work(panel_id: str, rates: Mapping[str, PanelRates]) -> list[dict[str, Any]]:
        contract, _ = by_panel[panel_id]
        measured = freeze_measures(
            rates[stats.estimator], measures, categories, contract, rules[contract.contract_id]
        )
        return [_payload(b, categories) for b in measured]

    member_measures = ctx.read(MEMBER_MEASURES)
    demographics = ctx.read(MEMBER_DEMOGRAPHICS).filter(F.col("dimension") == stats.dimension)
    results = run_panels(
        ctx.spark, member_measures, demographics, requests, work,
        measures=measures, categories=categories, replicates=stats.decision_replicates,
        plan_only=stats.scope == "plan",
    )  # fmt: skip
    versions = {
        t.key: int(ctx.versions_read[t.key]) for t in (MEMBER_MEASURES, MEMBER_DEMOGRAPHICS)
    }
    now = dt.datetime.now(dt.timezone.utc)
    rows = []
    for request in requests:
        contract, group = by_panel[request.panel_id]
        found = {p["measure_id"]: p for p in results.get(request.panel_id, [])}
        for term in contract.measures:
            payload = found.get(term.measure_id) or _no_data(term.measure_id)
            rows.append(
                _row(contract, group, payload, rules[contract.contract_id], versions,
                     ctx.run_id, now, reason)
            )  # fmt: skip
    ctx.write(
        CONTRACT_BASELINES,
        ctx.spark.createDataFrame(rows, CONTRACT_BASELINES.schema()),
        replace_where={"contract_id": [c.contract_id for c in contracts]},
    )


def _payload(baseline: MeasureBaseline, categories: Sequence[str]) -> dict[str, Any]:
    """What an executor returns of a measure's baseline (JSON-friendly)."""
    focus, decision = baseline.focus, baseline.decision
    return {
        "measure_id": baseline.measure_id,
        "reference": categories[focus.reference] if focus else None,
        "focus": {categories[s]: w for s, w in zip(focus.subgroups, focus.weights, strict=True)}
        if focus
        else {},
        "subgroup_rates": {categories[s]: r for s, r in baseline.rates.items()},
        "n_members": baseline.n_members,
        "n_reference": baseline.n_reference,
        "n_focus": baseline.n_focus,
        "decision": dataclasses.asdict(decision),
        "gap_replicates": baseline.gap_replicates,
    }


def _no_data(measure_id: str) -> dict[str, Any]:
    """The payload of a measure with no member in the group's panel."""
    return {
        "measure_id": measure_id, "reference": None, "focus": {}, "subgroup_rates": {},
        "n_members": 0.0, "n_reference": 0.0, "n_focus": 0.0, "gap_replicates": [],
        "decision": {"is_eligible": False, "reasons": ["no_data"], "near_threshold": []},
    }  # fmt: skip


def _row(
    contract: Contract,
    group: str,
    payload: Mapping[str, Any],
    rules: StatsSettings,
    versions: dict[str, int],
    run_id: str,
    now: dt.datetime,
    reason: str | None,
) -> tuple[Any, ...]:
    decision = payload["decision"]
    values = {
        "contract_id": contract.contract_id,
        "group_id": group,
        "measure_id": payload["measure_id"],
        "dimension": contract.dimension,
        "baseline_years": list(contract.baseline_years),
        "vintage_year": max(contract.baseline_years),
        "reference": payload["reference"],
        "focus": payload["focus"],
        "subgroup_rates": payload["subgroup_rates"],
        "n_members": payload["n_members"],
        "n_reference": payload["n_reference"],
        "n_focus": payload["n_focus"],
        "baseline_gap": decision.get("gap"),
        "baseline_ci_low": decision.get("ci_low"),
        "baseline_ci_high": decision.get("ci_high"),
        "baseline_se": decision.get("se"),
        "se_change": decision.get("se_change"),
        "mdc80": decision.get("mdc80"),
        "share_not_positive": decision.get("share_not_positive"),
        "max_mdc_share": rules.eligibility.max_mdc_share,
        "power": rules.eligibility.power,
        "is_eligible": bool(decision["is_eligible"]),
        "reasons": list(decision["reasons"]),
        "is_near_threshold": bool(decision["near_threshold"]),
        "near_threshold": list(decision["near_threshold"]),
        "replicates": rules.decision_replicates,
        "seed": rules.seed,
        "estimator": rules.estimator,
        "gap_replicates": [float(v) for v in payload["gap_replicates"]],
    }
    # The id names the frozen content, so a rerun on the same inputs freezes the same id.
    content = json.dumps(values, sort_keys=True, default=str)
    values |= {
        "baseline_id": hashlib.sha256(content.encode()).hexdigest()[:16],
        "input_versions": versions,
        "created_run_id": run_id,
        "created_at": now,
        "rebuild_reason": reason,
    }
    return tuple(values[name] for name in CONTRACT_BASELINES.names)


def _frozen(row: Mapping[str, Any], categories: Sequence[str], contract: Contract) -> Frozen:
    """A contract_baselines row as the settlement reads it."""
    index = {code: i for i, code in enumerate(categories)}
    focus = None
    if row["reference"] is not None:
        names = list(row["focus"] or {})
        focus = Focus(
            index[row["reference"]],
            tuple(index[n] for n in names),
            tuple(float(row["focus"][n]) for n in names),
        )
    decision = BaselineDecision(
        is_eligible=bool(row["is_eligible"]),
        reasons=tuple(row["reasons"] or ()),
        gap=row["baseline_gap"],
        ci_low=row["baseline_ci_low"],
        ci_high=row["baseline_ci_high"],
        se=row["baseline_se"],
        se_change=row["se_change"],
        mdc80=row["mdc80"],
        share_not_positive=row["share_not_positive"],
        near_threshold=tuple(row["near_threshold"] or ()),
    )
    measure = MeasureBaseline(
        measure_id=row["measure_id"],
        focus=focus,
        decision=decision,
        rates={index[c]: r for c, r in (row["subgroup_rates"] or {}).items()},
        n_members=row["n_members"],
        n_reference=row["n_reference"],
        n_focus=row["n_focus"],
        gap_replicates=np.asarray(row["gap_replicates"] or [], dtype=np.float64),
    )
    return frozen(measure, contract, row["baseline_id"])
