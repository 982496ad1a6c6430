"""The member bootstrap as numpy: resampling distinct profiles instead of members.

Resampling the N members of a group with replacement, jointly across measures,
gives profile counts ~ Multinomial(N, c / N) over the group's distinct profiles
(c = member count per profile): members with one profile are interchangeable. A
replicate's weighted denominators and numerators for every (outcome column,
subgroup) are then sums of profile weights times counts (`resample_totals`), not a
pass over members. Outcome columns are measures of one year, or (measure, year)
pairs of a multi-year panel: the arithmetic is the same.

Each group draws from its own stream, seeded by (run seed, stable hash of the
group id, year), after sorting its profiles, so results do not depend on Spark's
partitioning or row order.
"""

from __future__ import annotations

import hashlib
import warnings

import numpy as np

# Replicates are drawn in blocks of about this many member draws (memory bound).
BLOCK_ELEMENTS = 4_000_000
# Above this many active members per active profile, replicates are drawn with
# numpy's multinomial over profiles rather than member by member (see draw_counts).
DRAWS_PER_PROFILE = 4


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


def nanmean(values: np.ndarray, axis: int) -> np.ndarray:
    """Mean over `axis` ignoring NaN (NaN, without a warning, where all are NaN)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.asarray(np.nanmean(values, axis=axis))


def nanstd(values: np.ndarray, axis: int) -> np.ndarray:
    """Sample SD over `axis` ignoring NaN (NaN, without a warning, below two values)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.asarray(np.nanstd(values, axis=axis, ddof=1))


def interval(replicates: np.ndarray, percentiles: tuple[float, float]) -> tuple[np.ndarray, ...]:
    """Percentile CI bounds and SE over axis 0, ignoring NaN replicates (NaN if all are)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        low, high = np.nanpercentile(replicates, percentiles, axis=0)
        se = np.nanstd(replicates, axis=0, ddof=1)
    return low, high, se
