"""Settlement scenarios through the whole pipeline on one hand-built lakehouse.

Seven provider groups, one scenario each, ~300 children per group (100 White = the
reference, 100 Black, 100 Hispanic, all self-reported, born 2010 so in the WCV band
every year). A member is in the WCV numerator of a year iff we give them a well-care
claim that year, so every subgroup rate is exactly the planted count / 100. Baseline
2021-2022, performance 2023. Planted WCV rates (%), white / black / hispanic, per year:

    GA closes       80 80 80 | 50 50 70 | 50 50 70   gap .30 -> .10, closure 2/3 -> tier .5
    GB ref declines 80 80 60 | 50 50 50 | 50 50 50   closure 2/3, guard fails on white (-.20)
    GC focus drops  80 80 80 | 50 50 80 | 50 50 45   gap .30 -> .175, guard fails on hispanic
    GD eliminated   80 80 80 | 50 50 80 | 50 50 80   gap -> 0: full credit (PMPM pool)
    GE widens       80 80 80 | 70 70 40 | 70 70 40   gap .10 -> .40: downside -.25
    GF no gap       70 70 72 | 70 70 70 | 70 70 70   no baseline gap, perf .02 not significant
    GG ineligible   as GA, plus 20 adults in COL only (too few): COL excluded, WCV reweighted

With about 100 members per subgroup the standard errors are ~.04-.06, far from every
decision that uses a CI (baseline gaps of .30/.10 vs 0, change +.30 vs 0, a .02 gap).
The contracts raise max_se to 0.06 (stats default 0.03 would exclude these small groups).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
from chispa import assert_df_equality
from pyspark.sql import Row
from pyspark.sql import functions as F

import p4e.demographics
import p4e.measures
import p4e.stats
from p4e.config import load_settings
from p4e.context import RunContext
from p4e.errors import ConfigError
from p4e.settlement import format_table
from p4e.settlement import run as settle
from p4e.tables import ELIGIBILITY, INPUTS, SETTLEMENTS

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
eligibility: {{max_se: 0.06}}
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


def lakehouse_rows() -> dict[str, list[tuple]]:
    t: dict[str, list[tuple]] = {k: [] for k in INPUTS if k != "provider_groups"}

    def member(mid, group, birth, code, source="self_reported", spans=((*SPAN, "plan"),)):
        t["members"].append((mid, birth, "F", "Ann", "Smith", "02139", None, None))
        t["race_ethnicity"].append((mid, source, code, date(2020, 1, 1)))
        t["enrollment"] += [(mid, payer, start, end) for start, end, payer in spans]
        t["attribution"] += [(mid, group, y) for y in YEARS]

    for group, rates in RATES.items():
        for sub in SUBGROUPS:
            for i in range(100):
                mid = f"{group}-{sub}-{i:03d}"
                # GA: 30 per subgroup provider-reported -> self-reported share 0.7
                source = "provider_reported" if group == "GA" and i < 30 else "self_reported"
                member(mid, group, date(2010, 6, 1), sub, source)
                for year, count in zip(YEARS, rates[sub], strict=True):
                    if i < count:
                        t["claims"].append((f"c{len(t['claims'])}", mid, date(year, 6, 15),
                                            "CPT", "99392", "11"))  # fmt: skip
    for i in range(20):  # GG: 20 adults, the whole COL population (none screened)
        member(f"GG-adult-{i:02d}", "GG", date(1973, 1, 1), SUBGROUPS[i % 2])
    for i in range(5):  # GD: 5 adults enrolled Mar 10 - Aug 20 2023 -> 6 member months each
        member(f"GD-part-{i}", "GD", date(1993, 1, 1), "white",
               spans=((date(2023, 3, 10), date(2023, 8, 20), "plan"),))  # fmt: skip
    # GD: one adult covered only by another payer: no plan member months
    member("GD-other", "GD", date(1993, 1, 1), "white", spans=((*SPAN, "medicare"),))
    return t


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
    for name, rows in lakehouse_rows().items():
        table = INPUTS[name]
        ctx.write(table.in_layer("silver"), spark.createDataFrame(rows, table.schema()))
    for step in (p4e.demographics, p4e.measures, p4e.stats):
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
    assert r["change"] == pytest.approx(-0.20) and r["change_ci_high"] < 0
    assert r["closure"] == pytest.approx(2 / 3)
    assert r["is_guard_passed"] and r["has_baseline_gap"] and not r["is_eliminated"]
    assert (r["tier"], r["share"], r["weight"]) == ("closure>=0.5", D("0.5"), D("0.8"))
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
    assert r["closure"] == pytest.approx(2 / 3)
    assert not r["is_guard_passed"] and r["tier"] == "guard_failed" and r["share"] == 0
    assert r["guard_subgroup"] == "white" and r["guard_decline"] == pytest.approx(0.20)
    assert amounts(by, "CB") == ([D("0.00")], D("20000.00"), D("20000.00"))


def test_a_focus_decline_while_the_gap_narrows_earns_nothing(settled):
    by = settled.by
    r = measure(by, "CC")
    assert r["performance_gap"] == pytest.approx(0.175) and r["closure"] == pytest.approx(5 / 12)
    assert (r["is_guard_passed"], r["guard_subgroup"]) == (False, "hispanic")
    assert r["guard_decline"] == pytest.approx(0.05) and r["share"] == 0


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
    assert amounts(by, "CE") == ([D("-20000.00")], D("20000.00"), D("0.00"))


def test_no_baseline_gap_kept_earns_credit(settled):
    by = settled.by
    r = measure(by, "CF")
    assert r["baseline_ci_low"] <= 0 <= r["baseline_ci_high"] and not r["has_baseline_gap"]
    assert r["performance_gap"] == pytest.approx(0.02) and r["performance_ci_low"] <= 0
    assert r["closure"] is None and r["is_guard_passed"]
    assert (r["tier"], r["share"]) == ("no_baseline_gap_kept", D("1"))
    assert amounts(by, "CF") == ([D("80000.00")], D("20000.00"), D("100000.00"))


def test_an_ineligible_measure_leaves_the_pool_and_weights_renormalise(settled):
    by = settled.by
    col = measure(by, "CG", "COL")
    assert not col["is_eligible"] and "too_few_members" in col["eligibility_reasons"]
    assert (col["tier"], col["weight"], col["amount"]) == ("ineligible", 0, D("0.00"))
    wcv = measure(by, "CG")
    assert wcv["contract_weight"] == D("0.5") and wcv["weight"] == D("0.8")
    assert amounts(by, "CG") == ([D("0.00"), D("40000.00")], D("20000.00"), D("60000.00"))
    # forfeit: WCV keeps its 0.5, COL's 0.3 is not paid
    assert amounts(by, "CG-FORFEIT") == ([D("0.00"), D("25000.00")], D("20000.00"), D("45000.00"))


def test_baseline_is_the_stats_eligibility_with_the_contract_thresholds(settled):
    ctx, by = settled.ctx, settled.by
    gold = ctx.read(ELIGIBILITY).filter(F.col("group_id") == "GA").collect()
    stats = {r["measure_id"]: r for r in gold}["WCV"]
    r = measure(by, "CA")
    assert (r["baseline_gap"], r["baseline_se"]) == (stats["baseline_equity_gap"], stats["se"])
    # gold/eligibility uses the stats cap 0.03; the contract's 0.06 decides the settlement
    assert stats["is_eligible"] == (stats["se"] <= 0.03) and r["is_eligible"]
    assert r["input_versions"] == {
        k: v for k, v in ctx.versions_read.items() if k in r["input_versions"]
    } and set(r["input_versions"]) >= {"gold/equity_gaps", "gold/gap_replicates"}


def test_settling_again_gives_identical_rows_and_touches_only_its_partition(spark, settled):
    version = settled.version
    ctx = RunContext.create(spark, settled.ctx.settings, "again")
    assert settle(ctx, contract_ids=["CB"], years=[2023]) == {"CB/2023": 3}
    versions_as_json = F.to_json("input_versions")  # maps cannot be sorted for the comparison
    assert_df_equality(
        ctx.store.read(ctx.path(SETTLEMENTS), version).withColumn(
            "input_versions", versions_as_json
        ),
        ctx.read(SETTLEMENTS).withColumn("input_versions", versions_as_json),
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
    assert "FAIL white -0.200" in lines[1] and "20,000.00" in lines[3]
