"""The planted contracts settled on a generated lakehouse: what each is paid, and how sure.

Generates a lakehouse (or reuses one of the same size and seed in the work folder),
runs the nightly, then prints for every planted contract: per measure its frozen
eligibility (and reasons), per year the rule that settled, the paid amount, the
expected amount and the 5-95% interval over the decision replicates; per year the
contract's total. Writes the same as JSON.

    .venv/bin/python benchmarks/settlement.py --members 100000 --workdir /tmp/p4e-settle \\
        --json /tmp/p4e-settle/settlement.json
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from pathlib import Path

from pyspark.sql import functions as F

from p4e.config import load_config, load_settings
from p4e.context import RunContext
from p4e.generate import SCENARIO_GROUPS, generate_lakehouse
from p4e.pipeline import STEPS, run_steps
from p4e.session import build_session
from p4e.tables import CONTRACT_BASELINES, SETTLEMENTS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=20230101)
    parser.add_argument("--workdir", default=None, help="lakehouses go here (default: tmp)")
    parser.add_argument("--driver-memory", default="4g")
    parser.add_argument("--json", default=None, help="write the figures here as JSON")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="p4e-settle-"))
    lakehouse = workdir / f"m{args.members}-s{args.seed}"
    settings = load_settings(load_config().with_overrides(lakehouse=str(lakehouse)))
    spark = build_session(settings, {"spark.driver.memory": args.driver_memory})
    if not (lakehouse / "raw" / "eligibility" / "_delta_log").exists():
        generate_lakehouse(spark, settings, members=args.members, seed=args.seed)
    started = time.perf_counter()
    record = run_steps(spark, settings, list(STEPS), run_id=f"settle-{args.members}")
    print(f"nightly {time.perf_counter() - started:.1f} s; steps {record.step_seconds}")

    ctx = RunContext.create(spark, settings)
    planted = {g: s for s, g in SCENARIO_GROUPS.items()}
    baselines = ctx.read(CONTRACT_BASELINES).collect()
    rows = ctx.read(SETTLEMENTS).filter(F.col("level") != "completeness").collect()
    out = []
    for contract in sorted({r["contract_id"] for r in rows}):
        group = next(r["group_id"] for r in rows if r["contract_id"] == contract)
        frozen = sorted((b for b in baselines if b["contract_id"] == contract),
                        key=lambda b: b["measure_id"])  # fmt: skip
        eligible = [b["measure_id"] for b in frozen if b["is_eligible"]]
        print(f"\n{contract} ({group}, {planted.get(group, 'background')}): "
              f"eligible on {len(eligible)} measures {eligible}")  # fmt: skip
        for b in frozen:
            gap = "" if b["baseline_gap"] is None else f"gap {b['baseline_gap']:+.3f}"
            mdc = "" if b["mdc80"] is None else f" mdc80 {b['mdc80']:.3f}"
            print(f"  {b['measure_id']:>8}: {gap}{mdc} {list(b['reasons']) or 'eligible'}")
        for r in sorted(
            (r for r in rows if r["contract_id"] == contract),
            key=lambda r: (r["year"], r["level"] != "measure", r["measure_id"] or ""),
        ):
            label = r["measure_id"] or "TOTAL"
            figures = {
                "contract_id": contract, "group_id": group, "year": r["year"], "level": r["level"],
                "measure_id": r["measure_id"], "tier": r["tier"], "amount": float(r["amount"]),
                "expected_amount": r["expected_amount"], "amount_p05": r["amount_p05"],
                "amount_p95": r["amount_p95"], "p_zero": r["p_zero"],
                "closure": r["closure"], "credited_reduction": r["credited_reduction"],
                "reference_decline": r["reference_decline"],
            }  # fmt: skip
            out.append(figures)
            if r["level"] == "measure" and not r["is_eligible"]:
                continue
            tier = r["tier"] or ""
            print(f"  {r['year']} {label:>8} {tier:<26} paid {float(r['amount']):>10,.2f}  "
                  f"expected {r['expected_amount'] or 0:>10,.2f}  "
                  f"5-95% [{r['amount_p05'] or 0:,.0f}, {r['amount_p95'] or 0:,.0f}]")  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
