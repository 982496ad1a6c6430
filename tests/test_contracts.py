"""Contract files: the shipped examples load, and every invalid field is named in the error."""

from __future__ import annotations

import copy
from decimal import Decimal
from pathlib import Path

import pytest

from p4e.config.contracts import load_contracts, parse_contract
from p4e.errors import ConfigError
from p4e.generate.scenarios import SCENARIO_GROUPS

MEASURES = {"COL", "BCS", "CBP", "GSD", "GSD_POOR", "WCV"}
FILE = Path("conf/contracts/test.yaml")
VALID = {
    "id": "C1",
    "groups": ["G1"],
    "term": {"start_year": 2023, "years": 3},
    "baseline_years": [2021, 2022],
    "scope": "plan",
    "dimension": "race_ethnicity",
    "reference": "fixed",
    "measures": [{"id": "COL", "weight": 0.5}, {"id": "WCV", "weight": 0.3}],
    "eligibility": {"max_mdc_share": 0.4},
    "payout": {
        "method": "tiers",
        "tiers": [{"closure": 0.25, "share": 0.25}, {"closure": 0.5, "share": 0.5}],
    },
    "downside": {"share": 0.25},
    "completeness": {"weight": 0.2, "tiers": [{"self_reported": 0.5, "share": 0.5}]},
    "pool": {"pmpm": 2.5},
}


def test_a_valid_contract_loads_with_defaults_and_decimals():
    c = parse_contract(FILE, VALID, MEASURES)
    assert c.contract_id == "C1" and c.groups == ("G1",)
    assert c.performance_years == (2023, 2024, 2025)
    assert c.measures[1].weight == Decimal("0.3")  # from the YAML text, not a float
    assert c.guard_tolerance == 0.01 and c.elimination_threshold == 0.01
    assert c.guard_test == "point" and c.credit_confidence == 0.99
    assert c.baseline_vintage == "restated" and c.reference == "fixed"
    assert c.ineligible == "renormalise" and c.eligibility == {"max_mdc_share": 0.4}
    assert c.payout.eliminated_share == 1 and c.payout.maintenance_share == 0
    assert isinstance(c.payout.eliminated_share, Decimal)
    assert c.downside_share == Decimal("0.25")
    assert (c.pool.kind, c.pool.amount) == ("pmpm", Decimal("2.5"))


def test_a_former_measure_id_names_the_measure_it_became():
    known = {**{m: m for m in MEASURES}, "HBD": "GSD"}
    data = {**VALID, "measures": [{"id": "HBD", "weight": 0.5}, {"id": "WCV", "weight": 0.3}]}
    assert [m.measure_id for m in parse_contract(FILE, data, known).measures] == ["GSD", "WCV"]


def test_the_shipped_examples_cover_every_planted_scenario(base_config):
    contracts = load_contracts(base_config.conf_path("contracts"), MEASURES)
    groups = {g for c in contracts.values() for g in c.groups}
    assert groups == set(SCENARIO_GROUPS.values())


def _set(path: str, value):
    data = copy.deepcopy(VALID)
    *parents, last = path.split(".")
    node = data
    for key in parents:
        node = node[int(key)] if key.isdigit() else node[key]
    if value is _DELETE:
        del node[last]
    elif last.isdigit():
        node[int(last)] = value
    else:
        node[last] = value
    return data


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "named"),
    [
        ("id", _DELETE, "id"),
        ("colour", "red", "colour"),
        ("groups", [], "groups"),
        ("groups", ["G1", "G1"], "groups"),
        ("term", _DELETE, "term"),
        ("term.start_year", "2023", "term.start_year"),
        ("term.years", 0, "term.years"),
        ("baseline_years", [2021, 2023], "baseline_years"),
        ("baseline_years", [2021, 2021], "baseline_years"),
        ("scope", "everyone", "scope"),
        ("reference", "worst", "reference"),
        ("dimension", "", "dimension"),
        ("measures", [], "measures"),
        ("measures.0.id", "XYZ", "measures[0].id"),
        ("measures.1.weight", -0.1, "measures[1].weight"),
        ("measures.1.weight", 0.4, "measures"),  # weights no longer sum to 1
        ("measures.1", {"id": "COL", "weight": 0.3}, "measures"),
        ("measures.0.weigth", 0.5, "measures[0].weigth"),
        ("ineligible", "keep", "ineligible"),
        ("eligibility.max_mdc_share", "small", "eligibility.max_mdc_share"),
        ("eligibility.max_mdc_share", 1.5, "eligibility.max_mdc_share"),
        ("baseline_vintage", "latest", "baseline_vintage"),
        ("credit_confidence", 2, "credit_confidence"),
        ("payout.no_baseline_gap_share", 1, "payout.no_baseline_gap_share"),
        ("eligibility.min_size", 3, "eligibility.min_size"),
        ("guard_tolerance", -0.01, "guard_tolerance"),
        ("guard_test", "strict", "guard_test"),
        ("elimination_threshold", "1pp", "elimination_threshold"),
        ("payout.method", "steps", "payout.method"),
        ("payout.tiers", [], "payout.tiers"),
        ("payout.tiers.1.share", 1.5, "payout.tiers[1].share"),
        ("payout.tiers.1.closure", 0.2, "payout.tiers"),  # not increasing
        ("payout.eliminated_share", 2, "payout.eliminated_share"),
        ("downside.share", "a lot", "downside.share"),
        ("completeness.weight", _DELETE, "completeness.weight"),
        ("completeness.tiers.0.self_reported", 1.2, "completeness.tiers[0].self_reported"),
        ("pool", {"fixed": 1, "pmpm": 2}, "pool"),
        ("pool", {"fixed": -5}, "pool.fixed"),
        ("pool", {"bonus": 5}, "pool.bonus"),
    ],
)
def test_each_invalid_field_is_named_with_the_file(path, value, named):
    with pytest.raises(ConfigError) as error:
        parse_contract(FILE, _set(path, value), MEASURES)
    message = str(error.value)
    assert message.startswith(f"{FILE}: {named} "), message


def test_two_files_with_one_id_are_refused(base_config, tmp_path):
    for name in ("a.yaml", "b.yaml"):
        (tmp_path / name).write_text(
            "id: SAME\n"
            + Path("conf/contracts/g901_closes_gap.yaml").read_text().split("id: C-G901\n", 1)[1]
        )
    cfg = base_config.with_overrides(paths={**base_config["paths"], "contracts": str(tmp_path)})
    with pytest.raises(ConfigError, match=r"b\.yaml: id 'SAME' is already used by .*a\.yaml"):
        load_contracts(cfg.conf_path("contracts"), MEASURES)
