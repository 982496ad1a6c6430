"""Weighted and corrected equity gaps against the truth planted in a generated lakehouse.

Generates a lakehouse (unless it is there), runs the steps up to the rates, then, per
(provider group, measure, year), compares the summary equity gap of both estimators
(`gold/equity_gaps.gap`, `gap_corrected`) with the true one: the same weighted mean of
oriented gaps over the same scored focus subgroups, from the members' true categories
(the generator's hidden truth) and true sizes. Cells are those with both gaps defined;
the verdict counts the cells with at least `--min-imputed` of their rate population
imputed. Prints the table per year and planted group, the share of cells where the
corrected gap is closer to the truth, and the mean absolute error of each.

    .venv/bin/python benchmarks/estimators.py --members 100000 --workdir /tmp/est
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import pandas as pd
from pyspark.sql import functions as F

from p4e.config import load_config, load_settings
from p4e.session import build_session

STEPS = ["validate", "membership", "events", "demographics", "measures", "rates"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=20230101)
    parser.add_argument("--config", default=None, help="main configuration (default: shipped)")
    parser.add_argument("--workdir", default=None, help="the lakehouse goes here")
    parser.add_argument("--min-imputed", type=float, default=0.3)
    parser.add_argument("--driver-memory", default="4g", help="local driver JVM memory")
    parser.add_argument("--json", default=None, help="write the cell table here")
    parser.add_argument(
        "--compare-only", action="store_true", help="read the lakehouse's gold tables as they are"
    )
    args = parser.parse_args(argv)
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="p4e-bench-estimators-"))
    lake = workdir / f"m{args.members}-s{args.seed}"
    settings = load_settings(load_config(args.config).with_overrides(lakehouse=str(lake)))
    spark = build_session(settings, {"spark.driver.memory": args.driver_memory})
    from p4e.generate import generate_lakehouse
    from p4e.pipeline import run_steps

    started = time.perf_counter()
    if not args.compare_only:
        if not (lake / "raw").exists():
            generate_lakehouse(spark, settings, members=args.members, seed=args.seed)
        run_steps(spark, settings, STEPS, run_id="bench-estimators")
        print(f"lakehouse and steps: {time.perf_counter() - started:.0f} s")
    cells = compare(spark, settings, args.members, args.seed)
    report(cells, args.min_imputed)
    if args.json:
        Path(args.json).write_text(cells.to_json(orient="records", indent=1))
    return 0


def compare(spark, settings, members: int, seed: int) -> pd.DataFrame:
    """One row per (group, measure, year): true, weighted and corrected equity gap."""
    from p4e.context import RunContext
    from p4e.generate import population, rates
    from p4e.generate.plan import make_plan
    from p4e.tables import EQUITY_GAPS, MEMBER_DEMOGRAPHICS, MEMBER_MEASURES, TRUTH_RATES

    ctx = RunContext.create(spark, settings)
    stats = settings.stats
    plan = make_plan(settings, members=members, seed=seed, measures=rates.MEASURES)
    hidden = population.members_frame(spark, plan).select(
        "member_id", F.col("category").alias("true_category")
    )
    in_rate = ctx.read(MEMBER_MEASURES).filter(F.col("is_in_rate"))
    if stats.scope == "plan":
        in_rate = in_rate.filter(F.col("is_plan_member"))
    imputed = F.col("source").isin("imputed", "declined")
    demo = ctx.read(MEMBER_DEMOGRAPHICS).select("member_id", "year", imputed.alias("imputed"))
    members_ = in_rate.join(hidden, "member_id").join(demo, ["member_id", "year"], "left")
    keys = ["group_id", "measure_id", "year"]
    truth = (
        members_.groupBy(*keys, "true_category")
        .agg(F.count("*").alias("n"), F.sum(F.col("is_numerator").cast("int")).alias("k"))
        .toPandas()
    )
    shares = (
        members_.groupBy(*keys)
        .agg(F.avg(F.coalesce(F.col("imputed"), F.lit(False)).cast("double")).alias("imputed"))
        .toPandas()
    )
    gaps = ctx.read(EQUITY_GAPS).toPandas()
    scenario = ctx.read(TRUTH_RATES).select("group_id", "scenario").distinct().toPandas()
    summary = gaps[(gaps["level"] == "summary") & gaps["gap"].notna()]
    focus = gaps[(gaps["level"] == "subgroup") & gaps["is_scored"]]
    truth = truth.set_index([*keys, "true_category"])
    rows = []
    for cell in summary.itertuples():
        key = (cell.group_id, cell.measure_id, cell.year)
        sign = 1.0 if cell.direction == "higher" else -1.0
        chosen = focus[
            (focus["group_id"] == key[0]) & (focus["measure_id"] == key[1])
            & (focus["year"] == key[2])
        ]["subgroup"]  # fmt: skip
        true_gap = _true_gap(truth, key, cell.reference, list(chosen), sign)
        rows.append(
            {"group_id": key[0], "measure_id": key[1], "year": key[2], "true_gap": true_gap,
             "weighted_gap": cell.gap, "corrected_gap": cell.gap_corrected}
        )  # fmt: skip
    out = pd.DataFrame(rows).merge(shares, on=keys, how="left").merge(scenario, how="left")
    return out.dropna(subset=["true_gap", "weighted_gap", "corrected_gap"])


def _true_gap(truth: pd.DataFrame, key: tuple, reference: str, focus: list[str], sign: float):
    """Weighted mean of the true oriented gaps of `focus`, weights the true sizes."""

    def rate_and_n(category: str) -> tuple[float, float]:
        try:
            row = truth.loc[(*key, category)]
        except KeyError:
            return float("nan"), 0.0
        return row["k"] / row["n"], float(row["n"])

    ref_rate, _ = rate_and_n(reference)
    pairs = [rate_and_n(s) for s in focus]
    total = sum(n for _, n in pairs)
    if not focus or total == 0:
        return float("nan")
    return sum(n * sign * (ref_rate - r) for r, n in pairs if n) / total


def report(cells: pd.DataFrame, min_imputed: float) -> None:
    cells = cells.assign(
        weighted_bias=cells["weighted_gap"] - cells["true_gap"],
        corrected_bias=cells["corrected_gap"] - cells["true_gap"],
    )
    cells = cells.assign(
        weighted_error=cells["weighted_bias"].abs(), corrected_error=cells["corrected_bias"].abs()
    )
    planted = cells[cells["scenario"].notna() & (cells["scenario"] != "background")]
    by_year = planted.groupby(["year", "group_id"])[
        ["imputed", "true_gap", "weighted_gap", "corrected_gap"]
    ].mean()
    print("planted groups, mean over measures:")
    print(by_year.round(4).to_string())
    for name, chosen in (("all groups", cells), ("planted groups", planted)):
        heavy = chosen[chosen["imputed"] >= min_imputed]
        closer = (heavy["corrected_error"] < heavy["weighted_error"]).mean()
        print(
            f"{name}: {len(heavy)} cells with >= {min_imputed:.0%} imputed; corrected closer "
            f"in {closer:.1%}; MAE weighted {heavy['weighted_error'].mean():.4f}, corrected "
            f"{heavy['corrected_error'].mean():.4f}; mean error (bias) weighted "
            f"{heavy['weighted_bias'].mean():+.4f}, corrected {heavy['corrected_bias'].mean():+.4f}"
            f"; all {len(chosen)} cells: MAE weighted {chosen['weighted_error'].mean():.4f}, "
            f"corrected {chosen['corrected_error'].mean():.4f}"
        )
    print(json.dumps({"cells": len(cells)}))


if __name__ == "__main__":
    raise SystemExit(main())
