"""The HTML shell of every report: one self-contained file, styles inline, data embedded.

The report's figures are embedded once as JSON (`<script type="application/json"
id="report-data">`), so a reader or a test can take the numbers behind the page.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from html import escape
from typing import Any

STYLE = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;color:#1f2933;margin:0;
background:#f5f7fa}
main{max-width:980px;margin:0 auto;padding:24px 32px 48px;background:white}
h1{font-size:24px;margin:8px 0 4px}h2{font-size:18px;margin:32px 0 8px;
border-bottom:2px solid #e4e7eb;padding-bottom:4px}h3{font-size:14px;margin:18px 0 6px}
p.lead{color:#52606d;margin:0 0 16px}p.note{color:#52606d;font-size:12px}
table{border-collapse:collapse;font-size:12px;margin:8px 0}
th,td{padding:4px 8px;border-bottom:1px solid #e4e7eb;text-align:right}
th:first-child,td:first-child{text-align:left}th{background:#f5f7fa}
td .sig,.sig{font-weight:600;color:#d9480f}.badge{display:inline-block;padding:1px 8px;
border-radius:10px;font-size:11px}.ok{background:#e3f9e5;color:#05400a}
.no{background:#ffe3e3;color:#610404}.charts{display:flex;flex-wrap:wrap;gap:12px}
footer{margin-top:32px;color:#7b8794;font-size:11px}
"""


def page(title: str, lead: str, body: Iterable[str], data: Mapping[str, Any]) -> str:
    """A complete HTML document: title, lead paragraph, body fragments, embedded data."""
    payload = json.dumps(data, sort_keys=True, allow_nan=False).replace("</", "<\\/")
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body><main>"
        f"<h1>{escape(title)}</h1><p class='lead'>{escape(lead)}</p>"
        + "".join(body)
        + f"<script type='application/json' id='report-data'>{payload}</script>"
        + "</main></body></html>"
    )


class Html(str):
    """A trusted HTML fragment: `table` inserts it as it is."""


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """An HTML table; text cells are escaped, `Html` cells inserted as they are."""

    def cell(c: str) -> str:
        return c if isinstance(c, Html) else escape(c)

    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def completeness_table(rows: Iterable[tuple[int, int, Sequence[float | None]]]) -> str:
    """Members and their shares by source of the answer per year; None reads 'suppressed'.

    Args:
        rows: (year, members, shares in the order self-reported, provider-reported,
            imputed, unknown).
    """
    return table(
        ["Year", "Members", "Self-reported (incl. declined)", "Provider-reported", "Imputed",
         "Unknown"],
        [
            [str(year), f"{members:,d}", *("suppressed" if v is None else pct(v) for v in shares)]
            for year, members, shares in rows
        ],
    )  # fmt: skip


def pct(value: float | None, digits: int = 1) -> str:
    """A proportion as a percentage, '' for None."""
    return "" if value is None else f"{value * 100:.{digits}f}%"


def points(value: float | None, digits: int = 1) -> str:
    """A difference of proportions in percentage points, signed, '' for None."""
    return "" if value is None else f"{value * 100:+.{digits}f}"


def interval(
    low: float | None, high: float | None, fmt: Callable[[float | None], str] = pct
) -> str:
    """'[low, high]' in the given format, '' when either bound is missing."""
    return "" if low is None or high is None else f"[{fmt(low)}, {fmt(high)}]"


def corrected_note(weighted: Mapping[str, Any], corrected: Mapping[str, Any], ci: str) -> str:
    """The sentence shown where the corrected equity gap differs from the weighted one."""
    return (
        f"<p class='note'>Bias-corrected equity gap: {points(corrected['gap'])} points "
        f"({ci} CI {interval(corrected['ci_low'], corrected['ci_high'], points)}), against "
        f"{points(weighted['gap'])} as published. The published gap counts members whose race "
        "is imputed by their probabilities, which tends to make gaps look smaller than they "
        "are; here the two differ by more than the published interval's half-width, so read "
        "the published gap with that in mind.</p>"
    )
