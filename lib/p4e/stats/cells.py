"""The bootstrap's results of one (group, year) as long "cell" rows (Arrow).

`estimate_group` resamples a group-year's profiles (`p4e.stats.resample`) and
reduces the replicates to percentile CIs and SEs, once for each estimator (the
weighted one and the bias-corrected one of `p4e.stats.corrected`, from the same
replicates; column `estimator`): one cell per rate, per focus
subgroup gap and per summary equity gap; only the replicate equity gaps are kept
replicate by replicate, and the replicate totals, which `plan_wide_cells` sums
per year into the plan-wide group ALL_GROUPS (stratified by group, so the plan-wide
bootstrap costs no second resampling of every member).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from p4e.config.stats import StatsSettings
from p4e.stats import corrected, gaps
from p4e.stats.profiles import OUTCOME_PREFIX, PROB_PREFIX
from p4e.stats.resample import generator, interval, sort_profiles
from p4e.tables.vocabulary import ALL_GROUPS, ALL_SUBGROUP, ESTIMATORS

# (name, Spark type) of the cell rows the per-group function returns.
CELLS_COLUMNS = (
    ("group_id", "string"),
    ("year", "int"),
    ("estimator", "string"),  # weighted | corrected
    ("kind", "string"),  # rate | gap | summary | replicate | totals
    ("measure_id", "string"),
    ("subgroup", "string"),
    ("reference", "string"),
    ("n", "double"),
    ("k", "double"),
    ("estimate", "double"),
    ("ci_low", "double"),
    ("ci_high", "double"),
    ("se", "double"),
    ("n_reference", "double"),
    ("rate_reference", "double"),
    ("rate_focus", "double"),
    ("n_focus_scored", "int"),
    ("replicate", "int"),
    # kind "totals" only, dropped by `plan_wide_cells`: a group-year's flattened (M, S + 1)
    # denominators and numerators, observed (replicate -1) and per replicate.
    ("n_totals", "array<double>"),
    ("k_totals", "array<double>"),
)
CELLS_SCHEMA = ", ".join(f"{name} {kind}" for name, kind in CELLS_COLUMNS)
ARROW_TYPES = {"string": pa.string(), "int": pa.int32(), "double": pa.float64()}
ARROW_TYPES["array<double>"] = pa.list_(pa.float64())
CELLS_ARROW = pa.schema([(name, ARROW_TYPES[kind]) for name, kind in CELLS_COLUMNS])


def _rates(k: np.ndarray, n: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, k / n, np.nan)


class _Cells:
    """Accumulates cell rows (`CELLS_COLUMNS`) block by block."""

    def __init__(self) -> None:
        self.types = {name: CELLS_ARROW.field(name).type for name in CELLS_ARROW.names}
        self.columns: dict[str, list[np.ndarray]] = {name: [] for name in self.types}

    def add(self, count: int, **values: Any) -> None:
        """Append `count` rows; scalars are repeated, arrays give one value per row."""
        for name, column in self.columns.items():
            floating = self.types[name] == pa.float64()
            value = values.get(name, np.nan if floating else None)
            array = np.asarray(value, dtype=np.float64 if floating else object)
            column.append(array.reshape(-1) if array.ndim else np.full(count, value, array.dtype))

    def table(self) -> pa.Table:
        return pa.table(
            {
                name: pa.array(np.concatenate(parts), type=self.types[name], from_pandas=True)
                for name, parts in self.columns.items()
            },
            schema=CELLS_ARROW,
        )


def estimate_group(
    table: pa.Table, measures: Sequence[str], categories: Sequence[str], settings: StatsSettings
) -> pa.Table:
    """Rates, gaps and the equity gap with their bootstrap CIs for one (group, year).

    Args:
        table: the group-year's profiles (group_id, year, p_*, o_*, n_members).
        measures: measure ids in outcome-column order.
        categories: category codes in probability-column order.
        settings: replicates, seed, CI level, reference rule, summary method, min_scored.

    Returns:
        Cell rows in `CELLS_SCHEMA`, then the group-year's "totals" rows (replicate -1
        observed, then 0..B-1) that `plan_wide_cells` sums into the plan-wide group.
    """
    group_id = table.column("group_id")[0].as_py()
    year = int(table.column("year")[0].as_py())
    probs = np.column_stack([table.column(PROB_PREFIX + c).to_numpy() for c in categories])
    outcomes = np.column_stack(
        [table.column(OUTCOME_PREFIX + m).to_numpy() for m in measures]
    ).astype(np.int8)
    counts = table.column("n_members").to_numpy().astype(np.int64)
    probs, outcomes, counts = sort_profiles(probs.astype(np.float64), outcomes, counts)
    by_estimator = corrected.estimator_totals(
        probs, outcomes, counts, settings.replicates, generator(settings.seed, group_id, year)
    )
    parts = []
    for estimator, (n, k, n_rep, k_rep) in by_estimator.items():
        parts.append(
            estimate_cells(
                group_id, year, estimator, (n, k, n_rep, k_rep), measures, categories, settings
            )
        )
        rows = _Cells()
        rows.add(
            settings.replicates + 1,
            group_id=group_id,
            year=year,
            estimator=estimator,
            kind="totals",
            replicate=np.arange(-1, settings.replicates, dtype=np.int32),
        )
        totals_table = rows.table()
        for name, observed, replicated in (("n_totals", n, n_rep), ("k_totals", k, k_rep)):
            flat = np.concatenate([observed[None], replicated]).reshape(settings.replicates + 1, -1)
            totals_table = totals_table.set_column(
                CELLS_ARROW.get_field_index(name), name, _lists(flat)
            )
        parts.append(totals_table)
    return pa.concat_tables(parts)


def _lists(rows: np.ndarray) -> pa.ListArray:
    """A (R, C) float array as R lists of C doubles."""
    offsets = np.arange(0, rows.size + 1, rows.shape[1], dtype=np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(rows.reshape(-1)))


def plan_wide_cells(
    table: pa.Table, measures: Sequence[str], categories: Sequence[str], settings: StatsSettings
) -> pa.Table:
    """One year's cells as they are, plus the plan-wide group's, with its "totals" rows gone.

    The plan-wide bootstrap is stratified by group, as members are resampled
    within their (provider group, year): replicate b of ALL_GROUPS is the sum of replicate b
    of every group (UNATTRIBUTED included), each drawn from its own stream; its
    observed totals are the pooled ones. Groups are summed in group_id order, so the
    result does not depend on row order. Each estimator is summed on its own: the
    corrected plan-wide rate pools the groups' corrected totals (fitted per group).
    """
    is_totals = pc.equal(table.column("kind"), "totals")
    parts = [table.filter(pc.invert(is_totals))]
    all_totals = table.filter(is_totals)
    shape = (-1, settings.replicates + 1, len(measures), len(categories) + 1)
    for estimator in ESTIMATORS:
        totals = all_totals.filter(pc.equal(all_totals.column("estimator"), estimator)).sort_by(
            [("group_id", "ascending"), ("replicate", "ascending")]
        )
        if totals.num_rows == 0:
            continue
        year = int(totals.column("year")[0].as_py())
        n = _values(totals.column("n_totals")).reshape(shape).sum(axis=0)
        k = _values(totals.column("k_totals")).reshape(shape).sum(axis=0)
        parts.append(
            estimate_cells(
                ALL_GROUPS, year, estimator, (n[0], k[0], n[1:], k[1:]), measures, categories,
                settings,
            )
        )  # fmt: skip
    return pa.concat_tables(parts)


def _values(column: pa.ChunkedArray) -> np.ndarray:
    return np.concatenate([chunk.flatten().to_numpy() for chunk in column.chunks])


def estimate_cells(
    group_id: str,
    year: int,
    estimator: str,
    totals: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    measures: Sequence[str],
    categories: Sequence[str],
    settings: StatsSettings,
) -> pa.Table:
    """Cell rows of one (group, year) and estimator from its observed and replicate totals.

    Args:
        estimator: weighted | corrected, written to every row.
        totals: n, k of shape (M, S + 1) and n_rep, k_rep of shape (B, M, S + 1), as
            `resample_totals` returns them.
    """
    n, k, n_rep, k_rep = totals
    rates, rates_rep = _rates(k, n), _rates(k_rep, n_rep)
    subgroups = np.array([*categories, ALL_SUBGROUP], dtype=object)
    n_cats = len(categories)
    fixed = (
        categories.index(settings.reference_category)
        if settings.reference_category in categories
        else None
    )
    cells = _Cells()
    common = {"group_id": group_id, "year": year, "estimator": estimator}
    for m, measure in enumerate(measures):
        present = n[m] > 0
        low, high, se = interval(rates_rep[:, m], settings.percentiles)
        cells.add(
            int(present.sum()),
            **common,
            kind="rate",
            measure_id=measure,
            subgroup=subgroups[present],
            n=n[m][present],
            k=k[m][present],
            estimate=rates[m][present],
            ci_low=low[present],
            ci_high=high[present],
            se=se[present],
        )
        if not present[-1]:
            continue
        focus = _Focus(
            subgroups[:n_cats],
            n[m, :n_cats],
            rates[m, :n_cats],
            n_rep[:, m, :n_cats],
            rates_rep[:, m, :n_cats],
        )
        _add_gaps(
            cells,
            {**common, "measure_id": measure},
            settings.directions[measure],
            settings,
            fixed,
            focus,
        )
    return cells.table()


@dataclass(frozen=True)
class _Focus:
    """One measure's categories: names, observed n and rates (S,), replicated (B, S)."""

    subgroups: np.ndarray
    n: np.ndarray
    rates: np.ndarray
    n_rep: np.ndarray
    rates_rep: np.ndarray


def _add_gaps(
    cells: _Cells,
    common: dict[str, Any],
    direction: str,
    settings: StatsSettings,
    fixed: int | None,
    focus: _Focus,
) -> None:
    """Focus-subgroup gap cells, the summary cell and its replicate cells of one measure."""
    n, rates = focus.n, focus.rates
    sign = gaps.SIGN[direction]
    ref = gaps.choose_reference(rates, n, sign, settings.reference_rule, fixed, settings.min_scored)
    if ref is None or n[ref] <= 0:
        reference = None if ref is None else focus.subgroups[ref]
        cells.add(
            1, **common, kind="summary", reference=reference, n_reference=0.0, n_focus_scored=0
        )
        return
    reference_cells = {
        "reference": focus.subgroups[ref], "n_reference": n[ref], "rate_reference": rates[ref]
    }  # fmt: skip
    point = gaps.oriented_gaps(rates, ref, sign)
    replicate = gaps.oriented_gaps(focus.rates_rep, ref, sign)
    low, high, se = interval(replicate, settings.percentiles)
    shown = n > 0
    shown[ref] = False
    cells.add(
        int(shown.sum()),
        **common,
        **reference_cells,
        kind="gap",
        subgroup=focus.subgroups[shown],
        n=n[shown],
        estimate=point[shown],
        rate_focus=rates[shown],
        ci_low=low[shown],
        ci_high=high[shown],
        se=se[shown],
    )
    _add_summary(cells, {**common, **reference_cells}, settings, focus, ref, point, replicate)


def _add_summary(
    cells: _Cells,
    common: dict[str, Any],
    settings: StatsSettings,
    focus: _Focus,
    ref: int,
    point: np.ndarray,
    replicate: np.ndarray,
) -> None:
    """The summary (equity gap) cell over the scored focus subgroups, and its replicates."""
    scored = focus.n >= settings.min_scored
    scored[ref] = False
    summary = {
        "kind": "summary", "n": float(focus.n[scored].sum()), "n_focus_scored": int(scored.sum())
    }  # fmt: skip
    if not (focus.n[ref] >= settings.min_scored and scored.any()):
        cells.add(1, **common, **summary)
        return
    method = settings.gap_summary
    equity = gaps.summary(method, point, focus.rates, focus.n, scored, ref)
    equity_rep = gaps.summary(method, replicate, focus.rates_rep, focus.n_rep, scored, ref)
    low, high, se = interval(equity_rep, settings.percentiles)
    cells.add(1, **common, **summary, estimate=equity, ci_low=low, ci_high=high, se=se)
    cells.add(
        len(equity_rep),
        **{k: v for k, v in common.items() if k not in ("n_reference", "rate_reference")},
        kind="replicate",
        estimate=equity_rep,
        replicate=np.arange(len(equity_rep), dtype=np.int32),
    )
