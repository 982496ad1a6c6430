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
from typing import NamedTuple

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


class Totals(NamedTuple):
    """Denominators and numerators per (outcome column, subgroup): observed n, k of shape
    (M, W) and per replicate n_rep, k_rep of shape (B, M, W)."""

    n: np.ndarray
    k: np.ndarray
    n_rep: np.ndarray
    k_rep: np.ndarray


def resample_totals(
    probs: np.ndarray,
    outcomes: np.ndarray,
    counts: np.ndarray,
    replicates: int,
    rng: np.random.Generator,
) -> Totals:
    """The weighted totals of `resample_with_posterior`, without posterior weights."""
    empty = np.zeros((len(counts), outcomes.shape[1], 0))
    return resample_with_posterior(probs, outcomes, counts, replicates, rng, empty)[0]


def resample_with_posterior(
    probs: np.ndarray,
    outcomes: np.ndarray,
    counts: np.ndarray,
    replicates: int,
    rng: np.random.Generator,
    posterior: np.ndarray,
) -> tuple[Totals, Totals]:
    """Weighted denominators and numerators, observed and per bootstrap replicate.

    A replicate resamples the group-year's N members with replacement. A member in
    no measure's population adds nothing to any total, so only the draws landing on
    the A members in some population are counted, per profile (`draw_counts`;
    `sort_profiles` puts the inactive profiles first). A block of replicates' totals is
    then one matrix product of its (replicates, profiles) counts with the (profiles,
    outcome column x subgroup) weights inside each column's population, and one with
    those inside its numerator: cost O(B x profiles x columns x subgroups), in BLAS.

    Args:
        probs: (J, S) subgroup probabilities of the J profiles, in `sort_profiles` order.
        outcomes: (J, M) outcome codes (0 not in population, 1 population, 2 numerator).
        counts: (J,) members per profile.
        replicates: B.
        rng: the group-year's random stream.
        posterior: (J, M, P) weights per outcome column (`p4e.stats.corrected`, P = S),
            summed over the same replicates.

    Returns:
        The weighted totals, W = S + 1 (the last subgroup column is ALL, weight 1 for
        every member), and the posterior-weighted totals (W = P).
    """
    first = int(np.argmax(outcomes.any(axis=1))) if outcomes.any() else len(counts)
    active = outcomes[first:, :, None]
    weights = np.hstack([probs, np.ones((len(counts), 1))])[first:, None, :]
    shapes = [(outcomes.shape[1], weights.shape[2])] * 2 + [posterior.shape[1:]] * 2
    matrices = [
        (values * mask).reshape(len(active), int(np.prod(shape)))
        for values, shape in ((weights, shapes[0]), (posterior[first:], shapes[2]))
        for mask in (active >= 1, active == 2)
    ]

    def totals(profile_counts: np.ndarray) -> list[np.ndarray]:
        """(R, J_active) profile counts -> n, k (R, M, S + 1) and posterior n, k (R, M, P)."""
        return [
            (profile_counts @ matrix).reshape(len(profile_counts), *shape)
            for matrix, shape in zip(matrices, shapes, strict=True)
        ]

    active_counts = counts[first:]
    observed = [t[0] for t in totals(active_counts[None, :].astype(np.float64))]
    n_members = int(counts.sum())
    block = max(1, min(replicates, BLOCK_ELEMENTS // max(int(active_counts.sum()), 1)))
    replicated = [np.zeros((replicates, *t.shape)) for t in observed]
    for start in range(0, replicates, block):
        part = slice(start, start + min(block, replicates - start))
        drawn = totals(draw_counts(rng, part.stop - part.start, n_members, active_counts))
        for target, values in zip(replicated, drawn, strict=True):
            target[part] = values
    weighted = Totals(observed[0], observed[1], replicated[0], replicated[1])
    return weighted, Totals(observed[2], observed[3], replicated[2], replicated[3])


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
