"""Subgroup rates, equity gaps, bootstrap precision and eligibility (SPEC §5, §6).

Pipeline: member rows -> distinct profiles per (group, year) in Spark (`profiles`) ->
multinomial bootstrap per group-year on the executors (`bootstrap`) -> gold tables
(`outputs`) -> baseline eligibility (`eligibility`). `run(ctx)` is the step.
"""

from p4e.stats.settings import StatsSettings, load_settings
from p4e.stats.step import compute_cells, run, stats_tables

__all__ = ["StatsSettings", "compute_cells", "load_settings", "run", "stats_tables"]
