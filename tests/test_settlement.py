"""Settlement scenarios through the whole pipeline on one hand-built lakehouse.

Seven provider groups, one scenario each, ~300 children per group (100 White = the
reference, 100 Black, 100 Hispanic, all self-reported, born 2010 so in the WCV band
every year). A member is in the WCV numerator of a year iff we give them a well-care
claim that year, so every subgroup rate is exactly the planted count / 100 (and the
same members comply every year). Baseline 2021-2022, performance 2023. Planted WCV
rates (%), white / black / hispanic, per year; the focus weights are 1/2 and 1/2:

    GA closes       80 80 80 | 50 50 70 | 50 50 70   gap .30 -> .10, closure 2/3 -> tier .5
    GB ref declines 80 80 60 | 50 50 50 | 50 50 50   gap .30 -> .10 by the reference: no credit
    GC focus drops  80 80 80 | 50 50 80 | 50 50 45   gap .30 -> .175, guard fails on hispanic
    GD eliminated   80 80 80 | 50 50 80 | 50 50 80   gap -> 0: full credit (PMPM pool)
    GE widens       80 80 80 | 70 70 40 | 70 70 40   gap .10 -> .40: downside -.25
    GF no gap       70 70 72 | 70 70 70 | 70 70 70   hispanic better: floored gap 0, ineligible
    GG ineligible   as GA, plus 20 adults in COL only (too few): COL excluded, WCV reweighted

With about 100 members per subgroup the bootstrap SEs are ~.05, far from every decision
that uses a replicate distribution (baseline gaps of .30/.10 vs 0, change +.30 vs 0, a
credited reduction of .20 vs 0).
"""

from __future__ import annotations

import dataclasses
import shutil
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
from chispa import assert_df_equality
from pyspark.sql import Row
from pyspark.sql import functions as F

import p4e.demographics
import p4e.events
import p4e.measures
import p4e.membership
import p4e.stats
from conftest import comparable
from p4e.config import load_settings
from p4e.context import RunContext
from p4e.errors import ConfigError, P4eError
from p4e.pipeline import run_steps
from p4e.settlement import format_table
from p4e.settlement import run as settle
from p4e.settlement.baseline import run as baseline_step
from p4e.tables import CONTRACT_BASELINES, INPUTS, JOB_RUNS, SETTLEMENTS
from test_measures_lake import Lake

D = Decimal
YEARS = (2021, 2022, 2023)
SUBGROUPS = ("white", "black", "hispanic")
RATES = {  # group -> subgroup -> WCV numerator count (of 100) per year
    "GA": {"white": (80, 80, 80), "black": (50, 50, 70), "hispanic": (50, 50, 70)},
    "GB": {"white": (80, 80, 60), "black": (50, 50, 50), "hispanic": (50, 50, 50)},
    "GC": {"white": (80, 80, 80), "black": (50, 50, 80), "hispanic": (50, 50, 45)},
    "GD": {"white": (80, 80, 80), "black": (50, 50, 80), "hispanic": (50, 50, 80)},
    "GE": {"white": (80, 80, 80), "black": (70, 70, 40), "hispanic": (70, 70, 40)},
    "GF": {"white": (70, 70, 72), "black": (70, 70, 70), "hispanic": (70, 70, 70)},
    "GG": {"white": (80, 80, 80), "black": (50, 50, 70), "hispanic": (50, 50, 70)},
}
SPAN = (date(2020, 1, 1), date(2024, 12, 31))

CONTRACT = """id: {id}
groups: [{group}]
term: {{start_year: 2023, years: 3}}
baseline_years: [2021, 2022]
dimension: race_ethnicity
measures:
{measures}
ineligible: {ineligible}
payout:
  method: {method}
  tiers:
    - {{closure: 0.25, share: 0.25}}
    - {{closure: 0.5, share: 0.5}}
    - {{closure: 0.75, share: 0.75}}
{downside}completeness:
  weight: 0.2
  tiers: [{{self_reported: 0.5, share: 0.5}}, {{self_reported: 0.8, share: 1.0}}]
pool: {pool}
"""


def contract(cid, group, *, measures=(("WCV", 0.8),), ineligible="renormalise", method="tiers",
             downside="", pool="{fixed: 100000}") -> str:  # fmt: skip
    lines = "\n".join(f"  - {{id: {m}, weight: {w}}}" for m, w in measures)
    return CONTRACT.format(
        id=cid, group=group, measures=lines, ineligible=ineligible, method=method,
        downside=downside, pool=pool,
    )  # fmt: skip


CONTRACTS = {
    "CA": contract("CA", "GA"),
    "CA-LIN": contract("CA-LIN", "GA", method="linear"),
    "CB": contract("CB", "GB"),
    "CC": contract("CC", "GC"),
    "CD": contract("CD", "GD", pool="{pmpm: 2.50}"),
    "CE": contract("CE", "GE", downside="downside: {share: 0.25}\n"),
    "CF": contract("CF", "GF"),
    "CG": contract("CG", "GG", measures=(("WCV", 0.5), ("COL", 0.3))),
    "CG-FORFEIT": contract("CG-FORFEIT", "GG", measures=(("WCV", 0.5), ("COL", 0.3)),
                           ineligible="forfeit"),
}  # fmt: skip


def lakehouse() -> Lake:
    lake = Lake()

    def member(mid, group, birth, code, source="self_reported", spans=(SPAN,), payer="plan"):
        lake.member(mid, birth, sex="F", spans=spans, payer=payer,
                    groups=tuple((group, y) for y in YEARS))  # fmt: skip
        lake.answer(mid, source, code, date(2020, 1, 1))

    for group, rates in RATES.items():
        for sub in SUBGROUPS:
            for i in range(100):
                mid = f"{group}-{sub}-{i:03d}"
                # GA: 30 per subgroup provider-reported -> self-reported share 0.7
                source = "provider_reported" if group == "GA" and i < 30 else "self_reported"
                member(mid, group, date(2010, 6, 1), sub, source)
                for year, count in zip(YEARS, rates[sub], strict=True):
                    if i < count:
                        lake.claim(mid, date(year, 6, 15), "CPT", "99392")
    for i in range(20):  # GG: 20 adults, the whole COL population (none screened)
        member(f"GG-adult-{i:02d}", "GG", date(1973, 1, 1), SUBGROUPS[i % 2])
    for i in range(5):  # GD: 5 adults enrolled Mar 10 - Aug 20 2023 -> 6 member months each
        member(f"GD-part-{i}", "GD", date(1993, 1, 1), "white",
               spans=((date(2023, 3, 10), date(2023, 8, 20)),))  # fmt: skip
    # GD: one adult covered only by another payer: no plan member months
    member("GD-other", "GD", date(1993, 1, 1), "white", payer="medicare")
    return lake


@dataclass(frozen=True)
class Settled:
    """The lakehouse after one pipeline run; `by` = (contract, level, measure) -> row."""

    ctx: RunContext
    written: dict[str, int]
    version: int
    by: dict[tuple, Row]


@pytest.fixture(scope="module")
def settled(spark, base_config, tmp_path_factory):
    root = tmp_path_factory.mktemp("settle")
    folder = root / "contracts"
    folder.mkdir()
    for cid, text in CONTRACTS.items():
        (folder / f"{cid}.yaml").write_text(text)
    measures = root / "measures"  # only the two measures used: faster measure and stats steps
    measures.mkdir()
    for name in ("_common.yaml", "WCV.yaml", "COL.yaml"):
        shutil.copy(base_config.conf_path("measures") / name, measures / name)
    cfg = base_config.with_overrides(
        lakehouse=str(root / "lakehouse"),
        years=list(YEARS),
        paths={**base_config["paths"], "contracts": str(folder), "measures": str(measures)},
        stats={**base_config["stats"], "replicates": 200},
    )
    ctx = RunContext.create(spark, load_settings(cfg), "test")
    for name, df in lakehouse().frames(spark).items():
        ctx.write(INPUTS[name].in_layer("silver"), df)
    for step in (p4e.membership, p4e.events, p4e.demographics, p4e.measures, p4e.stats):
        step.run(ctx)
    written = settle(ctx)
    rows = ctx.read(SETTLEMENTS).collect()
    return Settled(
        ctx=ctx,
        written=written,
        version=ctx.versions_written["gold/settlements"],
        by={(r["contract_id"], r["level"], r["measure_id"]): r for r in rows},
    )


def measure(by, cid, m="WCV"):
    return by[(cid, "measure", m)]


def amounts(by, cid):
    return (
        [r["amount"] for k, r in sorted(by.items()) if k[0] == cid and k[1] == "measure"],
        by[(cid, "completeness", None)]["amount"],
        by[(cid, "total", None)]["amount"],
    )


def test_every_contract_year_is_written(settled):
    assert settled.written == {f"{c}/2023": 4 if c.startswith("CG") else 3 for c in CONTRACTS}


def test_gap_closes_and_is_paid_by_tier(settled):
    by = settled.by
    r = measure(by, "CA")
    assert r["baseline_gap"] == pytest.approx(0.30) and r["performance_gap"] == pytest.approx(0.10)
    assert r["baseline_gap_frozen"] == r["baseline_gap_restated"] == r["baseline_gap"]
    assert r["change"] == pytest.approx(-0.20) and r["change_ci_high"] < 0
    assert r["reference_decline"] == pytest.approx(0.0) and r["reference"] == "white"
    assert r["credited_reduction"] == pytest.approx(0.20) and r["closure"] == pytest.approx(2 / 3)
    assert r["is_guard_passed"] and r["is_credit_significant"] and not r["is_eliminated"]
    assert (r["tier"], r["share"], r["weight"]) == ("closure>=0.5", D("0.5"), D("0.8"))
    assert sum(r["tier_probabilities"].values()) == pytest.approx(1.0)
    assert r["amount_p05"] <= float(r["amount"]) <= r["amount_p95"]
    subgroups = {s["subgroup"]: s for s in r["subgroups"]}
    assert subgroups["white"]["role"] == "reference" and subgroups["black"]["weight"] == 0.5
    assert subgroups["black"]["decline"] == pytest.approx(-0.20)  # improved 20 points
    # completeness: 210 of 300 self-reported -> 0.7 -> tier 0.5 of the 0.2 weight
    c = by[("CA", "completeness", None)]
    assert c["share_self_reported"] == pytest.approx(0.7) and c["share"] == D("0.5")
    assert amounts(by, "CA") == ([D("40000.00")], D("10000.00"), D("50000.00"))
    # linear: closure 2/3 between (0.5, 0.5) and (0.75, 0.75) -> 0.666667
    lin = measure(by, "CA-LIN")
    assert (lin["tier"], lin["share"]) == ("linear", D("0.666667"))
    assert amounts(by, "CA-LIN") == ([D("53333.36")], D("10000.00"), D("63333.36"))


def test_closing_only_because_the_reference_declined_earns_nothing(settled):
    by = settled.by
    r = measure(by, "CB")
    assert r["performance_gap"] == pytest.approx(0.10) and r["reference_decline"] == pytest.approx(
        0.20
    )
    assert r["credited_reduction"] == pytest.approx(0.0) and r["closure"] == pytest.approx(0.0)
    assert r["is_guard_passed"] and not r["is_credit_significant"]
    assert (r["tier"], r["share"]) == ("reduction_not_significant", D(0))
    assert amounts(by, "CB") == ([D("0.00")], D("20000.00"), D("20000.00"))
    assert by[("CB", "total", None)]["amount_p95"] == pytest.approx(20000.0)


def test_a_focus_decline_while_the_gap_narrows_earns_nothing(settled):
    by = settled.by
    r = measure(by, "CC")
    assert r["performance_gap"] == pytest.approx(0.175) and r["closure"] == pytest.approx(5 / 12)
    assert (r["is_guard_passed"], r["guard_subgroup"]) == (False, "hispanic")
    assert r["guard_decline"] == pytest.approx(0.05) and r["share"] == 0
    assert r["tier"] == "guard_failed"


def test_eliminated_gap_gets_full_credit_of_a_pmpm_pool(settled):
    by = settled.by
    r = measure(by, "CD")
    assert r["performance_gap"] == pytest.approx(0.0, abs=1e-12) and r["is_eliminated"]
    assert (r["tier"], r["share"]) == ("eliminated", D("1"))
    # 300 children x 12 + 5 adults x 6 (Mar..Aug) plan member months; the medicare-only adult: 0
    assert r["member_months"] == 3630 and r["pool"] == D("9075.00")
    assert amounts(by, "CD") == ([D("7260.00")], D("1815.00"), D("9075.00"))


def test_a_significantly_widened_gap_costs_the_downside(settled):
    by = settled.by
    r = measure(by, "CE")
    assert r["change"] == pytest.approx(0.30) and r["change_ci_low"] > 0 and r["is_widened"]
    assert (r["tier"], r["share"]) == ("downside", D("-0.25"))
    assert r["tier_probabilities"] == {"downside": 1.0}
    assert amounts(by, "CE") == ([D("-20000.00")], D("20000.00"), D("0.00"))


def test_no_baseline_gap_is_not_eligible_and_earns_nothing(settled):
    by = settled.by
    r = measure(by, "CF")
    # hispanic's 72 against white's 70 counts as 0, not as an offset: the gap is 0
    assert r["baseline_gap_frozen"] == pytest.approx(0.0) and not r["is_eligible"]
    assert "no_significant_gap" in r["eligibility_reasons"]
    assert (r["tier"], r["share"], r["weight"]) == ("ineligible", D(0), D(0))
    assert amounts(by, "CF") == ([D("0.00")], D("20000.00"), D("20000.00"))


def test_an_ineligible_measure_leaves_the_pool_and_weights_renormalise(settled):
    by = settled.by
    col = measure(by, "CG", "COL")
    assert not col["is_eligible"]
    assert {"reference_not_scored", "no_focus_scored"} <= set(col["eligibility_reasons"])
    assert (col["tier"], col["weight"], col["amount"]) == ("ineligible", 0, D("0.00"))
    wcv = measure(by, "CG")
    assert wcv["contract_weight"] == D("0.5") and wcv["weight"] == D("0.8")
    assert amounts(by, "CG") == ([D("0.00"), D("40000.00")], D("20000.00"), D("60000.00"))
    # forfeit: WCV keeps its 0.5, COL's 0.3 is not paid
    assert amounts(by, "CG-FORFEIT") == ([D("0.00"), D("25000.00")], D("20000.00"), D("45000.00"))


def test_the_baseline_is_frozen_once_and_every_row_cites_it(spark, settled, tmp_path):
    ctx, by = settled.ctx, settled.by
    frozen = {
        (r["contract_id"], r["measure_id"]): r for r in ctx.read(CONTRACT_BASELINES).collect()
    }
    base = frozen[("CA", "WCV")]
    assert base["reference"] == "white" and base["focus"] == {"black": 0.5, "hispanic": 0.5}
    assert base["baseline_gap"] == pytest.approx(0.30) and base["is_eligible"]
    assert base["replicates"] == 10_000 == len(base["gap_replicates"])
    assert base["rebuild_reason"] is None and base["vintage_year"] == 2022
    r = measure(by, "CA")
    assert r["baseline_id"] == base["baseline_id"]
    assert set(r["input_versions"]) >= {"gold/member_measures", "gold/contract_baselines"}
    # a later run with another seed (on a copy) reads the frozen rows: nothing about them changes
    version = ctx.store.version(ctx.path(CONTRACT_BASELINES))
    shutil.copytree(ctx.settings.config.lakehouse, tmp_path / "lakehouse")
    other = dataclasses.replace(
        ctx.settings,
        config=ctx.settings.config.with_overrides(lakehouse=str(tmp_path / "lakehouse")),
        stats=dataclasses.replace(ctx.settings.stats, seed=99),
    )
    again = RunContext.create(spark, other, "other-seed")
    settle(again, contract_ids=["CA"], years=[2023])
    assert again.store.version(again.path(CONTRACT_BASELINES)) == version
    assert measure_row(again, "CA")["baseline_id"] == base["baseline_id"]


def measure_row(ctx, cid, m="WCV"):
    rows = (
        ctx.read(SETTLEMENTS)
        .filter((F.col("contract_id") == cid) & (F.col("measure_id") == m))
        .collect()
    )
    return rows[0]


def test_a_rebuild_needs_a_reason_and_logs_it(spark, settled):
    ctx = RunContext.create(spark, settled.ctx.settings, "no-reason")
    with pytest.raises(P4eError, match="needs a reason"):
        baseline_step(ctx, contract_ids=["CF"], rebuild=True)
    run_steps(
        spark, settled.ctx.settings, ["baseline"], run_id="rebuild",
        options={"baseline": {"contract_ids": ["CF"], "rebuild": True,
                              "reason": "late claims corrected"}},
        reason="late claims corrected",
    )  # fmt: skip
    rows = ctx.read(CONTRACT_BASELINES).filter(F.col("contract_id") == "CF").collect()
    assert {r["rebuild_reason"] for r in rows} == {"late claims corrected"}
    assert {r["created_run_id"] for r in rows} == {"rebuild"}
    runs = ctx.store.read(ctx.path(JOB_RUNS)).filter(F.col("run_id") == "rebuild").collect()
    assert {r["reason"] for r in runs} == {"late claims corrected"}


def test_settling_again_gives_identical_rows_and_touches_only_its_partition(spark, settled):
    version = settled.version
    ctx = RunContext.create(spark, settled.ctx.settings, "again")
    assert settle(ctx, contract_ids=["CB"], years=[2023]) == {"CB/2023": 3}
    assert_df_equality(
        comparable(ctx.store.read(ctx.path(SETTLEMENTS), version)),
        comparable(ctx.read(SETTLEMENTS)),
        ignore_row_order=True,
        ignore_nullable=True,
    )
    assert ctx.versions_written["gold/settlements"] == version + 1


def test_unknown_contract_or_year_outside_the_term_is_refused(spark, settled):
    ctx = RunContext.create(spark, settled.ctx.settings, "bad")
    with pytest.raises(ConfigError, match="unknown contract"):
        settle(ctx, contract_ids=["NOPE"])
    with pytest.raises(ConfigError, match="term years"):
        settle(ctx, contract_ids=["CA"], years=[2022])


def test_format_table_prints_one_line_per_row(settled):
    text = format_table(settled.ctx.read(SETTLEMENTS), groups=["GB"])
    lines = text.splitlines()
    assert len(lines) == 4 and lines[0].startswith("contract")
    assert "reduction_not_significant" in lines[1] and "20,000.00" in lines[3]


def test_rows_record_both_estimators_closures(settled):
    """Every member reported: the corrected rates are the weighted ones, so are closures."""
    rows = [r for k, r in settled.by.items() if k[1] == "measure"]
    assert {r["estimator"] for r in rows} == {"weighted"}
    for r in rows:
        assert r["closure_weighted"] == r["closure"]
        if r["closure"] is not None:
            assert r["closure_corrected"] == pytest.approx(r["closure"], abs=1e-9)
        assert r["is_estimator_sensitive"] == (r["tier"] != r["tier_other_estimator"])
        assert not r["is_estimator_sensitive"]


def test_switching_the_estimator_needs_a_baseline_rebuild(spark, settled, tmp_path):
    ctx = settled.ctx
    shutil.copytree(ctx.settings.config.lakehouse, tmp_path / "lakehouse")
    switched = dataclasses.replace(
        ctx.settings,
        config=ctx.settings.config.with_overrides(lakehouse=str(tmp_path / "lakehouse")),
        stats=dataclasses.replace(ctx.settings.stats, estimator="corrected"),
    )
    again = RunContext.create(spark, switched, "switched")
    with pytest.raises(P4eError, match=r"frozen with the weighted estimator.*--rebuild"):
        settle(again, contract_ids=["CA"], years=[2023])
    baseline_step(again, contract_ids=["CA"], rebuild=True, reason="pay on the corrected rates")
    frozen = again.read(CONTRACT_BASELINES).filter(F.col("contract_id") == "CA").collect()
    assert {r["estimator"] for r in frozen} == {"corrected"}
    settle(again, contract_ids=["CA"], years=[2023])
    row = measure_row(again, "CA")
    assert row["estimator"] == "corrected" and row["closure"] == row["closure_corrected"]
    assert row["closure_weighted"] == pytest.approx(row["closure"], abs=1e-9)
