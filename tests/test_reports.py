"""Reports: suppression, group isolation, numbers equal to gold, the dictionary, a real browser.

The suppression and isolation rules are first proven on hand-made rows with values
planted to be recognisable, then on the reports the nightly wrote from a generated
lakehouse (the shared `nightly_twice` fixture), against its gold tables.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from p4e.config import load_settings
from p4e.context import RunContext
from p4e.reports import dictionary
from p4e.reports.dictionary import UndocumentedColumns, render_dictionary
from p4e.reports.labels import Labels, corrected_figures
from p4e.reports.page import corrected_note
from p4e.reports.public import public_data, render_public
from p4e.stats.suppression import suppression
from p4e.tables.vocabulary import ALL_GROUPS

LABELS = Labels(
    measures=("COL",),
    measure_names={"COL": "Colorectal cancer screening"},
    dimension_label="Race and ethnicity",
    codes=("hispanic", "white", "black", "asian", "aian"),
    category_labels={"white": "Non-Hispanic White"},
    reference="white",
    threshold=11,
    ci="95%",
)
ROOT = Path(__file__).resolve().parent.parent


def embedded(html: str) -> dict:
    match = re.search(r"<script type='application/json' id='report-data'>(.*?)</script>", html)
    assert match, "the page embeds its data"
    return json.loads(match.group(1).replace("<\\/", "</"))


def suppressed_cells(spark, sizes: dict[str, float], threshold: float) -> dict[str, str]:
    """Cell -> suppression reason of one table, through the Spark rule gold uses."""
    df = spark.createDataFrame(
        [("t", c, float(n)) for c, n in sizes.items()], "t STRING, cell STRING, n DOUBLE"
    )
    rows = suppression(df, ["t"], "cell", "n", threshold).collect()
    assert all(r["is_suppressed"] == (r["suppression_reason"] is not None) for r in rows)
    return {r["cell"]: r["suppression_reason"] for r in rows if r["is_suppressed"]}


def test_suppression_is_primary_then_complementary(spark):
    assert suppressed_cells(spark, {"a": 500, "b": 40, "c": 11}, 11) == {}
    # One small cell alone could be recomputed from the total: the next smallest goes too.
    assert suppressed_cells(spark, {"a": 500, "b": 40, "c": 5}, 11) == {
        "c": "primary", "b": "complementary"
    }  # fmt: skip
    # Two small cells summing to less than 11 are one small cell together: a third goes.
    assert suppressed_cells(spark, {"a": 500, "b": 40, "c": 3, "d": 4}, 11) == {
        "b": "complementary", "c": "primary", "d": "primary"
    }  # fmt: skip
    assert suppressed_cells(spark, {"a": 500, "b": 40, "c": 6, "d": 7}, 11) == {
        "c": "primary", "d": "primary"
    }  # fmt: skip
    # Ties in size are broken by the cell's name, so the rule is deterministic.
    assert suppressed_cells(spark, {"a": 500, "y": 40, "x": 40, "c": 5}, 11) == {
        "c": "primary", "x": "complementary"
    }  # fmt: skip
    # Every cell needed: all suppressed.
    assert set(suppressed_cells(spark, {"a": 5, "b": 4}, 11)) == {"a", "b"}


def _rate(subgroup, n, rate, year=2025):
    return {
        "group_id": ALL_GROUPS, "measure_id": "COL", "year": year, "subgroup": subgroup,
        "n": n, "k": n * rate, "rate": rate, "ci_low": rate - 0.05, "ci_high": rate + 0.05,
        "se": 0.02, "is_scored": n >= 30,
    }  # fmt: skip


def _gap(subgroup, gap, level="subgroup"):
    return {
        "group_id": ALL_GROUPS, "measure_id": "COL", "year": 2025, "level": level,
        "subgroup": subgroup, "reference": "white", "gap": gap, "ci_low": gap - 0.03,
        "ci_high": gap + 0.03, "is_scored": True,
    }  # fmt: skip


def test_public_report_publishes_no_small_cell_nor_its_complement(spark):
    cells = [
        _rate("white", 400, 0.7012),
        _rate("black", 120, 0.6123),
        _rate("asian", 35, 0.5867),  # complementary: the smallest publishable cell
        _rate("aian", 6, 0.4321),  # primary: n < 11
        _rate("ALL", 561, 0.6655),
    ]
    hidden = suppressed_cells(spark, {c["subgroup"]: c["n"] for c in cells[:-1]}, 11)
    rates = [{**c, "is_suppressed": c["subgroup"] in hidden} for c in cells]
    gaps = [
        _gap("black", 0.0889),
        _gap("asian", 0.1145),
        _gap("aian", 0.2691),
        _gap(None, 0.1, "summary"),
    ]
    sources = {"self_reported": 600, "provider_reported": 95, "imputed": 200, "unknown": 5}
    completeness = [{
        "group_id": ALL_GROUPS, "year": 2025, "members": 900, "n_self_reported": 600,
        "n_provider_reported": 95, "n_imputed": 200, "n_unknown": 5, "share_self_reported": 0.6667,
        "share_provider_reported": 0.1056, "share_imputed": 0.2222, "share_unknown": 0.0056,
        "suppressed_sources": sorted(suppressed_cells(spark, sources, 11)),
    }]  # fmt: skip
    data = public_data(LABELS, 2025, rates, gaps, completeness)
    html = render_public(data)

    cells = {c["subgroup"]: c for c in data["measures"][0]["years"][0]["subgroups"]}
    assert {s for s, c in cells.items() if c["suppressed"]} == {"aian", "asian"}
    for s in ("aian", "asian"):
        assert set(cells[s]) == {"subgroup", "label", "is_reference", "suppressed"}
    for value in ("43.2", "0.4321", "58.7", "0.5867", "26.9", "11.4", "0.2691", "0.1145"):
        assert value not in html, value
    assert embedded(html) == json.loads(json.dumps(data))
    for c in cells.values():
        assert c["suppressed"] or c["n"] >= 11
    assert cells["black"]["rate"] == 0.6123 and "61.2%" in html and "+8.9" in html
    shares = data["completeness"][0]["shares"]
    assert shares["unknown"] is None and shares["provider_reported"] is None  # 5, then 95
    assert "0.56%" not in html and "0.0056" not in html


def test_dictionary_refuses_an_undocumented_column():
    with pytest.raises(UndocumentedColumns, match=r"gold/eligibility\.surprise"):
        render_dictionary({"gold/eligibility": ([("group_id", "string"), ("surprise", "int")], [])})
    with pytest.raises(UndocumentedColumns, match="gold/mystery"):
        render_dictionary({"gold/mystery": ([("a", "int")], [])})


# --- the nightly's reports -------------------------------------------------------------


@pytest.fixture(scope="module")
def reports(nightly_twice):
    cfg, store, *_ = nightly_twice
    return cfg, store, Path(cfg.lakehouse) / "reports"


def _gold(store, cfg, table, **where):
    rows = [r.asDict() for r in store.read(cfg.table_path("gold", table)).collect()]
    return [r for r in rows if all(r[k] == v for k, v in where.items())]


def test_nightly_writes_public_group_reports_and_the_dictionary(reports):
    cfg, store, root = reports
    years = [int(y) for y in cfg["years"]]
    groups = {r["group_id"] for r in _gold(store, cfg, "subgroup_rates")} - {
        ALL_GROUPS,
        "UNATTRIBUTED",
    }
    for year in years:
        files = {p.name for p in (root / str(year)).iterdir()}
        assert files == {f"equity_report_{year}.html"} | {f"group_{g}_{year}.html" for g in groups}
    assert (root / "data_dictionary.md").is_file()


def test_public_report_numbers_are_the_gold_numbers_with_no_small_cells(reports):
    cfg, store, root = reports
    gold = {
        (r["measure_id"], r["year"], r["subgroup"]): r
        for r in _gold(store, cfg, "subgroup_rates", group_id=ALL_GROUPS)
    }
    data = embedded((root / "2025" / "equity_report_2025.html").read_text())
    published = 0
    for measure in data["measures"]:
        for year in measure["years"]:
            hidden = [c for c in year["subgroups"] if c["suppressed"]]
            primary = [
                c for c in hidden if gold[measure["id"], year["year"], c["subgroup"]]["n"] < 11
            ]
            if hidden:  # complementary suppression: never a lone cell, never a small sum
                assert len(hidden) >= 2
                assert (
                    sum(gold[measure["id"], year["year"], c["subgroup"]]["n"] for c in hidden) >= 11
                )
            for c in year["subgroups"]:
                row = gold[measure["id"], year["year"], c["subgroup"]]
                assert c["suppressed"] == row["is_suppressed"]  # the report follows gold
                assert c["suppressed"] or row["n"] >= 11
                if not c["suppressed"]:
                    published += 1
                    assert c["n"] == round(row["n"])
                    for key in ("rate", "ci_low", "ci_high"):
                        assert c[key] == pytest.approx(row[key], abs=5e-5)
            assert all(c["subgroup"] for c in primary)
    assert published > 0


def test_group_report_holds_its_own_numbers_and_no_other_group(reports):
    cfg, store, root = reports
    html = (root / "2025" / "group_G901_2025.html").read_text()
    data = embedded(html)
    assert data["group_id"] == "G901"
    others = {r["group_id"] for r in _gold(store, cfg, "subgroup_rates")} - {"G901"}
    mentioned = set(re.findall(r"G\d{3}|ALL_GROUPS|UNATTRIBUTED", html))
    assert mentioned == {"G901"}, mentioned & others
    gold = {
        (r["measure_id"], r["subgroup"]): r
        for r in _gold(store, cfg, "subgroup_rates", group_id="G901", year=2025)
    }
    for measure in data["measures"]:
        for s in measure["subgroups"]:
            assert s["rate"] == pytest.approx(gold[measure["id"], s["subgroup"]]["rate"], abs=5e-5)
    settled = _gold(store, cfg, "settlements", group_id="G901", year=2025)
    total = next(r for r in settled if r["level"] == "total")
    assert [s["amount"] for s in data["settlements"] if s["level"] == "total"] == [
        str(total["amount"])
    ]
    assert f"${float(total['amount']):,.2f}" in html


def test_dictionary_documents_every_column_written_and_the_committed_copy_is_current(
    spark, reports
):
    cfg, *_ = reports
    ctx = RunContext.create(spark, load_settings(cfg))
    text = dictionary(ctx)  # raises on an undocumented column
    assert text == (Path(cfg.lakehouse) / "reports" / "data_dictionary.md").read_text()
    assert text == (ROOT / "docs" / "data_dictionary.md").read_text(), (
        "docs/data_dictionary.md is stale: copy <lakehouse>/reports/data_dictionary.md there"
    )


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (.ci/run installs Debian's)")
@pytest.mark.parametrize("name", ["equity_report_2025.html", "group_G901_2025.html"])
def test_a_real_browser_renders_the_report_with_its_charts_and_no_errors(reports, tmp_path, name):
    _, _, root = reports
    page = (root / "2025" / name).as_uri()
    common = [
        CHROMIUM,
        *FLAGS,
        f"--user-data-dir={tmp_path / 'profile'}",
        "--window-size=1000,1400",
    ]
    dom = subprocess.run(
        [*common, "--enable-logging=stderr", "--dump-dom", page],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    source = (root / "2025" / name).read_text()
    assert dom.stdout.count("<svg") == source.count("<svg") > 0
    assert "CONSOLE" not in dom.stderr and "Uncaught" not in dom.stderr, dom.stderr[-2000:]
    shot = tmp_path / "page.png"
    subprocess.run(
        [*common, f"--screenshot={shot}", page], capture_output=True, timeout=120, check=True
    )
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000


def test_corrected_gap_is_shown_where_it_differs_beyond_the_half_width():
    row = {"gap": 0.10, "ci_low": 0.06, "ci_high": 0.14}
    assert corrected_figures({**row, "gap_corrected": 0.139}) is None  # within the half-width
    shown = corrected_figures(
        {**row, "gap_corrected": 0.141, "ci_low_corrected": 0.1, "ci_high_corrected": 0.18}
    )
    assert shown == {"gap": 0.141, "ci_low": 0.1, "ci_high": 0.18}
    assert corrected_figures({**row, "gap_corrected": None}) is None
    note = corrected_note(row, shown, "95%")
    assert "+14.1 points (95% CI [+10.0, +18.0]), against +10.0 as published" in note


def test_public_report_notes_the_corrected_gap_exactly_where_gold_says(reports):
    cfg, store, root = reports
    gaps = _gold(store, cfg, "equity_gaps", group_id=ALL_GROUPS, level="summary")
    assert any(g["gap_corrected"] != g["gap"] for g in gaps if g["gap"] is not None)
    for year in [int(y) for y in cfg["years"]]:
        expected = {g["measure_id"] for g in gaps if g["year"] == year and corrected_figures(g)}
        html = (root / str(year) / f"equity_report_{year}.html").read_text()
        data = embedded(html)
        noted = {m["id"] for m in data["measures"] if m["years"][-1]["equity_gap_corrected"]}
        assert noted == expected
        assert html.count("Bias-corrected equity gap") == len(expected)
