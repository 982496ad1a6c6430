"""Planted probabilities per (group, true category, measure, year) and the truth they imply.

Each member-year in a measure's population is compliant with the planted target
rate r[group, category, measure, year] (background groups: a measure base, a
group effect, a category gap scaled per group and a small trend; planted groups:
their scenario). The events module turns compliance into events; this module
says with which per-year probability, and what rate the measure engine should
then show (`truth_rates`).
"""

from __future__ import annotations

import calendar

import numpy as np
import pandas as pd

from p4e.generate.plan import Plan
from p4e.generate.scenarios import BACKGROUND, CATEGORIES, PLANTED

MEASURES = ("COL", "BCS", "CBP", "GSD", "WCV")

BASE_RATE = {"COL": 0.62, "BCS": 0.72, "CBP": 0.63, "GSD": 0.60, "WCV": 0.55}
CATEGORY_GAP = {
    "hispanic": -0.05,
    "white": 0.0,
    "black": -0.07,
    "asian": 0.02,
    "aian": -0.08,
    "nhpi": -0.05,
    "multiracial": -0.03,
    "other": -0.03,
}
TREND_PER_YEAR = 0.005
RATE_BOUNDS = (0.15, 0.95)

# COL: this share of members had a colonoscopy before the first measurement year that
# still counts in the last one; the others are screened by FOBT/FIT with probability
# (r - share) / (1 - share), so the expected rate is r.
COLONOSCOPY_SHARE = 0.10
# BCS: a mammogram happens in a year with probability BCS_YEARLY_SCALE * r.
BCS_YEARLY_SCALE = 0.55
# GSD: a non-compliant member-year has no test, a last test in [8.0, 9.0], or one > 9.0.
GSD_NO_TEST = 0.30
GSD_MID = 0.20
# CBP: a non-compliant member-year has no reading in this share, else a high last reading.
CBP_NO_READING = 0.25
# Compliance draws are the member's own in this share of the years (p4e.generate.draws
# `persistent`): outcomes persist from year to year as screening habits do.
PERSISTENCE = 0.8


def target_rates(plan: Plan) -> pd.DataFrame:
    """Target rate r of every group, category, measure and event year.

    Years before the first measurement year take the first year's rate.

    Returns:
        Columns group_id, scenario, category, measure_id, year, rate.
    """
    planted = {g.group_id: g for g in PLANTED}
    n_years = len(plan.years)
    rows = []
    for group in plan.groups.itertuples(index=False):
        for year in plan.event_years:
            index = max(year, plan.first_year) - plan.first_year
            for category in CATEGORIES:
                for measure in MEASURES:
                    if group.scenario == BACKGROUND:
                        rate = (
                            BASE_RATE[measure]
                            + getattr(group, f"effect_{measure}")
                            + CATEGORY_GAP[category] * group.gap_scale
                            + TREND_PER_YEAR * index
                        )
                    else:
                        rate = planted[group.group_id].rate(category, index, n_years)
                    rate = min(max(rate, RATE_BOUNDS[0]), RATE_BOUNDS[1])
                    rows.append((group.group_id, group.scenario, category, measure, year, rate))
    return pd.DataFrame(
        rows, columns=["group_id", "scenario", "category", "measure_id", "year", "rate"]
    )


def event_probabilities(targets: pd.DataFrame) -> pd.DataFrame:
    """Per-year event probabilities, one row per (group_id, category, year).

    Columns p_col_fobt (FOBT/FIT among members without a counting colonoscopy),
    p_bcs (mammogram in the year), p_cbp, p_gsd, p_wcv (compliance).
    """
    wide = targets.pivot_table(
        index=["group_id", "category", "year"], columns="measure_id", values="rate"
    ).reset_index()
    return pd.DataFrame(
        {
            "group_id": wide["group_id"],
            "category": wide["category"],
            "year": wide["year"].astype("int32"),
            "p_col_fobt": (wide["COL"] - COLONOSCOPY_SHARE) / (1.0 - COLONOSCOPY_SHARE),
            "p_bcs": BCS_YEARLY_SCALE * wide["BCS"],
            "p_cbp": wide["CBP"],
            "p_gsd": wide["GSD"],
            "p_wcv": wide["WCV"],
        }
    )


def truth_rates(plan: Plan, targets: pd.DataFrame) -> pd.DataFrame:
    """Expected measured rate per group, measure, measurement year and true category.

    The rate among denominator members who are not excluded (exclusions and
    enrollment are drawn independently of compliance, so they do not change it):

    - COL, CBP, GSD, WCV: the target rate r of the year.
    - GSD_POOR: (1 - r_HBD) * (1 - GSD_MID): the non-compliant without a test or
      with a last HbA1c > 9.0.
    - BCS: a mammogram in the window Oct 1 of MY-2 .. Dec 31 of MY, with mammogram
      probability q_y = BCS_YEARLY_SCALE * r_y in year y on a date uniform over the
      year, f = 92 / (days in MY-2) being the Oct-Dec share of MY-2. A year's draw is
      the member's own u with probability PERSISTENCE, else fresh, so
      P(no mammogram counts) = integral over u in [0, 1] of the product over the three
      years of P(none in year y | u) (`_no_mammogram`).

    Returns:
        Columns of raw/truth_rates (`p4e.tables.TRUTH_RATES`).
    """
    wide = targets.pivot_table(
        index=["group_id", "scenario", "category", "year"], columns="measure_id", values="rate"
    )
    yearly_bcs = BCS_YEARLY_SCALE * wide["BCS"]
    frames = []
    for year in plan.years:
        now = wide.xs(year, level="year")
        q = {lag: yearly_bcs.xs(year - lag, level="year") for lag in (0, 1, 2)}
        october_share = 92 / (366 if calendar.isleap(year - 2) else 365)
        by_measure = {m: now[m] for m in ("COL", "CBP", "GSD", "WCV")}
        by_measure["GSD_POOR"] = (1.0 - now["GSD"]) * (1.0 - GSD_MID)
        by_measure["BCS"] = 1.0 - _no_mammogram(q[0], q[1], q[2], october_share)
        for measure, rate in by_measure.items():
            frame = rate.rename("rate").reset_index()
            frame["measure_id"] = measure
            frame["year"] = year
            frames.append(frame)
    truth = pd.concat(frames, ignore_index=True)
    truth["year"] = truth["year"].astype("int32")
    return truth[["group_id", "scenario", "measure_id", "year", "category", "rate"]]


def _no_mammogram(q0: pd.Series, q1: pd.Series, q2: pd.Series, share: float) -> pd.Series:
    """P(no mammogram counts for MY) under persistent draws, exactly.

    Given the member's own u, year y has no mammogram with probability
    PERSISTENCE * [u >= q_y] + (1 - PERSISTENCE) * (1 - q_y); for MY-2 only an Oct-Dec
    date counts, so [u >= q] becomes [u >= q] + [u < q] (1 - share) and q becomes share * q.
    The product is piecewise constant in u between the q's: summed interval by interval.
    """
    p = PERSISTENCE
    q = np.column_stack([q0, q1, q2])
    edges = np.sort(np.column_stack([np.zeros(len(q)), q, np.ones(len(q))]), axis=1)
    total = np.zeros(len(q))
    for i in range(edges.shape[1] - 1):
        low, high = edges[:, i], edges[:, i + 1]
        u = (low + high) / 2
        none = (p * (u >= q[:, 0]) + (1 - p) * (1 - q[:, 0])) * (
            p * (u >= q[:, 1]) + (1 - p) * (1 - q[:, 1])
        )
        none *= p * np.where(u >= q[:, 2], 1.0, 1 - share) + (1 - p) * (1 - share * q[:, 2])
        total += (high - low) * none
    return pd.Series(total, index=q0.index)
