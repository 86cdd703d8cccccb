"""SARIF 2.1.0 (OASIS Static Analysis Results Interchange Format) for code-scanning dashboards.

One ``run`` whose ``tool.driver`` lists the policy's rules; one ``result`` per finding.

Locations. Every result has a *physical* location, which GitHub code scanning and most SARIF
viewers require: the file and line that the finding's holder comes from.

- A holder declared in an inventory: that file and line (the earliest line of the holder's
  evidence, :attr:`~residency_audit.view.HolderView.origin`, e.g.
  ``residency_audit/demo/inventory.yaml:38``).
- A holder seen by a cloud API: the estate file given to the command (``--estate``), at the line
  of the holder's ``"id"``; a coverage gap or an unread scope: the estate file's first line.
- Given no estate file, the pseudo-artifact :data:`PSEUDO_ESTATE` at line 1: a stable path in the
  repository that names the scan, not a file the command read. Keep the scan's estate at that
  path (``scan -o .residency-audit/estate.json``) and the link becomes real.

A finding about a data category is located at the holder its witness path reaches first (else its
first holder, else the line that declares the category); its other holders become
``relatedLocations``. The finding's node is also a ``logicalLocation`` (``fullyQualifiedName`` is
the graph node id, ``kind`` its kind: ``data``, ``resource``, ``subprocessor``, ``gap`` or
``scope``); its witness path, when it has one, becomes a ``codeFlow`` whose ``threadFlow`` visits
each node of the path, law first, each step carrying the evidence of the link it leaves by.

A finding covered by a policy exception keeps its result with a ``suppression`` (``kind:
external``, ``state: accepted``, the reason and expiry as ``justification``), which dashboards
show as dismissed.

Rules carry ``helpUri`` (the documentation of their rule type), ``properties.tags``
(``data-residency``, ``security``, the rule type), ``properties.precision`` and
``properties.problem.severity``. Levels: ``critical`` and ``high`` → ``error``, ``medium`` →
``warning``, ``low`` and ``info`` → ``note``. ``properties.security-severity`` (on rules and
results) carries a number on GitHub code scanning's scale (critical 9.0–10.0, high 7.0–8.9,
medium 4.0–6.9, low 0.1–3.9, none 0.0). ``partialFingerprints`` holds the finding id
(rule|node|law), stable across runs.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any
from urllib.parse import quote

from residency_audit.model import Severity
from residency_audit.pipeline import Audit
from residency_audit.report.json_report import as_view
from residency_audit.textsafe import json_safe
from residency_audit.view import AuditView, FindingView, HolderView, RuleView

__all__ = ["DOCS_URI", "INFORMATION_URI", "PSEUDO_ESTATE", "SARIF_SCHEMA", "EstateText", "level",
           "physical_location", "render_sarif", "sarif_dict"]

SARIF_SCHEMA = "https://raw.githubusercontent.com/oasis-tcs/sarif-spec/master/Schemata/sarif-schema-2.1.0.json"
INFORMATION_URI = "https://github.com/residency-audit/residency-audit"
DOCS_URI = INFORMATION_URI + "/blob/main/docs/"
FINGERPRINT_KEY = "residencyAuditFindingId/v1"
PSEUDO_ESTATE = ".residency-audit/estate.json"
MAX_RELATED = 100

_LEVEL = {Severity.CRITICAL: "error", Severity.HIGH: "error", Severity.MEDIUM: "warning",
          Severity.LOW: "note", Severity.INFO: "note"}
_SECURITY_SEVERITY = {Severity.CRITICAL: "9.5", Severity.HIGH: "8.0", Severity.MEDIUM: "5.5",
                      Severity.LOW: "3.0", Severity.INFO: "0.0"}
_PRECISION = {"location": "very-high", "transfer": "high", "reach": "high", "coverage": "very-high"}
_HELP = {"location": "policy.md#what-each-rule-type-decides",
         "transfer": "policy.md#what-each-rule-type-decides",
         "reach": "jurisdiction.md", "coverage": "policy.md#what-each-rule-type-decides"}


@dataclass(frozen=True, slots=True)
class EstateText:
    """An estate file given to the command: its path as given, and its text (to find lines in)."""

    path: str
    text: str


def level(severity: Severity | str) -> str:
    """The SARIF ``level`` of a severity.

    >>> level("critical"), level("medium"), level("info")
    ('error', 'warning', 'note')
    """
    return _LEVEL[Severity(severity)]


def _uri(path: str) -> str:
    """A file path as a SARIF ``uri``: relative paths stay relative (forward slashes, percent-
    encoded), absolute ones become ``file://`` URIs.

    >>> _uri("inventories/region exempel.yaml"), _uri("/srv/inv.yaml"), _uri("C:\\\\inv.yaml")
    ('inventories/region%20exempel.yaml', 'file:///srv/inv.yaml', 'file:///C:/inv.yaml')
    """
    win = PureWindowsPath(path)
    if win.drive:
        return "file:///" + quote(win.as_posix(), safe="/:")
    posix = PurePosixPath(path.replace("\\", "/"))
    if posix.is_absolute():
        return "file://" + quote(posixpath.normpath(str(posix)), safe="/")
    return quote(posixpath.normpath(str(posix)), safe="/")


def _file_line(ref: str) -> tuple[str, int] | None:
    path, sep, line = ref.rpartition(":")
    if sep and path and line.isdigit() and int(line) > 0:
        return path, int(line)
    return None


def _native_id(node: str) -> str:
    kind, _, rest = node.partition(":")
    return rest.partition(":")[2] if kind == "resource" else rest


def _estate_line(node: str, estates: Sequence[EstateText]) -> tuple[str, int] | None:
    needle = '"id": ' + json.dumps(_native_id(node))
    for e in estates:
        at = e.text.find(needle)
        if at >= 0:
            return e.path, e.text.count("\n", 0, at) + 1
    return None


def physical_location(declared_at: str, node: str, estates: Sequence[EstateText] = ()) -> tuple[str, int]:
    """The (uri, line) a finding about ``node`` points to; ``declared_at`` is the inventory
    ``file:line`` that declares it, or ``""`` for what an API showed.

    >>> physical_location("inventories/region exempel.yaml:12", "resource:onprem:x")
    ('inventories/region%20exempel.yaml', 12)
    >>> physical_location("", "resource:aws:arn:aws:s3:::b")
    ('.residency-audit/estate.json', 1)
    >>> physical_location("", "resource:aws:b", [EstateText("scan.json", '{\\n  "id": "b"\\n}')])
    ('scan.json', 2)
    """
    declared = _file_line(declared_at)
    if declared is not None:
        return _uri(declared[0]), declared[1]
    seen = _estate_line(node, estates) if node.startswith(("resource:", "subprocessor:")) else None
    if seen is not None:
        return _uri(seen[0]), seen[1]
    if estates:
        return _uri(estates[0].path), 1
    return PSEUDO_ESTATE, 1


def _kind(node: str) -> str:
    return node.split(":", 1)[0] if ":" in node else "node"


def _logical(node: str, label: str) -> dict[str, Any]:
    return {"name": label, "fullyQualifiedName": node, "kind": _kind(node)}


def _rule(rule: RuleView) -> dict[str, Any]:
    sev = rule.severity
    description = rule.description or f"Policy rule {rule.id} ({rule.type})."
    help_text = f"{description} Remedy: {rule.remedy}" if rule.remedy else description
    return {
        "id": rule.id,
        "name": "".join(part.capitalize() for part in rule.id.replace("_", "-").split("-")),
        "shortDescription": {"text": description},
        "fullDescription": {"text": description},
        "help": {"text": help_text, "markdown": help_text},
        "helpUri": DOCS_URI + _HELP.get(rule.type, "policy.md"),
        "defaultConfiguration": {"level": level(sev)},
        "properties": {"type": rule.type, "severity": str(sev),
                       "security-severity": _SECURITY_SEVERITY[sev],
                       "precision": _PRECISION.get(rule.type, "medium"),
                       "problem.severity": {"error": "error", "warning": "warning"}.get(
                           level(sev), "recommendation"),
                       "tags": sorted({"data-residency", "security", rule.type})},
    }


def _code_flow(f: FindingView) -> dict[str, Any]:
    steps = []
    for i, step in enumerate(f.path):
        text = step.label
        if i < len(f.path_evidence):
            text += " — " + f.path_evidence[i]
        steps.append({"location": {"logicalLocations": [_logical(step.node, step.label)],
                                   "message": {"text": text}},
                      "executionOrder": i + 1})
    return {"message": {"text": f"Witness path from {f.path[0].label} to {f.path[-1].label}"},
            "threadFlows": [{"locations": steps}]}


def _anchor(f: FindingView, holders: Mapping[str, HolderView]) -> str:
    """The holder a finding is located at: the first holder on its witness path, else its first."""
    on_path = [s.node for s in f.path if s.node in holders]
    if on_path:
        return on_path[0]
    if f.node in holders:
        return f.node
    return next((h for h in f.holders if h in holders), "")


class _Locator:
    def __init__(self, v: AuditView, estates: Sequence[EstateText]) -> None:
        self.holders = {h.node: h for h in v.holders}
        self.data = {d.node: d for d in v.data}
        self.estates = estates
        self.artifacts: set[str] = set()

    def at(self, node: str, label: str, message: str = "", *, logical: bool = True) -> dict[str, Any]:
        h = self.holders.get(node)
        d = self.data.get(node)
        origin = (h.origin if h.declared else "") if h is not None else d.origin if d is not None else ""
        uri, line = physical_location(origin, node, self.estates)
        self.artifacts.add(uri)
        out: dict[str, Any] = {"physicalLocation": {"artifactLocation": {"uri": uri},
                                                    "region": {"startLine": line}}}
        if logical:
            out["logicalLocations"] = [_logical(node, label)]
        if message:
            out["message"] = {"text": message}
        return out


def _result(f: FindingView, rule_index: Mapping[str, int], where: _Locator) -> dict[str, Any]:
    sev = f.severity
    anchor = _anchor(f, where.holders)
    location = where.at(anchor or f.node, f.label, logical=False)
    location["logicalLocations"] = [_logical(f.node, f.label)]
    out: dict[str, Any] = {
        "ruleId": f.rule,
        "level": level(sev),
        "message": {"text": f"{f.title}: {f.message} Remedy: {f.remedy}"},
        "locations": [location],
        "partialFingerprints": {FINGERPRINT_KEY: f.id},
        "properties": {"severity": str(sev), "security-severity": _SECURITY_SEVERITY[sev],
                       "laws": list(f.laws), "route": f.route, "data": list(f.data),
                       "countries": list(f.countries), "holders": list(f.locations),
                       "mitigations": list(f.mitigations)},
    }
    others = [h for h in f.holders if h != anchor and h in where.holders][:MAX_RELATED]
    if others:
        out["relatedLocations"] = [
            {"id": i + 1, **where.at(h, where.holders[h].label, f"Also holds a copy: {where.holders[h].label}")}
            for i, h in enumerate(others)]
    if f.rule in rule_index:
        out["ruleIndex"] = rule_index[f.rule]
    if f.path:
        out["codeFlows"] = [_code_flow(f)]
    if f.exception:
        out["suppressions"] = [{"kind": "external", "state": "accepted", "justification": f.exception}]
    return out


def _summary(v: AuditView) -> dict[str, Any]:
    s = v.summary
    return {"resources": s.resources, "subprocessors": s.subprocessors, "data_categories": s.data_categories,
            "countries": list(s.countries), "findings": dict(s.findings), "excepted": s.excepted,
            "gaps": s.gaps, "scopes_not_read": s.scopes_not_read, "sources": list(s.sources)}


def sarif_dict(a: Audit | AuditView, *, estates: Sequence[EstateText] = ()) -> dict[str, Any]:
    """The SARIF log of ``a`` as a JSON-ready dict; ``estates`` are the estate files the audit read
    (for the lines of holders seen by an API)."""
    v = as_view(a)
    rules = [_rule(x) for x in v.policy.rules]
    rule_index = {x["id"]: i for i, x in enumerate(rules)}
    where = _Locator(v, estates)
    results = [_result(f, rule_index, where) for f in v.findings]
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "residency-audit", "version": v.tool_version,
                                "semanticVersion": v.tool_version, "informationUri": INFORMATION_URI,
                                "rules": rules}},
            "automationDetails": {"id": f"residency-audit/{v.policy.name}/"},
            "columnKind": "unicodeCodePoints",
            "artifacts": [{"location": {"uri": uri}} for uri in sorted(where.artifacts)],
            "results": results,
            "properties": {"evaluated_on": v.evaluated_on, "catalog_version": v.catalog_version,
                           "policy": v.policy.name, "home": v.policy.home, "summary": _summary(v)},
        }],
    }


def render_sarif(a: Audit | AuditView, *, estates: Sequence[EstateText] = ()) -> str:
    """The SARIF log of ``a`` as sorted, indented JSON text ending in a newline."""
    return json_safe(json.dumps(sarif_dict(a, estates=estates), indent=2, sort_keys=True,
                                ensure_ascii=False)) + "\n"
