"""The public annual equity report: plan-wide rates by subgroup, gaps, trend, completeness.

`public_data` turns the plan-wide rows of the gold tables (group `ALL_GROUPS`)
into the report's figures, suppressing exactly the cells gold flags (`is_suppressed`
of subgroup_rates, `suppressed_sources` of data_completeness; the rule is
`p4e.stats.suppression`): a suppressed cell carries no number at all, in the page or
in its embedded data, and its gap to the reference is not published either.
`render_public` draws the page from those figures only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from p4e.reports.labels import Labels, corrected_figures, gap_figures, rounded
from p4e.reports.page import (
    Html,
    completeness_table,
    corrected_note,
    interval,
    page,
    pct,
    points,
    table,
)
from p4e.reports.svg import Dot, GapPoint, dot_plot, gap_trend
from p4e.tables.vocabulary import ALL_SUBGROUP, SUBGROUP_LEVEL, SUMMARY_LEVEL
from p4e.tables.vocabulary import COMPLETENESS_SOURCES as SOURCES

Row = Mapping[str, Any]


def public_data(
    labels: Labels,
    year: int,
    rates: Sequence[Row],
    gaps: Sequence[Row],
    completeness: Sequence[Row],
) -> dict[str, Any]:
    """The figures of the public report of `year` (plan-wide rows, years up to `year`)."""
    years = sorted({r["year"] for r in rates if r["year"] <= year})
    measures = []
    for measure in labels.measures:
        by_year = [
            _measure_year(labels, measure, y, rates, gaps)
            for y in years
            if any(r["measure_id"] == measure and r["year"] == y for r in rates)
        ]
        if by_year:
            measures.append({"id": measure, "name": labels.measure_name(measure), "years": by_year})
    return {
        "kind": "public",
        "year": year,
        "dimension": labels.dimension_label,
        "reference": labels.category(labels.reference),
        "threshold": labels.threshold,
        "ci": labels.ci,
        "measures": measures,
        "completeness": _completeness(completeness, year),
    }


def _measure_year(
    labels: Labels, measure: str, year: int, rates: Sequence[Row], gaps: Sequence[Row]
) -> dict[str, Any]:
    cells = {r["subgroup"]: r for r in rates if r["measure_id"] == measure and r["year"] == year}
    total = cells.pop(ALL_SUBGROUP, None)
    hidden = {s for s, r in cells.items() if r["is_suppressed"]}
    gap_rows = {
        (g["level"], g["subgroup"]): g
        for g in gaps
        if g["measure_id"] == measure and g["year"] == year
    }
    summary = gap_rows.get((SUMMARY_LEVEL, None))
    reference = summary["reference"] if summary else labels.reference
    subgroups = []
    for code in labels.codes:
        if code not in cells:
            continue
        cell = {
            "subgroup": code,
            "label": labels.category(code),
            "is_reference": code == reference,
            "suppressed": code in hidden,
        }
        if code not in hidden:
            cell |= _rate(cells[code])
            gap = gap_rows.get((SUBGROUP_LEVEL, code))
            if gap is not None and code != reference:
                cell["gap"] = _gap(gap)
        subgroups.append(cell)
    return {
        "year": year,
        "reference": labels.category(reference),
        "all": _rate(total) if total and not total["is_suppressed"] else None,
        "subgroups": subgroups,
        "equity_gap": _gap(summary) if summary else None,
        "equity_gap_corrected": corrected_figures(summary) if summary else None,
    }


def _rate(r: Row) -> dict[str, Any]:
    return {
        "n": round(r["n"]),
        "rate": rounded(r["rate"]),
        "ci_low": rounded(r["ci_low"]),
        "ci_high": rounded(r["ci_high"]),
    }


def _gap(g: Row) -> dict[str, Any]:
    low, high = g["ci_low"], g["ci_high"]
    return {
        **gap_figures(g["gap"], low, high),
        "is_significant": low is not None and high is not None and (low > 0 or high < 0),
        "is_scored": bool(g["is_scored"]),
    }


def _completeness(rows: Sequence[Row], year: int) -> list[dict[str, Any]]:
    """Shares of members by source of the answer, per year; suppressed sources blank."""
    out = []
    for row in sorted((r for r in rows if r["year"] <= year), key=lambda r: r["year"]):
        hidden = set(row["suppressed_sources"])
        shares = {s: None if s in hidden else rounded(row[f"share_{s}"]) for s in SOURCES}
        out.append({"year": row["year"], "members": row["members"], "shares": shares})
    return out


def render_public(data: Mapping[str, Any]) -> str:
    """The public report page, drawn from `public_data` only."""
    year, reference, ci = data["year"], data["reference"], data["ci"]
    body = [
        f"<p class='note'>Rates by {data['dimension'].lower()} for all plan members attributed "
        f"to a provider group or not. Gaps are to the reference group ({reference}), "
        "oriented so that a positive gap means the group does worse than the reference; "
        f"<b>bold orange</b> gaps are significant (the {ci} interval excludes 0). Cells with "
        f"fewer than {data['threshold']:g} members are suppressed, with further cells where "
        "needed so that none can be recomputed from the others.</p>"
    ]
    for measure in data["measures"]:
        latest = measure["years"][-1]
        body.append(f"<h2>{measure['name']}</h2>")
        dots = [
            Dot(
                s["label"],
                None if s["suppressed"] else s["rate"],
                s.get("ci_low"),
                s.get("ci_high"),
                "suppressed" if s["suppressed"] else f"n = {s['n']:,d}",
                s["is_reference"],
            )
            for s in latest["subgroups"]
        ]
        trend = [GapPoint(y["year"], *_triple(y["equity_gap"])) for y in measure["years"]]
        body.append(
            "<div class='charts'>"
            + dot_plot(dots, title=f"Rate by subgroup, {latest['year']} ({ci} CI)")
            + gap_trend(trend, title=f"Equity gap over the years (points, {ci} CI)")
            + "</div>"
        )
        if latest["equity_gap_corrected"]:
            body.append(corrected_note(latest["equity_gap"], latest["equity_gap_corrected"], ci))
        body.append(_rates_table(latest, ci))
    body.append("<h2>Data completeness</h2>")
    body.append(
        completeness_table(
            (c["year"], c["members"], [c["shares"][s] for s in SOURCES])
            for c in data["completeness"]
        )
    )
    return page(
        f"Health equity report {year}",
        f"Quality of care by {data['dimension'].lower()}, plan-wide, measurement year {year}.",
        body,
        data,
    )


def _triple(gap: Mapping[str, Any] | None) -> tuple[Any, Any, Any]:
    return (None, None, None) if gap is None else (gap["gap"], gap["ci_low"], gap["ci_high"])


def _rates_table(year: Mapping[str, Any], ci: str) -> str:
    rows = []
    for s in year["subgroups"]:
        if s["suppressed"]:
            rows.append([s["label"], "suppressed", "", "", "", ""])
            continue
        gap, gap_cells = s.get("gap"), ["", ""]
        if gap is not None and not gap["is_scored"]:
            gap_cells = ["not scored", ""]
        elif gap is not None:
            mark = "sig" if gap["is_significant"] else ""
            gap_cells = [
                Html(f"<span class='{mark}'>{points(gap['gap'])}</span>"),
                interval(gap["ci_low"], gap["ci_high"], points),
            ]
        rows.append(
            [
                s["label"],
                f"{s['n']:,d}",
                pct(s["rate"]),
                interval(s["ci_low"], s["ci_high"]),
                *gap_cells,
            ]
        )
    total = year["all"]
    if total:
        rows.append(["All members", f"{total['n']:,d}", pct(total["rate"]),
                     interval(total["ci_low"], total["ci_high"]), "", ""])  # fmt: skip
    return table(["Subgroup", "Members (n)", "Rate", f"{ci} CI", "Gap (points)", f"{ci} CI"], rows)
