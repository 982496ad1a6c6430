"""Measure configuration: shipped codes, validation errors, and a new measure by YAML only."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
import yaml

from p4e.config import load_config, load_settings
from p4e.config.measure_files import load_definitions
from p4e.errors import ConfigError
from p4e.measures.events import value_set_spans
from test_measures_lake import Lake

# The representative codes the shipped CSVs must hold, by value set and namespace (CPT,
# CPT II and HCPCS share PROCEDURE). Public sources of the NDCs: DailyMed and openFDA
# (conf/valuesets/hbd.csv and common.csv name the label of each).
P, DX, PCS, LOINC = "PROCEDURE", "ICD10CM", "ICD10PCS", "LOINC"
CONTRACT_CODES = {
    "fobt": {(P, "82270"), (P, "82274"), (P, "G0328")},
    "colonoscopy": {(P, "45378"), (P, "G0105")},
    "flexible_sigmoidoscopy": {(P, "45330")},
    "ct_colonography": {(P, "74261"), (P, "74262"), (P, "74263")},
    "fit_dna": {(P, "81528")},
    "colorectal_cancer": {(DX, "C18*"), (DX, "C20")},
    "total_colectomy": {(P, "44150")},
    "mammography": {(P, "77067")},
    "bilateral_mastectomy": {(PCS, "0HTV0ZZ"), (DX, "Z90.13")},
    "unilateral_mastectomy": {(P, "19303")},
    "absence_of_right_breast": {(DX, "Z90.11")},
    "absence_of_left_breast": {(DX, "Z90.12")},
    "hypertension": {(DX, "I10")},
    "outpatient": {(P, "99213")},
    "systolic_bp": {(LOINC, "8480-6")},
    "diastolic_bp": {(LOINC, "8462-4")},
    "systolic_lt_130": {(P, "3074F")},
    "systolic_130_139": {(P, "3075F")},
    "systolic_ge_140": {(P, "3077F")},
    "diastolic_lt_80": {(P, "3078F")},
    "diastolic_80_89": {(P, "3079F")},
    "diastolic_ge_90": {(P, "3080F")},
    "esrd": {(DX, "N18.6")},
    "dialysis": {(P, "90935")},
    "kidney_transplant": {(DX, "Z94.0")},
    "pregnancy": {(DX, "Z33.1")},
    "diabetes": {(DX, "E11*"), (DX, "E10*")},
    "diabetes_medications": {("NDC", "00088222033"), ("NDC", "65841080901")},
    "hba1c_test": {(LOINC, "4548-4")},
    "hba1c_procedure": {(P, "83036")},
    "gmi": {(LOINC, "97506-0")},
    "hba1c_lt_7": {(P, "3044F")},
    "hba1c_7_to_7_9": {(P, "3051F")},
    "hba1c_8_to_9": {(P, "3052F")},
    "hba1c_gt_9": {(P, "3046F")},
    "well_care": {(P, str(c)) for c in (99382, 99383, 99384, 99385, 99392, 99393, 99394, 99395)}
    | {(DX, c) for c in ("Z00.121", "Z00.129", "Z00.00", "Z00.01")},
    "hospice": {(P, "Q5003"), (P, "Q5001"), ("UBREV", "0651")},
    "palliative_care": {(DX, "Z51.5")},
    "frailty": {(DX, "R54")},
    "advanced_illness": {(DX, "G30.9"), (DX, "C25.9"), (DX, "F03.90")},
    "dementia_medications": {("NDC", "62856024630")},
}


@pytest.fixture()
def conf(base_config, tmp_path: Path) -> Path:
    """A writable copy of the shipped measure and value-set folders."""
    for key in ("measures", "valuesets"):
        shutil.copytree(base_config.conf_path(key), tmp_path / key)
    return tmp_path


CODES = load_settings(load_config()).codes


def _load(conf: Path):
    return load_definitions(
        conf / "measures",
        conf / "valuesets",
        codes=CODES,
        member_dates=("birth_date", "death_date"),
    )


def _edit(conf: Path, measure: str, edit) -> Path:
    path = conf / "measures" / f"{measure}.yaml"
    data = yaml.safe_load(path.read_text())
    edit(data)
    path.write_text(yaml.safe_dump(data))
    return path


def test_shipped_definitions(base_config, spark):
    defs = load_settings(base_config).measures
    by_id = {m.id: m for m in defs.measures}
    assert sorted(by_id) == ["BCS", "CBP", "COL", "GSD", "GSD_POOR", "WCV"]
    assert defs.aliases == {"HBD": "GSD", "HBD_POOR": "GSD_POOR"}
    assert {m: by_id[m].direction for m in by_id} == {
        "BCS": "higher", "CBP": "higher", "COL": "higher",
        "GSD": "higher", "GSD_POOR": "lower", "WCV": "higher",
    }  # fmt: skip
    bands = {m: (by_id[m].min_age, by_id[m].max_age, by_id[m].sexes) for m in by_id}
    assert bands == {  # the latest versions: BCS 42-74 from MY2025
        "COL": (46, 75, None), "BCS": (42, 74, ("F",)), "CBP": (18, 85, None),
        "GSD": (18, 75, None), "GSD_POOR": (18, 75, None), "WCV": (3, 21, None),
    }  # fmt: skip
    bcs_2024 = next(m for m in defs.for_year(2024).measures if m.id == "BCS")
    assert (bcs_2024.version, bcs_2024.min_age) == ("MY2024", 52)
    periods = {
        m.id: [c[:2] for c in m.enrollment.checks(2024)] for m in defs.for_year(2024).measures
    }
    anchor = (date(2024, 12, 31), date(2024, 12, 31))
    my = (date(2024, 1, 1), date(2024, 12, 31))
    assert periods["COL"] == [(date(2023, 1, 1), date(2023, 12, 31)), my, anchor]
    assert periods["BCS"] == [
        (date(2022, 10, 1), date(2022, 12, 31)), (date(2023, 1, 1), date(2023, 12, 31)), my,
        anchor,
    ]  # fmt: skip
    assert periods["CBP"] == periods["GSD"] == periods["WCV"] == [my, anchor]
    shipped: dict[str, set] = {}
    for name, system, code in defs.valuesets.rows:
        shipped.setdefault(name, set()).add((system, code))
    for name, codes in CONTRACT_CODES.items():
        assert codes <= shipped.get(name, set()), name


@pytest.mark.parametrize(
    ("measure", "edit", "message"),
    [
        ("COL", lambda d: d.pop("direction"), "COL.yaml: direction is required"),
        ("COL", lambda d: d.update(direction="up"), "direction must be one of higher"),
        ("COL", lambda d: d.update(id="XYZ"), "id is 'XYZ' but the file is named COL"),
        ("COL", lambda d: d.update(colour="red"), "colour is not a known field"),
        (
            "COL",
            lambda d: d["numerator"]["any_of"][1]["window"]["from"].update(month=13),
            "numerator.any_of[1].window.from.month must be an integer between 1 and 12",
        ),
        (
            "COL",
            lambda d: d["numerator"]["any_of"][0].update(window={"from": {"years": 0}}),
            "numerator.any_of[0].window.from.month is required",
        ),
        (
            "COL",
            lambda d: d["numerator"]["any_of"][0].update(value_sets=["nope"]),
            "COL.yaml: value sets ['nope'] are not defined",
        ),
        (
            "COL",
            lambda d: d["numerator"]["any_of"][0].update(value_sets=[]),
            "numerator.any_of[0].value_sets needs at least one value set",
        ),
        (
            "BCS",
            lambda d: d["numerator"]["any_of"][0]["window"]["to"].update(month=2, day=29),
            "numerator.any_of[0].window.to.day must be an integer between 1 and 28",
        ),
        (
            "CBP",
            lambda d: d["numerator"]["result"]["components"]["systolic"]["test"].update(
                operator="=<"
            ),
            "numerator.result.components.systolic.test.operator must be one of",
        ),
        (
            "CBP",
            lambda d: d["denominator"]["all_of"][0].update(min_count="two"),
            "denominator.all_of[0].min_count must be an integer",
        ),
        (
            "GSD",
            lambda d: d["numerator"]["result"].update(missing_counts_as="yes"),
            "numerator.result.missing_counts_as must be true or false",
        ),
        (
            "GSD",
            lambda d: d["population"]["age"].update(max=10),
            "population.age.max must be an integer between 18 and 150",
        ),
        (
            "WCV",
            lambda d: d["numerator"].update(result={"window": "measurement_year"}),
            "numerator needs exactly one of any_of",
        ),
        (
            "BCS",
            lambda d: d["versions"][1]["years"].update({"from": 2024}),
            "versions MY2024 and MY2025 are both effective in 2024",
        ),
        ("BCS", lambda d: d.update(version="x"), "version must not be given beside versions"),
        ("CBP", lambda d: d.pop("denominator"), "numerator.result.on_or_after needs a denominator"),
        (
            "COL",
            lambda d: d["population"]["enrollment"]["periods"][0].update(
                window={"from": {"years": -1, "month": 1, "day": 1}}
            ),
            "population.enrollment.periods[0].window must have both ends",
        ),
        ("GSD", lambda d: d.update(aliases=["COL"]), "alias 'COL' is already the id or an alias"),
        (
            "BCS",
            lambda d: d["exclusions"][0]["any_of"][1].update(modifiers=None, sides=["RT"]),
            "sides is not a known field",
        ),
    ],
)
def test_invalid_measure_names_file_and_field(conf, measure, edit, message):
    _edit(conf, measure, edit)
    with pytest.raises(ConfigError) as info:
        _load(conf)
    assert message in str(info.value)


def test_invalid_valueset_names_file_and_line(conf):
    path = conf / "valuesets" / "wcv.csv"
    line = len(path.read_text().splitlines()) + 1
    path.write_text(path.read_text() + "well_care,READ2,123,not a known code system\n")
    with pytest.raises(ConfigError, match=rf"wcv.csv line {line}: code_system 'READ2' is not a"):
        _load(conf)
    path.write_text(path.read_text().replace("READ2,123", "ICD10CM,Z0*0"))
    with pytest.raises(ConfigError, match=rf"wcv.csv line {line}: '\*' may only end a code"):
        _load(conf)


def test_licensed_code_system_names_are_spellings_of_the_namespaces(conf):
    """An NCQA value-set file names its code systems its own way: they resolve."""
    path = conf / "valuesets" / "licensed.csv"
    path.write_text(
        "value_set,code_system,code,description\n"
        "well_care,CPT-CAT-II,9999F,made up\n"
        "well_care,SNOMED CT US Edition,410620009,well child visit\n"
        "hospice,UBREV,0655,hospice inpatient respite\n"
        "well_care,ICD-10-CM,z00.129,lower case and a dot\n"
    )
    rows = set(_load(conf).valuesets.rows)
    assert {("well_care", "PROCEDURE", "9999F"), ("well_care", "SNOMEDCT", "410620009"),
            ("hospice", "UBREV", "0655"), ("well_care", "ICD10CM", "z00.129")} <= rows  # fmt: skip


FLU = """
id: FLU
name: Flu vaccination, adults 18-64, men only, no enrollment gap allowed
direction: higher
population:
  age: {min: 18, max: 64}
  sex: [M]
  enrollment: {max_gaps: 0, max_gap_days: 0}
exclusions:
  - reason: egg_allergy
    value_sets: [egg_allergy]
    window: {to: {years: 0, month: 6, day: 30}}
numerator:
  any_of:
    - value_sets: [flu_vaccine]
      window: {from: {years: -1, month: 7, day: 1}, to: {years: 0, month: 6, day: 30}}
"""

LDL = """
id: LDL
name: LDL cholesterol at most 100 mg/dL, highest reading of the latest day
direction: higher
population:
  age: {min: 18, max: 75}
common_exclusions: false
numerator:
  result:
    window: {from: {years: 0, month: 7, day: 1}, to: {years: 0, month: 12, day: 31}}
    aggregate: max
    missing_counts_as: false
    components:
      ldl:
        observations: [ldl_test]
        test: {operator: "<=", value: 100}
"""

NEW_VALUESETS = """value_set,code_system,code,description
flu_vaccine,CPT,90686,"Influenza virus vaccine, quadrivalent"
egg_allergy,ICD10CM,Z91.012,Allergy to eggs
ldl_test,LOINC,13457-7,Cholesterol in LDL (calculated)
"""


def test_new_measure_needs_yaml_and_csv_only(spark, cfg, conf):
    (conf / "measures" / "FLU.yaml").write_text(FLU)
    (conf / "measures" / "LDL.yaml").write_text(LDL)
    (conf / "valuesets" / "new.csv").write_text(NEW_VALUESETS)
    paths = {
        **cfg["paths"],
        "measures": str(conf / "measures"),
        "valuesets": str(conf / "valuesets"),
    }
    new_cfg = cfg.with_overrides(paths=paths)
    adult = date(1980, 5, 5)
    lake = Lake()
    lake.member("vacc_jul1", adult).claim("vacc_jul1", date(2022, 7, 1), "CPT", "90686")
    lake.member("vacc_jun30", adult).claim("vacc_jun30", date(2022, 6, 30), "CPT", "90686")
    lake.member("vacc_woman", adult, sex="F").claim("vacc_woman", date(2023, 1, 1), "CPT", "90686")
    lake.member("vacc_65", date(1958, 1, 1)).claim("vacc_65", date(2023, 1, 1), "CPT", "90686")
    one_day_gap = ((date(2023, 1, 1), date(2023, 5, 1)), (date(2023, 5, 3), date(2023, 12, 31)))
    lake.member("vacc_gap", adult, spans=one_day_gap)
    lake.claim("vacc_gap", date(2023, 1, 1), "CPT", "90686")
    lake.member("allergic", adult).claim("allergic", date(2023, 6, 30), "ICD10CM", "Z91.012")
    lake.claim("allergic", date(2023, 2, 1), "CPT", "90686")
    lake.member("hospice", adult).claim("hospice", date(2023, 2, 1), "HCPCS", "Q5003")
    # LDL: highest of the latest day in Jul-Dec; 100 passes (<=), 101 does not.
    lake.obs("vacc_jul1", date(2023, 9, 1), "13457-7", 100).obs(
        "vacc_jul1", date(2023, 9, 1), "13457-7", 80
    )
    lake.obs("vacc_jun30", date(2023, 9, 1), "13457-7", 101).obs(
        "vacc_jun30", date(2023, 6, 30), "13457-7", 50
    )
    lake.obs("hospice", date(2023, 7, 1), "13457-7", 90)

    df = lake.measures(spark, load_settings(new_cfg), 2023)
    got = {
        (r["member_id"], r["measure_id"]): (
            r["is_denominator"], r["exclusion_reason"], r["is_numerator"], r["numerator_date"],
        )
        for r in df.filter("measure_id IN ('FLU', 'LDL')").collect()
    }  # fmt: skip
    assert got == {
        ("vacc_jul1", "FLU"): (True, None, True, date(2022, 7, 1)),
        ("vacc_jun30", "FLU"): (True, None, False, None),
        ("vacc_gap", "FLU"): (False, None, False, None),  # outside the denominator: unset
        ("allergic", "FLU"): (True, "egg_allergy", True, date(2023, 2, 1)),
        ("hospice", "FLU"): (True, "hospice", False, None),
        ("vacc_jul1", "LDL"): (True, None, True, date(2023, 9, 1)),
        ("vacc_jun30", "LDL"): (True, None, False, None),
        ("vacc_woman", "LDL"): (True, None, False, None),
        ("vacc_65", "LDL"): (True, None, False, None),
        ("vacc_gap", "LDL"): (True, None, False, None),
        ("allergic", "LDL"): (True, None, False, None),
        ("hospice", "LDL"): (True, None, True, date(2023, 7, 1)),
    }


def test_value_set_spans_cover_every_window_that_reads_a_set(spark, cfg, conf):
    """Events are kept only inside the windows that read their value set (union over
    criteria and years); a set read by two measures keeps both windows' events."""
    # BCS also counts an FOBT from Jul 1 MY-3 to Jun 30 MY; COL reads FOBT in MY only.
    window = {
        "from": {"years": -3, "month": 7, "day": 1},
        "to": {"years": 0, "month": 6, "day": 30},
    }
    _edit(conf, "BCS", lambda d: d["numerator"]["any_of"].append(
        {"value_sets": ["fobt"], "window": window}
    ))  # fmt: skip
    defs = _load(conf)
    spans = value_set_spans(defs, [2023])
    assert spans["fobt"] == (date(2020, 7, 1), date(2023, 12, 31))
    assert spans["colonoscopy"] == (date(2014, 1, 1), date(2023, 12, 31))
    assert spans["total_colectomy"] == (None, date(2023, 12, 31))
    assert spans["hypertension"] == (date(2022, 1, 1), date(2023, 6, 30))
    assert spans["systolic_lt_130"] == (date(2023, 1, 1), date(2023, 12, 31))
    assert value_set_spans(defs, [2022, 2023])["colonoscopy"] == (
        date(2013, 1, 1), date(2023, 12, 31)
    )  # fmt: skip
    assert set(spans) == {name for m in defs.measures for name in m.value_sets}

    new_cfg = cfg.with_overrides(
        paths={
            **cfg["paths"],
            "measures": str(conf / "measures"),
            "valuesets": str(conf / "valuesets"),
        }
    )
    woman = date(1965, 6, 15)
    lake = Lake()
    for member_id, day in (("fobt_jun30", date(2020, 6, 30)), ("fobt_jul1", date(2020, 7, 1)),
                           ("fobt_my", date(2023, 12, 31))):  # fmt: skip
        lake.member(member_id, woman, sex="F").claim(member_id, day, "CPT", "82274")
    df = lake.measures(spark, load_settings(new_cfg), 2023)
    got = {
        (r["member_id"], r["measure_id"]): r["numerator_date"]
        for r in df.filter("measure_id IN ('BCS', 'COL')").collect()
    }
    assert got == {
        ("fobt_jun30", "BCS"): None, ("fobt_jun30", "COL"): None,
        ("fobt_jul1", "BCS"): date(2020, 7, 1), ("fobt_jul1", "COL"): None,
        ("fobt_my", "BCS"): None, ("fobt_my", "COL"): date(2023, 12, 31),
    }  # fmt: skip
