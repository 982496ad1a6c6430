"""Member stories at every rule boundary of the shipped measures (MY = 2023).

Every expectation is written by hand from the rules of docs/methodology.md ("Measures")
and the data contract.
An expectation is (is_denominator, is_excluded, exclusion_reason, is_numerator,
numerator_date), or None when the member must have no row for the measure
(outside its age/sex band).
"""

from __future__ import annotations

from datetime import date

import pytest

from p4e.config import load_settings
from p4e.tables import MEMBER_MEASURES
from p4e.tables.vocabulary import UNATTRIBUTED
from test_measures_lake import Lake

D = date
ADULT = D(1965, 6, 15)  # 58 on Dec 31 2023: COL, CBP, GSD, GSD_POOR (BCS if female)
SENIOR = D(1955, 3, 1)  # 68: 66+ exclusions apply
IN_2022 = D(2022, 4, 1)


def _hypertensive(lake: Lake, member_id: str, birth: date = ADULT) -> Lake:
    lake.member(member_id, birth)
    return lake.claim(member_id, D(2022, 3, 1), "ICD10CM", "I10").claim(
        member_id, D(2023, 2, 1), "ICD10CM", "I10", pos="02"
    )


def _diabetic(lake: Lake, member_id: str) -> Lake:
    """Diabetes by claims: diagnoses on two dates in MY-1..MY."""
    lake.member(member_id, ADULT).claim(member_id, IN_2022, "ICD10CM", "E11.9")
    return lake.claim(member_id, D(2023, 1, 5), "ICD10CM", "E11.9")


def _build() -> tuple[Lake, dict[tuple[str, str], tuple | None]]:
    lake = Lake()
    expect: dict[tuple[str, str], tuple | None] = {}

    # --- continuous enrollment (checked on COL, no numerator event) -------------------
    not_screened = (False, None, False, None)

    def enrolled(member_id: str, spans, is_enrolled: bool, payer: str = "plan") -> None:
        """COL's period is MY-1 and MY: 2022 is covered by the plan unless said."""
        lake.member(member_id, ADULT, spans=((D(2022, 1, 1), D(2022, 12, 31)),))
        lake.member(member_id, ADULT, spans=spans, payer=payer)
        expect[member_id, "COL"] = (is_enrolled, *not_screened)

    enrolled("gap45", ((D(2023, 1, 1), D(2023, 3, 31)), (D(2023, 5, 16), D(2023, 12, 31))), True)
    enrolled("gap46", ((D(2023, 1, 1), D(2023, 3, 31)), (D(2023, 5, 17), D(2023, 12, 31))), False)
    two_gaps = ((D(2022, 6, 1), D(2023, 3, 31)), (D(2023, 4, 11), D(2023, 6, 30)))
    enrolled("two_gaps", (*two_gaps, (D(2023, 7, 11), D(2024, 5, 1))), False)
    enrolled("start_gap45", ((D(2023, 2, 15), D(2023, 12, 31)),), True)
    enrolled("start_gap46", ((D(2023, 2, 16), D(2023, 12, 31)),), False)
    # Not enrolled on the anchor date Dec 31: out, however short the gap.
    enrolled("end_gap45", ((D(2023, 1, 1), D(2023, 11, 16)),), False)
    enrolled("end_gap1", ((D(2023, 1, 1), D(2023, 12, 30)),), False)
    enrolled("anchor_day", ((D(2023, 1, 1), D(2023, 12, 31)),), True)
    enrolled("end_gap46", ((D(2023, 1, 1), D(2023, 11, 15)),), False)
    enrolled("start_and_end_gap", ((D(2023, 1, 10), D(2023, 12, 20)),), False)
    # overlapping, abutting and nested spans merge; the running furthest end carries over
    # the short nested span (Feb-Mar) so Oct 1 follows Sep 30 without a gap.
    spans = (
        (D(2020, 1, 1), D(2023, 9, 30)),
        (D(2023, 2, 1), D(2023, 3, 1)),
        (D(2023, 10, 1), D(2023, 11, 30)),
        (D(2023, 11, 15), D(2025, 1, 1)),
    )
    enrolled("merged", spans, True)
    enrolled("not_enrolled", ((D(2021, 1, 1), D(2022, 12, 31)),), False)
    # Another payer's coverage is not the plan's: out.
    enrolled("other_payer", ((D(2023, 1, 1), D(2023, 12, 31)),), False, payer="medicare")

    # --- COL: age band and look-back windows -----------------------------------------------
    lake.member("age45", D(1978, 1, 1))
    expect["age45", "COL"] = None
    lake.member("age46", D(1977, 12, 31))
    expect["age46", "COL"] = (True, *not_screened)
    lake.member("age75", D(1948, 1, 1))
    expect["age75", "COL"] = (True, *not_screened)
    lake.member("age76", D(1947, 12, 31))
    expect["age76", "COL"] = None

    def screened(member_id: str, day: date, system: str, code: str, hit: bool) -> None:
        lake.member(member_id, ADULT).claim(member_id, day, system, code)
        expect[member_id, "COL"] = (True, False, None, hit, day if hit else None)

    screened("colo_9y", D(2014, 1, 1), "CPT", "45378", True)
    screened("colo_10y", D(2013, 12, 31), "CPT", "45378", False)
    screened("fitdna_in", D(2021, 1, 1), "CPT", "81528", True)
    screened("fitdna_out", D(2020, 12, 31), "CPT", "81528", False)
    screened("fobt_last_year", D(2022, 12, 31), "CPT", "82274", False)
    screened("fobt_hcpcs", D(2023, 12, 31), "HCPCS", "g0328 ", True)
    screened("sigmoid_4y", D(2019, 1, 1), "CPT", "45330", True)
    screened("ctc_5y", D(2018, 12, 31), "CPT", "74263", False)
    # two qualifying events: numerator_date is the latest
    lake.member("col_two", ADULT).claim("col_two", D(2015, 5, 5), "CPT", "45378")
    lake.claim("col_two", D(2023, 3, 3), "CPT", "82270")
    expect["col_two", "COL"] = (True, False, None, True, D(2023, 3, 3))

    # --- BCS --------------------------------------------------------------------------------
    for member_id, day, hit in (
        ("mammo_sep30", D(2021, 9, 30), False),
        ("mammo_oct1", D(2021, 10, 1), True),
    ):
        lake.member(member_id, ADULT, sex="F").claim(member_id, day, "CPT", "77067")
        expect[member_id, "BCS"] = (True, False, None, hit, day if hit else None)
    lake.member("bcs_male", ADULT).claim("bcs_male", D(2023, 1, 5), "CPT", "77067")
    expect["bcs_male", "BCS"] = None
    lake.member("bcs_51", D(1972, 1, 1), sex="F")
    expect["bcs_51", "BCS"] = None
    lake.member("mastectomy", ADULT, sex="F").claim(
        "mastectomy", D(2010, 1, 1), "ICD10PCS", "0HTV0ZZ"
    )
    lake.claim("mastectomy", D(2023, 1, 5), "CPT", "77067")
    expect["mastectomy", "BCS"] = (True, True, "bilateral_mastectomy", True, D(2023, 1, 5))

    # --- CBP denominator ----------------------------------------------------------------
    _hypertensive(lake, "htn_none")  # no BP reading in MY: not controlled
    expect["htn_none", "CBP"] = (True, False, None, False, None)
    lake.member("htn_same_day", ADULT)
    lake.claim("htn_same_day", D(2023, 2, 1), "ICD10CM", "I10").claim(
        "htn_same_day", D(2023, 2, 1), "ICD10CM", "I10.", pos="22"
    )
    expect["htn_same_day", "CBP"] = (False, False, None, False, None)
    lake.member("htn_inpatient", ADULT).claim("htn_inpatient", D(2023, 2, 1), "ICD10CM", "I10")
    lake.claim("htn_inpatient", D(2023, 3, 1), "ICD10CM", "I10", pos="23")
    lake.rows["medical_claim"][-1]["hcpcs_code"] = "99283"  # an ED visit: not outpatient
    expect["htn_inpatient", "CBP"] = (False, False, None, False, None)
    lake.member("htn_window", ADULT).claim("htn_window", D(2021, 12, 31), "ICD10CM", "I10")
    lake.claim("htn_window", D(2022, 1, 1), "ICD10CM", "I10").claim(
        "htn_window", D(2023, 7, 1), "ICD10CM", "I10"
    )
    expect["htn_window", "CBP"] = (False, False, None, False, None)
    lake.member("htn_edges", ADULT).claim("htn_edges", D(2022, 1, 1), "ICD10CM", "I10", pos="2")
    lake.claim("htn_edges", D(2023, 6, 30), "ICD10CM", "i10", pos="72")
    expect["htn_edges", "CBP"] = (True, False, None, False, None)

    # --- CBP representative blood pressure -------------------------------------------------
    def bp_story(member_id: str, controlled: bool, day: date | None, *readings) -> None:
        _hypertensive(lake, member_id)
        for reading in readings:
            reading(member_id)
        expect[member_id, "CBP"] = (True, False, None, controlled, day)

    may1, nov1 = D(2023, 5, 1), D(2023, 11, 1)
    bp_story(
        "bp_same_day",  # lowest systolic 135 (2nd reading), lowest diastolic 80 (1st)
        True,
        may1,
        lambda m: lake.bp(m, may1, 150, 80),
        lambda m: lake.bp(m, may1, 135, 95),
    )
    bp_story(
        "bp_later_worse",
        False,
        None,
        lambda m: lake.bp(m, D(2023, 3, 1), 120, 70),
        lambda m: lake.bp(m, nov1, 145, 85),
    )
    bp_story(
        "bp_later_better",
        True,
        nov1,
        lambda m: lake.bp(m, D(2023, 3, 1), 160, 100),
        lambda m: lake.bp(m, nov1, 130, 85),
    )
    bp_story("bp_140_80", False, None, lambda m: lake.bp(m, may1, 140, 80))
    bp_story("bp_139_89", True, may1, lambda m: lake.bp(m, may1, 139, 89))
    bp_story("bp_130_90", False, None, lambda m: lake.bp(m, may1, 130, 90))
    bp_story("bp_only_2022", False, None, lambda m: lake.bp(m, D(2022, 12, 31), 120, 70))
    bp_story(
        "bp_cpt2_ok",
        True,
        may1,
        lambda m: lake.claim(m, may1, "CPT2", "3075F").claim(m, may1, "CPT2", "3079F"),
    )
    bp_story(
        "bp_cpt2_high",
        False,
        None,
        lambda m: lake.claim(m, may1, "CPT2", "3077F").claim(m, may1, "CPT2", "3078F"),
    )
    bp_story(
        "bp_mixed",  # CPT II systolic 3077F (>=140) and LOINC 138 the same day: lowest is 138
        True,
        may1,
        lambda m: lake.claim(m, may1, "CPT2", "3077F").claim(m, may1, "CPT2", "3080F"),
        lambda m: lake.bp(m, may1, 138, 70),
    )
    bp_story(
        "bp_incomplete_latest",  # Nov 1 has a systolic only: not controlled, Sep 1 not used
        False,
        None,
        lambda m: lake.bp(m, D(2023, 9, 1), 120, 70),
        lambda m: lake.obs(m, nov1, "8480-6", 150),
    )

    # --- GSD / GSD_POOR ------------------------------------------------------------------
    def a1c_story(member_id: str, controlled: bool, poor: bool, day: date | None, *readings):
        _diabetic(lake, member_id)
        for reading in readings:
            reading(member_id)
        expect[member_id, "GSD"] = (True, False, None, controlled, day if controlled else None)
        poor_date = day if poor and day is not None else None
        expect[member_id, "GSD_POOR"] = (True, False, None, poor, poor_date)

    jun1 = D(2023, 6, 1)
    a1c_story("a1c_8_0", False, False, jun1, lambda m: lake.obs(m, jun1, "4548-4", 8.0))
    a1c_story("a1c_7_9", True, False, jun1, lambda m: lake.obs(m, jun1, "4548-4", 7.9))
    a1c_story("a1c_9_0", False, False, jun1, lambda m: lake.obs(m, jun1, "4548-4", 9.0))
    a1c_story("a1c_9_1", False, True, jun1, lambda m: lake.obs(m, jun1, "4548-4", 9.1))
    a1c_story("a1c_missing", False, True, None)
    a1c_story("a1c_null_value", False, True, None, lambda m: lake.obs(m, jun1, "4548-4", None))
    a1c_story("a1c_3046F", False, True, jun1, lambda m: lake.claim(m, jun1, "CPT2", "3046F"))
    a1c_story("a1c_3052F", False, False, jun1, lambda m: lake.claim(m, jun1, "CPT2", "3052F"))
    a1c_story("a1c_3044F", True, False, jun1, lambda m: lake.claim(m, jun1, "CPT2", "3044F"))
    a1c_story(
        "a1c_same_day_lowest",
        True,
        False,
        jun1,
        lambda m: lake.obs(m, jun1, "4548-4", 9.5).obs(m, jun1, "4548-4", 7.5),
    )
    a1c_story(
        "a1c_latest_wins",
        False,
        True,
        D(2023, 10, 1),
        lambda m: lake.obs(m, jun1, "4548-4", 6.0).obs(m, D(2023, 10, 1), "4548-4", 10.0),
    )
    lake.member("no_diabetes", ADULT).claim("no_diabetes", D(2021, 12, 31), "ICD10CM", "E10.9")
    expect["no_diabetes", "GSD"] = (False, False, None, False, None)
    expect["no_diabetes", "GSD_POOR"] = (False, False, None, True, None)
    # Diabetes by pharmacy: insulin dispensed and one diagnosis.
    lake.member("type1", ADULT).claim("type1", D(2023, 12, 31), "ICD10CM", "e10.9")
    lake.fill("type1", D(2023, 12, 31), "00088222033")
    expect["type1", "GSD_POOR"] = (True, False, None, True, None)

    # --- exclusions ---------------------------------------------------------------------------
    lake.member("died_2023", ADULT, death=D(2023, 6, 1))
    expect["died_2023", "COL"] = (True, True, "death", False, None)
    lake.member("died_2024", ADULT, death=D(2024, 1, 1))
    expect["died_2024", "COL"] = (True, *not_screened)
    # screened AND in hospice: flags are independent, is_numerator stays true
    lake.member("hospice", ADULT).claim("hospice", D(2023, 2, 2), "HCPCS", "Q5003")
    lake.claim("hospice", D(2020, 1, 1), "CPT", "45378")
    expect["hospice", "COL"] = (True, True, "hospice", True, D(2020, 1, 1))
    lake.member("hospice_2022", ADULT).claim("hospice_2022", IN_2022, "HCPCS", "Q5003")
    expect["hospice_2022", "COL"] = (True, *not_screened)
    lake.member("palliative", ADULT).claim("palliative", D(2023, 2, 2), "ICD10CM", "Z51.5")
    expect["palliative", "COL"] = (True, True, "palliative_care", False, None)
    lake.member("dead_and_hospice", ADULT, death=D(2023, 3, 1))
    lake.claim("dead_and_hospice", D(2023, 2, 2), "HCPCS", "Q5003")
    expect["dead_and_hospice", "COL"] = (True, True, "death", False, None)
    lake.member("frail_only", SENIOR).claim("frail_only", D(2023, 5, 5), "ICD10CM", "R54")
    expect["frail_only", "COL"] = (True, *not_screened)
    lake.member("frail_ill", SENIOR).claim("frail_ill", D(2023, 5, 5), "ICD10CM", "R54")
    lake.claim("frail_ill", D(2023, 5, 6), "ICD10CM", "R54")
    lake.claim("frail_ill", D(2022, 1, 1), "ICD10CM", "G30.9")
    lake.claim("frail_ill", D(2022, 2, 1), "ICD10CM", "G30.9")
    expect["frail_ill", "COL"] = (True, True, "frailty_advanced_illness", False, None)
    lake.member("frail_ill_65", D(1958, 1, 1)).claim(
        "frail_ill_65", D(2023, 5, 5), "ICD10CM", "R54"
    )
    lake.claim("frail_ill_65", D(2023, 1, 1), "ICD10CM", "C25.9")
    expect["frail_ill_65", "COL"] = (True, *not_screened)
    lake.member("crc", ADULT).claim("crc", D(2005, 1, 1), "ICD10CM", "C18.9")
    expect["crc", "COL"] = (True, True, "colorectal_cancer", False, None)
    _hypertensive(lake, "esrd").claim("esrd", D(2016, 1, 1), "ICD10CM", "N18.6")
    expect["esrd", "CBP"] = (True, True, "esrd", False, None)
    _hypertensive(lake, "pregnant_2022").claim("pregnant_2022", IN_2022, "ICD10CM", "Z33.1")
    expect["pregnant_2022", "CBP"] = (True, False, None, False, None)

    # --- attribution ------------------------------------------------------------------------
    lake.member("unattributed", ADULT, groups=(("G1", 2022),))
    # switched group in July: the latest attributed month decides
    lake.member("two_groups", ADULT, groups=(("G2", 2023, range(1, 7)), ("G1", 2023, range(7, 13))))

    # --- WCV ----------------------------------------------------------------------------------
    for member_id, birth, rows in (
        ("wcv_age2", D(2021, 1, 1), False),
        ("wcv_age3", D(2020, 12, 31), True),
        ("wcv_age21", D(2002, 1, 1), True),
        ("wcv_age22", D(2001, 12, 31), False),
    ):
        lake.member(member_id, birth).claim(member_id, D(2023, 8, 8), "ICD10CM", " z00.121")
        expect[member_id, "WCV"] = (True, False, None, True, D(2023, 8, 8)) if rows else None
    lake.member("wcv_2022", D(2010, 5, 5)).claim("wcv_2022", D(2022, 12, 31), "CPT", "99393")
    expect["wcv_2022", "WCV"] = (True, False, None, False, None)
    return lake, expect


LAKE, EXPECT = _build()


@pytest.fixture(scope="module")
def result(spark, base_config):
    df = LAKE.measures(spark, load_settings(base_config), 2023)
    rows = df.collect()
    by_key = {(r["member_id"], r["measure_id"]): r for r in rows}
    assert len(by_key) == len(rows), "one row per member and measure"
    return df, by_key


def test_schema_is_the_contract(result):
    df, _ = result
    assert [(f.name, f.dataType) for f in df.schema] == [
        (f.name, f.dataType) for f in MEMBER_MEASURES.schema()
    ]


@pytest.mark.parametrize("key", sorted(EXPECT), ids=lambda k: f"{k[0]}-{k[1]}")
def test_story(result, key):
    _, rows = result
    expected = EXPECT[key]
    if expected is None:
        assert key not in rows
        return
    row = rows[key]
    is_denominator, is_excluded, reason, is_numerator, numerator_date = expected
    if not is_denominator:  # exclusions and numerator are only set inside the denominator
        is_excluded, reason, is_numerator, numerator_date = False, None, False, None
    assert row["is_in_rate"] is (is_denominator and not is_excluded)
    actual = (
        row["is_denominator"],
        row["is_excluded"],
        row["exclusion_reason"],
        row["is_numerator"],
        row["numerator_date"],
    )
    assert actual == (is_denominator, is_excluded, reason, is_numerator, numerator_date)


def test_groups_and_plan_membership(result):
    _, rows = result
    assert rows["unattributed", "COL"]["group_id"] == UNATTRIBUTED
    assert rows["two_groups", "COL"]["group_id"] == "G1"
    assert rows["gap45", "COL"]["group_id"] == "G1"
    assert rows["gap45", "COL"]["is_plan_member"] is True
    assert rows["other_payer", "COL"]["is_plan_member"] is False
    assert rows["not_enrolled", "COL"]["is_plan_member"] is False
    assert {r["year"] for r in rows.values()} == {2023}


def test_rows_only_for_measures_in_band(result):
    _, rows = result
    # an adult man of 58 is in COL, CBP, GSD and GSD_POOR only
    assert {m for (member, m) in rows if member == "gap45"} == {"COL", "CBP", "GSD", "GSD_POOR"}
    assert {m for (member, m) in rows if member == "mammo_oct1"} == {
        "BCS", "COL", "CBP", "GSD", "GSD_POOR"
    }  # fmt: skip
