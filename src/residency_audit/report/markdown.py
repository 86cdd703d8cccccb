"""The Markdown report: what a reviewer reads, with every witness path and its evidence.

Every string that comes from data (ids, labels, messages, evidence, policy and law names) is
made inert: HTML is escaped, Markdown syntax and table pipes are backslash-escaped, code spans
get a fence longer than any backtick run inside, and control and bidi characters are shown as
escapes (see :mod:`residency_audit.textsafe`). A rendered report never runs or links anything
the data put in it.
"""

from __future__ import annotations

from collections.abc import Iterable

from residency_audit.model import Severity
from residency_audit.pipeline import Audit
from residency_audit.report.copies import copies_text
from residency_audit.report.json_report import as_view
from residency_audit.textsafe import markdown_code, markdown_text
from residency_audit.view import AuditView, FindingView

__all__ = ["render_markdown"]


def _cell(text: object) -> str:
    return markdown_text(text)


def _code(text: object) -> str:
    return markdown_code(text, table=True)


def _inline(text: object) -> str:
    return markdown_code(text)


def _join(items: Iterable[object], empty: str = "") -> str:
    return ", ".join(_cell(x) for x in items) or empty


def _finding(f: FindingView) -> list[str]:
    out = ["", f"#### {_cell(f.title)} — {_cell(f.label)}", ""]
    add = out.append
    add(f"- Rule: {_inline(f.rule)}; node: {_inline(f.node)}"
        + (f"; laws: {_inline(', '.join(f.laws))}" if f.laws else ""))
    if f.exception:
        add(f"- **Excepted:** {_cell(f.exception)}")
    add(f"- {_cell(f.message)}")
    if f.data:
        add(f"- Data: {_join(f.data)}")
    if f.path:
        add("- Witness path:")
        for i, step in enumerate(f.path):
            add(f"  {i + 1}. {_cell(step.label)} ({_inline(step.node)})")
            if i < len(f.path_evidence):
                add(f"     - evidence: {_cell(f.path_evidence[i].split(': ', 1)[-1])}")
    elif f.path_evidence:
        add("- Evidence:")
        for line in f.path_evidence:
            add(f"  - {_cell(line)}")
    for m in f.mitigations:
        add(f"- Mitigation: {_cell(m)}")
    add(f"- Remedy: {_cell(f.remedy)}")
    return out


def render_markdown(a: Audit | AuditView) -> str:
    """The report of ``a`` as Markdown text ending in a newline."""
    v = as_view(a)
    s = v.summary
    out: list[str] = []
    add = out.append
    add(f"# Residency audit — policy {_inline(v.policy.name)} (home {_cell(v.policy.home)})")
    add("")
    add(f"Evaluated on {_cell(v.evaluated_on)} with residency-audit {_cell(v.tool_version)}, "
        f"catalog {_cell(v.catalog_version)}.")
    add("")
    add("## Summary")
    add("")
    add(f"- Resources: {s.resources}; subprocessors: {s.subprocessors}; "
        f"data categories: {s.data_categories}")
    add(f"- Countries holding copies: {_join(s.countries, 'none known')}")
    counts = ", ".join(f"{k}: {n}" for k, n in s.findings.items())
    add(f"- Findings: {counts}; excepted: {s.excepted}")
    add(f"- Coverage gaps: {s.gaps}")
    add("")
    add("## Data categories")
    add("")
    add("Copies count placements: a holder with a primary and a secondary place holds two copies.")
    add("")
    add("| Data | Classification | Copies | Countries | Reached by |")
    add("|---|---|---|---|---|")
    for d in v.data:
        add(f"| {_cell(d.label)} ({_code(d.node)}) | {_cell(d.classification)} | {copies_text(d)} | "
            f"{_join(d.countries, '—')} | "
            f"{_join((x.removeprefix('law:') for x in d.reached_by), 'none')} |")
    add("")
    add("## Findings")
    for sev in reversed(list(Severity)):
        group = [f for f in v.findings if f.severity == sev]
        if not group:
            continue
        add("")
        add(f"### {str(sev).capitalize()} ({len(group)})")
        for f in group:
            out.extend(_finding(f))
    if not v.findings:
        add("")
        add("No findings.")
    add("")
    add("## Mitigations")
    add("")
    if v.mitigations:
        add("| Law | Link | Kind | What it rests on |")
        add("|---|---|---|---|")
        for m in v.mitigations:
            add(f"| {_cell(m.law)} | {_code(m.source)} → {_code(m.target)} | {_cell(m.kind)} | "
                f"{_cell(m.description)} ({_cell(m.evidence)}) |")
    else:
        add("None declared, or none stood in a law's way.")
    add("")
    add("## Coverage gaps")
    add("")
    if v.gaps:
        add("| Provider | Scope | Region | Service | Operation | Error | Resource |")
        add("|---|---|---|---|---|---|---|")
        for g in v.gaps:
            add(f"| {_cell(g.provider)} | {_cell(g.scope)} | {_cell(g.region)} | {_cell(g.service)} | "
                f"{_cell(g.operation)} | {_cell(g.error)} | {_cell(g.resource)} |")
    else:
        add("None: every source answered.")
    add("")
    add("## Laws considered")
    add("")
    add("| Law | Country | Scope | Foreign | Data reached |")
    add("|---|---|---|---|---|")
    for law in v.laws:
        scope = " + ".join(x for x, on in (("territorial", law.territorial),
                                          ("extraterritorial", law.extraterritorial)) if on)
        add(f"| {_cell(law.label)} ({_cell(law.citation)}) | {_cell(law.country)} | {scope} | "
            f"{'yes' if law.foreign else 'no'} | {len(law.reaches_data)} |")
    return "\n".join(out) + "\n"
