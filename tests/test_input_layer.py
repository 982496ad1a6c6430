"""The whole nightly on input-layer tables built by hand, as a plan exports them.

Six people, each a story a real feed tells: open-ended coverage, another payer's
span, an unknown gender, a claim with the diagnosis in its fifth slot, CPT II on the
claim line, a pharmacy fill, HbA1c results as text with a unit, an unresulted and a
cancelled test, monthly attribution that switches group in the summer. The medical
claims are read from a Parquet folder and the pharmacy claims from a catalog table
(`inputs` in p4e.yaml), the rest from Delta under raw/. Expected flags come from the
stories.
"""

from __future__ import annotations

from datetime import date

import pytest
from pyspark.sql import functions as F

from p4e.config import load_settings
from p4e.pipeline import STEPS, run_steps
from p4e.storage import open_store
from p4e.tables import INPUTS, MEMBER_MEASURES
from test_measures_lake import Lake

YEAR = 2023
COVERED = ((date(2022, 1, 1), None),)  # still enrolled: no end date
# The claims feed has five diagnosis slots, one ICD procedure and one modifier.
NOT_IN_THE_FEED = (
    *[f"diagnosis_code_{i}" for i in range(6, 26)],
    *[f"procedure_{kind}_{i}" for kind in ("code", "date") for i in range(2, 26)],
    *[f"hcpcs_modifier_{i}" for i in range(2, 6)],
)


def _lake() -> Lake:
    lake = Lake()
    # A: woman of 60, enrolled since Oct 1 2021 (BCS's period), screened (mammogram),
    # switched to G2 in July: G2's member in 2023
    lake.member(
        "A",
        date(1963, 2, 1),
        sex="F",
        spans=((date(2021, 10, 1), None),),
        groups=(("G1", 2022), ("G1", YEAR, range(1, 7)), ("G2", YEAR, range(7, 13))),
    )
    lake.claim("A", date(YEAR, 3, 1), "CPT", "77067")
    # B: gender unknown: not in BCS's band, still in COL's; covered by another payer in 2021
    lake.member("B", date(1963, 2, 1), sex="U", spans=COVERED, groups=(("G1", YEAR),))
    lake.member(
        "B",
        date(1963, 2, 1),
        sex="U",
        payer="other-payer",
        spans=((date(2021, 1, 1), date(2021, 12, 31)),),
        groups=(),
    )
    lake.claim("B", date(YEAR, 4, 1), "HCPCS", "G0328")  # FIT: COL numerator
    # C: diabetic (diagnosis in the 5th slot, metformin fill); last HbA1c "7.4%", then an
    # unresulted test before it and a cancelled one after it
    lake.member("C", date(1970, 1, 1), spans=COVERED, groups=(("G1", YEAR),))
    lake.claim("C", date(YEAR, 2, 1), "ICD10CM", "E11.9")
    lake.rows["medical_claim"][-1] |= {"diagnosis_code_1": "J06.9", "diagnosis_code_5": "E11.9"}
    lake.fill("C", date(YEAR, 2, 1), "65841-0809-01")
    lake.obs("C", date(YEAR, 6, 1), "4548-4", "7.4%")
    lake.obs("C", date(YEAR, 5, 1), "4548-4", None, status="preliminary")
    lake.obs("C", date(YEAR, 9, 1), "4548-4", None, status="cancelled")
    # D: diabetic whose only test has no result: poor control, not controlled
    lake.member("D", date(1970, 1, 1), spans=COVERED, groups=(("G1", YEAR),))
    lake.claim("D", date(YEAR, 2, 1), "ICD10CM", "E10.9").claim(
        "D", date(YEAR, 3, 1), "ICD10CM", "E10.9"
    )
    lake.obs("D", date(YEAR, 6, 1), "4548-4", "")
    # E: hypertensive, controlled BP reported by CPT II on the claim lines
    lake.member("E", date(1960, 1, 1), spans=COVERED, groups=(("G1", YEAR),))
    for day in (date(YEAR, 1, 10), date(YEAR, 3, 10)):
        lake.claim("E", day, "ICD10CM", "I10")
    lake.claim("E", date(YEAR, 8, 1), "CPT2", "3074F").claim("E", date(YEAR, 8, 1), "CPT2", "3078F")
    # F: a child with a well-care visit coded by its diagnosis, disenrolled in 2024
    lake.member("F", date(2015, 1, 1), spans=((date(2022, 1, 1), date(2024, 3, 31)),),
                groups=(("G2", YEAR),))  # fmt: skip
    lake.claim("F", date(YEAR, 10, 1), "ICD10CM", "Z00.129")
    lake.rows["provider_groups"] = [{"group_id": "G1", "group_name": "One"},
                                    {"group_id": "G2", "group_name": "Two"}]  # fmt: skip
    for person, code in (("A", "white"), ("B", "black"), ("C", "hispanic"), ("D", "white"),
                         ("E", "black"), ("F", "white")):  # fmt: skip
        lake.answer(person, "self_reported", code, date(2022, 1, 1))
    return lake


@pytest.fixture(scope="module")
def nightly(spark, base_config, tmp_path_factory):
    root = tmp_path_factory.mktemp("input_layer")
    cfg = base_config.with_overrides(
        lakehouse=str(root / "lakehouse"),
        years=[2021, 2022, YEAR],
        stats={**base_config["stats"], "replicates": 20},
        inputs={
            **base_config["inputs"],
            "medical_claim": {"parquet": str(root / "claims")},
            "pharmacy_claim": {"table": "plan_pharmacy_claim"},
        },
    )
    settings = load_settings(cfg)
    frames = _lake().frames(spark)
    store = open_store(spark, settings.engine)
    for name, df in frames.items():
        if name == "medical_claim":
            df.drop(*NOT_IN_THE_FEED).write.parquet(str(root / "claims"))
        elif name == "pharmacy_claim":
            df.createOrReplaceTempView("plan_pharmacy_claim")
        else:
            store.write(df, cfg.table_path("raw", INPUTS[name].name), "overwrite")
    record = run_steps(spark, settings, list(STEPS))
    return cfg, store, record


def test_the_nightly_runs_on_hand_built_input_layer_tables(nightly):
    cfg, store, record = nightly
    assert record.status == "succeeded"
    counts = record.row_counts
    for table in INPUTS:
        assert counts[f"validate.{table}.raw"] == counts[f"validate.{table}.silver"], table
    flags = {
        (r["member_id"], r["measure_id"]): (
            r["group_id"],
            r["is_denominator"],
            r["is_excluded"],
            r["is_numerator"],
        )
        for r in store.read(cfg.table_path("gold", MEMBER_MEASURES.name))
        .filter(F.col("year") == YEAR)
        .collect()
    }
    assert flags[("A", "BCS")] == ("G2", True, False, True)
    assert ("B", "BCS") not in flags and flags[("B", "COL")] == ("G1", True, False, True)
    assert flags[("C", "GSD")] == ("G1", True, False, True)  # 7.4% < 8, the cancelled test ignored
    assert flags[("C", "GSD_POOR")] == ("G1", True, False, False)
    assert flags[("D", "GSD")] == ("G1", True, False, False)
    assert flags[("D", "GSD_POOR")] == ("G1", True, False, True)
    assert flags[("E", "CBP")] == ("G1", True, False, True)
    assert flags[("F", "WCV")] == ("G2", True, False, True)
