"""HTML for notebooks (``_repr_html_``) and a drawing of the graph; no display library needed."""

from __future__ import annotations

from collections import Counter
from html import escape
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from residency_audit.model import Estate, Finding
    from residency_audit.pipeline import Audit, Explanation

__all__ = ["audit_html", "estate_html", "explanation_html", "finding_html", "plot_audit", "plot_countries"]


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def estate_html(estate: Estate) -> str:
    """A summary of an estate: counts and the places of its copies."""
    places = Counter(p.location for r in estate.resources for p in r.placements)
    places.update(p.location for s in estate.subprocessors for p in s.placements)
    rows = [[loc, str(n)] for loc, n in sorted(places.items())]
    return (f"<div><strong>Estate</strong>: {len(estate.resources)} resources, "
            f"{len(estate.subprocessors)} subprocessors, {len(estate.data)} data categories, "
            f"{len(estate.gaps)} coverage gaps{_table(['location', 'copies'], rows)}</div>")


def finding_html(f: Finding) -> str:
    """One finding with its witness path."""
    path = "".join(f"<li>{escape(n)}<br><small>{escape(e)}</small></li>"
                   for n, e in zip(f.path, (*f.path_evidence, ""), strict=False))
    return (f"<div><strong>[{escape(str(f.severity))}] {escape(f.title)}</strong> "
            f"<code>{escape(f.node)}</code><p>{escape(f.message)}</p>"
            + (f"<ol>{path}</ol>" if path else "")
            + f"<p><em>Remedy:</em> {escape(f.remedy)}</p></div>")


def audit_html(a: Audit) -> str:
    """Counts per severity and a table of the findings."""
    counts = ", ".join(f"{k}: {v}" for k, v in a.counts().items())
    rows = [[str(f.severity), f.rule, f.node, f.law, f.title] for f in a.findings]
    return (f"<div><strong>Audit</strong> with policy <code>{escape(a.policy.name)}</code> on "
            f"{a.evaluated_on.isoformat()} — {escape(counts)}"
            f"{_table(['severity', 'rule', 'node', 'law', 'title'], rows)}</div>")


def explanation_html(x: Explanation) -> str:
    """Every law's witness path to a node."""
    parts = [f"<div><strong>{escape(x.label)}</strong> <code>{escape(x.node)}</code>"]
    if not x.paths:
        parts.append("<p>No law in the catalog reaches it.</p>")
    for p in x.paths:
        steps = "".join(f"<li>{escape(label)} <code>{escape(n)}</code>"
                        + (f"<br><small>{escape(p.evidence[i])}</small>" if i < len(p.evidence) else "")
                        + "</li>" for i, (n, label) in enumerate(zip(p.path, p.labels, strict=True)))
        tag = "foreign" if p.foreign else "home"
        parts.append(f"<p>{escape(p.law_name)} ({escape(p.citation)}; {tag})</p><ol>{steps}</ol>")
    for b in x.blocked:
        parts.append(f"<p>Mitigated ({escape(b.kind)}): {escape(b.description)}</p>")
    parts.append("</div>")
    return "".join(parts)


_LAYER = {"data": 0, "resource": 1, "subprocessor": 1, "location": 2, "entity": 2, "country": 3,
          "law": 4}


def plot_audit(a: Audit, *, ax: Any = None, law: str | None = None) -> Any:
    """Draw the graph in layers (data → holders → places/entities → countries → laws).

    Nodes reached by a foreign law (or by ``law``) are drawn red. Needs matplotlib.
    """
    import matplotlib.pyplot as plt
    import networkx as nx

    g = a.graph
    keep = [n for n, k in g.nodes(data="kind") if k != "law" or any(
        n == x for x in a.reach if a.reach[x].data)]
    sub = g.subgraph(keep)
    for n in sub:
        sub.nodes[n]["layer"] = _LAYER.get(str(g.nodes[n].get("kind")), 2)
    pos = nx.multipartite_layout(sub, subset_key="layer")
    laws = [law] if law else [x for x in a.reach if a.is_foreign(x)]
    reached = set().union(*(a.reach[x].nodes for x in laws)) if laws else set()
    colors = ["#d62728" if n in reached else "#1f77b4" for n in sub]
    if ax is None:
        _, ax = plt.subplots(figsize=(12, 8))
    nx.draw_networkx(sub, pos=pos, ax=ax, node_color=colors, node_size=120, font_size=6,
                     labels={n: str(g.nodes[n].get("label", n))[:30] for n in sub}, arrows=True)
    ax.set_axis_off()
    return ax


_EEA_COLOUR = "#1e8449"
_NON_EEA_COLOUR = "#c0392b"
_UNKNOWN_COLOUR = "#7f8c8d"


def plot_countries(a: Audit, *, ax: Any = None) -> Any:
    """A bar chart of the copies per country: green for EU/EEA, red outside, grey unknown place.

    One copy is one placement of one holder (see :mod:`residency_audit.report.copies`). Returns
    the matplotlib ``Axes``. Needs matplotlib (extra ``[notebook]``).
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    from residency_audit.report.copies import copies_by_country

    rows = copies_by_country(a)
    if ax is None:
        _, ax = plt.subplots(figsize=(max(4.0, 0.6 * len(rows) + 2), 3.5))
    names = [r.country or "unknown" for r in rows]
    colours = [_UNKNOWN_COLOUR if not r.country else _EEA_COLOUR if r.eea else _NON_EEA_COLOUR
               for r in rows]
    ax.bar(names, [r.copies for r in rows], color=colours)
    ax.set_ylabel("copies")
    ax.set_title(f"Where the copies are — policy {a.policy.name}")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.legend(handles=[Patch(color=_EEA_COLOUR, label="EU/EEA"), Patch(color=_NON_EEA_COLOUR, label="outside the EEA"),
                       Patch(color=_UNKNOWN_COLOUR, label="unknown place")],
              loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small")
    return ax
