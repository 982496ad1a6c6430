"""The settlement rows of one contract, performance year and group, amounts in Decimal.

Per (contract, year, group): one row per measure (level 'measure'), one for the
completeness component ('completeness') and one 'total'. The figures, the rule that
settled and the distribution of the money come from the group's performance panel
(`p4e.settlement.decide`); the paid amounts are the observed rules' Decimal shares
(`p4e.settlement.rules.share_of`), rounded so the components add up to the total
(`p4e.settlement.payout`). Columns: `p4e.tables.SETTLEMENTS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from p4e.config.contracts import Contract
from p4e.settlement.payout import allocate, exact_amount, measure_weights, pool_amount
from p4e.settlement.rules import share_of
from p4e.settlement.tiers import completeness_outcome
from p4e.tables import SETTLEMENTS
from p4e.tables.vocabulary import COMPLETENESS_LEVEL, MEASURE_LEVEL, TOTAL_LEVEL

WEIGHT_QUANTUM = Decimal("0.0000000001")
COLUMNS = SETTLEMENTS.names
Row = dict[str, Any]


@dataclass(frozen=True)
class GroupYear:
    """The money of one (contract, group, performance year), fixed before its panel runs.

    Attributes:
        weights: measure id -> upside weight after the `ineligible` rule.
        pool: the group's pool for the year.
        member_months: for PMPM pools.
        share_self_reported: the group's completeness.
    """

    contract: Contract
    group_id: str
    year: int
    weights: Mapping[str, Decimal]
    pool: Decimal
    member_months: int | None
    share_self_reported: float | None

    @property
    def completeness(self) -> tuple[str, Decimal, Decimal]:
        """Tier, share and exact amount of the completeness component."""
        tier, share = completeness_outcome(self.share_self_reported, self.contract)
        return tier, share, self.pool * self.contract.completeness.weight * share


def group_year(
    contract: Contract,
    group_id: str,
    year: int,
    counted: Mapping[str, bool],
    member_months: int | None,
    share_self_reported: float | None,
) -> GroupYear:
    """The weights and pool of a group-year (`counted`: measure -> eligible or maintenance)."""
    return GroupYear(
        contract,
        group_id,
        year,
        measure_weights(contract, counted),
        pool_amount(contract, member_months or 0),
        member_months,
        share_self_reported,
    )


def settlement_rows(
    money: GroupYear, results: Mapping[str | None, Mapping[str, Any]], versions: dict[str, int]
) -> list[Row]:
    """The measure, completeness and total rows of one group and year.

    Args:
        money: the group-year's weights and pool.
        results: measure id -> the panel's result row (None: the total row).
        versions: "layer/table" -> Delta version read, written to `input_versions`.
    """
    contract = money.contract
    common = {
        **dict.fromkeys(COLUMNS),
        "contract_id": contract.contract_id,
        "year": money.year,
        "group_id": money.group_id,
        "dimension": contract.dimension,
        "baseline_years": list(contract.baseline_years),
        "pool": money.pool,
        "member_months": money.member_months,
        "input_versions": versions,
    }
    measure_rows, exact = [], []
    for term in contract.measures:
        result = results.get(term.measure_id) or _no_data(term.measure_id)
        share = share_of(result["tier"], result.get("closure") or 0.0, contract)
        weight = money.weights[term.measure_id]
        exact.append(exact_amount(money.pool, weight, term.weight, share))
        measure_rows.append(
            {
                **common,
                **{k: v for k, v in result.items() if k in common},
                "level": MEASURE_LEVEL,
                "baseline_vintage": contract.baseline_vintage,
                "share": share,
                "contract_weight": term.weight.quantize(WEIGHT_QUANTUM),
                "weight": weight.quantize(WEIGHT_QUANTUM),
                "is_near_threshold": bool(result.get("near_threshold")),
            }
        )
    tier, share, completeness = money.completeness
    amounts, total = allocate([*exact, completeness])
    rows = [{**row, "amount": amount} for row, amount in zip(measure_rows, amounts, strict=False)]
    weight = contract.completeness.weight.quantize(WEIGHT_QUANTUM)
    rows.append(
        {
            **common,
            "level": COMPLETENESS_LEVEL,
            "share_self_reported": money.share_self_reported,
            "tier": tier,
            "share": share,
            "contract_weight": weight,
            "weight": weight,
            "amount": amounts[-1],
        }
    )
    summary = results.get(None, {})
    rows.append(
        {
            **common,
            **{k: v for k, v in summary.items() if k in common and k != "measure_id"},
            "level": TOTAL_LEVEL,
            "amount": total,
        }
    )
    return rows


def _no_data(measure_id: str) -> Row:
    """A measure the panel had no member for."""
    return {"measure_id": measure_id, "tier": "ineligible", "is_eligible": False,
            "eligibility_reasons": ["no_data"]}  # fmt: skip
