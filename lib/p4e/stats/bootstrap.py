"""The member bootstrap of SPEC §5, run per (provider group, year) on the executors.

Resampling the N members of a group-year with replacement, jointly across measures,
gives profile counts ~ Multinomial(N, c / N) over the group's distinct profiles
(c = member count per profile): members with one profile are interchangeable. A
replicate's weighted denominators and numerators for every (measure, subgroup) are
then sums of profile weights times counts (`resample_totals`), not a pass over members.

Each group-year draws from its own stream, seeded by (run seed, stable hash of the
group id, year), after sorting its profiles, so results do not depend on Spark's
partitioning or row order. The per-group function reduces the replicates to
percentile CIs and SEs and returns long "cell" rows (`CELLS_SCHEMA`); only the
replicate equity gaps are returned replicate by replicate, and the replicate totals,
which a second pass per year sums into the plan-wide group ALL_GROUPS (stratified by
group, so the plan-wide bootstrap costs no second resampling of every member).
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyspark.sql import DataFrame

from p4e.stats import gaps
from p4e.stats.profiles import OUTCOME_PREFIX, PROB_PREFIX
from p4e.stats.settings import StatsSettings
from p4e.tables import ALL_GROUPS

ALL_SUBGROUP = "ALL"
# Replicates are drawn in blocks of about this many member draws (memory bound).
BLOCK_ELEMENTS = 4_000_000
# Above this many active members per active profile, replicates are drawn with
# numpy's multinomial over profiles rather than member by member (see draw_counts).
DRAWS_PER_PROFILE = 4

# (name, Spark type) of the cell rows the per-group function returns.
CELLS_COLUMNS = (
    ("group_id", "string"),
    ("year", "int"),
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
    """The profiles in one canonical order: lexicographic on outcomes, then probabilities.

    Profiles with one outcome pattern then form one contiguous run, the all-zero
    pattern (in no population) first.
    """
    keys = np.column_stack([outcomes.astype(np.float64), probs])
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

    A replicate resamples the group-year's N members with replacement. A member in
    no measure's population adds nothing to any total, so only the draws landing on
    the A members in some population are counted, per profile (`draw_counts`).
    Profiles come sorted by `sort_profiles`: each outcome pattern is a run whose
    weights are summed once per replicate (`counts[run] @ weights[run]`), then added
    to the denominators (and numerators) of the measures the pattern is in.

    Args:
        probs: (J, S) subgroup probabilities of the J profiles, in `sort_profiles` order.
        outcomes: (J, M) outcome codes (0 not in population, 1 population, 2 numerator).
        counts: (J,) members per profile.
        replicates: B.
        rng: the group-year's random stream.

    Returns:
        n, k of shape (M, S + 1) and n_rep, k_rep of shape (B, M, S + 1); the last
        subgroup column is ALL (weight 1 for every member).
    """
    n_profiles = len(counts)
    weights = np.hstack([probs, np.ones((n_profiles, 1))])
    starts = np.flatnonzero(np.r_[True, np.any(outcomes[1:] != outcomes[:-1], axis=1)])
    runs = list(zip(starts, [*starts[1:], n_profiles], strict=True))
    patterns = outcomes[starts]
    if not patterns[0].any():  # the inactive run: drawn as one remainder cell
        runs, patterns = runs[1:], patterns[1:]
    first = runs[0][0] if runs else n_profiles
    in_population = (patterns >= 1).astype(np.float64)
    in_numerator = (patterns == 2).astype(np.float64)

    def totals(profile_counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(R, J_active) profile counts -> n, k of shape (R, M, S + 1)."""
        per_run = np.zeros((len(profile_counts), len(runs), weights.shape[1]))
        for r, (a, b) in enumerate(runs):
            per_run[:, r] = profile_counts[:, a - first : b - first] @ weights[a:b]
        n = np.einsum("rps,pm->rms", per_run, in_population)
        k = np.einsum("rps,pm->rms", per_run, in_numerator)
        return n, k

    active_counts = counts[first:]
    n_obs, k_obs = totals(active_counts[None, :].astype(np.float64))
    n_members = int(counts.sum())
    block = max(1, min(replicates, BLOCK_ELEMENTS // max(int(active_counts.sum()), 1)))
    n_rep = np.zeros((replicates, *n_obs.shape[1:]))
    k_rep = np.zeros_like(n_rep)
    for start in range(0, replicates, block):
        size = min(block, replicates - start)
        part = slice(start, start + size)
        n_rep[part], k_rep[part] = totals(draw_counts(rng, size, n_members, active_counts))
    return n_obs[0], k_obs[0], n_rep, k_rep


def draw_counts(
    rng: np.random.Generator, size: int, n_members: int, active_counts: np.ndarray
) -> np.ndarray:
    """Profile counts of `size` replicates, each resampling `n_members` members.

    Exactly Multinomial(n_members, [c_1 .. c_J, n_members - sum(c)] / n_members) with
    the last (inactive) cell dropped, drawn the cheaper of two exact ways: when members
    are few per profile, Binomial(n_members, A / n_members) draws land on the A active
    members, each picked uniformly and counted for its profile (cost ~A per replicate);
    otherwise numpy's multinomial over the profiles (cost ~J per replicate, but each
    dearer). The choice depends on the data only, so reruns are bit-identical.

    Returns:
        (size, J) float64 counts.
    """
    n_profiles, n_active = len(active_counts), int(active_counts.sum())
    if n_active > DRAWS_PER_PROFILE * n_profiles:
        shares = np.append(active_counts, n_members - n_active) / n_members
        return rng.multinomial(n_members, shares, size=size)[:, :n_profiles].astype(np.float64)
    draws = rng.binomial(n_members, n_active / n_members, size=size)
    member_profile = np.repeat(np.arange(n_profiles), active_counts)
    picked = member_profile[rng.integers(0, n_active, size=int(draws.sum()))]
    cells = np.repeat(np.arange(size) * n_profiles, draws) + picked
    counts = np.bincount(cells, minlength=size * n_profiles).reshape(size, n_profiles)
    return counts.astype(np.float64)


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
        self.types = {name: CELLS_ARROW.field(name).type for name in CELLS_ARROW.names}
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
    n, k, n_rep, k_rep = resample_totals(
        probs, outcomes, counts, settings.replicates, generator(settings.seed, group_id, year)
    )
    cells = estimate_cells(group_id, year, (n, k, n_rep, k_rep), measures, categories, settings)
    totals = _Cells()
    totals.add(
        settings.replicates + 1,
        group_id=group_id,
        year=year,
        kind="totals",
        replicate=np.arange(-1, settings.replicates, dtype=np.int32),
    )
    totals_table = totals.table()
    for name, observed, replicated in (("n_totals", n, n_rep), ("k_totals", k, k_rep)):
        rows = np.concatenate([observed[None], replicated]).reshape(settings.replicates + 1, -1)
        totals_table = totals_table.set_column(
            CELLS_ARROW.get_field_index(name), name, _lists(rows)
        )
    return pa.concat_tables([cells, totals_table])


def _lists(rows: np.ndarray) -> pa.ListArray:
    """A (R, C) float array as R lists of C doubles."""
    offsets = np.arange(0, rows.size + 1, rows.shape[1], dtype=np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(rows.reshape(-1)))


def plan_wide_cells(
    table: pa.Table, measures: Sequence[str], categories: Sequence[str], settings: StatsSettings
) -> pa.Table:
    """One year's cells as they are, plus the plan-wide group's, with its "totals" rows gone.

    The plan-wide bootstrap is stratified by group, as SPEC §5 resamples members
    within (provider group, year): replicate b of ALL_GROUPS is the sum of replicate b
    of every group (UNATTRIBUTED included), each drawn from its own stream; its
    observed totals are the pooled ones. Groups are summed in group_id order, so the
    result does not depend on row order.
    """
    is_totals = pc.equal(table.column("kind"), "totals")
    rest = table.filter(pc.invert(is_totals))
    totals = table.filter(is_totals).sort_by(
        [("group_id", "ascending"), ("replicate", "ascending")]
    )
    if totals.num_rows == 0:
        return rest
    year = int(totals.column("year")[0].as_py())
    shape = (-1, settings.replicates + 1, len(measures), len(categories) + 1)
    n = _values(totals.column("n_totals")).reshape(shape).sum(axis=0)
    k = _values(totals.column("k_totals")).reshape(shape).sum(axis=0)
    plan = estimate_cells(
        ALL_GROUPS, year, (n[0], k[0], n[1:], k[1:]), measures, categories, settings
    )
    return pa.concat_tables([rest, plan])


def _values(column: pa.ChunkedArray) -> np.ndarray:
    return np.concatenate([chunk.flatten().to_numpy() for chunk in column.chunks])


def estimate_cells(
    group_id: str,
    year: int,
    totals: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    measures: Sequence[str],
    categories: Sequence[str],
    settings: StatsSettings,
) -> pa.Table:
    """Cell rows of one (group, year) from its observed and replicate totals.

    Args:
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
    """Run `estimate_group` on every (group_id, year) of `profiles`, in parallel, then
    `plan_wide_cells` per year for the plan-wide group ALL_GROUPS.

    Args:
        profiles: output of `p4e.stats.profiles.profiles`.
        measures: measure ids in outcome-column order.
        categories: category codes in probability-column order.
        settings: the stats settings.

    Returns:
        Cell rows in `CELLS_SCHEMA`.
    """
    measures, categories = list(measures), list(categories)

    def per_group(table: pa.Table) -> pa.Table:
        return estimate_group(table, measures, categories, settings)

    def per_year(table: pa.Table) -> pa.Table:
        return plan_wide_cells(table, measures, categories, settings)

    groups = profiles.groupBy("group_id", "year").applyInArrow(per_group, schema=CELLS_SCHEMA)
    return groups.groupBy("year").applyInArrow(per_year, schema=CELLS_SCHEMA)
