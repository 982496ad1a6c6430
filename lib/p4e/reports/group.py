"""The confidential provider-group report: one group's rates, gaps, eligibility, settlement.

`group_data` is given that group's rows only (the caller filters the gold tables
by group), so nothing of another group can reach the page. Per measure: rates by
subgroup in the year against the group's own baseline (mean of the baseline
years), the equity gap over the years against the baseline band, eligibility
and its reasons; then the settlement breakdown of the year and the completeness
of the group's data on the dimension.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from p4e.reports.labels import Labels, corrected_figures, gap_figures, rounded
from p4e.reports.page import Html, completeness_table, corrected_note, page, pct, points, table
from p4e.reports.svg import Dot, GapPoint, dot_plot, gap_trend
from p4e.settlement.report import LEVEL_ORDER
from p4e.tables.vocabulary import COMPLETENESS_SOURCES as SOURCES
from p4e.tables.vocabulary import SUMMARY_LEVEL

Row = Mapping[str, Any]

REASONS = {
    "reference_not_scored": "reference subgroup too small to be scored",
    "no_focus_scored": "no other subgroup large enough to be scored",
    "no_significant_gap": "no gap to the reference beyond chance at baseline",
    "reduction_not_detectable": "a reduction of the gap could not be told from chance",
    "no_data": "no members in the measure",
}
NEAR = {
    "significant_gap": "the baseline gap's significance",
    "detectable_reduction": "the detectable reduction",
    "significant_reduction": "the reduction's significance",
    "widening": "the widening",
}


def group_data(
    labels: Labels,
    group_id: str,
    group_name: str | None,
    year: int,
    rates: Sequence[Row],
    gaps: Sequence[Row],
    eligibility: Sequence[Row],
    settlements: Sequence[Row],
    completeness: Sequence[Row],
) -> dict[str, Any]:
    """The figures of one group's report of `year`, from that group's rows only."""
    measures = []
    for measure in labels.measures:
        rows = [r for r in rates if r["measure_id"] == measure and r["year"] <= year]
        if not any(r["year"] == year for r in rows):
            continue
        elig = next((e for e in eligibility if e["measure_id"] == measure), None)
        settled = next((s for s in settlements if s["measure_id"] == measure), None)
        summary = next(
            (
                g for g in gaps
                if g["measure_id"] == measure and g["level"] == SUMMARY_LEVEL
                and g["year"] == year
            ),
            None,
        )  # fmt: skip
        baseline_years = list((elig or settled or {}).get("baseline_years") or [])
        measures.append(
            {
                "id": measure,
                "name": labels.measure_name(measure),
                "baseline_years": baseline_years,
                "eligibility": _eligibility(elig, settled),
                "subgroups": _subgroups(labels, rows, year, baseline_years),
                "trend": [
                    {"year": g["year"], **gap_figures(g["gap"], g["ci_low"], g["ci_high"])}
                    for g in sorted(gaps, key=lambda g: g["year"])
                    if g["measure_id"] == measure
                    and g["level"] == SUMMARY_LEVEL
                    and g["year"] <= year
                ],
                "baseline": _baseline(elig),
                "corrected": corrected_figures(summary) if summary else None,
            }
        )
    return {
        "kind": "group",
        "group_id": group_id,
        "group_name": group_name or group_id,
        "year": year,
        "dimension": labels.dimension_label,
        "ci": labels.ci,
        "measures": measures,
        "settlements": [_settlement(s) for s in settlements],
        "completeness": [
            {
                "year": c["year"],
                "members": c["members"],
                **{k: rounded(c[k]) for k in c if k.startswith("share_")},
            }
            for c in sorted(completeness, key=lambda c: c["year"])
            if c["year"] <= year
        ],
    }


def _subgroups(
    labels: Labels, rows: Sequence[Row], year: int, baseline_years: Sequence[int]
) -> list[dict[str, Any]]:
    out = []
    for code in labels.codes:
        now = next((r for r in rows if r["subgroup"] == code and r["year"] == year), None)
        if now is None:
            continue
        base = [r["rate"] for r in rows if r["subgroup"] == code and r["year"] in baseline_years]
        out.append(
            {
                "subgroup": code,
                "label": labels.category(code),
                "is_reference": code == labels.reference,
                "n": round(now["n"], 1),
                "rate": rounded(now["rate"]),
                "ci_low": rounded(now["ci_low"]),
                "ci_high": rounded(now["ci_high"]),
                "is_scored": bool(now["is_scored"]),
                "baseline_rate": rounded(sum(base) / len(base)) if base else None,
            }
        )
    return out


def _eligibility(screening: Row | None, settled: Row | None) -> dict[str, Any]:
    """The contract's frozen eligibility when settled, else the screening's."""
    if settled is not None:
        reasons, near = settled["eligibility_reasons"], settled["near_threshold"]
        source = "contract"
    elif screening is not None:
        reasons, near, source = screening["reasons"], screening["near_threshold"], "screening"
    else:
        return {"is_eligible": False, "reasons": ["no_data"], "mdc80": None, "near": [],
                "source": "screening"}  # fmt: skip
    row = settled or screening or {}
    return {
        "is_eligible": bool(row["is_eligible"]),
        "reasons": list(reasons or []),
        "mdc80": rounded(row["mdc80"]),
        "near": list(near or []),
        "source": source,
    }


def _baseline(row: Row | None) -> dict[str, Any] | None:
    """The screening's baseline equity gap and CI (the trend's own definition)."""
    if row is None:
        return None
    gap, low, high = row["baseline_equity_gap"], row["baseline_ci_low"], row["baseline_ci_high"]
    if gap is None or low is None or high is None:
        return None
    return gap_figures(gap, low, high)


SETTLEMENT_FIELDS = (
    "contract_id", "level", "measure_id", "is_eligible", "baseline_gap", "performance_gap",
    "reference_decline", "credited_reduction", "closure", "is_guard_passed", "guard_subgroup",
    "guard_decline", "is_eliminated", "tier", "share", "weight", "amount", "share_self_reported",
    "expected_amount", "amount_p05", "amount_p95", "p_zero", "near_threshold",
)  # fmt: skip


def _settlement(row: Row) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field in SETTLEMENT_FIELDS:
        value = row[field]
        if isinstance(value, float):
            value = rounded(value) if abs(value) < 10 else round(value, 2)
        elif isinstance(value, list):
            value = list(value)
        elif value is not None and not isinstance(value, bool | str | int):
            value = str(value)  # Decimal amounts, shares and weights keep their digits
        out[field] = value
    probabilities = row["tier_probabilities"] or {}
    out["p_tier"] = rounded(probabilities.get(row["tier"])) if row["tier"] else None
    return out


def render_group(data: Mapping[str, Any]) -> str:
    """The group's report page, drawn from `group_data` only."""
    year = data["year"]
    body = [html for m in data["measures"] for html in _measure_section(m, year, data["ci"])]
    body.append(f"<h2>Settlement {year}</h2>")
    if data["settlements"]:
        body.append(_settlement_table(data["settlements"]))
    else:
        body.append("<p class='note'>No contract of this group is settled for this year.</p>")
    body.append(f"<h2>{escape(data['dimension'])} data completeness</h2>")
    body.append(
        completeness_table(
            (c["year"], c["members"], [c[f"share_{s}"] for s in SOURCES])
            for c in data["completeness"]
        )
    )
    return page(
        f"{data['group_name']} ({data['group_id']}): equity report {year}",
        "Confidential: prepared for this provider group only. Rates, gaps and the "
        f"settlement by {data['dimension'].lower()}, against the group's own baseline.",
        body,
        data,
    )


def _measure_section(m: Mapping[str, Any], year: int, ci: str) -> list[str]:
    """A measure's heading with its eligibility, its rates chart and its gap trend."""
    elig = m["eligibility"]
    badge = (
        "<span class='badge ok'>eligible</span>"
        if elig["is_eligible"]
        else "<span class='badge no'>not eligible: "
        + escape(", ".join(REASONS.get(r, r) for r in elig["reasons"]))
        + "</span>"
    )
    detail = []
    if elig["mdc80"] is not None:
        detail.append(
            f"Smallest reduction of the gap this group can show (80% power): "
            f"{elig['mdc80'] * 100:.1f} points."
        )
    if elig["near"]:
        near = ", ".join(NEAR.get(n, n) for n in elig["near"])
        detail.append(f"Close to its threshold (within Monte-Carlo error): {near}.")
    if elig["source"] == "screening":
        detail.append("Screening of the stats baseline years; a contract freezes its own.")
    years = m["baseline_years"]
    baseline = "baseline " + (
        f"{years[0]}-{years[-1]}" if len(years) > 1 else "".join(map(str, years))
    )
    dots = [
        Dot(
            s["label"],
            s["rate"],
            s["ci_low"],
            s["ci_high"],
            f"n = {s['n']:,.0f}" + ("" if s["is_scored"] else " (not scored)"),
            s["is_reference"],
            s["baseline_rate"],
        )
        for s in m["subgroups"]
    ]
    band = m["baseline"]
    trend = [GapPoint(t["year"], t["gap"], t["ci_low"], t["ci_high"]) for t in m["trend"]]
    charts = [dot_plot(dots, title=f"Rate by subgroup, {year} ({ci} CI)", previous_label=baseline)]
    if any(p.gap is not None for p in trend):
        charts.append(
            gap_trend(
                trend,
                title=f"Equity gap over the years (points, {ci} CI)",
                band=None if band is None else (band["gap"], band["ci_low"], band["ci_high"]),
                band_label=baseline,
            )
        )
    else:
        charts.append(
            "<p class='note'>No equity gap in any year: the reference and at least one "
            "focus subgroup need enough members to be scored.</p>"
        )
    current = next((t for t in m["trend"] if t["year"] == year), None)
    note = corrected_note(current, m["corrected"], ci) if current and m["corrected"] else ""
    return [
        f"<h2>{escape(m['name'])} {badge}</h2>",
        "".join(f"<p class='note'>{escape(d)}</p>" for d in detail),
        "<div class='charts'>" + "".join(charts) + "</div>",
        note,
    ]


def _settlement_table(rows: Sequence[Mapping[str, Any]]) -> str:
    lines = []
    for r in sorted(
        rows, key=lambda r: (r["contract_id"], LEVEL_ORDER[r["level"]], r["measure_id"] or "")
    ):
        label = {"completeness": "Data completeness", "total": "Total"}.get(
            r["level"], r["measure_id"]
        )
        amount = f"${float(r['amount']):,.2f}" if r["amount"] is not None else ""
        spread = ""
        if r["amount_p05"] is not None:
            spread = f"${r['amount_p05']:,.0f} - ${r['amount_p95']:,.0f}"
        chance = pct(r["p_tier"], 0)
        if r["level"] == "total" and r["p_zero"] is not None:
            chance = f"P(nothing) {pct(r['p_zero'], 0)}"
        lines.append(
            [
                r["contract_id"],
                Html(f"<b>{escape(label)}</b>") if r["level"] == "total" else label,
                points(r["baseline_gap"]),
                points(r["performance_gap"]),
                points(r["reference_decline"]),
                pct(r["closure"], 0),
                _guard(r),
                r["tier"] or "",
                chance,
                "" if r["share"] is None else f"{float(r['share']):.2f}",
                "" if r["weight"] is None else f"{float(r['weight']):.3f}",
                Html(f"<b>{amount}</b>") if r["level"] == "total" else amount,
                spread,
            ]
        )
    note = (
        "<p class='note'>Gaps in points, positive when the focus subgroups do worse. The "
        "reference decline is subtracted from the credited reduction, so a gap that closes "
        "because the reference got worse earns nothing. P(tier) is the share of the decision "
        "replicates that reach the tier paid; the range is the 5-95% interval of the amount "
        "over them (what an accrual should expect).</p>"
    )
    return note + table(
        ["Contract", "Component", "Baseline gap", "Gap this year", "Reference decline",
         "Closure", "Decline guard", "Tier", "P(tier)", "Share", "Weight", "Amount",
         "5-95% amount"],
        lines,
    )  # fmt: skip


def _guard(r: Mapping[str, Any]) -> str:
    if r["is_guard_passed"] is None or r["level"] != "measure":
        return ""
    if r["is_guard_passed"]:
        return "passed"
    return f"failed: {r['guard_subgroup']} fell {abs(r['guard_decline'] or 0) * 100:.1f} points"
