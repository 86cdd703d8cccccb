"""The JSON report: a versioned, documented schema (``report-schema.json`` beside this file).

Everything is sorted and no clock is read: the same estate, catalog, policy and evaluation date
give the same bytes.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from residency_audit import __version__
from residency_audit.model import Finding
from residency_audit.pipeline import Audit
from residency_audit.textsafe import json_safe

__all__ = ["REPORT_SCHEMA_VERSION", "render_json", "report_dict", "report_schema"]

REPORT_SCHEMA_VERSION = 2


def report_schema() -> dict[str, Any]:
    """The JSON Schema of the report."""
    text = resources.files("residency_audit.report").joinpath("report-schema.json").read_text(
        encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def _finding(a: Audit, f: Finding) -> dict[str, Any]:
    g = a.graph
    return {
        "id": f.id, "rule": f.rule, "severity": str(f.severity), "node": f.node,
        "label": str(g.nodes[f.node].get("label", f.node)) if f.node in g else f.node,
        "title": f.title, "message": f.message, "remedy": f.remedy,
        "data": list(f.data), "locations": list(f.locations), "countries": list(f.countries),
        "laws": list(f.all_laws), "holders": list(f.all_holders), "holder_count": len(f.all_holders),
        "route": f.route or None,
        "path": [{"node": n, "label": str(g.nodes[n].get("label", n))} for n in f.path],
        "path_evidence": list(f.path_evidence), "mitigations": list(f.mitigations),
        "exception": f.exception or None,
    }


def _holders(a: Audit) -> list[dict[str, Any]]:
    g = a.graph
    out = []
    for n in sorted(x for x, k in g.nodes(data="kind") if k in ("resource", "subprocessor")):
        attrs = g.nodes[n]
        placements = []
        operators = []
        for _, v, e in sorted(g.out_edges(n, data=True), key=lambda t: (t[1], str(t[2].get("role")))):
            if e.get("relation") == "located_in":
                placements.append({"location": v, "role": e.get("role", ""),
                                   "countries": sorted(str(g.nodes[v].get("countries", "")).split()),
                                   "known": bool(g.nodes[v].get("known"))})
            elif e.get("relation") == "operated_by":
                operators.append(v)
        reached_by = sorted(law for law, r in a.reach.items() if n in r.holders)
        out.append({"node": n, "label": str(attrs.get("label", n)), "kind": attrs.get("kind"),
                    "provider": attrs.get("provider", ""), "service": attrs.get("service", ""),
                    "placements": placements, "operators": operators, "reached_by": reached_by,
                    "seen": not attrs.get("stub", False)})
    return out



def report_dict(a: Audit) -> dict[str, Any]:
    """The report as a JSON-ready dict: the content every format renders.

    It is computed once per audit and shared by every writer (and the history), so treat it as
    read-only.
    """
    if a._report is None:
        a._report = _build_report(a)
    return a._report


def _build_report(a: Audit) -> dict[str, Any]:
    g = a.graph
    holders = _holders(a)
    data = []
    for d in sorted(a.copies):
        copies = sorted(a.copies[d])
        countries = sorted({c for h in copies for _, v, rel in g.out_edges(h, data="relation")
                            if rel == "located_in" for c in str(g.nodes[v].get("countries", "")).split()})
        data.append({"node": d, "label": str(g.nodes[d].get("label", d)),
                     "classification": g.nodes[d].get("classification", ""), "copies": copies,
                     "countries": countries,
                     "reached_by": sorted(law for law, r in a.reach.items() if d in r.data)})
    countries = sorted({c for h in holders for p in h["placements"] for c in p["countries"]})
    laws = []
    for law in sorted(a.reach):
        attrs = g.nodes[law]
        r = a.reach[law]
        laws.append({"node": law, "label": attrs.get("label", law), "country": attrs.get("country"),
                     "citation": attrs.get("citation", ""), "territorial": bool(attrs.get("territorial")),
                     "extraterritorial": bool(attrs.get("extraterritorial")),
                     "foreign": a.is_foreign(law), "reaches_data": sorted(r.data),
                     "reaches_holders": len(r.holders)})
    return {
        "schema_version": REPORT_SCHEMA_VERSION,
        "tool": {"name": "residency-audit", "version": __version__},
        "catalog_version": a.catalog.version(),
        "evaluated_on": a.evaluated_on.isoformat(),
        "policy": {"name": a.policy.name, "home": a.policy.home,
                   "rules": [{"id": r.id, "type": r.type, "severity": str(r.severity),
                              "description": r.description} for r in a.policy.rules]},
        "summary": {
            "resources": sum(1 for h in holders if h["kind"] == "resource"),
            "subprocessors": sum(1 for h in holders if h["kind"] == "subprocessor"),
            "data_categories": len(data), "countries": countries,
            "findings": a.counts(), "excepted": sum(1 for f in a.findings if f.exception),
            "gaps": len(a.estate.gaps),
            "scopes_not_read": sum(1 for s in a.scopes if str(s.status) == "not read"),
            "sources": sorted(a.estate.metadata.sources),
        },
        "findings": [_finding(a, f) for f in a.findings],
        "data": data,
        "holders": holders,
        "laws": laws,
        "mitigations": [{"law": b.law, "source": b.source, "target": b.target, "relation": b.relation,
                         "kind": b.kind, "description": b.description, "evidence": b.evidence}
                        for b in a.mitigations],
        "gaps": [{"provider": x.provider, "scope": x.scope, "region": x.region, "service": x.service,
                  "operation": x.operation, "resource": x.resource, "error": x.error,
                  "message": x.message, "level": x.level.value, "field": x.field}
                 for x in sorted(a.estate.gaps, key=lambda x: x.key)],
        "scopes": [{"scope": s.scope, "provider": s.provider, "status": str(s.status),
                    "resources": s.resources, "gaps": len(s.gaps), "reasons": list(s.reasons)}
                   for s in a.scopes],
    }


def render_json(a: Audit) -> str:
    """The report as sorted, indented JSON text ending in a newline."""
    return json_safe(json.dumps(report_dict(a), indent=2, sort_keys=True, ensure_ascii=False)) + "\n"
