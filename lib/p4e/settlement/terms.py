"""What a contract changes in the stats settings, and the settings it refuses."""

from __future__ import annotations

import dataclasses

from p4e.config.contracts import Contract
from p4e.config.stats import StatsSettings
from p4e.errors import ConfigError


def contract_settings(settings: StatsSettings, contract: Contract) -> StatsSettings:
    """The stats settings with the contract's baseline years and eligibility overrides.

    Raises:
        ConfigError: the contract's dimension or scope differ from those the gold tables
            were computed with, or the stats summarise gaps other than by weighted mean
            (the contract gap is a weighted mean of floored focus gaps).
    """
    if settings.gap_summary != "weighted_mean":
        raise ConfigError(
            f"stats.gap_summary is {settings.gap_summary!r}: settlement pays on the weighted "
            "mean of the focus gaps; settle on a run configured with gap_summary: weighted_mean"
        )
    for field, mine, theirs in (
        ("dimension", contract.dimension, settings.dimension),
        ("scope", contract.scope, settings.scope),
    ):
        if mine != theirs:
            raise ConfigError(
                f"{contract.source}: {field} is {mine!r} but the gold tables are computed "
                f"with {theirs!r}; settle it on a run configured for {mine!r}"
            )
    rule = dataclasses.replace(
        settings.eligibility, baseline_years=contract.baseline_years, **contract.eligibility
    )
    return dataclasses.replace(settings, eligibility=rule)
