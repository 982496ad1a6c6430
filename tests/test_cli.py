"""The `p4e` command line: arguments and one-line errors (no Spark needed)."""

from __future__ import annotations

import pytest

from p4e.cli import build_parser, main


def test_run_accepts_step_years_and_contracts():
    args = build_parser().parse_args(
        ["run", "settle", "--contract", "C-G901", "--year", "2024", "--lakehouse", "/x"]
    )
    assert (args.step, args.contract, args.year, args.lakehouse) == (
        "settle",
        ["C-G901"],
        [2024],
        "/x",
    )


def test_bad_arguments_exit_2_with_a_message(capsys):
    with pytest.raises(SystemExit) as info:
        main(["generate", "--members", "0"])
    assert info.value.code == 2
    assert "must be greater than 0" in capsys.readouterr().err


def test_config_errors_are_one_line_and_exit_1(capsys):
    assert main(["run", "validate", "--conf", "/no/such.yaml"]) == 1
    assert (
        capsys.readouterr().err.strip() == "p4e: error: configuration file not found: /no/such.yaml"
    )
    assert main(["run", "validate", "--contract", "C-G901"]) == 1
    assert "--contract applies to the settle step only" in capsys.readouterr().err
    assert main(["run", "measures", "--all-years"]) == 1
    assert "--all-years applies to the nightly only" in capsys.readouterr().err


def test_report_accepts_years_and_groups():
    args = build_parser().parse_args(
        ["report", "--year", "2025", "--group", "G901", "--group", "G902"]
    )
    assert (args.command, args.year, args.group) == ("report", [2025], ["G901", "G902"])
