"""The bias-corrected (BIRDiE complete-pooling) estimator against a naive EM and planted truth.

Members are simulated as BISG sees them: a proxy cell z (a surname and place) with a
known P(race | z), each member's race drawn from it and its probabilities set to it
(calibrated imputation), and an outcome that depends on race only. The weighted
estimator then shrinks the gaps; the corrected one should not.
"""

from __future__ import annotations

import numpy as np
import pytest

from p4e.stats import corrected
from p4e.stats.resample import draw_counts, resample_with_posterior, sort_profiles

TRUE_RATES = np.array([0.80, 0.60, 0.50])  # P(numerator | race) of races 0 (reference), 1, 2


def _population(rng: np.random.Generator, n: int, reported: float = 0.3):
    """(probs, outcomes, counts, race): one profile per member, one measure."""
    cells = rng.dirichlet(np.full(3, 0.6), size=40)  # P(race | proxy cell)
    cell = rng.integers(0, len(cells), size=n)
    probs = cells[cell]
    race = np.array([rng.choice(3, p=p) for p in probs])
    is_reported = rng.random(n) < reported
    probs[is_reported] = np.eye(3)[race[is_reported]]
    numerator = rng.random(n) < TRUE_RATES[race]
    outcomes = np.where(numerator, 2, 1).astype(np.int8)[:, None]
    outcomes[rng.random(n) < 0.1] = 0  # not in the rate population
    return probs, outcomes, np.ones(n, dtype=np.int64), race


def _naive_em(probs, outcomes, iterations=20_000):
    """Member by member EM from the weighted rates, no acceleration, no profiles."""
    active = outcomes[:, 0] >= 1
    p, y = probs[active], outcomes[active, 0] == 2
    theta = (p * y[:, None]).sum(0) / p.sum(0)
    for _ in range(iterations):
        joint = p * np.where(y[:, None], theta, 1 - theta)
        q = joint / joint.sum(1, keepdims=True)
        theta = (q * y[:, None]).sum(0) / q.sum(0)
    return theta


def _weighted(probs, outcomes):
    active = outcomes[:, 0] >= 1
    p, y = probs[active], outcomes[active, 0] == 2
    return (p * y[:, None]).sum(0) / p.sum(0)


def test_fit_equals_a_naive_em():
    probs, outcomes, counts, _ = _population(np.random.default_rng(1), 3_000)
    fit = corrected.fit(probs, outcomes, counts)
    np.testing.assert_allclose(fit.rates[0], _naive_em(probs, outcomes), rtol=0, atol=1e-8)
    active = outcomes[:, 0] >= 1
    np.testing.assert_allclose(fit.weights[active, 0].sum(axis=1), 1.0, atol=1e-12)
    assert (fit.weights[~active] == 0).all()


def test_grouped_profiles_give_the_members_answer():
    """Members sharing a profile may be counted once with their count."""
    probs, outcomes, counts, _ = _population(np.random.default_rng(2), 2_000)
    rounded = np.round(probs, 1)
    rounded /= rounded.sum(axis=1, keepdims=True)
    keys, inverse = np.unique(np.column_stack([rounded, outcomes]), axis=0, return_inverse=True)
    grouped = corrected.fit(keys[:, :3], keys[:, 3:].astype(np.int8), np.bincount(inverse))
    members = corrected.fit(rounded, outcomes, counts)
    np.testing.assert_allclose(grouped.rates, members.rates, rtol=0, atol=1e-9)


def test_reported_members_only_give_the_weighted_rates():
    rng = np.random.default_rng(3)
    race = rng.integers(0, 3, size=500)
    outcomes = np.where(rng.random(500) < TRUE_RATES[race], 2, 1).astype(np.int8)[:, None]
    probs = np.eye(3)[race]
    fit = corrected.fit(probs, outcomes, np.ones(500, dtype=np.int64))
    np.testing.assert_allclose(fit.rates[0], _weighted(probs, outcomes), atol=1e-12)


def test_a_subgroup_without_weight_has_no_rate():
    probs = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [0.0, 1.0, 0.0]])
    fit = corrected.fit(probs, np.array([[2], [1], [2]], dtype=np.int8), np.ones(3, np.int64))
    assert np.isnan(fit.rates[0, 2]) and not np.isnan(fit.rates[0, :2]).any()
    assert fit.gain[0, 2, 2] == 1.0


def test_the_linearised_replicates_track_a_full_refit():
    """A replicate's one-step linearised rate is within a fifth of an SE of its own EM fit
    (a second-order error), and the two SEs agree to 5%."""
    rng = np.random.default_rng(4)
    probs, outcomes, counts, _ = _population(rng, 4_000)
    probs, outcomes, counts = sort_profiles(probs, outcomes, counts)
    fit = corrected.fit(probs, outcomes, counts)
    rng = np.random.default_rng(9)
    weighted, posterior = resample_with_posterior(probs, outcomes, counts, 40, rng, fit.weights)
    n, k, n_rep, k_rep = corrected.corrected_totals(weighted, posterior, fit)
    linearised = k_rep[:, 0, :3] / n_rep[:, 0, :3]
    np.testing.assert_allclose(k[0, :3] / n[0, :3], fit.rates[0], atol=1e-9)
    first = int(np.argmax(outcomes[:, 0] >= 1))  # profiles come inactive first
    redraw = draw_counts(np.random.default_rng(9), 40, int(counts.sum()), counts[first:])
    refits = np.array([corrected.fit(probs[first:], outcomes[first:], c).rates[0] for c in redraw])
    se = linearised.std(axis=0, ddof=1)
    error = np.abs(linearised - refits)
    assert (error.max(axis=0) < 0.2 * se).all()
    assert (error.mean(axis=0) < 0.05 * se).all()
    np.testing.assert_allclose(se, refits.std(axis=0, ddof=1), rtol=0.05)


def test_corrected_gaps_recover_the_planted_gaps_the_weighted_ones_shrink():
    """Seeded simulation, 30 populations of 3,000: mean gap error of each estimator."""
    rng = np.random.default_rng(20241204)
    true_gaps = TRUE_RATES[0] - TRUE_RATES[1:]
    weighted_err, corrected_err = [], []
    for _ in range(30):
        probs, outcomes, counts, _ = _population(rng, 3_000)
        w = _weighted(probs, outcomes)
        c = corrected.fit(probs, outcomes, counts).rates[0]
        weighted_err.append((w[0] - w[1:]) - true_gaps)
        corrected_err.append((c[0] - c[1:]) - true_gaps)
    weighted_bias = np.mean(weighted_err, axis=0)
    corrected_bias = np.mean(corrected_err, axis=0)
    assert (weighted_bias < -0.03).all()  # attenuated: the gaps look smaller than they are
    assert np.abs(corrected_bias).max() < 0.015
    assert np.mean(np.abs(corrected_err)) < 0.6 * np.mean(np.abs(weighted_err))


@pytest.mark.parametrize("numerator_share", [0.0, 1.0])
def test_an_outcome_every_member_shares_is_fitted_at_the_boundary(numerator_share):
    probs, outcomes, counts, _ = _population(np.random.default_rng(5), 500)
    outcomes[outcomes >= 1] = 2 if numerator_share else 1
    fit = corrected.fit(probs, outcomes, counts)
    np.testing.assert_allclose(fit.rates[0], numerator_share, atol=1e-12)
