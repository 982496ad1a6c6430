"""The member bootstrap of SPEC §5, run per (provider group, year) on the executors.

Resampling the N members of a group-year with replacement, jointly across measures,
is the same as drawing profile counts ~ Multinomial(N, c / N) over the group's
distinct profiles (c = member count per profile): members with one profile are
interchangeable. A replicate's weighted denominators and numerators for every
(measure, subgroup) are then one matrix product `counts @ design`, so the cost is
O(B x profiles), not O(B x members).

Each group-year draws from its own stream, seeded by (run seed, stable hash of the
group id, year), after sorting its profiles, so results do not depend on Spark's
partitioning or row order. The per-group function reduces the replicates to
percentile CIs and SEs and returns long "cell" rows (`CELLS_SCHEMA`); only the
replicate equity gaps are returned replicate by replicate.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Sequence

import numpy as np
import pyarrow as pa
from pyspark.sql import DataFrame

from p4e.stats import gaps
from p4e.stats.profiles import OUTCOME_PREFIX, PROB_PREFIX
from p4e.stats.settings import StatsSettings

ALL_SUBGROUP = "ALL"
# Replicates are drawn in blocks of at most this many profile counts (memory bound).
BLOCK_ELEMENTS = 4_000_000

# (name, Spark type) of the cell rows the per-group function returns.
CELLS_COLUMNS = (
    ("group_id", "string"),
    ("year", "int"),
    ("kind", "string"),  # rate | gap | summary | replicate
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
)
CELLS_SCHEMA = ", ".join(f"{name} {kind}" for name, kind in CELLS_COLUMNS)


def stable_hash(text: str) -> int:
    """A 64-bit hash of `text` that is the same in every process (unlike `hash()`)."""
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def generator(seed: int, group_id: str, year: int) -> np.random.Generator:
    """The random stream of one (group, year): SeedSequence([seed, hash(group), year])."""
    sequence = np.random.SeedSequence([seed, stable_hash(group_id), year])
    return np.random.Generator(np.random.PCG64(sequence))


def sort_profiles(
    probs: np.ndarray, outcomes: np.ndarray, counts: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The profiles in one canonical order (lexicographic on probabilities, then outcomes)."""
    keys = np.column_stack([probs, outcomes.astype(np.float64)])
    order = np.lexsort(keys.T[::-1])
    return probs[order], outcomes[order], counts[order]


def resample_totals(
    probs: np.ndarray,
    outcomes: np.ndarray,
    counts: np.ndarray,
    replicates: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Weighted denominators and numerators, observed and per bootstrap replicate.

    Args:
        probs: (J, S) subgroup probabilities of the J profiles.
        outcomes: (J, M) outcome codes (0 not in population, 1 population, 2 numerator).
        counts: (J,) members per profile.
        replicates: B.
        rng: the group-year's random stream.

    Returns:
        n, k of shape (M, S + 1) and n_rep, k_rep of shape (B, M, S + 1); the last
        subgroup column is ALL (weight 1 for every member).
    """
    n_profiles, n_subgroups = probs.shape
    n_measures = outcomes.shape[1]
    weights = np.hstack([probs, np.ones((n_profiles, 1))])
    in_population = (outcomes >= 1)[:, :, None] * weights[:, None, :]
    in_numerator = (outcomes == 2)[:, :, None] * weights[:, None, :]
    design = np.hstack(
        [in_population.reshape(n_profiles, -1), in_numerator.reshape(n_profiles, -1)]
    )
    observed = counts.astype(np.float64) @ design
    total = int(counts.sum())
    pvals = counts / total
    block = max(1, min(replicates, BLOCK_ELEMENTS // n_profiles))
    drawn = np.empty((replicates, design.shape[1]))
    for start in range(0, replicates, block):
        size = min(block, replicates - start)
        draws = rng.multinomial(total, pvals, size=size)
        drawn[start : start + size] = draws.astype(np.float64) @ design
    shape = (n_measures, n_subgroups + 1)
    half = design.shape[1] // 2
    return (
        observed[:half].reshape(shape),
        observed[half:].reshape(shape),
        drawn[:, :half].reshape((replicates, *shape)),
        drawn[:, half:].reshape((replicates, *shape)),
    )


def interval(replicates: np.ndarray, percentiles: tuple[float, float]) -> tuple[np.ndarray, ...]:
    """Percentile CI bounds and SE over axis 0, ignoring NaN replicates (NaN if all are)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        low, high = np.nanpercentile(replicates, percentiles, axis=0)
        se = np.nanstd(replicates, axis=0, ddof=1)
    return low, high, se


def _rates(k: np.ndarray, n: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, k / n, np.nan)


class _Cells:
    """Accumulates cell rows (`CELLS_COLUMNS`) block by block."""

    def __init__(self) -> None:
        arrow = {"string": pa.string(), "int": pa.int32(), "double": pa.float64()}
        self.types = {name: arrow[kind] for name, kind in CELLS_COLUMNS}
        self.columns: dict[str, list[np.ndarray]] = {name: [] for name in self.types}

    def add(self, count: int, **values) -> None:
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
            }
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
        Cell rows in `CELLS_SCHEMA`.
    """
    group_id = table.column("group_id")[0].as_py()
    year = int(table.column("year")[0].as_py())
    probs = np.column_stack([table.column(PROB_PREFIX + c).to_numpy() for c in categories])
    outcomes = np.column_stack(
        [table.column(OUTCOME_PREFIX + m).to_numpy() for m in measures]
    ).astype(np.int8)
    counts = table.column("n_members").to_numpy().astype(np.int64)
    probs, outcomes, counts = sort_profiles(probs.astype(np.float64), outcomes, counts)
    n, k, n_rep, k_rep = resample_totals(
        probs, outcomes, counts, settings.replicates, generator(settings.seed, group_id, year)
    )
    rates, rates_rep = _rates(k, n), _rates(k_rep, n_rep)
    subgroups = np.array([*categories, ALL_SUBGROUP], dtype=object)
    n_cats = len(categories)
    fixed = (
        categories.index(settings.reference_category)
        if settings.reference_category in categories
        else None
    )
    cells = _Cells()
    common = {"group_id": group_id, "year": year}
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
        _add_gaps(
            cells,
            common,
            measure,
            settings,
            subgroups[:n_cats],
            fixed,
            n[m, :n_cats],
            rates[m, :n_cats],
            n_rep[:, m, :n_cats],
            rates_rep[:, m, :n_cats],
        )
    return cells.table()


def _add_gaps(
    cells: _Cells,
    common: dict,
    measure: str,
    settings: StatsSettings,
    subgroups: np.ndarray,
    fixed: int | None,
    n: np.ndarray,
    rates: np.ndarray,
    n_rep: np.ndarray,
    rates_rep: np.ndarray,
) -> None:
    """Focus-subgroup gap cells, the summary cell and its replicate cells of one measure."""
    sign = gaps.SIGN[settings.directions[measure]]
    ref = gaps.choose_reference(rates, n, sign, settings.reference_rule, fixed, settings.min_scored)
    if ref is None or n[ref] <= 0:
        cells.add(
            1,
            **common,
            kind="summary",
            measure_id=measure,
            reference=None if ref is None else subgroups[ref],
            n_reference=0.0,
            n_focus_scored=0,
        )
        return
    reference = {"reference": subgroups[ref], "n_reference": n[ref], "rate_reference": rates[ref]}
    point = gaps.oriented_gaps(rates, ref, sign)
    replicate = gaps.oriented_gaps(rates_rep, ref, sign)
    low, high, se = interval(replicate, settings.percentiles)
    shown = n > 0
    shown[ref] = False
    cells.add(
        int(shown.sum()),
        **common,
        **reference,
        kind="gap",
        measure_id=measure,
        subgroup=subgroups[shown],
        n=n[shown],
        estimate=point[shown],
        rate_focus=rates[shown],
        ci_low=low[shown],
        ci_high=high[shown],
        se=se[shown],
    )
    focus = n >= settings.min_scored
    focus[ref] = False
    scored = n[ref] >= settings.min_scored and bool(focus.any())
    summary = {
        "kind": "summary",
        "measure_id": measure,
        "n": float(n[focus].sum()),
        "n_focus_scored": int(focus.sum()),
    }
    if not scored:
        cells.add(1, **common, **reference, **summary)
        return
    method = settings.gap_summary
    equity = gaps.summary(method, point, rates, n, focus, ref)
    equity_rep = gaps.summary(method, replicate, rates_rep, n_rep, focus, ref)
    low, high, se = interval(equity_rep, settings.percentiles)
    cells.add(1, **common, **reference, **summary, estimate=equity, ci_low=low, ci_high=high, se=se)
    cells.add(
        len(equity_rep),
        **common,
        kind="replicate",
        measure_id=measure,
        reference=subgroups[ref],
        estimate=equity_rep,
        replicate=np.arange(len(equity_rep), dtype=np.int32),
    )


def bootstrap_cells(
    profiles: DataFrame,
    measures: Sequence[str],
    categories: Sequence[str],
    settings: StatsSettings,
) -> DataFrame:
    """Run `estimate_group` on every (group_id, year) of `profiles`, in parallel.

    Args:
        profiles: output of `p4e.stats.profiles.profiles`.
        measures: measure ids in outcome-column order.
        categories: category codes in probability-column order.
        settings: the stats settings.

    Returns:
        Cell rows in `CELLS_SCHEMA`.
    """
    measures, categories = list(measures), list(categories)

    def run(table: pa.Table) -> pa.Table:
        return estimate_group(table, measures, categories, settings)

    return profiles.groupBy("group_id", "year").applyInArrow(run, schema=CELLS_SCHEMA)
