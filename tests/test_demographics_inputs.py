"""Bad demographic inputs: quarantine with a reason, and dimension configuration errors."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from p4e.config import load_settings
from p4e.config.dimension import parse_dimension
from p4e.context import RunContext
from p4e.demographics import bisg_probabilities, run
from p4e.errors import ConfigError, P4eError
from p4e.membership import members
from p4e.tables import INPUTS
from p4e.validation import split_rows
from p4e.validation.rules import table_rules

D = dt.date(2023, 5, 1)
GOOD = [
    ("M1", "self_reported", "white", D),
    ("M2", "provider_reported", "DECLINED", D),
]
BAD = {
    ("M3", "self_reported", "martian", D): "unknown category code",
    ("M4", "self_reported", "White", D): "unknown category code",  # codes are case-sensitive
    ("M5", "hearsay", "black", D): "source is not one of self_reported, provider_reported",
    (None, "self_reported", "black", D): "null key person_id",
    ("M6", "self_reported", "black", None): "null key recorded_date",
}


@pytest.fixture(scope="module")
def settings(base_config):
    return load_settings(base_config)


@pytest.fixture(scope="module")
def race(settings):
    return settings.dimension


def _rules(settings, table):
    race = settings.dimension
    return table_rules(
        table,
        settings,
        answer_codes=[*race.codes, race.declined_code],
        answer_sources=list(race.reported_sources),
    )


def test_bad_answers_are_quarantined_with_reasons(spark, settings):
    """The validation step takes the allowed codes and sources from the dimension."""
    records = spark.createDataFrame(GOOD + list(BAD), INPUTS["race_ethnicity"].schema())
    rules = _rules(settings, "race_ethnicity")
    accepted, quarantined, _ = split_rows(records, "race_ethnicity", rules)
    assert sorted(r["person_id"] for r in accepted.collect()) == ["M1", "M2"]
    got = quarantined.collect()
    assert records.count() == accepted.count() + len(got)  # input = accepted + rejected
    assert {(r["table"], r["action"]) for r in got} == {("race_ethnicity", "rejected")}
    by_row = {tuple(json.loads(r["row_json"]).values()): r["reason"] for r in got}
    for (member, source, code, date), reason in BAD.items():
        assert reason in by_row[(member, source, code, date and date.isoformat())]


def test_malformed_zip_is_flagged_and_the_member_imputed_from_surname(spark, settings):
    rows = [("M1", "63144"), ("M2", "6314"), ("M3", "63a44"), ("M4", "63144-1234")]
    spans = spark.createDataFrame(
        [(m, "female", D, None, D, None, "plan", None, "Ann", "Smith", z, None) for m, z in rows],
        INPUTS["eligibility"].schema(),
    )
    accepted, quarantined, _ = split_rows(spans, "eligibility", _rules(settings, "eligibility"))
    notes = {json.loads(r["row_json"])["person_id"]: r for r in quarantined.collect()}
    assert sorted(notes) == ["M2", "M3"]
    assert {r["action"] for r in notes.values()} == {"flagged"}
    race = settings.dimension
    people = members(accepted, settings.inputs.genders)
    basis = {
        r["member_id"]: r["basis"]
        for r in bisg_probabilities(spark, people, race.bisg, race.codes).collect()
    }
    # ZIP+4 is read by its first five digits; ANN is on the first-name list (BIFSG)
    assert basis == {
        "M1": "first_name+surname+zcta",
        "M2": "first_name+surname",
        "M3": "first_name+surname",
        "M4": "first_name+surname+zcta",
    }


def test_step_refuses_unvalidated_answers(spark, cfg):
    ctx = RunContext.create(spark, load_settings(cfg))
    rows = [("M1", "self_reported", "martian", D)]
    answers = INPUTS["race_ethnicity"]
    ctx.write(answers.in_layer("silver"), spark.createDataFrame(rows, answers.schema()))
    with pytest.raises(P4eError, match="martian"):
        run(ctx)


def test_shipped_race_dimension(race):
    assert race.prob_columns == (
        "p_hispanic",
        "p_white",
        "p_black",
        "p_asian",
        "p_aian",
        "p_nhpi",
        "p_multiracial",
        "p_other",
    )
    assert race.reported_sources == ("self_reported", "provider_reported")
    assert race.reference_category == "white"
    assert race.prior["nhpi"] == 0.0
    assert sum(race.prior.values()) == pytest.approx(1.0)


def _config(**changes):
    base = {
        "name": "x",
        "source_table": "x",
        "categories": [{"code": "a", "label": "A"}, {"code": "b", "label": "B"}],
        "declined_code": "DECLINED",
        "precedence": ["self_reported"],
    }
    return {**base, **changes}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"reference_category": "c"}, "reference_category must be one of a, b, not 'c'"),
        ({"precedence": ["imputed", "self_reported"]}, "must come last"),
        ({"precedence": ["self_reported", "imputed"]}, "exactly when a bisg section"),
        ({"categories": [{"code": "A b"}]}, r"categories\[0\].code 'A b' must match"),
        ({"declined_code": "a"}, "also a category code"),
        ({"prior": {"a": 0.7, "b": 0.7}}, "sum to 1"),
        ({"bisg": {"mapping": {"white": "a"}}}, "bisg.mapping must map each Census race"),
    ],
)
def test_dimension_errors_name_the_field(changes, message):
    with pytest.raises(ConfigError, match=message) as err:
        parse_dimension(_config(**changes), "dims/x.yaml")
    assert "dims/x.yaml" in str(err.value)


def test_prior_and_default_reference():
    dim = parse_dimension(_config(prior={"a": 0.25, "b": 0.75}), "x.yaml")
    assert dim.prior == {"a": 0.25, "b": 0.75}
    assert dim.reference_category == "a"
    assert parse_dimension(_config(), "x.yaml").prior == {"a": 0.5, "b": 0.5}
