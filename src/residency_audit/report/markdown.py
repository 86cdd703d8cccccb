"""The Markdown report: what a reviewer reads, with every witness path and its evidence."""

from __future__ import annotations

from residency_audit.model import Severity
from residency_audit.pipeline import Audit
from residency_audit.report.json_report import report_dict

__all__ = ["render_markdown"]


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(a: Audit) -> str:
    """The report of ``a`` as Markdown text ending in a newline."""
    r = report_dict(a)
    s = r["summary"]
    out: list[str] = []
    add = out.append
    add(f"# Residency audit — policy `{r['policy']['name']}` (home {r['policy']['home']})")
    add("")
    add(f"Evaluated on {r['evaluated_on']} with residency-audit {r['tool']['version']}, "
        f"catalog {r['catalog_version']}.")
    add("")
    add("## Summary")
    add("")
    add(f"- Resources: {s['resources']}; subprocessors: {s['subprocessors']}; "
        f"data categories: {s['data_categories']}")
    add(f"- Countries holding copies: {', '.join(s['countries']) or 'none known'}")
    counts = ", ".join(f"{k}: {v}" for k, v in s["findings"].items())
    add(f"- Findings: {counts}; excepted: {s['excepted']}")
    add(f"- Coverage gaps: {s['gaps']}")
    add("")
    add("## Data categories")
    add("")
    add("| Data | Classification | Copies | Countries | Reached by |")
    add("|---|---|---|---|---|")
    for d in r["data"]:
        add(f"| {_cell(d['label'])} (`{d['node']}`) | {_cell(d['classification'])} | {len(d['copies'])} | "
            f"{', '.join(d['countries']) or '—'} | "
            f"{', '.join(x.removeprefix('law:') for x in d['reached_by']) or 'none'} |")
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
            add(f"- Rule: `{f['rule']}`; node: `{f['node']}`" + (f"; law: `{f['law']}`" if f["law"] else ""))
            if f["exception"]:
                add(f"- **Excepted:** {_cell(f['exception'])}")
            add(f"- {_cell(f['message'])}")
            if f["data"]:
                add(f"- Data: {', '.join(f['data'])}")
            if f["path"]:
                add("- Witness path:")
                for i, step in enumerate(f["path"]):
                    add(f"  {i + 1}. {_cell(step['label'])} (`{step['node']}`)")
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
            add(f"| {m['law']} | `{m['source']}` → `{m['target']}` | {m['kind']} | "
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
            add(f"| {g['provider']} | {_cell(g['scope'])} | {g['region']} | {g['service']} | "
                f"{g['operation']} | {_cell(g['error'])} | {_cell(g['resource'])} |")
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
        add(f"| {_cell(law['label'])} ({_cell(law['citation'])}) | {law['country']} | {scope} | "
            f"{'yes' if law['foreign'] else 'no'} | {len(law['reaches_data'])} |")
    return "\n".join(out) + "\n"
