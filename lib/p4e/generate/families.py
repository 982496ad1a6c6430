"""The event families: planted numerator events, denominator events and exclusions.

Events are generated per member-year (members x event years, first measurement
year - 2 .. last) from hashes of (seed, member_id, year), with the compliance
probabilities of `rates.event_probabilities` joined by (home group, true category,
year). Conditions are monotone in age, so a member with hypertension or diabetes
in a year keeps it later:

- Hypertension (adults, prevalence by age): two outpatient I10 claims on different
  dates in Jan-Jun of every year with it; a share of others has one I10 claim ever
  (never a CBP denominator). BP readings for hypertensive member-years aged 18-85:
  compliant -> the last reading day in the year is < 140/90 (sometimes two readings
  that day whose lowest systolic and lowest diastolic decide); otherwise no reading
  or a high last reading (exactly 140 or 90 included). An earlier reading in the
  year has the opposite status. LOINC observations or CPT II claims.
- Diabetes (adults, prevalence by age): one E11.9/E10.9 claim a year, and two fills
  of metformin or insulin. HbA1c for diabetic member-years aged 18-75: compliant ->
  last test < 8.0; otherwise no test, a last test in [8.0, 9.0] (many exactly 8.0) or
  > 9.0. LOINC 4548-4 lab results or CPT II; some member-years also have a test
  without a result before the last one, or a cancelled test after it (neither
  changes the last resulted test).
- COL (46-75): FOBT/FIT in the year, or a colonoscopy before the first measurement
  year for a fixed share of members; BCS (women 40-74): a mammogram in the year;
  WCV (3-21): a well-care visit in the year.
- Exclusions drawn independently of compliance: hospice (professional Q5003 or an
  institutional hospice claim, revenue code 0651), palliative care, frailty (two
  dates) with advanced illness (two office visits) at 66+, ESRD, dialysis,
  transplant, pregnancy, colorectal cancer, colectomy, bilateral mastectomy (deaths
  are in members).
- Noise: ordinary office visits.

Events dated before birth or after death are dropped.
"""

from __future__ import annotations

from pyspark.sql import functions as F

from p4e.generate.draws import Draws, Family, claim, observation, prevalent
from p4e.generate.hashing import below, day_of_year, pick
from p4e.generate.plan import Plan
from p4e.generate.rates import (
    CBP_NO_READING,
    COLONOSCOPY_SHARE,
    GSD_MID,
    GSD_NO_TEST,
    PERSISTENCE,
)

OUTPATIENT_POS = ("11", "11", "11", "11", "22", "02", "10", "49", "50", "71", "72")
OFFICE = "11"

HT_PREVALENCE = ((18, 0.10), (40, 0.35), (60, 0.60))  # (from age, share)
DM_PREVALENCE = ((18, 0.04), (40, 0.12), (60, 0.22))
SINGLE_HT_DX = 0.97  # members whose hypertension draw is above this get one I10 claim ever
TWO_BP_READINGS = 0.30
VIA_CPT2 = 0.30
EARLIER_READING = 0.60
EXACT_BOUNDARY = 0.15  # share of high BP / mid HbA1c values exactly at the threshold
HOSPICE, PALLIATIVE, FRAILTY = 0.004, 0.004, 0.03
ESRD, DIALYSIS, TRANSPLANT, PREGNANCY = 0.005, 0.003, 0.002, 0.02
CRC, COLECTOMY, MASTECTOMY = 0.01, 0.003, 0.01
OFFICE_VISIT = 0.40

WELL_CARE_CPT = {  # (from age): (new patient, established patient)
    1: ("99382", "99392"),
    5: ("99383", "99393"),
    12: ("99384", "99394"),
    18: ("99385", "99395"),
}
FOBT = (("CPT", "82270"), ("CPT", "82274"), ("HCPCS", "G0328"))
# Public NDCs (DailyMed / openFDA): metformin 500 mg (Zydus), Lantus vial, Humulin N vial.
DIABETES_NDC = ("65841080901", "00088222033", "00002831501")
UNRESULTED, CANCELLED = 0.10, 0.05  # shares of member-years with a test


def _blood_pressure(seed: int) -> Family:
    """CBP: BP readings of hypertensive member-years aged 18-85."""
    d = Draws(seed)
    age = F.col("age")
    in_pop = prevalent(d.member("ht"), age, HT_PREVALENCE) & (age <= 85)
    compliant = d.persistent("cbp", PERSISTENCE) < F.col("p_cbp")
    has_final = compliant | (d.year("cbp_none") >= CBP_NO_READING)
    # After Jun 30: on or after the second hypertension diagnosis (day 90-180 of a year).
    final_date = day_of_year(F.col("year"), d.year("bp_day"), 182, 355)
    early_date = F.date_sub(final_date, below(d.year("bp_early_days"), 14, 120))
    has_early = has_final & (d.year("bp_early") < EARLIER_READING)
    final_cpt2 = d.year("bp_final_cpt2") < VIA_CPT2
    early_cpt2 = d.year("bp_early_cpt2") < VIA_CPT2
    two = (d.year("bp_two") < TWO_BP_READINGS) & ~final_cpt2
    systolic_high = d.year("bp_kind") < 0.5
    exact = d.year("bp_exact") < EXACT_BOUNDARY
    # Reading A of the last day, and reading B when there are two that day.
    a_sys = (
        F.when(compliant & two, below(d.year("a_sys"), 140, 165))
        .when(compliant, below(d.year("a_sys"), 105, 139))
        .when(systolic_high, F.when(exact, 140).otherwise(below(d.year("a_sys"), 141, 175)))
        .otherwise(below(d.year("a_sys"), 110, 139))
    )
    a_dia = (
        F.when(compliant, below(d.year("a_dia"), 60, 89))
        .when(systolic_high, below(d.year("a_dia"), 65, 95))
        .otherwise(F.when(exact, 90).otherwise(below(d.year("a_dia"), 91, 105)))
    )
    b_sys = F.when(compliant, below(d.year("b_sys"), 105, 139)).otherwise(
        a_sys + below(d.year("b_sys"), 0, 12)
    )
    b_dia = F.when(compliant, below(d.year("b_dia"), 90, 99)).otherwise(
        a_dia + below(d.year("b_dia"), 0, 8)
    )
    e_sys = F.when(compliant, below(d.year("e_sys"), 150, 170)).otherwise(
        below(d.year("e_sys"), 118, 132)
    )
    e_dia = F.when(compliant, below(d.year("e_dia"), 92, 100)).otherwise(
        below(d.year("e_dia"), 70, 82)
    )
    claims, observations = [], []
    for when, date, sys, dia, via_cpt2 in (
        (has_final, final_date, a_sys, a_dia, final_cpt2),
        (has_final & two, final_date, b_sys, b_dia, F.lit(False)),
        (has_early, early_date, e_sys, e_dia, early_cpt2),
    ):
        observations += [
            F.when(when & ~via_cpt2, observation(date, "8480-6", sys, "mm[Hg]")),
            F.when(when & ~via_cpt2, observation(date, "8462-4", dia, "mm[Hg]")),
        ]
        sys_code = F.when(sys < 130, "3074F").when(sys < 140, "3075F").otherwise("3077F")
        dia_code = F.when(dia < 80, "3078F").when(dia < 90, "3079F").otherwise("3080F")
        claims += [
            F.when(when & via_cpt2, claim(date, "CPT2", sys_code, OFFICE)),
            F.when(when & via_cpt2, claim(date, "CPT2", dia_code, OFFICE)),
        ]
    return Family("bp", in_pop, d.columns, claims, observations)


def _hba1c(seed: int) -> Family:
    """GSD: HbA1c tests of diabetic member-years aged 18-75."""
    d = Draws(seed)
    age = F.col("age")
    in_pop = prevalent(d.member("dm"), age, DM_PREVALENCE) & (age <= 75)
    compliant = d.persistent("hbd", PERSISTENCE) < F.col("p_gsd")
    kind = d.year("hbd_kind")
    has_final = compliant | (kind >= GSD_NO_TEST)
    mid = kind < GSD_NO_TEST + GSD_MID
    exact = d.year("hbd_exact") < EXACT_BOUNDARY * 3
    value = (
        F.when(compliant, 5.0 + below(d.year("a1c"), 0, 29) / 10.0)
        .when(mid, F.when(exact, 8.0).otherwise(8.0 + below(d.year("a1c"), 1, 10) / 10.0))
        .otherwise(9.1 + below(d.year("a1c"), 0, 39) / 10.0)
    )
    final_date = day_of_year(F.col("year"), d.year("a1c_day"), 150, 355)
    has_early = has_final & (d.year("a1c_early") < 0.5)
    early_date = F.date_sub(final_date, below(d.year("a1c_early_days"), 30, 140))
    early_value = F.when(value < 8.0, F.lit(9.6)).otherwise(F.lit(6.8))
    pending_date = F.date_sub(final_date, below(d.year("a1c_pending_days"), 1, 20))
    cancelled_date = F.date_add(final_date, below(d.year("a1c_cancel_days"), 1, 9))
    none = F.lit(None).cast("double")
    claims = [
        F.when(in_pop, claim(day_of_year(F.col("year"), d.year(f"fill{i}")), "NDC", ndc, None))
        for i, ndc in enumerate(
            (pick(DIABETES_NDC, d.member("ndc")), pick(DIABETES_NDC, d.member("ndc")))
        )
    ]
    observations = [
        F.when(
            has_final & (d.year("a1c_pending") < UNRESULTED),
            observation(pending_date, "4548-4", none, "%", "preliminary"),
        ),
        F.when(
            has_final & (d.year("a1c_cancelled") < CANCELLED),
            observation(cancelled_date, "4548-4", none, "%", "cancelled"),
        ),
    ]
    for when, date, result, via_cpt2 in (
        (has_final, final_date, F.round(value, 1), d.year("a1c_final_cpt2") < VIA_CPT2),
        (has_early, early_date, early_value, d.year("a1c_early_cpt2") < VIA_CPT2),
    ):
        code = (
            F.when(result < 7.0, "3044F")
            .when(result < 8.0, "3051F")
            .when(result <= 9.0, "3052F")
            .otherwise("3046F")
        )
        observations.append(F.when(when & ~via_cpt2, observation(date, "4548-4", result, "%")))
        claims.append(F.when(when & via_cpt2, claim(date, "CPT2", code, OFFICE)))
    return Family("a1c", in_pop, d.columns, claims, observations)


def _diagnoses(plan: Plan) -> Family:
    """Hypertension and diabetes diagnoses (the CBP and GSD denominators) of adults."""
    d = Draws(plan.seed)
    age, year = F.col("age"), F.col("year")
    u_ht = d.member("ht")
    has_ht = prevalent(u_ht, age, HT_PREVALENCE)
    single_year = below(d.member("ht_single_year"), plan.event_years[0], plan.last_year)
    pos1, pos2 = pick(OUTPATIENT_POS, d.year("ht_pos1")), pick(OUTPATIENT_POS, d.year("ht_pos2"))
    has_dm = prevalent(d.member("dm"), age, DM_PREVALENCE)
    dm_code = F.when(d.member("dm_type") < 0.1, "E10.9").otherwise("E11.9")
    claims = [
        F.when(has_ht, claim(day_of_year(year, d.year("ht_d1"), 0, 89), "ICD10CM", "I10", pos1)),
        F.when(has_ht, claim(day_of_year(year, d.year("ht_d2"), 90, 180), "ICD10CM", "I10", pos2)),
        F.when(
            (u_ht >= SINGLE_HT_DX) & (age >= 18) & (year == single_year),
            claim(day_of_year(year, d.year("ht_d1")), "ICD10CM", "I10", OFFICE),
        ),
        F.when(has_dm, claim(day_of_year(year, d.year("dm_day")), "ICD10CM", dm_code, OFFICE)),
    ]
    return Family("dx", age >= 18, d.columns, claims)


def _screenings(seed: int) -> Family:
    """COL (FOBT/FIT), BCS (mammogram) and WCV (well-care visit) numerator events."""
    d = Draws(seed)
    age, year = F.col("age"), F.col("year")
    has_colonoscopy = d.member("colonoscopy") < COLONOSCOPY_SHARE
    fobt = (
        ~has_colonoscopy
        & age.between(46, 75)
        & (d.persistent("col", PERSISTENCE) < F.col("p_col_fobt"))
    )
    fobt_kind = below(d.year("fobt_kind"), 0, len(FOBT) - 1)
    fobt_system = F.element_at(F.array(*[F.lit(s) for s, _ in FOBT]), fobt_kind + 1)
    fobt_code = F.element_at(F.array(*[F.lit(c) for _, c in FOBT]), fobt_kind + 1)
    mammogram = (
        (F.col("sex") == "F")
        & age.between(40, 74)
        & (d.persistent("bcs", PERSISTENCE) < F.col("p_bcs"))
    )
    well_care = age.between(3, 21) & (d.persistent("wcv", PERSISTENCE) < F.col("p_wcv"))
    new_patient = d.year("wcv_new") < 0.2
    well_cpt = F.lit(None).cast("string")
    for from_age, (new, established) in sorted(WELL_CARE_CPT.items()):
        well_cpt = F.when(
            age >= from_age, F.when(new_patient, new).otherwise(established)
        ).otherwise(well_cpt)
    well_icd = F.when(age < 18, pick(("Z00.121", "Z00.129"), d.year("wcv_icd"))).otherwise(
        pick(("Z00.00", "Z00.01"), d.year("wcv_icd"))
    )
    via_icd = d.year("wcv_via_icd") < 0.4
    claims = [
        F.when(fobt, claim(day_of_year(year, d.year("fobt_day")), fobt_system, fobt_code, OFFICE)),
        F.when(mammogram, claim(day_of_year(year, d.year("bcs_day")), "CPT", "77067", "22")),
        F.when(
            well_care,
            claim(
                day_of_year(year, d.year("wcv_day")),
                F.when(via_icd, "ICD10CM").otherwise("CPT"),
                F.when(via_icd, well_icd).otherwise(well_cpt),
                OFFICE,
            ),
        ),
    ]
    return Family("scr", age.between(3, 75), d.columns, claims)


def _exclusions(seed: int) -> Family:
    """Common and CBP exclusions of a member-year, plus ordinary office visits."""
    d = Draws(seed)
    age, year = F.col("age"), F.col("year")
    date = day_of_year(year, d.year("excl_day"))
    frail = (age >= 66) & (d.year("frailty") < FRAILTY)
    illness_date = day_of_year(
        year - F.when(d.year("illness_prior") < 0.5, 1).otherwise(0), d.year("illness_day")
    )
    has_ht = prevalent(d.member("ht"), age, HT_PREVALENCE)
    pregnant = (F.col("sex") == "F") & age.between(18, 45) & (d.year("pregnancy") < PREGNANCY)
    institutional = d.year("hospice_institutional") < 0.5
    claims = [
        F.when((d.year("hospice") < HOSPICE) & ~institutional, claim(date, "HCPCS", "Q5003", "34")),
        F.when((d.year("hospice") < HOSPICE) & institutional, claim(date, "UBREV", "0651", None)),
        F.when(d.year("palliative") < PALLIATIVE, claim(date, "ICD10CM", "Z51.5", OFFICE)),
        F.when(frail, claim(date, "ICD10CM", "R54", OFFICE)),
        F.when(frail, claim(F.date_add(date, 7), "ICD10CM", "R54", OFFICE)),
        F.when(
            frail,
            claim(illness_date, "ICD10CM", pick(("G30.9", "C25.9"), d.year("illness")), OFFICE),
        ),
        F.when(
            frail,
            claim(
                F.date_add(illness_date, 14),
                "ICD10CM",
                pick(("G30.9", "C25.9"), d.year("illness")),
                OFFICE,
            ),
        ),
        F.when(has_ht & (d.year("esrd") < ESRD), claim(date, "ICD10CM", "N18.6", OFFICE)),
        F.when(has_ht & (d.year("dialysis") < DIALYSIS), claim(date, "CPT", "90935", "65")),
        F.when(
            has_ht & (d.year("transplant") < TRANSPLANT), claim(date, "ICD10CM", "Z94.0", OFFICE)
        ),
        F.when(pregnant, claim(date, "ICD10CM", "Z33.1", OFFICE)),
        F.when(
            d.year("office") < OFFICE_VISIT,
            claim(day_of_year(year, d.year("office_day")), "CPT", "99213", OFFICE),
        ),
    ]
    return Family("ex", F.lit(True), d.columns, claims)


def _lifetime(plan: Plan) -> Family:
    """Once-in-a-lifetime events, generated on the member's row of the first event year."""
    d = Draws(plan.seed)
    age_last = F.lit(plan.last_year) - F.year("birth_date")
    colonoscopy_year = below(d.member("colonoscopy_year"), plan.last_year - 9, plan.first_year - 1)
    event_year = below(d.member("event_year"), plan.event_years[0], plan.last_year)
    date = day_of_year(event_year, d.member("event_day"))
    female = F.col("sex") == "F"
    mastectomy = F.when(
        d.member("mastectomy_pcs") < 0.5, claim(date, "ICD10PCS", "0HTV0ZZ", "21")
    ).otherwise(claim(date, "ICD10CM", "Z90.13", OFFICE))
    claims = [
        F.when(
            (age_last >= 46) & (d.member("colonoscopy") < COLONOSCOPY_SHARE),
            claim(day_of_year(colonoscopy_year, d.member("colonoscopy_day")), "CPT", "45378", "24"),
        ),
        F.when(
            (age_last >= 40) & (d.member("crc") < CRC),
            claim(date, "ICD10CM", pick(("C18.9", "C20"), d.member("crc_code")), OFFICE),
        ),
        F.when(
            (age_last >= 40) & (d.member("colectomy") < COLECTOMY),
            claim(date, "CPT", "44150", "21"),
        ),
        F.when(female & (age_last >= 40) & (d.member("mastectomy") < MASTECTOMY), mastectomy),
    ]
    return Family("lt", F.col("year") == plan.event_years[0], d.columns, claims)


def families(plan: Plan) -> list[Family]:
    seed = plan.seed
    return [
        _diagnoses(plan),
        _screenings(seed),
        _blood_pressure(seed),
        _hba1c(seed),
        _exclusions(seed),
        _lifetime(plan),
    ]
