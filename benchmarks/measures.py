"""Benchmark of the measure step: time `p4e.measures.run` on generated lakehouses.

For each member count: generate a lakehouse (`p4e.generate.generate_lakehouse`),
run the steps before it (validate, membership, events: not timed here), then time
the measure step over every configured year, writing gold/member_measures. Prints
the times and the growth ratio between sizes.

    .venv/bin/python benchmarks/measures.py --members 100000,1000000
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import time
from pathlib import Path

from p4e.config import load_config, load_settings
from p4e.session import build_session

BEFORE = ["validate", "membership", "events"]  # the steps the measure step reads from


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", default="100000,1000000", help="comma-separated sizes")
    parser.add_argument("--seed", type=int, default=20230101)
    parser.add_argument("--config", default=None, help="main configuration (default: shipped)")
    parser.add_argument("--workdir", default=None, help="lakehouses go here (default: a tmp dir)")
    parser.add_argument("--master", default=None, help="Spark master, e.g. local[2]")
    parser.add_argument("--driver-memory", default="4g", help="local driver JVM memory")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.members.split(",") if s.strip()]
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="p4e-bench-measures-"))

    base = load_config(args.config)
    extra = {"spark.driver.memory": args.driver_memory}
    if args.master:
        extra["spark.master"] = args.master
    settings = load_settings(base)
    spark = build_session(settings, extra)
    from p4e.context import RunContext
    from p4e.generate import generate_lakehouse
    from p4e.measures import run
    from p4e.pipeline import run_steps
    from p4e.tables import MEMBER_MEASURES

    timings: list[tuple[int, float, int]] = []
    for n in sizes:
        settings = load_settings(base.with_overrides(lakehouse=str(workdir / f"m{n}")))
        ctx = RunContext.create(spark, settings, run_id=f"bench-measures-{n}")
        started = time.perf_counter()
        generate_lakehouse(spark, settings, members=n, seed=args.seed)
        run_steps(spark, settings, BEFORE, run_id=f"bench-inputs-{n}")
        prepared = time.perf_counter() - started
        started = time.perf_counter()
        run(ctx)
        seconds = time.perf_counter() - started
        rows = ctx.read(MEMBER_MEASURES).count()
        timings.append((n, seconds, rows))
        print(
            f"members={n:>9,d} years={len(ctx.years)} measure step {seconds:8.1f} s "
            f"({rows:,d} member_measures rows; generate+copy {prepared:.1f} s)",
            flush=True,
        )
    for (n0, t0, _), (n1, t1, _) in itertools.pairwise(timings):
        print(f"growth {n0:,d} -> {n1:,d} members (x{n1 / n0:.1f}): time x{t1 / t0:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
