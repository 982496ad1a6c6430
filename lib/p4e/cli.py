"""The `p4e` command: generate or import a lakehouse, run pipeline steps, run the demo."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence

from pyspark.sql import SparkSession

from p4e.config import Settings, load_config, load_settings
from p4e.errors import P4eError
from p4e.pipeline import STEPS, run_steps
from p4e.session import build_session

log = logging.getLogger("p4e")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be greater than 0")
    return value


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--conf", help="main configuration YAML (default: the shipped conf/p4e.yaml)"
    )
    common.add_argument("--lakehouse", help="lakehouse root folder or URI (overrides the config)")

    parser = argparse.ArgumentParser(
        prog="p4e", description="Pay-for-equity measurement and settlement on Spark and Delta Lake."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    generate = commands.add_parser(
        "generate", parents=[common], help="write a synthetic lakehouse of raw input tables"
    )
    generate.add_argument("--members", type=_positive, help="number of members (default: config)")
    generate.add_argument("--seed", type=int, help="random seed (default: config)")

    imports = commands.add_parser(
        "import", parents=[common], help="map another data model into the input layer (raw/)"
    )
    imports.add_argument("model", choices=["omop"], help="source data model (OMOP CDM v5.4)")
    imports.add_argument(
        "--source", required=True, help="folder of the extract's tables (CSV or Parquet)"
    )
    imports.add_argument("--payer", help="payer of the spans (default: the plan's first payer)")

    run = commands.add_parser("run", parents=[common], help="run one pipeline step, or 'nightly'")
    run.add_argument("step", choices=[*STEPS, "nightly"], help="step to run")
    run.add_argument(
        "--year", type=_positive, action="append", help="measurement year (repeatable)"
    )
    run.add_argument(
        "--contract", action="append", help="settle only this contract id (repeatable; settle)"
    )
    run.add_argument(
        "--all-years",
        action="store_true",
        help="nightly: compute every year, not only those whose inputs changed",
    )

    report = commands.add_parser(
        "report", parents=[common], help="write the HTML reports and the data dictionary"
    )
    report.add_argument(
        "--year", type=_positive, action="append", help="report year (repeatable; default: all)"
    )
    report.add_argument(
        "--group", action="append", help="group report of this group only (repeatable)"
    )

    baseline = commands.add_parser(
        "baseline",
        parents=[common],
        help="freeze contract baselines (gold/contract_baselines), or rebuild them",
    )
    baseline.add_argument("--contract", action="append", help="contract id (repeatable)")
    baseline.add_argument(
        "--rebuild", action="store_true", help="replace the frozen baselines (needs --reason)"
    )
    baseline.add_argument("--reason", help="why the baselines are rebuilt (logged)")

    demo = commands.add_parser(
        "demo", parents=[common], help="generate a small lakehouse and run every step on it"
    )
    demo.add_argument("--members", type=_positive, help="number of members (default: config)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `p4e` console script and of the `jobs/` scripts."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(name)s %(message)s", datefmt="%H:%M:%S"
    )
    args = build_parser().parse_args(argv)
    try:
        cfg = load_config(args.conf, lakehouse=args.lakehouse)
        if getattr(args, "year", None):
            cfg = cfg.with_overrides(years=sorted(set(args.year)))
        settings = load_settings(cfg)
        commands = {
            "generate": _generate,
            "import": _import,
            "run": _run,
            "report": _report,
            "baseline": _baseline,
            "demo": _demo,
        }
        return commands[args.command](settings, args)
    except P4eError as exc:
        print(f"p4e: error: {exc}", file=sys.stderr)
        return 1


def _generate(settings: Settings, args: argparse.Namespace) -> int:
    _generate_with(build_session(settings), settings, args.members, args.seed)
    return 0


def _generate_with(
    spark: SparkSession, settings: Settings, members: int | None, seed: int | None
) -> None:
    from p4e.generate import generate_lakehouse

    members = members or settings.generate.members
    seed = seed if seed is not None else settings.generate.seed
    started = time.perf_counter()
    counts = generate_lakehouse(spark, settings, members=members, seed=seed)
    log.info(
        "generated %s members (seed %s) in %.1f s under %s/raw: %s",
        members,
        seed,
        time.perf_counter() - started,
        settings.config.lakehouse,
        ", ".join(f"{t}={n}" for t, n in counts.items()),
    )


def _import(settings: Settings, args: argparse.Namespace) -> int:
    from p4e.imports.omop import import_omop

    import_omop(build_session(settings), settings, args.source, payer=args.payer)
    return 0


def _run(settings: Settings, args: argparse.Namespace) -> int:
    if args.contract and args.step not in ("settle", "nightly"):
        raise P4eError("--contract applies to the settle step only")
    if args.all_years and args.step != "nightly":
        raise P4eError("--all-years applies to the nightly only")
    spark = build_session(settings)
    nightly = args.step == "nightly"
    steps = list(STEPS) if nightly else [args.step]
    options = {"settle": {"contract_ids": args.contract}} if args.contract else {}
    run_steps(
        spark, settings, steps, options=options, changed_years_only=nightly and not args.all_years
    )
    return 0


def _report(settings: Settings, args: argparse.Namespace) -> int:
    spark = build_session(settings)
    run_steps(spark, settings, ["report"], options={"report": {"groups": args.group}})
    log.info("reports written under %s/reports", settings.config.lakehouse)
    return 0


def _baseline(settings: Settings, args: argparse.Namespace) -> int:
    if args.rebuild and not args.reason:
        raise P4eError("--rebuild needs --reason: why the frozen baselines are replaced")
    options = {"contract_ids": args.contract, "rebuild": args.rebuild, "reason": args.reason}
    spark = build_session(settings)
    run_steps(spark, settings, ["baseline"], options={"baseline": options}, reason=args.reason)
    return 0


def _demo(settings: Settings, args: argparse.Namespace) -> int:
    lakehouse = settings.config.lakehouse
    spark = build_session(settings)
    _generate_with(spark, settings, args.members, None)
    record = run_steps(spark, settings, list(STEPS))
    print(f"\np4e demo finished (run {record.run_id}). Outputs are Delta tables under {lakehouse}:")
    for key, version in sorted(record.versions_written.items()):
        print(f"  {lakehouse}/{key}  (version {version})")
    print(f"  {lakehouse}/gold/job_runs  (the run log)")
    print(f"Reports (HTML, one folder per year) and the data dictionary: {lakehouse}/reports/")
    return 0
