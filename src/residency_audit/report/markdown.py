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
from residency_audit.report.json_report import report_dict
from residency_audit.textsafe import markdown_code, markdown_text

__all__ = ["render_markdown"]


def _cell(text: object) -> str:
    return markdown_text(text)


def _code(text: object) -> str:
    return markdown_code(text, table=True)


def _inline(text: object) -> str:
    return markdown_code(text)


def _join(items: Iterable[object], empty: str = "") -> str:
    return ", ".join(_cell(x) for x in items) or empty


def render_markdown(a: Audit) -> str:
    """The report of ``a`` as Markdown text ending in a newline."""
    r = report_dict(a)
    s = r["summary"]
    out: list[str] = []
    add = out.append
    add(f"# Residency audit — policy {_inline(r['policy']['name'])} (home {_cell(r['policy']['home'])})")
    add("")
    add(f"Evaluated on {_cell(r['evaluated_on'])} with residency-audit {_cell(r['tool']['version'])}, "
        f"catalog {_cell(r['catalog_version'])}.")
    add("")
    add("## Summary")
    add("")
    add(f"- Resources: {s['resources']}; subprocessors: {s['subprocessors']}; "
        f"data categories: {s['data_categories']}")
    add(f"- Countries holding copies: {_join(s['countries'], 'none known')}")
    counts = ", ".join(f"{k}: {v}" for k, v in s["findings"].items())
    add(f"- Findings: {counts}; excepted: {s['excepted']}")
    add(f"- Coverage gaps: {s['gaps']}")
    add("")
    add("## Data categories")
    add("")
    add("| Data | Classification | Copies | Countries | Reached by |")
    add("|---|---|---|---|---|")
    for d in r["data"]:
        add(f"| {_cell(d['label'])} ({_code(d['node'])}) | {_cell(d['classification'])} | {len(d['copies'])} | "
            f"{_join(d['countries'], '—')} | "
            f"{_join((x.removeprefix('law:') for x in d['reached_by']), 'none')} |")
    add("")
    add("## Findings")
    for sev in reversed(list(Severity)):
        group = [f for f in r["findings"] if f["severity"] == str(sev)]
        if not group:
            continue
        add("")
        add(f"### {str(sev).capitalize()} ({len(group)})")
        for f in group:
            add("")
            add(f"#### {_cell(f['title'])} — {_cell(f['label'])}")
            add("")
            add(f"- Rule: {_inline(f['rule'])}; node: {_inline(f['node'])}"
                + (f"; laws: {_inline(', '.join(f['laws']))}" if f["laws"] else ""))
            if f["exception"]:
                add(f"- **Excepted:** {_cell(f['exception'])}")
            add(f"- {_cell(f['message'])}")
            if f["data"]:
                add(f"- Data: {_join(f['data'])}")
            if f["path"]:
                add("- Witness path:")
                for i, step in enumerate(f["path"]):
                    add(f"  {i + 1}. {_cell(step['label'])} ({_inline(step['node'])})")
                    if i < len(f["path_evidence"]):
                        add(f"     - evidence: {_cell(f['path_evidence'][i].split(': ', 1)[-1])}")
            elif f["path_evidence"]:
                add("- Evidence:")
                for line in f["path_evidence"]:
                    add(f"  - {_cell(line)}")
            for m in f["mitigations"]:
                add(f"- Mitigation: {_cell(m)}")
            add(f"- Remedy: {_cell(f['remedy'])}")
    if not r["findings"]:
        add("")
        add("No findings.")
    add("")
    add("## Mitigations")
    add("")
    if r["mitigations"]:
        add("| Law | Link | Kind | What it rests on |")
        add("|---|---|---|---|")
        for m in r["mitigations"]:
            add(f"| {_cell(m['law'])} | {_code(m['source'])} → {_code(m['target'])} | {_cell(m['kind'])} | "
                f"{_cell(m['description'])} ({_cell(m['evidence'])}) |")
    else:
        add("None declared, or none stood in a law's way.")
    add("")
    add("## Coverage gaps")
    add("")
    if r["gaps"]:
        add("| Provider | Scope | Region | Service | Operation | Error | Resource |")
        add("|---|---|---|---|---|---|---|")
        for g in r["gaps"]:
            add(f"| {_cell(g['provider'])} | {_cell(g['scope'])} | {_cell(g['region'])} | {_cell(g['service'])} | "
                f"{_cell(g['operation'])} | {_cell(g['error'])} | {_cell(g['resource'])} |")
    else:
        add("None: every source answered.")
    add("")
    add("## Laws considered")
    add("")
    add("| Law | Country | Scope | Foreign | Data reached |")
    add("|---|---|---|---|---|")
    for law in r["laws"]:
        scope = " + ".join(x for x, on in (("territorial", law["territorial"]),
                                          ("extraterritorial", law["extraterritorial"])) if on)
        add(f"| {_cell(law['label'])} ({_cell(law['citation'])}) | {_cell(law['country'])} | {scope} | "
            f"{'yes' if law['foreign'] else 'no'} | {len(law['reaches_data'])} |")
    return "\n".join(out) + "\n"
