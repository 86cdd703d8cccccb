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
    from residency_audit.view import AuditView

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
        table.add_column(Text(visible(h)), overflow="fold")  # a narrow terminal folds, never cuts
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
    rows = [[str(f.severity), f.rule, f.node, " ".join(f.all_laws), f.title] for f in a.findings]
    return (f"<div><strong>Audit</strong> with policy <code>{_h(a.policy.name)}</code> on "
            f"{a.evaluated_on.isoformat()} — {_h(counts)}"
            f"{_table(['severity', 'rule', 'node', 'laws', 'title'], rows)}</div>")


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


_KIND_COLOUR = {"data": "#8e44ad", "resource": "#2e86c1", "subprocessor": "#2e86c1", "location": "#17a589",
                "entity": "#d68910", "country": "#566573", "law": "#7b1020"}
_KIND_NAME = {"data": "data", "resource": "holder (resource, subprocessor)", "location": "location",
              "entity": "entity", "country": "country", "law": "law"}
_PATH_COLOUR = "#c0392b"


def _reached(v: AuditView, laws: set[str]) -> set[str]:
    """The nodes of the picture that one of ``laws`` reaches: the laws, holders and data."""
    out = set(laws)
    out.update(h.node for h in v.holders if laws.intersection(h.reached_by))
    out.update(d.node for d in v.data if laws.intersection(d.reached_by))
    return out


def plot_audit(a: Audit | AuditView, *, ax: Any = None, law: str | None = None) -> Any:
    """Draw the graph with the HTML report's layout (data → holders → locations → operators →
    parents → countries → laws; only laws that reach some data).

    Nodes are coloured by kind; the links of the witness paths of active findings are red; nodes
    reached by a foreign law (or by ``law``) are ringed red. A legend says which is which. Returns
    the matplotlib ``Axes``. Needs matplotlib (extra ``[notebook]``).
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import FancyArrowPatch

    from residency_audit.report.html import LABEL_CHARS, graph_layout, witness
    from residency_audit.report.json_report import as_view

    v = as_view(a)
    lay = graph_layout(v)
    _, links = witness(v)
    laws = {law} if law else {x.node for x in v.laws if x.foreign}
    reached = _reached(v, laws) & set(lay.pos)
    if ax is None:
        _, ax = plt.subplots(figsize=(max(8.0, lay.width / 100), max(3.0, lay.height / 100)))

    def xy(n: str) -> tuple[float, float]:
        x, y = lay.pos[n]
        return float(x), float(lay.height - y)

    for u, t, _rel in sorted(lay.edges, key=lambda e: (frozenset(e[:2]) in links, e)):
        hl = frozenset((u, t)) in links
        (x1, y1), (x2, y2) = xy(u), xy(t)
        ax.add_patch(FancyArrowPatch((x1, y1), (x2, y2), arrowstyle="-",
                                     connectionstyle="arc3,rad=0.35" if x1 == x2 else "arc3,rad=0.0",
                                     color=_PATH_COLOUR if hl else "#b5b5b5", linewidth=2.2 if hl else 0.8,
                                     zorder=2 if hl else 1))
    for name, members in lay.columns:
        if members:
            ax.text(xy(members[0])[0], lay.height - 20, name, ha="center", va="bottom", fontsize=8,
                    fontweight="bold", color="#444")
    for n in sorted(lay.pos):
        x, y = xy(n)
        kind = lay.kinds[n]
        ax.scatter([x], [y], s=46, color=_KIND_COLOUR.get(kind, "#999"), zorder=3,
                   edgecolors=_PATH_COLOUR if n in reached else "white", linewidths=1.8 if n in reached else 0.8)
        label = lay.labels[n]
        ax.text(x, y + 11, label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…",
                ha="center", va="bottom", fontsize=6, zorder=4,
                bbox={"boxstyle": "round,pad=0.1", "facecolor": "white", "edgecolor": "none", "alpha": 0.85})
    kinds = sorted({"resource" if k == "subprocessor" else k for k in lay.kinds.values()},
                   key=list(_KIND_NAME).index)
    handles = [Line2D([], [], marker="o", linestyle="", color=_KIND_COLOUR[k], label=_KIND_NAME[k]) for k in kinds]
    handles.append(Line2D([], [], color=_PATH_COLOUR, linewidth=2.2, label="witness path of a finding"))
    handles.append(Line2D([], [], marker="o", linestyle="", color="white", markeredgecolor=_PATH_COLOUR,
                          markeredgewidth=1.8, label=f"reached by {law}" if law else "reached by a foreign law"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small", frameon=False)
    ax.set_xlim(0, lay.width)
    ax.set_ylim(0, lay.height)
    ax.set_aspect("equal")
    ax.set_axis_off()
    return ax


_REACHED_COLOUR = "#c0392b"
_CLEAR_COLOUR = "#1e8449"


def plot_countries(a: Audit | AuditView, *, ax: Any = None) -> Any:
    """A stacked bar chart of the copies per country: red the copies a foreign law reaches, green
    those it does not; countries outside the EEA are marked ``*``, copies of unknown place have a
    bar of their own (``unknown place``).

    One copy is one placement of one holder (see :mod:`residency_audit.report.copies`), counted as
    the HTML chart and the data table count them. Returns the matplotlib ``Axes``. Needs
    matplotlib (extra ``[notebook]``).
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    from residency_audit.report.copies import copies_by_country
    from residency_audit.report.json_report import as_view

    v = as_view(a)
    rows = copies_by_country(v)
    if ax is None:
        _, ax = plt.subplots(figsize=(max(4.0, 0.6 * len(rows) + 2), 3.5))
    names = [r.country if r.eea else f"{r.country}*" if r.country else "unknown place" for r in rows]
    reached = [r.reached for r in rows]
    clear = [r.copies - r.reached for r in rows]
    ax.bar(names, reached, color=_REACHED_COLOUR, label="reached by a foreign law")
    ax.bar(names, clear, bottom=reached, color=_CLEAR_COLOUR, label="not reached by a foreign law")
    ax.set_ylabel("copies")
    ax.set_title(f"Where the copies are — policy {visible(v.policy.name)}")
    ax.yaxis.get_major_locator().set_params(integer=True)
    handles = [Patch(color=_REACHED_COLOUR, label="reached by a foreign law"),
               Patch(color=_CLEAR_COLOUR, label="not reached by a foreign law")]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small",
              title="* outside the EEA", title_fontsize="small")
    return ax
