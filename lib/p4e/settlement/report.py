"""A plain-text view of gold/settlements for notes and terminals."""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from p4e.tables.vocabulary import SETTLEMENT_LEVELS

LEVEL_ORDER = {level: i for i, level in enumerate(SETTLEMENT_LEVELS)}
HEADER = (
    "contract", "group", "year", "level", "measure", "elig", "baseline gap [CI]",
    "perf gap [CI]", "change [CI]", "closure", "guard", "tier", "share", "weight", "amount",
)  # fmt: skip


def _num(value: float | None, digits: int = 3) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _ci(value: float | None, low: float | None, high: float | None) -> str:
    if value is None:
        return ""
    return f"{value:+.3f} [{_num(low)}, {_num(high)}]"


def format_table(settlements: DataFrame, groups: Sequence[str] | None = None) -> str:
    """The settlement rows as an aligned text table, one line per row.

    Args:
        settlements: gold/settlements (or a filter of it; at most a few hundred rows are
            collected).
        groups: only these provider groups (all when None).

    Returns:
        The table, header first, rows by contract, year, group, level and measure.
    """
    if groups is not None:
        settlements = settlements.filter(F.col("group_id").isin(list(groups)))
    rows = sorted(
        settlements.collect(),
        key=lambda r: (
            r["contract_id"], r["year"], r["group_id"], LEVEL_ORDER[r["level"]],
            r["measure_id"] or "",
        ),
    )  # fmt: skip
    lines = [HEADER]
    for r in rows:
        guard = ""
        if r["is_guard_passed"] is not None:
            guard = (
                "pass"
                if r["is_guard_passed"]
                else (f"FAIL {r['guard_subgroup']} -{r['guard_decline']:.3f}")
            )
        lines.append(
            (
                r["contract_id"],
                r["group_id"],
                str(r["year"]),
                r["level"],
                r["measure_id"] or "",
                ""
                if r["is_eligible"] is None
                else (
                    "yes" if r["is_eligible"] else "no: " + ",".join(r["eligibility_reasons"] or [])
                ),
                _ci(r["baseline_gap"], r["baseline_ci_low"], r["baseline_ci_high"]),
                _ci(r["performance_gap"], r["performance_ci_low"], r["performance_ci_high"]),
                _ci(r["change"], r["change_ci_low"], r["change_ci_high"]),
                _num(r["closure"], 2)
                if r["level"] == "measure"
                else _num(r["share_self_reported"], 2),
                guard,
                r["tier"] or "",
                "" if r["share"] is None else str(r["share"].normalize()),
                "" if r["weight"] is None else f"{r['weight']:.4f}",
                f"{r['amount']:,.2f}",
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(HEADER))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )
