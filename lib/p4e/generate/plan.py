"""The run plan: years, seed, and the provider groups with their size, mix and rate parameters.

Everything here is configuration-sized (one row per provider group) and lives on
the driver; member-level data is only ever built by Spark from it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from p4e.config import Settings
from p4e.errors import ConfigError
from p4e.generate.scenarios import BACKGROUND, CATEGORIES, PLANTED

# Shape of the background groups: Zipf-like sizes, varied diversity and quality.
ZIPF_EXPONENT = 1.1
DIVERSITY_RANGE = (0.05, 0.60)
# Dirichlet weights of the non-white categories of a background group.
NON_WHITE_ALPHA = {
    "hispanic": 3.0,
    "black": 3.0,
    "asian": 2.0,
    "aian": 0.3,
    "nhpi": 0.2,
    "multiracial": 0.6,
    "other": 0.4,
}
GROUP_EFFECT = 0.08  # background group quality shift per measure, uniform in +-this
GAP_SCALE_RANGE = (0.5, 1.5)
COMPLETENESS_SHIFT = 0.10
GROUP_NAME_PLACES = (
    "Ashford",
    "Bayview",
    "Brookline",
    "Cedar",
    "Clearwater",
    "Elmwood",
    "Fairhaven",
    "Granite",
    "Greenfield",
    "Highland",
    "Kingsbury",
    "Lakeside",
    "Maplewood",
    "Northgate",
    "Oakridge",
    "Pinecrest",
    "Quarry",
    "Redwood",
    "Seaport",
    "Stonebridge",
    "Valley",
    "Westfield",
    "Willow",
    "Winslow",
    "Yarmouth",
)
GROUP_NAME_KINDS = ("Family Medicine", "Medical Group", "Health Center", "Physicians", "Pediatrics")


@dataclass(frozen=True)
class Plan:
    """Parameters of one generated lakehouse.

    Attributes:
        seed: run seed; every draw derives from it.
        members: number of members.
        years: measurement years, ascending.
        groups: one row per provider group: group_id, group_name, scenario,
            first_index and size (planted groups: a block of the member permutation),
            weight (background groups: share of the members not in a planted group),
            one mix column per category (`mix_<category>`), completeness_shift,
            gap_scale and `effect_<measure>` columns (background groups).
    """

    seed: int
    members: int
    years: tuple[int, ...]
    groups: pd.DataFrame

    @property
    def first_year(self) -> int:
        return self.years[0]

    @property
    def last_year(self) -> int:
        return self.years[-1]

    @property
    def event_years(self) -> tuple[int, ...]:
        """Years events are generated for: two look-back years before the first measurement year."""
        return tuple(range(self.first_year - 2, self.last_year + 1))

    @property
    def planted_members(self) -> int:
        return int(self.groups["size"].sum())


def make_plan(settings: Settings, *, members: int, seed: int, measures: tuple[str, ...]) -> Plan:
    """Build the plan of a run from the configuration.

    Args:
        settings: the run's settings (`years`, `generate.groups`).
        members: number of members to generate.
        seed: run seed.
        measures: measure ids that get a per-group quality effect.

    Raises:
        ConfigError: members, years or the group count are unusable.
    """
    years = settings.years
    if years != tuple(range(years[0], years[-1] + 1)):
        raise ConfigError(f"years must be consecutive years, got {list(years)!r}")
    n_background = settings.generate.groups
    planted = _planted_groups(members)
    if members <= int(planted["size"].sum()):
        raise ConfigError(
            f"members must exceed the {int(planted['size'].sum())} members of the planted "
            f"groups, got {members}"
        )
    rng = np.random.default_rng(seed)
    background = _background_groups(rng, n_background, measures)
    groups = pd.concat([background, planted], ignore_index=True)
    return Plan(seed=seed, members=members, years=years, groups=groups)


def _planted_groups(members: int) -> pd.DataFrame:
    rows, start = [], 0
    for group in PLANTED:
        size = group.size(members)
        row = {
            "group_id": group.group_id,
            "group_name": group.name,
            "scenario": group.scenario,
            "first_index": start,
            "size": size,
            "weight": 0.0,
            "completeness_shift": 0.0,
            "gap_scale": 1.0,
        }
        row |= {f"mix_{c}": group.race_mix.get(c, 0.0) for c in CATEGORIES}
        rows.append(row)
        start += size
    return pd.DataFrame(rows)


def _background_groups(rng: np.random.Generator, n: int, measures: tuple[str, ...]) -> pd.DataFrame:
    ranks = np.arange(1, n + 1)
    weights = 1.0 / ranks**ZIPF_EXPONENT
    diversity = rng.uniform(*DIVERSITY_RANGE, n)
    non_white = rng.dirichlet(list(NON_WHITE_ALPHA.values()), n)
    frame = pd.DataFrame(
        {
            "group_id": [f"G{i:03d}" for i in ranks],
            "group_name": [
                f"{GROUP_NAME_PLACES[i % len(GROUP_NAME_PLACES)]} "
                f"{GROUP_NAME_KINDS[(i // len(GROUP_NAME_PLACES)) % len(GROUP_NAME_KINDS)]}"
                for i in range(n)
            ],
            "scenario": BACKGROUND,
            "first_index": -1,
            "size": 0,
            "weight": weights / weights.sum(),
            "completeness_shift": rng.uniform(-COMPLETENESS_SHIFT, COMPLETENESS_SHIFT, n),
            "gap_scale": rng.uniform(*GAP_SCALE_RANGE, n),
        }
    )
    frame["mix_white"] = 1.0 - diversity
    for j, category in enumerate(NON_WHITE_ALPHA):
        frame[f"mix_{category}"] = diversity * non_white[:, j]
    for measure in measures:
        frame[f"effect_{measure}"] = rng.uniform(-GROUP_EFFECT, GROUP_EFFECT, n)
    return frame
