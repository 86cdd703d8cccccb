"""JUnit XML for CI dashboards: a ``testsuite`` per policy rule, a ``testcase`` per (rule, node).

A (rule, node) with active findings is a ``<failure>`` (``type`` is the highest severity, the
message names the findings, the text gives each with its witness path and remedy); one whose
findings are all covered by an exception is ``<skipped>`` with the exception's reason. For a
rule with an empty scope the nodes it checked and found in order are listed as passing
testcases too: every holder (resource or subprocessor) for ``location``, ``transfer`` and
``coverage`` rules, every data category for ``reach`` rules (and for ``coverage``). A scoped
rule lists only its failing and skipped cases. No timings or timestamps: the same audit gives
the same bytes.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import defaultdict
from typing import Any

from residency_audit.model import Severity
from residency_audit.pipeline import Audit
from residency_audit.report.json_report import report_dict
from residency_audit.textsafe import terminal_text

__all__ = ["render_junit"]

def _x(text: object) -> str:
    """Text any XML 1.0 document carries and no dashboard obeys: control characters (those XML
    forbids, and the terminal escapes and bidi overrides it allows) are shown as escapes such as
    ``\\x1b``; line feeds stay."""
    return terminal_text(text)


def _finding_text(f: dict[str, Any]) -> str:
    lines = [f"[{f['severity']}] {f['title']} — {f['label']} ({f['node']})", f["message"]]
    if f["laws"]:
        lines.append("Laws: " + ", ".join(f["laws"]))
    if f["data"]:
        lines.append("Data: " + ", ".join(f["data"]))
    if f["path"]:
        lines.append("Witness path:")
        for i, step in enumerate(f["path"]):
            lines.append(f"  {i + 1}. {step['label']} ({step['node']})")
            if i < len(f["path_evidence"]):
                lines.append(f"     evidence: {f['path_evidence'][i]}")
    for m in f["mitigations"]:
        lines.append(f"Mitigation: {m}")
    if f["exception"]:
        lines.append(f"Excepted: {f['exception']}")
    lines.append(f"Remedy: {f['remedy']}")
    return "\n".join(lines)


def _checked(a: Audit, rule: Any) -> list[str]:
    """The nodes an unscoped rule checks; nothing for a scoped one (only failures are listed)."""
    if not rule.scope.empty:
        return []
    g = a.graph
    holders = sorted(n for n, k in g.nodes(data="kind") if k in ("resource", "subprocessor"))
    data = sorted(n for n, k in g.nodes(data="kind") if k == "data")
    if rule.type == "reach":
        return data
    if rule.type == "coverage":
        return sorted(holders + data)
    return holders


def _case(suite: ET.Element, rule_id: str, node: str, label: str,
          findings: list[dict[str, Any]]) -> tuple[int, int]:
    case = ET.SubElement(suite, "testcase", {"classname": _x(f"residency-audit.{rule_id}"),
                                             "name": _x(f"{label} [{node}]" if label != node else node)})
    active = [f for f in findings if not f["exception"]]
    if active:
        worst = max((Severity(f["severity"]) for f in active), key=lambda s: s.rank)
        titles = sorted({f["title"] for f in active})
        failure = ET.SubElement(case, "failure", {"message": _x("; ".join(titles)), "type": _x(worst)})
        failure.text = _x("\n\n".join(_finding_text(f) for f in findings))
        return 1, 0
    if findings:
        reasons = sorted({f["exception"] for f in findings})
        skipped = ET.SubElement(case, "skipped", {"message": _x("excepted: " + "; ".join(reasons))})
        skipped.text = _x("\n\n".join(_finding_text(f) for f in findings))
        return 0, 1
    return 0, 0


def render_junit(a: Audit) -> str:
    """The audit as a JUnit XML document (UTF-8 text with an XML declaration, ending in a newline)."""
    r = report_dict(a)
    g = a.graph
    by_case: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    labels: dict[str, str] = {}
    for f in r["findings"]:
        by_case[(f["rule"], f["node"])].append(f)
        labels[f["node"]] = f["label"]
    root = ET.Element("testsuites", {"name": "residency-audit"})
    totals = [0, 0, 0]
    rules = {rule.id: rule for rule in a.policy.rules}
    for rule in r["policy"]["rules"]:
        rid = rule["id"]
        suite = ET.SubElement(root, "testsuite", {"name": _x(rid)})
        props = ET.SubElement(suite, "properties")
        for name, value in (("type", rule["type"]), ("severity", rule["severity"]),
                            ("description", rule["description"]), ("policy", r["policy"]["name"]),
                            ("evaluated_on", r["evaluated_on"])):
            ET.SubElement(props, "property", {"name": name, "value": _x(value)})
        nodes = {n for (rule_id, n) in by_case if rule_id == rid}
        nodes |= set(_checked(a, rules[rid])) if rid in rules else set()
        tests = failures = skipped = 0
        for node in sorted(nodes):
            label = labels.get(node) or (str(g.nodes[node].get("label", node)) if node in g else node)
            fails, skips = _case(suite, rid, node, label, by_case.get((rid, node), []))
            tests += 1
            failures += fails
            skipped += skips
        suite.set("tests", str(tests))
        suite.set("failures", str(failures))
        suite.set("errors", "0")
        suite.set("skipped", str(skipped))
        totals[0] += tests
        totals[1] += failures
        totals[2] += skipped
    root.set("tests", str(totals[0]))
    root.set("failures", str(totals[1]))
    root.set("errors", "0")
    root.set("skipped", str(totals[2]))
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
