"""The planted provider groups: the cases settlement must tell apart, and their true rates.

`SCENARIO_GROUPS` is the one place that maps a scenario label to its group id;
tests and contract examples refer to it. Every other group is a background group
(`scenario = 'background'`).

A planted group's rate for a measure and year depends only on whether the member's
true category is the reference (`white`) or not: `ref` and `focus` give the rate
in the baseline years (the first two measurement years) and in the last year, with
a straight line in between. Every non-reference category follows `focus`.
"""

from __future__ import annotations

from dataclasses import dataclass

CATEGORIES = ("hispanic", "white", "black", "asian", "aian", "nhpi", "multiracial", "other")
REFERENCE = "white"
BACKGROUND = "background"
BASELINE_YEARS = 2


@dataclass(frozen=True)
class PlantedGroup:
    """One planted group.

    Attributes:
        group_id: provider group id.
        scenario: label written to truth_rates.scenario.
        name: provider group name.
        race_mix: true category -> share of the group's members.
        ref: (baseline, last-year) rate of the reference category.
        focus: (baseline, last-year) rate of every other category.
        share: share of all members in the group, up to `max_members`.
        max_members: cap on the group's size, so large runs keep the planted shape.
    """

    group_id: str
    scenario: str
    name: str
    race_mix: dict[str, float]
    ref: tuple[float, float]
    focus: tuple[float, float]
    share: float = 0.10
    max_members: int = 8000

    def size(self, members: int) -> int:
        """Number of members of the group in a run of `members` members."""
        return min(self.max_members, round(self.share * members))

    def rate(self, category: str, year_index: int, n_years: int) -> float:
        """True rate of `category` in the `year_index`-th measurement year (0-based)."""
        base, end = self.ref if category == REFERENCE else self.focus
        ramp = n_years - BASELINE_YEARS
        if year_index < BASELINE_YEARS or ramp <= 0:
            return base
        return base + (end - base) * (year_index - BASELINE_YEARS + 1) / ramp


DIVERSE_MIX = {
    "white": 0.40,
    "black": 0.30,
    "hispanic": 0.20,
    "asian": 0.05,
    "aian": 0.01,
    "nhpi": 0.01,
    "multiracial": 0.02,
    "other": 0.01,
}
HOMOGENEOUS_MIX = {"white": 0.985, "black": 0.005, "hispanic": 0.005, "asian": 0.005}

PLANTED: tuple[PlantedGroup, ...] = (
    PlantedGroup(
        "G901", "closes_gap", "Harbor Community Health", DIVERSE_MIX, (0.75, 0.78), (0.55, 0.78)
    ),
    PlantedGroup(
        "G902",
        "closes_by_reference_decline",
        "Riverside Medical Associates",
        DIVERSE_MIX,
        (0.75, 0.57),
        (0.55, 0.55),
    ),
    # A 20-point baseline gap like G901's and G902's, so that it is eligible on as many
    # measures, widening to 35 points.
    PlantedGroup("G903", "widens", "Summit Primary Care", DIVERSE_MIX, (0.75, 0.80), (0.55, 0.45)),
    PlantedGroup(
        "G904",
        "ineligible_small",
        "Lantern Street Clinic",
        {"white": 0.5, "black": 0.3, "hispanic": 0.2},
        (0.72, 0.72),
        (0.60, 0.60),
        share=1.0,
        max_members=40,
    ),
    PlantedGroup(
        "G905",
        "ineligible_homogeneous",
        "Hilltop Family Practice",
        HOMOGENEOUS_MIX,
        (0.72, 0.72),
        (0.60, 0.60),
    ),
    PlantedGroup(
        "G906",
        "no_baseline_gap",
        "Meridian Health Partners",
        DIVERSE_MIX,
        (0.70, 0.70),
        (0.70, 0.70),
    ),
)

SCENARIO_GROUPS: dict[str, str] = {g.scenario: g.group_id for g in PLANTED}
