"""HTML for notebooks (``_repr_html_``), a drawing of the graph, and tables for the terminal.

Every data string is escaped for where it goes: HTML-escaped for notebooks, and for the
terminal shown with its control and bidi characters as escapes and never read as rich markup
(no ``[link=…]``, no highlighting): see :func:`print_table`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from html import escape
from typing import TYPE_CHECKING, Any, TextIO

from residency_audit.textsafe import visible

if TYPE_CHECKING:
    from residency_audit.model import Estate, Finding
    from residency_audit.pipeline import Audit, Explanation

__all__ = ["audit_html", "estate_html", "explanation_html", "finding_html", "plot_audit", "plot_countries",
           "print_table"]


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{_h(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_h(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _h(text: object) -> str:
    """Data as HTML: markup escaped, control and bidi characters shown as escapes."""
    return escape(visible(text))


def print_table(out: TextIO, header: Sequence[str], rows: Sequence[Sequence[object]], *,
                width: int) -> None:
    """Print a table to a terminal (or file) with rich, every cell taken as plain text.

    Cells become :class:`rich.text.Text` objects, so that ``[link=…]`` or ``[bold]`` in data is
    printed as it is, never as markup; controls and bidi overrides are shown as escapes
    (:func:`residency_audit.textsafe.visible`); rich's highlighter, emoji codes and hyperlinks
    are off.

    >>> import io
    >>> buf = io.StringIO()
    >>> print_table(buf, ["name"], [["[link=https://x.invalid]a[/link]\\x1b[31m"]], width=60)
    >>> "[link=https://x.invalid]a[/link]\\\\x1b[31m" in buf.getvalue(), "\\x1b" in buf.getvalue()
    (True, False)
    """
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(highlight=False)
    for h in header:
        table.add_column(Text(visible(h)))
    for row in rows:
        table.add_row(*(Text(visible(c)) for c in row))
    Console(file=out, width=width, highlight=False, markup=False, emoji=False,
            color_system=None, force_terminal=False, force_jupyter=False,
            soft_wrap=False).print(table)


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
    path = "".join(f"<li>{_h(n)}<br><small>{_h(e)}</small></li>"
                   for n, e in zip(f.path, (*f.path_evidence, ""), strict=False))
    return (f"<div><strong>[{_h(str(f.severity))}] {_h(f.title)}</strong> "
            f"<code>{_h(f.node)}</code><p>{_h(f.message)}</p>"
            + (f"<ol>{path}</ol>" if path else "")
            + f"<p><em>Remedy:</em> {_h(f.remedy)}</p></div>")


def audit_html(a: Audit) -> str:
    """Counts per severity and a table of the findings."""
    counts = ", ".join(f"{k}: {v}" for k, v in a.counts().items())
    rows = [[str(f.severity), f.rule, f.node, f.law, f.title] for f in a.findings]
    return (f"<div><strong>Audit</strong> with policy <code>{_h(a.policy.name)}</code> on "
            f"{a.evaluated_on.isoformat()} — {_h(counts)}"
            f"{_table(['severity', 'rule', 'node', 'law', 'title'], rows)}</div>")


def explanation_html(x: Explanation) -> str:
    """Every law's witness path to a node."""
    parts = [f"<div><strong>{_h(x.label)}</strong> <code>{_h(x.node)}</code>"]
    if not x.paths:
        parts.append("<p>No law in the catalog reaches it.</p>")
    for p in x.paths:
        steps = "".join(f"<li>{_h(label)} <code>{_h(n)}</code>"
                        + (f"<br><small>{_h(p.evidence[i])}</small>" if i < len(p.evidence) else "")
                        + "</li>" for i, (n, label) in enumerate(zip(p.path, p.labels, strict=True)))
        tag = "foreign" if p.foreign else "home"
        parts.append(f"<p>{_h(p.law_name)} ({_h(p.citation)}; {tag})</p><ol>{steps}</ol>")
    for b in x.blocked:
        parts.append(f"<p>Mitigated ({_h(b.kind)}): {_h(b.description)}</p>")
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
