"""CSV reports for spreadsheets: the findings (``csv``) and the placements of every copy (``csv-placements``).

RFC 4180 text written by the standard :mod:`csv` module (comma-separated, ``\\r\\n`` line ends,
fields quoted when needed), a header row, a fixed column order and sorted rows. List-valued
cells are joined with ``"; "``.

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage
return) as a formula; labels come from user files, so such cells are written with a leading
``'`` (CSV formula injection).

>>> _cell("=HYPERLINK(\\"x\\")")
'\\'=HYPERLINK("x")'
>>> _cell("eu-north-1")
'eu-north-1'
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from residency_audit.model import Severity
from residency_audit.pipeline import Audit
from residency_audit.report.json_report import as_view
from residency_audit.view import AuditView, FindingView

__all__ = ["FINDING_COLUMNS", "PLACEMENT_COLUMNS", "render_csv", "render_csv_placements"]

FINDING_COLUMNS = ("severity", "rule", "node", "label", "laws", "route", "title", "message", "data",
                   "holder_count", "holders", "locations", "countries", "path", "path_evidence",
                   "mitigations", "excepted", "exception", "remedy", "id")
PLACEMENT_COLUMNS = ("holder", "label", "kind", "provider", "service", "location", "role",
                     "countries", "known", "eea", "operators", "data", "reached_by", "seen")

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    """One cell as text, defused when a spreadsheet would read it as a formula."""
    if isinstance(value, bool):
        text = "yes" if value else "no"
    elif value is None:
        text = ""
    elif isinstance(value, list | tuple):
        text = "; ".join(str(v) for v in value)
    else:
        text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _write(columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
    return buf.getvalue()


def _severity_rank(name: str) -> int:
    return Severity(name).rank


def _finding_row(f: FindingView) -> dict[str, Any]:
    return {"severity": str(f.severity), "rule": f.rule, "node": f.node, "label": f.label, "laws": f.laws,
            "route": f.route, "title": f.title, "message": f.message, "data": f.data,
            "holder_count": len(f.holders), "holders": f.holders, "locations": f.locations,
            "countries": f.countries, "path": " → ".join(step.node for step in f.path),
            "path_evidence": f.path_evidence, "mitigations": f.mitigations, "excepted": bool(f.exception),
            "exception": f.exception, "remedy": f.remedy, "id": f.id}


def render_csv(a: Audit | AuditView) -> str:
    """Every finding (active and excepted), most severe first, then by rule, node and law."""
    rows = [_finding_row(f) for f in as_view(a).findings]
    rows.sort(key=lambda f: (-_severity_rank(f["severity"]), f["rule"], f["node"], f["id"]))
    return _write(FINDING_COLUMNS, rows)


def render_csv_placements(a: Audit | AuditView) -> str:
    """One row per copy: holder, place, role, countries, operator, data, and the laws that reach it."""
    v = as_view(a)
    eea = {c.code: c.eea for c in v.countries}
    data_of: dict[str, list[str]] = {}
    for d in v.data:
        for node in d.holders:
            data_of.setdefault(node, []).append(d.node)
    rows = []
    for h in v.holders:
        base = {"holder": h.node, "label": h.label, "kind": h.kind, "provider": h.provider,
                "service": h.service, "operators": h.operators, "data": sorted(data_of.get(h.node, [])),
                "reached_by": h.reached_by, "seen": h.seen}
        if not h.placements:
            rows.append({**base, "location": "", "role": "", "countries": (), "known": False, "eea": False})
        for p in h.placements:
            rows.append({**base, "location": p.location, "role": p.role, "countries": p.countries,
                         "known": p.known,
                         "eea": bool(p.countries) and all(eea.get(c, False) for c in p.countries)})
    rows.sort(key=lambda x: (x["holder"], x["location"], x["role"]))
    return _write(PLACEMENT_COLUMNS, rows)
