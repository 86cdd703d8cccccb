"""JUnit XML for CI dashboards: a ``testsuite`` per policy rule, a ``testcase`` per (rule, node).

A (rule, node) whose active findings include one at or above the ``fail_on`` severity (the
CLI's ``--fail-on``) is a ``<failure>`` (``type`` is the highest severity, the message names the
findings, the text gives each with its witness path and remedy): the dashboard fails exactly
where the exit code does. A (rule, node) whose active findings are all below ``fail_on`` is a
passing testcase whose ``<system-out>`` gives the findings: CI dashboards count skipped cases as
"not run", which a check that ran and found something below the bar is not, and every dashboard
shows a case's output beside it. One whose findings are all covered by a policy exception is
``<skipped>`` with the exception's reason (accepted, not checked against the bar). With
``fail_on="none"`` nothing fails.

For a rule with an empty scope the nodes it checked and found in order are listed as passing
testcases too: every holder (resource or subprocessor) for ``location``, ``transfer`` and
``coverage`` rules, every data category for ``reach`` rules (and for ``coverage``). A scoped
rule lists only the nodes with findings. No timings or timestamps: the same audit gives the
same bytes.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import defaultdict

from residency_audit.model import Severity
from residency_audit.pipeline import Audit
from residency_audit.report.json_report import as_view
from residency_audit.textsafe import terminal_text
from residency_audit.view import AuditView, FindingView, RuleView

__all__ = ["render_junit"]


def _x(text: object) -> str:
    """Text any XML 1.0 document carries and no dashboard obeys: control characters (those XML
    forbids, and the terminal escapes and bidi overrides it allows) are shown as escapes such as
    ``\\x1b``; line feeds stay."""
    return terminal_text(text)


def _finding_text(f: FindingView) -> str:
    lines = [f"[{f.severity}] {f.title} — {f.label} ({f.node})", f.message]
    if f.laws:
        lines.append("Laws: " + ", ".join(f.laws))
    if f.data:
        lines.append("Data: " + ", ".join(f.data))
    if f.path:
        lines.append("Witness path:")
        for i, step in enumerate(f.path):
            lines.append(f"  {i + 1}. {step.label} ({step.node})")
            if i < len(f.path_evidence):
                lines.append(f"     evidence: {f.path_evidence[i]}")
    for m in f.mitigations:
        lines.append(f"Mitigation: {m}")
    if f.exception:
        lines.append(f"Excepted: {f.exception}")
    lines.append(f"Remedy: {f.remedy}")
    return "\n".join(lines)


def _checked(v: AuditView, rule: RuleView) -> list[str]:
    """The nodes an unscoped rule checks; nothing for a scoped one (only findings are listed)."""
    if rule.scoped:
        return []
    holders = [h.node for h in v.holders]
    data = [d.node for d in v.data]
    if rule.type == "reach":
        return data
    if rule.type == "coverage":
        return sorted(holders + data)
    return holders


def _threshold(fail_on: Severity | str) -> int | None:
    return None if str(fail_on) == "none" else Severity(fail_on).rank


def _case(suite: ET.Element, rule_id: str, node: str, label: str, findings: list[FindingView],
          threshold: int | None) -> tuple[int, int]:
    case = ET.SubElement(suite, "testcase", {"classname": _x(f"residency-audit.{rule_id}"),
                                             "name": _x(f"{label} [{node}]" if label != node else node)})
    active = [f for f in findings if f.active]
    failing = [f for f in active if threshold is not None and f.severity.rank >= threshold]
    text = _x("\n\n".join(_finding_text(f) for f in findings))
    if failing:
        worst = max((f.severity for f in failing), key=lambda s: s.rank)
        titles = sorted({f.title for f in failing})
        failure = ET.SubElement(case, "failure", {"message": _x("; ".join(titles)), "type": _x(worst)})
        failure.text = text
        return 1, 0
    if active:
        out = ET.SubElement(case, "system-out")
        out.text = _x("Below the --fail-on threshold:\n\n") + text
        return 0, 0
    if findings:
        reasons = sorted({f.exception for f in findings})
        skipped = ET.SubElement(case, "skipped", {"message": _x("excepted: " + "; ".join(reasons))})
        skipped.text = text
        return 0, 1
    return 0, 0


def render_junit(a: Audit | AuditView, *, fail_on: Severity | str = Severity.INFO) -> str:
    """The audit as a JUnit XML document (UTF-8 text with an XML declaration, ending in a newline).

    Only active findings at or above ``fail_on`` (a severity, or ``"none"``) are failures.
    """
    v = as_view(a)
    threshold = _threshold(fail_on)
    by_case: dict[tuple[str, str], list[FindingView]] = defaultdict(list)
    labels = {h.node: h.label for h in v.holders} | {d.node: d.label for d in v.data}
    for f in v.findings:
        by_case[(f.rule, f.node)].append(f)
        labels[f.node] = f.label
    root = ET.Element("testsuites", {"name": "residency-audit"})
    totals = [0, 0, 0]
    for rule in v.policy.rules:
        suite = ET.SubElement(root, "testsuite", {"name": _x(rule.id)})
        props = ET.SubElement(suite, "properties")
        for name, value in (("type", rule.type), ("severity", str(rule.severity)),
                            ("description", rule.description), ("policy", v.policy.name),
                            ("evaluated_on", v.evaluated_on), ("fail_on", str(fail_on))):
            ET.SubElement(props, "property", {"name": name, "value": _x(value)})
        nodes = {n for (rule_id, n) in by_case if rule_id == rule.id} | set(_checked(v, rule))
        tests = failures = skipped = 0
        for node in sorted(nodes):
            fails, skips = _case(suite, rule.id, node, labels.get(node, node),
                                 by_case.get((rule.id, node), []), threshold)
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
