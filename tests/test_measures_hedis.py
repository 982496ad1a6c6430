"""Member stories at the boundary of every HEDIS-style rule of SPEC §3 (MY2024, MY2025).

Each story is one person written into the input-layer tables as a plan exports them
(eligibility spans, claim lines with their visit codes, modifiers, bill types and
revenue codes, rendering NPIs, pharmacy fills, lab results and observations) and
run through the membership, events and measure transforms. Every expectation is
written by hand from the rule (source in conf/measures/*.yaml): a rule at its
boundary, and one step past it. An expectation is (is_plan_member, is_denominator,
exclusion_reason, is_numerator), or None when the member has no row (outside the
measure's age/sex band).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from p4e.config import load_settings
from test_measures_lake import Lake

D = date
MY = 2024
OPEN = ((D(2022, 10, 1), None),)  # enrolled through every period of MY2024 and MY2025
MAN_60, WOMAN_60 = D(1964, 6, 15), D(1964, 6, 15)
AGE_66, AGE_65 = D(1958, 6, 15), D(1959, 1, 1)
ADULT_50, CHILD_10 = D(1974, 6, 15), D(2014, 6, 15)
FIT = ("HCPCS", "G0328")
DONEPEZIL, METFORMIN = "62856024630", "65841080901"

Expect = tuple[bool, bool, str | None, bool] | None
IN_RATE = (True, True, None, True)  # enrolled, in the denominator, not excluded, numerator
NOT_MET = (True, True, None, False)
OUT = (False, False, None, False)  # not enrolled: nothing else is set
NOT_DENOMINATOR = (True, False, None, False)


class Stories:
    """The lake and the expectations, written story by story."""

    def __init__(self) -> None:
        self.lake = Lake()
        self.lake.rows["practitioner"] += [
            {"npi": "1000000002", "specialty": "Pediatrics"},
            {"npi": "1000000003", "specialty": "Obstetrics & Gynecology"},
            {"npi": "1000000004", "specialty": "Diagnostic Radiology"},
        ]
        self.expect: dict[tuple[str, str, int], Expect] = {}

    def person(self, member_id: str, birth: date, *, sex: str = "M", **kw: Any) -> Stories:
        kw.setdefault("spans", OPEN)
        kw.setdefault("groups", (("G1", MY),))
        self.lake.member(member_id, birth, sex=sex, **kw)
        return self

    def claim(self, member_id: str, day: date, system: str, code: str, **line: Any) -> str:
        """A claim line (see test_measures_lake.claim_line), its fields overridden by
        `line`; returns its claim_id."""
        self.lake.claim(member_id, day, system, code, pos=line.pop("pos", "11"))
        self.lake.rows["medical_claim"][-1] |= line
        return str(self.lake.rows["medical_claim"][-1]["claim_id"])

    def inpatient(self, member_id: str, day: date, diagnosis: str) -> str:
        """An institutional acute inpatient claim (bill type 0111) with a diagnosis."""
        return self.claim(
            member_id, day, "UBREV", "0100", bill_type_code="0111", diagnosis_code_1=diagnosis
        )

    def on(self, member_id: str, measure: str, expected: Expect, year: int = MY) -> None:
        self.expect[member_id, measure, year] = expected


def _enrollment(s: Stories) -> None:
    """COL (MY-1 and MY, one gap of <= 45 days in each) on a screened man of 60."""

    def col(member_id: str, expected: Expect, *spans: tuple[date, date | None], **kw: Any) -> None:
        s.person(member_id, MAN_60, spans=spans, **kw)
        s.claim(member_id, D(MY, 3, 1), *FIT)
        s.on(member_id, "COL", expected)

    col("enr_open", IN_RATE, (D(2023, 1, 1), None))
    col("enr_anchor_day", IN_RATE, (D(2023, 1, 1), D(2024, 12, 31)))
    col("enr_anchor_missed", OUT, (D(2023, 1, 1), D(2024, 12, 30)))  # one day short
    col("enr_ends_nov17", OUT, (D(2023, 1, 1), D(2024, 11, 17)))
    col("enr_prior_gap45", IN_RATE, (D(2023, 1, 1), D(2023, 3, 31)), (D(2023, 5, 16), None))
    col("enr_prior_gap46", OUT, (D(2023, 1, 1), D(2023, 3, 31)), (D(2023, 5, 17), None))
    col(
        "enr_prior_two_gaps",
        OUT,
        (D(2023, 1, 1), D(2023, 3, 31)),
        (D(2023, 4, 11), D(2023, 6, 30)),
        (D(2023, 7, 11), None),
    )
    col(  # one gap of 45 days in each year: allowed, each year on its own
        "enr_gap_each_year",
        IN_RATE,
        (D(2023, 1, 1), D(2023, 3, 31)),
        (D(2023, 5, 16), D(2024, 3, 31)),
        (D(2024, 5, 16), None),
    )
    col("enr_no_prior_year", OUT, (D(2024, 1, 1), None))
    col("enr_other_payer_only", OUT, (D(2023, 1, 1), None), payer="medicare")
    # Another payer covering the plan's 61-day gap does not fill it.
    col("enr_other_payer_gap", OUT, (D(2023, 1, 1), D(2024, 3, 31)), (D(2024, 6, 1), None))
    s.person(
        "enr_other_payer_gap",
        MAN_60,
        spans=((D(2024, 4, 1), D(2024, 5, 31)),),
        payer="medicare",
        groups=(),
    )
    # Not enrolled: screened and in hospice, yet neither flag is set outside the denominator.
    s.claim("enr_other_payer_only", D(MY, 5, 1), "HCPCS", "Q5003", pos="34")

    # BCS: Oct 1 of MY-2 with no gap until Dec 31 of MY-2.
    def bcs(member_id: str, expected: Expect, *spans: tuple[date, date | None]) -> None:
        s.person(member_id, WOMAN_60, sex="F", spans=spans)
        s.claim(member_id, D(MY, 2, 1), "CPT", "77067", pos="22")
        s.on(member_id, "BCS", expected)

    bcs("bcs_from_oct1", IN_RATE, (D(2022, 10, 1), None))
    bcs("bcs_from_oct2", OUT, (D(2022, 10, 2), None))
    bcs("bcs_gap45_2023", IN_RATE, (D(2022, 10, 1), D(2023, 3, 31)), (D(2023, 5, 16), None))
    # CBP's period is the MY alone: enrolled for CBP, not for COL.
    s.person("enr_my_only", MAN_60, spans=((D(MY, 1, 1), None),))
    s.claim("enr_my_only", D(MY, 1, 10), "ICD10CM", "I10")
    s.claim("enr_my_only", D(MY, 2, 10), "ICD10CM", "I10")
    s.lake.bp("enr_my_only", D(MY, 9, 1), 120, 70)
    s.on("enr_my_only", "CBP", IN_RATE)
    s.on("enr_my_only", "COL", OUT)


def _exclusions(s: Stories) -> None:
    """Common exclusions on COL (screened), then CBP's, BCS's and COL's own."""

    def col(member_id: str, reason: str | None, birth: date = MAN_60, **kw: Any) -> Stories:
        s.person(member_id, birth, **kw)
        s.claim(member_id, D(MY, 3, 1), *FIT)
        s.on(member_id, "COL", (True, True, reason, True))
        return s

    col("hospice_hcpcs", "hospice").claim("hospice_hcpcs", D(MY, 5, 1), "HCPCS", "Q5003")
    col("hospice_last_year", None).claim("hospice_last_year", D(2023, 12, 31), "HCPCS", "Q5003")
    col("hospice_revenue", "hospice").claim(
        "hospice_revenue", D(MY, 5, 1), "UBREV", "0651", bill_type_code="0131"
    )
    col("hospice_bill_type", "hospice").claim(
        "hospice_bill_type", D(MY, 5, 1), "UBREV", "0300", bill_type_code="0812"
    )
    col("hospice_neither", None).claim(
        "hospice_neither", D(MY, 5, 1), "UBREV", "0300", bill_type_code="0131"
    )
    col("palliative", "palliative_care").claim("palliative", D(MY, 2, 2), "ICD10CM", "Z51.5")
    col("palliative_2023", None).claim("palliative_2023", D(2023, 12, 31), "ICD10CM", "Z51.5")
    col("died_in_my", "death", death=D(MY, 6, 1))
    col("died_after_my", None, death=D(2025, 1, 2))

    # 66+: frailty on two dates, and advanced illness.
    def frail(member_id: str, dates: tuple[date, ...] = ()) -> None:
        for day in dates or (D(MY, 3, 1), D(MY, 4, 1)):
            s.claim(member_id, day, "ICD10CM", "R54")

    def ill(member_id: str, *days: date, visit: str = "99213") -> None:
        for day in days:
            s.claim(member_id, day, "ICD10CM", "G30.9", hcpcs_code=visit)

    fai = "frailty_advanced_illness"
    col("fai_outpatient", fai, AGE_66)
    frail("fai_outpatient")
    ill("fai_outpatient", D(2023, 5, 1), D(2023, 6, 1))
    col("fai_frailty_one_date", None, AGE_66)
    frail("fai_frailty_one_date", dates=(D(MY, 3, 1), D(MY, 3, 1)))
    ill("fai_frailty_one_date", D(2023, 5, 1), D(2023, 6, 1))
    col("fai_illness_one_date", None, AGE_66)
    frail("fai_illness_one_date")
    ill("fai_illness_one_date", D(2023, 5, 1), D(2023, 5, 1))
    col("fai_illness_ed_and_office", fai, AGE_66)
    frail("fai_illness_ed_and_office")
    ill("fai_illness_ed_and_office", D(2023, 5, 1), visit="99283")
    ill("fai_illness_ed_and_office", D(2023, 6, 1))
    col("fai_illness_before_window", None, AGE_66)
    frail("fai_illness_before_window")
    ill("fai_illness_before_window", D(2022, 12, 31), D(MY, 1, 1))
    col("fai_inpatient", fai, AGE_66)
    frail("fai_inpatient")
    s.inpatient("fai_inpatient", D(2023, 8, 1), "G30.9")
    col("fai_dementia_drug", fai, AGE_66)
    frail("fai_dementia_drug")
    s.lake.fill("fai_dementia_drug", D(2023, 1, 1), DONEPEZIL)
    col("fai_dementia_drug_2022", None, AGE_66)
    frail("fai_dementia_drug_2022")
    s.lake.fill("fai_dementia_drug_2022", D(2022, 12, 31), DONEPEZIL)
    col("fai_age65", None, AGE_65)
    frail("fai_age65")
    ill("fai_age65", D(2023, 5, 1), D(2023, 6, 1))

    # CBP: controlled, hypertensive (two office visits), then its own exclusions.
    def cbp(member_id: str, reason: str | None, birth: date = ADULT_50, sex: str = "M") -> None:
        s.person(member_id, birth, sex=sex)
        s.claim(member_id, D(MY, 1, 10), "ICD10CM", "I10")
        s.claim(member_id, D(MY, 2, 10), "ICD10CM", "I10")
        s.lake.bp(member_id, D(MY, 9, 1), 120, 70)
        s.on(member_id, "CBP", (True, True, reason, True))

    cbp("cbp_frail_81", "frailty", D(1943, 6, 15))
    frail("cbp_frail_81")
    cbp("cbp_frail_80", None, D(1944, 6, 15))  # 66-80: frailty needs advanced illness
    frail("cbp_frail_80")
    cbp("cbp_frail_81_one_date", None, D(1943, 6, 15))
    frail("cbp_frail_81_one_date", dates=(D(MY, 3, 1),))
    for member_id, reason, day, system, code in (
        ("cbp_esrd", "esrd", D(2019, 1, 1), "ICD10CM", "N18.6"),
        ("cbp_dialysis", "dialysis", D(2020, 1, 1), "CPT", "90935"),
        ("cbp_nephrectomy", "nephrectomy", D(2019, 5, 1), "CPT", "50220"),
        ("cbp_transplant", "kidney_transplant", D(2018, 1, 1), "ICD10CM", "Z94.0"),
        ("cbp_pregnant", "pregnancy", D(MY, 4, 1), "ICD10CM", "O09.90"),
        ("cbp_pregnant_2023", None, D(2023, 12, 31), "ICD10CM", "O09.90"),
        ("cbp_esrd_after_my", None, D(2025, 1, 1), "ICD10CM", "N18.6"),
    ):
        cbp(member_id, reason, sex="F" if "pregnant" in member_id else "M")
        s.claim(member_id, day, system, code)

    # BCS (screened women of 60): both breasts gone, however the claims say it.
    def bcs(member_id: str, reason: str | None, *lines: tuple[date, str, str, str | None]) -> None:
        s.person(member_id, WOMAN_60, sex="F")
        s.claim(member_id, D(MY, 2, 1), "CPT", "77067", pos="22")
        for day, system, code, modifier in lines:
            s.claim(member_id, day, system, code, hcpcs_modifier_1=modifier)
        s.on(member_id, "BCS", (True, True, reason, True))

    past = D(2015, 3, 1)
    bcs("bcs_bilateral", "bilateral_mastectomy", (past, "ICD10PCS", "0HTV0ZZ", None))
    bcs("bcs_history", "bilateral_mastectomy", (past, "ICD10CM", "Z90.13", None))
    bcs("bcs_modifier_50", "bilateral_mastectomy", (past, "CPT", "19303", "50"))
    both = "right_and_left_mastectomy"
    bcs("bcs_rt_lt", both, (past, "CPT", "19303", "RT"), (D(2018, 1, 1), "CPT", "19303", "LT"))
    bcs("bcs_rt_only", None, (past, "CPT", "19303", "RT"))
    bcs(
        "bcs_right_absent_left",
        both,
        (past, "ICD10PCS", "0HTT0ZZ", None),
        (D(2020, 1, 1), "ICD10CM", "Z90.12", None),
    )
    bcs("bcs_absent_right_only", None, (past, "ICD10CM", "Z90.11", None))
    bcs(
        "bcs_chest_surgery_dysphoria",
        "gender_affirming_chest_surgery",
        (past, "CPT", "19318", None),
        (past, "ICD10CM", "F64.0", None),
    )
    bcs("bcs_chest_surgery_only", None, (past, "CPT", "19318", None))
    bcs("bcs_mastectomy_after_my", None, (D(2025, 1, 5), "ICD10PCS", "0HTV0ZZ", None))

    col("col_cancer_family", "colorectal_cancer").claim(
        "col_cancer_family", D(2020, 1, 1), "ICD10CM", "C18.4"
    )
    col("col_laparoscopic_colectomy", "total_colectomy").claim(
        "col_laparoscopic_colectomy", D(2019, 1, 1), "CPT", "44210"
    )


def _denominators(s: Stories) -> None:
    # CBP: two outpatient-type visits with hypertension on different dates, Jan 1 MY-1 -
    # Jun 30 MY; a controlled reading in September.
    def cbp(member_id: str, expected: Expect, *visits: tuple[date, str]) -> None:
        s.person(member_id, ADULT_50)
        for day, visit in visits:
            s.claim(member_id, day, "ICD10CM", "I10", hcpcs_code=visit)
        s.lake.bp(member_id, D(MY, 9, 1), 120, 70)
        s.on(member_id, "CBP", expected)

    office = "99213"
    cbp("cbp_two_visits", IN_RATE, (D(2023, 1, 1), office), (D(MY, 2, 1), office))
    cbp("cbp_same_date", NOT_DENOMINATOR, (D(MY, 2, 1), office), (D(MY, 2, 1), office))
    cbp("cbp_jun30", IN_RATE, (D(MY, 2, 1), office), (D(MY, 6, 30), office))
    cbp("cbp_jul1", NOT_DENOMINATOR, (D(MY, 2, 1), office), (D(MY, 7, 1), office))
    cbp("cbp_before_window", NOT_DENOMINATOR, (D(2022, 12, 31), office),
        (D(MY, 2, 1), office))  # fmt: skip
    cbp("cbp_telephone", IN_RATE, (D(MY, 2, 1), office), (D(MY, 3, 1), "99442"))
    cbp("cbp_no_visit_code", NOT_DENOMINATOR, (D(MY, 2, 1), office),
        (D(MY, 3, 1), "80053"))  # fmt: skip
    cbp("cbp_ed_visit", NOT_DENOMINATOR, (D(MY, 2, 1), office), (D(MY, 3, 1), "99283"))

    # GSD: diabetes by claims (two dates) or pharmacy (a fill and one diagnosis), MY-1..MY.
    def gsd(member_id: str, expected: Expect, dx: tuple[date, ...], fills: tuple[date, ...] = ()):
        s.person(member_id, ADULT_50)
        for day in dx:
            s.claim(member_id, day, "ICD10CM", "E11.9")
        for day in fills:
            s.lake.fill(member_id, day, METFORMIN)
        s.lake.obs(member_id, D(MY, 6, 1), "4548-4", 7.0)
        s.on(member_id, "GSD", expected)

    gsd("gsd_two_dates", IN_RATE, (D(2023, 1, 1), D(MY, 2, 1)))
    gsd("gsd_one_date", NOT_DENOMINATOR, (D(MY, 2, 1), D(MY, 2, 1)))
    gsd("gsd_before_window", NOT_DENOMINATOR, (D(2022, 12, 31), D(MY, 2, 1)))
    gsd("gsd_fill_and_diagnosis", IN_RATE, (D(MY, 2, 1),), (D(2023, 6, 1),))
    gsd("gsd_fill_only", NOT_DENOMINATOR, (), (D(2023, 6, 1), D(MY, 6, 1)))

    # WCV: a well-care visit rendered by a PCP or an OB/GYN.
    def wcv(member_id: str, is_numerator: bool, npi: str | None, sex: str = "M") -> None:
        s.person(member_id, CHILD_10, sex=sex)
        s.claim(member_id, D(MY, 5, 1), "CPT", "99393", rendering_npi=npi)
        s.on(member_id, "WCV", (True, True, None, is_numerator))

    wcv("wcv_family_medicine", True, "1000000001")
    wcv("wcv_pediatrics", True, "1000000002")
    wcv("wcv_obgyn", True, "1000000003", sex="F")
    wcv("wcv_radiology", False, "1000000004")
    wcv("wcv_no_practitioner", False, None)


def _numerators(s: Stories) -> None:
    # CBP: hypertension diagnosed Feb 1 and Mar 1 (the second diagnosis).
    def bp(member_id: str, controlled: bool) -> Stories:
        s.person(member_id, ADULT_50)
        s.claim(member_id, D(MY, 2, 1), "ICD10CM", "I10")
        s.claim(member_id, D(MY, 3, 1), "ICD10CM", "I10")
        s.on(member_id, "CBP", (True, True, None, controlled))
        return s

    sep1, aug1 = D(MY, 9, 1), D(MY, 8, 1)
    bp("bp_on_second_dx", True).lake.bp("bp_on_second_dx", D(MY, 3, 1), 120, 70)
    bp("bp_before_second_dx", False).lake.bp("bp_before_second_dx", D(MY, 2, 28), 120, 70)
    bp("bp_139_89", True).lake.bp("bp_139_89", sep1, 139, 89)
    bp("bp_140_89", False).lake.bp("bp_140_89", sep1, 140, 89)
    bp("bp_139_90", False).lake.bp("bp_139_90", sep1, 139, 90)
    bp("bp_same_day_lowest", True).lake.bp("bp_same_day_lowest", sep1, 150, 80).bp(
        "bp_same_day_lowest", sep1, 130, 95
    )
    bp("bp_incomplete_latest", False).lake.bp("bp_incomplete_latest", aug1, 120, 70).obs(
        "bp_incomplete_latest", sep1, "8480-6", 120
    )
    bp("bp_cpt2", True)
    s.claim("bp_cpt2", sep1, "CPT2", "3074F")
    s.claim("bp_cpt2", sep1, "CPT2", "3078F")
    # A high reading in the emergency department (POS 23) after a controlled one: not used.
    bp("bp_ed_ignored", True).lake.bp("bp_ed_ignored", aug1, 120, 70)
    s.claim("bp_ed_ignored", sep1, "CPT2", "3077F", pos="23")
    s.claim("bp_ed_ignored", sep1, "CPT2", "3080F", pos="23")
    # An observation whose encounter is an acute inpatient stay: not used.
    bp("bp_inpatient_ignored", True).lake.bp("bp_inpatient_ignored", aug1, 120, 70)
    stay = s.inpatient("bp_inpatient_ignored", sep1, "I10")
    s.lake.obs("bp_inpatient_ignored", sep1, "8480-6", 150, encounter_id=stay)
    s.lake.obs("bp_inpatient_ignored", sep1, "8462-4", 95, encounter_id=stay)
    # Observations of an office visit's encounter do count.
    bp("bp_office_encounter", False)
    visit = s.claim("bp_office_encounter", sep1, "CPT", "99213")
    s.lake.obs("bp_office_encounter", sep1, "8480-6", 150, encounter_id=visit)
    s.lake.obs("bp_office_encounter", sep1, "8462-4", 95, encounter_id=visit)

    # GSD / GSD_POOR: diabetes by claims, then the most recent test of the MY.
    def a1c(member_id: str, controlled: bool, poor: bool, *results: tuple[date, str, Any]):
        s.person(member_id, ADULT_50)
        s.claim(member_id, D(2023, 1, 1), "ICD10CM", "E11.9")
        s.claim(member_id, D(MY, 1, 1), "ICD10CM", "E11.9")
        for day, code, value in results:
            s.lake.obs(member_id, day, code, value)
        s.on(member_id, "GSD", (True, True, None, controlled))
        s.on(member_id, "GSD_POOR", (True, True, None, poor))

    jun1, oct1 = D(MY, 6, 1), D(MY, 10, 1)
    a1c("a1c_7_9", True, False, (jun1, "4548-4", 7.9))
    a1c("a1c_8_0", False, False, (jun1, "4548-4", 8.0))
    a1c("a1c_9_0", False, False, (jun1, "4548-4", 9.0))
    a1c("a1c_9_1", False, True, (jun1, "4548-4", 9.1))
    a1c("a1c_text_percent", True, False, (jun1, "4548-4", "7.2%"))
    a1c("a1c_text_bound", True, False, (jun1, "4548-4", "<7.0"))
    a1c("a1c_none", False, True)
    a1c("a1c_unresulted_latest", False, True, (jun1, "4548-4", 7.0), (oct1, "4548-4", None))
    a1c("gmi_latest", True, False, (jun1, "4548-4", 9.5), (oct1, "97506-0", 7.5))
    # Before MY2024 (HEDIS HBD) a GMI is not a test: poor control without an HbA1c.
    s.person("gmi_2023", ADULT_50)
    s.claim("gmi_2023", D(2022, 5, 1), "ICD10CM", "E11.9")
    s.claim("gmi_2023", D(2023, 1, 1), "ICD10CM", "E11.9")
    s.lake.obs("gmi_2023", D(2023, 6, 1), "97506-0", 7.5)
    s.on("gmi_2023", "GSD", (True, True, None, False), 2023)
    s.on("gmi_2023", "GSD_POOR", (True, True, None, True), 2023)

    # BCS's band: 52-74 through MY2024, 42-74 from MY2025 (screened in 2025).
    for member_id, birth, in_2024, in_2025 in (
        ("bcs_52_in_2024", D(1972, 6, 15), True, True),
        ("bcs_51_in_2024", D(1973, 6, 15), False, True),
        ("bcs_42_in_2025", D(1983, 6, 15), False, True),
        ("bcs_41_in_2025", D(1984, 6, 15), False, False),
    ):
        s.person(member_id, birth, sex="F", groups=(("G1", MY), ("G1", 2025)))
        s.claim(member_id, D(2025, 3, 1), "CPT", "77067", pos="22")
        s.claim(member_id, D(MY, 3, 1), "CPT", "77067", pos="22")
        s.on(member_id, "BCS", IN_RATE if in_2024 else None)
        s.on(member_id, "BCS", IN_RATE if in_2025 else None, 2025)


def _stories() -> Stories:
    s = Stories()
    for write in (_enrollment, _exclusions, _denominators, _numerators):
        write(s)
    return s


STORIES = _stories()
YEARS = (2023, MY, 2025)


@pytest.fixture(scope="module")
def rows(spark, base_config):
    """(member, measure, year) -> row of gold/member_measures, for the stories."""
    settings = load_settings(base_config.with_overrides(years=list(YEARS)))
    found = {}
    for year in YEARS:
        for r in STORIES.lake.measures(spark, settings, year).collect():
            found[r["member_id"], r["measure_id"], year] = r
    return found


@pytest.mark.parametrize("key", sorted(STORIES.expect), ids=lambda k: f"{k[0]}-{k[1]}-{k[2]}")
def test_story(rows, key):
    expected = STORIES.expect[key]
    if expected is None:
        assert key not in rows
        return
    row = rows[key]
    actual = (row["is_plan_member"], row["is_denominator"], row["exclusion_reason"],
              row["is_numerator"])  # fmt: skip
    assert actual == expected
    assert row["is_excluded"] is (row["exclusion_reason"] is not None)
    assert row["is_in_rate"] is (row["is_denominator"] and not row["is_excluded"])


def test_each_row_records_the_version_that_computed_it(rows):
    assert rows["bcs_52_in_2024", "BCS", MY]["spec_version"] == "MY2024"
    assert rows["bcs_52_in_2024", "BCS", 2025]["spec_version"] == "MY2025"
    assert rows["gmi_2023", "GSD", 2023]["spec_version"] == "HBD MY2023"
    assert rows["gmi_latest", "GSD", MY]["spec_version"] == "GSD MY2024"


def test_restated_baselines_use_the_performance_years_version(spark, base_config):
    """`spec_versions: restated`: 2024 is measured with MY2025's BCS band (42-74)."""
    settings = load_settings(base_config.with_overrides(years=[MY, 2025], spec_versions="restated"))
    found = {
        r["member_id"]: r
        for r in STORIES.lake.measures(spark, settings, MY).filter("measure_id = 'BCS'").collect()
    }
    assert found["bcs_51_in_2024"]["spec_version"] == "MY2025"
    assert (found["bcs_51_in_2024"]["is_in_rate"], found["bcs_51_in_2024"]["is_numerator"]) == (
        True,
        True,
    )
    assert "bcs_41_in_2025" not in found  # 40 in 2024
