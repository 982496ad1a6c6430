"""The measure step through the real Delta path: silver in, gold/member_measures out."""

from __future__ import annotations

from datetime import date

import p4e.events
import p4e.membership
from p4e.config import load_settings
from p4e.context import RunContext
from p4e.measures import run
from p4e.tables import INPUTS, MEMBER_MEASURES
from p4e.tables.vocabulary import UNATTRIBUTED
from test_measures_lake import Lake

SPANS = ((date(2021, 1, 1), date(2023, 12, 31)),)  # COL reads MY-1 too
GROUPS = (("G1", 2022), ("G1", 2023))


def _lake() -> Lake:
    lake = Lake()
    # screened in 2022 by FOBT (counts in 2022 only), colonoscopy added later in the test
    lake.member("screened", date(1960, 1, 1), spans=SPANS, groups=GROUPS)
    lake.claim("screened", date(2022, 5, 5), "CPT", "82270")
    lake.member("moved", date(1960, 1, 1), spans=SPANS, groups=(("G2", 2022),))
    lake.member("died", date(1960, 1, 1), spans=SPANS, groups=GROUPS, death=date(2023, 2, 1))
    return lake


def _write_silver(ctx: RunContext, lake: Lake) -> None:
    """The inputs as validated (silver), then the membership and events steps (in a run
    of their own, reading the silver just written)."""
    ctx = RunContext.create(ctx.spark, ctx.settings, "silver")
    for name, df in lake.frames(ctx.spark).items():
        ctx.store.write(df, ctx.path(INPUTS[name].in_layer("silver")), "overwrite")
    p4e.membership.run(ctx)
    p4e.events.run(ctx)


def _gold(ctx: RunContext, version: int | None = None) -> set[tuple]:
    df = ctx.store.read(ctx.path(MEMBER_MEASURES), version)
    rows = df.filter("measure_id = 'COL'").collect()
    return {
        (r["year"], r["member_id"], r["group_id"], r["is_denominator"], r["exclusion_reason"],
         r["is_numerator"], r["numerator_date"])
        for r in rows
    }  # fmt: skip


def test_run_writes_each_year_and_recomputes_one_year_only(spark, cfg):
    ctx = RunContext.create(spark, load_settings(cfg.with_overrides(years=[2022, 2023])))
    lake = _lake()
    _write_silver(ctx, lake)
    run(ctx)
    table = ctx.path(MEMBER_MEASURES)
    first_version = ctx.store.version(table)
    assert ctx.store.schema(table)[1] == ["year"]
    before = _gold(ctx)
    assert before == {
        (2022, "screened", "G1", True, None, True, date(2022, 5, 5)),
        (2022, "moved", "G2", True, None, False, None),
        (2022, "died", "G1", True, None, False, None),
        (2023, "screened", "G1", True, None, False, None),
        (2023, "moved", UNATTRIBUTED, True, None, False, None),
        (2023, "died", "G1", True, "death", False, None),
    }

    # New evidence: a 2023 colonoscopy. Recompute 2023 only.
    lake.claim("screened", date(2023, 3, 3), "CPT", "45378")
    _write_silver(ctx, lake)
    rerun = RunContext.create(spark, load_settings(cfg.with_overrides(years=[2023])))
    run(rerun)
    assert ctx.store.version(table) == first_version + 1
    after = _gold(ctx)
    assert {r for r in after if r[0] == 2022} == {r for r in before if r[0] == 2022}
    assert (2023, "screened", "G1", True, None, True, date(2023, 3, 3)) in after
    assert (2023, "screened", "G1", True, None, False, None) not in after
    assert len(after) == len(before)
    # the previous version is still the old result (time travel)
    assert _gold(ctx, first_version) == before
    assert rerun.versions_written == {"gold/member_measures": first_version + 1}
