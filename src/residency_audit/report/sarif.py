"""SARIF 2.1.0 (OASIS Static Analysis Results Interchange Format) for code-scanning dashboards.

One ``run`` whose ``tool.driver`` lists the policy's rules; one ``result`` per finding. A
finding's node becomes a ``logicalLocation`` (``fullyQualifiedName`` is the graph node id,
``kind`` its kind: ``data``, ``resource``, ``subprocessor`` or ``gap``); its witness path, when it
has one, becomes a ``codeFlow`` whose ``threadFlow`` visits each node of the path, law first,
each step carrying the evidence of the link it leaves by. A finding covered by a policy
exception keeps its result with a ``suppression`` (``kind: external``, ``state: accepted``,
the reason and expiry as ``justification``), which dashboards show as dismissed.

Levels: ``critical`` and ``high`` → ``error``, ``medium`` → ``warning``, ``low`` and ``info`` →
``note``. ``properties.security-severity`` (on rules and results) carries a number on GitHub code
scanning's scale (critical 9.0–10.0, high 7.0–8.9, medium 4.0–6.9, low 0.1–3.9, none 0.0).
``partialFingerprints`` holds the finding id (rule|node|law), stable across runs.
"""

from __future__ import annotations

import json
from typing import Any

from residency_audit import __version__
from residency_audit.model import Severity
from residency_audit.pipeline import Audit
from residency_audit.report.json_report import report_dict
from residency_audit.textsafe import json_safe

__all__ = ["INFORMATION_URI", "SARIF_SCHEMA", "level", "render_sarif", "sarif_dict"]

SARIF_SCHEMA = "https://raw.githubusercontent.com/oasis-tcs/sarif-spec/master/Schemata/sarif-schema-2.1.0.json"
INFORMATION_URI = "https://github.com/residency-audit/residency-audit"
FINGERPRINT_KEY = "residencyAuditFindingId/v1"

_LEVEL = {Severity.CRITICAL: "error", Severity.HIGH: "error", Severity.MEDIUM: "warning",
          Severity.LOW: "note", Severity.INFO: "note"}
_SECURITY_SEVERITY = {Severity.CRITICAL: "9.5", Severity.HIGH: "8.0", Severity.MEDIUM: "5.5",
                      Severity.LOW: "3.0", Severity.INFO: "0.0"}


def level(severity: Severity | str) -> str:
    """The SARIF ``level`` of a severity.

    >>> level("critical"), level("medium"), level("info")
    ('error', 'warning', 'note')
    """
    return _LEVEL[Severity(severity)]


def _kind(node: str) -> str:
    return node.split(":", 1)[0] if ":" in node else "node"


def _logical(node: str, label: str) -> dict[str, Any]:
    return {"name": label, "fullyQualifiedName": node, "kind": _kind(node)}


def _rule(rule: dict[str, Any], remedy: str) -> dict[str, Any]:
    sev = Severity(rule["severity"])
    description = rule["description"] or f"Policy rule {rule['id']} ({rule['type']})."
    help_text = f"{description} Remedy: {remedy}" if remedy else description
    return {
        "id": rule["id"],
        "name": "".join(part.capitalize() for part in rule["id"].replace("_", "-").split("-")),
        "shortDescription": {"text": description},
        "fullDescription": {"text": description},
        "help": {"text": help_text},
        "defaultConfiguration": {"level": level(sev)},
        "properties": {"type": rule["type"], "severity": str(sev),
                       "security-severity": _SECURITY_SEVERITY[sev],
                       "tags": ["data-residency", rule["type"]]},
    }


def _code_flow(f: dict[str, Any]) -> dict[str, Any]:
    steps = []
    for i, step in enumerate(f["path"]):
        text = step["label"]
        if i < len(f["path_evidence"]):
            text += " — " + f["path_evidence"][i]
        steps.append({"location": {"logicalLocations": [_logical(step["node"], step["label"])],
                                   "message": {"text": text}},
                      "executionOrder": i + 1})
    first = f["path"][0]["label"]
    return {"message": {"text": f"Witness path from {first} to {f['path'][-1]['label']}"},
            "threadFlows": [{"locations": steps}]}


def _result(f: dict[str, Any], rule_index: dict[str, int]) -> dict[str, Any]:
    sev = Severity(f["severity"])
    out: dict[str, Any] = {
        "ruleId": f["rule"],
        "level": level(sev),
        "message": {"text": f"{f['title']}: {f['message']} Remedy: {f['remedy']}"},
        "locations": [{"logicalLocations": [_logical(f["node"], f["label"])]}],
        "partialFingerprints": {FINGERPRINT_KEY: f["id"]},
        "properties": {"severity": str(sev), "security-severity": _SECURITY_SEVERITY[sev],
                       "laws": f["laws"], "route": f["route"] or "", "data": f["data"], "countries": f["countries"],
                       "holders": f["locations"], "mitigations": f["mitigations"]},
    }
    if f["rule"] in rule_index:
        out["ruleIndex"] = rule_index[f["rule"]]
    if f["path"]:
        out["codeFlows"] = [_code_flow(f)]
    if f["exception"]:
        out["suppressions"] = [{"kind": "external", "state": "accepted",
                                "justification": f["exception"]}]
    return out


def sarif_dict(a: Audit) -> dict[str, Any]:
    """The SARIF log of ``a`` as a JSON-ready dict."""
    r = report_dict(a)
    remedies = {rule.id: rule.remedy for rule in a.policy.rules}
    rules = [_rule(x, remedies.get(x["id"], "")) for x in r["policy"]["rules"]]
    rule_index = {x["id"]: i for i, x in enumerate(rules)}
    results = [_result(f, rule_index) for f in r["findings"]]
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "residency-audit", "version": __version__,
                                "semanticVersion": __version__, "informationUri": INFORMATION_URI,
                                "rules": rules}},
            "automationDetails": {"id": f"residency-audit/{r['policy']['name']}/"},
            "columnKind": "unicodeCodePoints",
            "results": results,
            "properties": {"evaluated_on": r["evaluated_on"], "catalog_version": r["catalog_version"],
                           "policy": r["policy"]["name"], "home": r["policy"]["home"],
                           "summary": r["summary"]},
        }],
    }


def render_sarif(a: Audit) -> str:
    """The SARIF log of ``a`` as sorted, indented JSON text ending in a newline."""
    return json_safe(json.dumps(sarif_dict(a), indent=2, sort_keys=True, ensure_ascii=False)) + "\n"
