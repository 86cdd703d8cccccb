"""OCSF 1.5.0 Compliance Findings (class 2003), for Security Lake, SIEMs and other OCSF pipelines.

A JSON array with one event per finding, in report order (most severe first). Each event is a
Compliance Finding: the policy is the standard, the rule the control, the finding's node and
the copies it names the ``resources``, the witness path (law → country → entity → … → data)
the ``evidences``, one per step with the evidence of the link it leaves by. What has no OCSF
attribute is under ``unmapped``. See ``docs/ocsf.md`` for the mapping and why this class.

Nothing reads a clock: ``time`` is the audit's evaluation date (midnight UTC, in milliseconds
since the epoch), so the same estate, policy and date give the same bytes.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from residency_audit.model import Severity
from residency_audit.pipeline import Audit
from residency_audit.report.json_report import as_view
from residency_audit.textsafe import json_safe
from residency_audit.view import AuditView, DataView, FindingView, HolderView, LawView

__all__ = ["OCSF_VERSION", "event_time", "ocsf_events", "render_ocsf", "severity_id"]

OCSF_VERSION = "1.5.0"
"""The OCSF schema version the events follow (``metadata.version``)."""

PRODUCT_URL = "https://github.com/residency-audit/residency-audit"

CATEGORY_UID, CATEGORY_NAME = 2, "Findings"
CLASS_UID, CLASS_NAME = 2003, "Compliance Finding"
ACTIVITY_ID, ACTIVITY_NAME = 1, "Create"
TYPE_UID = CLASS_UID * 100 + ACTIVITY_ID

_SEVERITY = {Severity.INFO: (1, "Informational"), Severity.LOW: (2, "Low"),
             Severity.MEDIUM: (3, "Medium"), Severity.HIGH: (4, "High"),
             Severity.CRITICAL: (5, "Critical")}

# Finding status (base event): excepted findings stay in the feed, suppressed.
_NEW, _SUPPRESSED = (1, "New"), (3, "Suppressed")
# Compliance status: a rule that does not hold fails; what could not be seen is a warning
# ("the check did not yield a result due to missing information").
_FAIL, _WARNING = 3, 2
_ANALYTIC_RULE = 1

_RULE_TYPE_NAMES = {"reach": "Foreign reach", "location": "Location", "transfer": "Transfer",
                    "coverage": "Coverage"}


def severity_id(severity: Severity | str) -> int:
    """The OCSF ``severity_id`` of a severity (1 Informational … 5 Critical).

    >>> severity_id("info"), severity_id("medium"), severity_id("critical")
    (1, 3, 5)
    """
    return _SEVERITY[Severity(severity)][0]


def event_time(evaluated_on: str) -> int:
    """Midnight UTC of the evaluation date, in milliseconds since the epoch (OCSF ``time``).

    >>> event_time("2026-11-24")
    1795478400000
    """
    day = dt.date.fromisoformat(evaluated_on)
    moment = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
    return int(moment.timestamp()) * 1000


def _region(holder: HolderView) -> str:
    """The provider's region code of a holder's primary copy (or its first), if any."""
    placements = sorted(holder.placements, key=lambda p: (p.role != "primary", p.location))
    if not placements:
        return ""
    parts = placements[0].location.split(":", 2)  # location:<provider>:<code>
    if len(parts) != 3 or parts[1] == "country":
        return ""
    return parts[2]


def _holder_resource(h: HolderView) -> dict[str, Any]:
    countries = sorted({c for p in h.placements for c in p.countries})
    out: dict[str, Any] = {
        "uid": h.node, "name": h.label, "type": "/".join(x for x in (h.provider, h.service) if x) or h.kind,
        "labels": [f"country:{c}" for c in countries],
        "data": {"kind": h.kind, "provider": h.provider, "service": h.service, "countries": countries,
                 "placements": [{"location": p.location, "role": p.role, "countries": list(p.countries),
                                 "known": p.known} for p in h.placements],
                 "operators": list(h.operators), "reached_by": list(h.reached_by), "seen": h.seen},
    }
    region = _region(h)
    if region:
        out["region"] = region
    return out


def _data_resource(d: DataView, concerned: frozenset[str]) -> dict[str, Any]:
    """A data category as a resource of one finding: its copies that the finding concerns (the
    whole list of its copies is in the JSON report; in every event it made the events grow with
    findings times copies), and how many copies it has in all."""
    return {"uid": d.node, "name": d.label, "type": "data category",
            "labels": [f"country:{c}" for c in d.countries],
            "data": {"kind": "data", "classification": d.classification, "countries": list(d.countries),
                     "copies": [h for h in d.holders if h in concerned], "copy_count": d.copies,
                     "holder_count": len(d.holders), "reached_by": list(d.reached_by)}}


def _resources(f: FindingView, holders: dict[str, HolderView],
               data: dict[str, DataView]) -> list[dict[str, Any]]:
    out = []
    nodes = {f.node, *f.data, *f.holders, *f.locations, *(step.node for step in f.path)}
    concerned = frozenset(n for n in nodes if n in holders)
    for n in sorted(nodes):
        if n in holders:
            out.append(_holder_resource(holders[n]))
        elif n in data:
            out.append(_data_resource(data[n], concerned))
        elif n == f.node:  # a scope or a gap: no placements, but still the subject
            out.append({"uid": n, "name": f.label, "type": n.split(":", 1)[0]})
    return out


def _evidences(f: FindingView, laws: dict[str, LawView]) -> list[dict[str, Any]]:
    out = []
    for i, step in enumerate(f.path):
        detail: dict[str, Any] = {"step": i + 1, "node": step.node, "kind": step.node.split(":", 1)[0]}
        if i < len(f.path_evidence):
            detail["evidence"] = f.path_evidence[i]
        law = laws.get(step.node)
        if law is not None:
            detail["citation"] = law.citation
            detail["country"] = law.country
        out.append({"name": step.label, "data": detail})
    return out


def _event(v: AuditView, f: FindingView, holders: dict[str, HolderView], data: dict[str, DataView],
           laws: dict[str, LawView]) -> dict[str, Any]:
    rule = next((r for r in v.policy.rules if r.id == f.rule), None)
    rule_type = rule.type if rule else ""
    status_id, status = _NEW if f.active else _SUPPRESSED
    severity = _SEVERITY[f.severity]
    named = sorted(set(f.laws) | ({f.path[0].node} if f.path and f.path[0].node in laws else set()))
    event: dict[str, Any] = {
        "activity_id": ACTIVITY_ID, "activity_name": ACTIVITY_NAME,
        "category_uid": CATEGORY_UID, "category_name": CATEGORY_NAME,
        "class_uid": CLASS_UID, "class_name": CLASS_NAME,
        "type_uid": TYPE_UID, "type_name": f"{CLASS_NAME}: {ACTIVITY_NAME}",
        "time": event_time(v.evaluated_on),
        "severity_id": severity[0], "severity": severity[1],
        "status_id": status_id, "status": status,
        "message": f"{f.title}: {f.message}",
        "metadata": {
            "version": OCSF_VERSION, "uid": f.id,
            "product": {"name": "residency-audit", "vendor_name": "residency-audit",
                        "version": v.tool_version, "url_string": PRODUCT_URL},
            "labels": ["data-residency"],
        },
        "finding_info": {
            "uid": f.id, "title": f.title, "desc": f.message,
            "types": [f"Data residency/{_RULE_TYPE_NAMES.get(rule_type, rule_type or 'Other')}"],
            "analytic": {"uid": f.rule, "name": f.rule, "type_id": _ANALYTIC_RULE},
            "data_sources": list(v.summary.sources),
        },
        "compliance": {
            "standards": [f"residency-audit policy {v.policy.name} (home {v.policy.home})"],
            "control": f.rule,
            "status_id": _WARNING if rule_type == "coverage" else _FAIL,
        },
        "remediation": {"desc": f.remedy},
        "resources": _resources(f, holders, data),
        "unmapped": {
            "rule_type": rule_type, "node": f.node, "label": f.label, "data": list(f.data),
            "holders": list(f.holders), "locations": list(f.locations), "countries": list(f.countries),
            "route": f.route or None,
            "laws": [{"node": n, "name": laws[n].label, "citation": laws[n].citation,
                      "country": laws[n].country} if n in laws else {"node": n} for n in named],
            "mitigations": list(f.mitigations), "exception": f.exception or None,
            "evaluated_on": v.evaluated_on, "catalog_version": v.catalog_version,
        },
    }
    if rule and rule.description:
        event["compliance"]["desc"] = rule.description
    if f.exception:
        event["status_detail"] = f"Policy exception: {f.exception}"
    evidences = _evidences(f, laws)
    if evidences:
        event["evidences"] = evidences
    return event


def ocsf_events(a: Audit | AuditView) -> list[dict[str, Any]]:
    """One OCSF Compliance Finding (as a JSON-ready dict) per finding, in report order."""
    v = as_view(a)
    holders = {h.node: h for h in v.holders}
    data = {d.node: d for d in v.data}
    laws = {law.node: law for law in v.laws}
    return [_event(v, f, holders, data, laws) for f in v.findings]


def render_ocsf(a: Audit | AuditView) -> str:
    """The OCSF events as a sorted, indented JSON array ending in a newline."""
    return json_safe(json.dumps(ocsf_events(a), indent=2, sort_keys=True, ensure_ascii=False)) + "\n"
