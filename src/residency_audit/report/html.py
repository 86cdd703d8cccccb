"""A single-file HTML report that opens offline: summary, graph picture, findings, gaps, mitigations.

Nothing is fetched: the CSS is inline (allowed by its hash in a strict Content-Security-Policy
that forbids scripts, fonts, images, frames and connections), the pictures are inline SVG laid
out here, and there is no link to anything outside the page. Every text that comes from an estate,
an inventory, a catalog or a policy is escaped, and its control and bidi characters are shown
as escapes. The page's own words come from the report's message catalog, in English or Swedish
(:class:`~residency_audit.report.markdown.ReportText`); CSS classes stay the same in both.

Everything is read from the audit's typed view (:class:`~residency_audit.view.AuditView`),
including the picture: the view carries the nodes and links that the picture draws
(:class:`~residency_audit.view.GraphView`), so a view alone makes the whole report.

The graph picture puts the nodes in columns — data, holders, locations, operating entities,
their parents (one column per level of control), countries, laws — and orders each column by
the mean row of its neighbours in the columns before it (ties by node id), so the same audit
gives the same picture, byte for byte. The nodes and links of the witness paths of active
findings are drawn highlighted (class ``hl``); nodes with an active finding are ringed
(class ``flag``). Links are drawn first, as curves, and every label sits on a padded box of the
background colour, between the rows that links run along, so no link crosses a label; a label cut short shows in full on hover (SVG
``<title>``). The picture has its own size and a ``viewBox``, and shrinks to the width of its
box (``max-width: 100%``), never growing past its own size; a wide one keeps a minimum width
and scrolls on a narrow screen, and prints on a landscape page of its own, scaled to fit.
"""

from __future__ import annotations

import base64
import hashlib
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from html import escape
from itertools import pairwise

from residency_audit.model import Severity
from residency_audit.pipeline import Audit
from residency_audit.report.copies import CountryCopies, copies_by_country
from residency_audit.report.json_report import as_view
from residency_audit.report.markdown import ReportText, law_scope, report_text
from residency_audit.textsafe import visible
from residency_audit.view import AuditView, DataView, FindingView

__all__ = ["GraphLayout", "graph_layout", "render_html", "witness"]

MAX_PICTURE_NODES = 300
COL_W = 180
ROW_H = 38
TOP = 40
LEFT = 96
LABEL_CHARS = 24
WIDE = 1000
"""A picture wider than this (in its own pixels) keeps a minimum width and scrolls on a narrow screen."""

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1360px;
padding:1em 2em;color:#1b1b1b;line-height:1.45}
h1{font-size:1.5em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
p,ol,ul{max-width:60em}
table{border-collapse:collapse;margin:.5em 0;font-size:.92em}
th,td{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f3f3f3}code{font-size:.9em;word-break:break-all}
.sev{display:inline-block;padding:0 .45em;border-radius:.3em;color:#fff;font-weight:600;font-size:.85em}
.sev-critical{background:#7b1020}.sev-high{background:#c0392b}.sev-medium{background:#d68910}
.sev-low{background:#2e86c1}.sev-info{background:#707b7c}
.finding{border:1px solid #ddd;border-left:.35em solid #999;padding:.4em .9em;margin:.8em 0}
.finding.excepted{opacity:.75;border-left-color:#aaa}
.finding.s-critical{border-left-color:#7b1020}.finding.s-high{border-left-color:#c0392b}
.finding.s-medium{border-left-color:#d68910}.finding.s-low{border-left-color:#2e86c1}
.evidence{color:#555;font-size:.85em;word-break:break-word}
.muted{color:#666}.ok{color:#1e8449}
.figure{overflow-x:auto;border:1px solid #ddd;padding:.5em;background:#fcfcfc}
svg.graph,svg.countries{display:block;max-width:100%;height:auto}
svg.graph.wide{min-width:1000px}
svg text{font-family:system-ui,sans-serif;font-size:12px;fill:#222}
svg .lbl{paint-order:stroke;stroke:#fcfcfc;stroke-width:3px;stroke-linejoin:round}
svg .lblbox{fill:#fcfcfc;fill-opacity:.88}
svg .col{font-weight:700;font-size:13px;fill:#444}
svg .edge{fill:none;stroke:#b5b5b5;stroke-width:1}
svg .edge.hl{stroke:#c0392b;stroke-width:2.5}
svg .node{stroke:#fff;stroke-width:1.5}
svg .k-data{fill:#8e44ad}svg .k-resource,svg .k-subprocessor{fill:#2e86c1}
svg .k-location{fill:#17a589}svg .k-entity{fill:#d68910}svg .k-country{fill:#566573}
svg .k-law{fill:#7b1020}svg .node.hl{stroke:#c0392b;stroke-width:3}
svg .ring{fill:none;stroke:#c0392b;stroke-width:1.5;stroke-dasharray:3 2}
svg .bar.reached{fill:#c0392b}svg .bar.clear{fill:#1e8449}svg text.unknown{font-style:italic;fill:#555}
@page graph{size:A4 landscape;margin:1cm}
@media print{body{max-width:none;padding:0}.figure{overflow:visible;border:0;padding:0}
.graphpage{page:graph;break-before:page;break-after:page}
svg.graph,svg.graph.wide{min-width:0;max-height:17cm}
.finding,tr,svg{break-inside:avoid}nav{display:none}}
""".strip()


def _e(text: object) -> str:
    """Data as HTML text or attribute: markup escaped, controls and bidi overrides shown as escapes
    (which also keeps the inline SVG well-formed XML)."""
    return escape(visible(text), quote=True)


def _short(text: str, n: int = LABEL_CHARS) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _sev(name: str, t: ReportText) -> str:
    return f'<span class="sev sev-{_e(name)}">{_e(t.sev(name))}</span>'


# graph picture -------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class GraphLayout:
    """Where each node of the picture goes: ``columns`` of node ids, ``pos`` in pixels (``y`` down),
    ``kinds`` and ``labels`` of the nodes, ``edges`` as (source, target, relations)."""

    columns: tuple[tuple[str, tuple[str, ...]], ...]
    pos: dict[str, tuple[int, int]]
    edges: tuple[tuple[str, str, str], ...]
    width: int
    height: int
    omitted: int
    kinds: Mapping[str, str]
    labels: Mapping[str, str]


def witness(v: AuditView) -> tuple[set[str], set[frozenset[str]]]:
    """The nodes and links (unordered pairs) of the witness paths of the active findings."""
    nodes: set[str] = set()
    links: set[frozenset[str]] = set()
    for f in v.active_findings:
        path = [s.node for s in f.path]
        nodes.update(path)
        links.update(frozenset(p) for p in pairwise(path))
    return nodes, links


def _entity_depths(out: Mapping[str, list[tuple[str, str]]], entities: set[str],
                   holders: set[str]) -> dict[str, int]:
    depth: dict[str, int] = {}
    frontier = sorted({t for h in holders for t, rel in out.get(h, ()) if "operated_by" in rel and t in entities})
    level = 0
    while frontier:
        nxt: list[str] = []
        for e in frontier:
            if e in depth:
                continue
            depth[e] = level
            nxt.extend(t for t, rel in out.get(e, ()) if "controlled_by" in rel and t in entities)
        frontier = sorted(set(nxt) - set(depth))
        level += 1
    for e in sorted(entities - set(depth)):
        depth[e] = 0
    return depth


def _kept(v: AuditView, kinds: Mapping[str, str], path_nodes: set[str], max_nodes: int) -> tuple[set[str], int]:
    reaching = {law.node for law in v.laws if law.reaches_data}
    keep = {n for n, k in kinds.items() if k != "law" or n in reaching or n in path_nodes}
    connected = {x for e in v.graph.edges if e.source in keep and e.target in keep for x in (e.source, e.target)}
    keep = {n for n in keep if n in connected or kinds[n] != "country"}
    if len(keep) <= max_nodes:
        return keep, 0
    flagged = {f.node for f in v.active_findings}
    small = {n for n in keep if kinds[n] == "data"} | (path_nodes & keep)
    room = max(0, max_nodes - len(small))
    small |= set(sorted((flagged & keep) - small)[:room])
    return small, len(keep) - len(small)


def graph_layout(a: Audit | AuditView, *, max_nodes: int = MAX_PICTURE_NODES) -> GraphLayout:
    """A deterministic layered layout of the data-flow graph of ``a``.

    Laws that reach no data are left out, and so are countries left with no link. When more than
    ``max_nodes`` remain, only the data and the nodes of witness paths are kept, then nodes with
    findings (by id) while there is room; ``omitted`` says how many were dropped.
    """
    v = as_view(a)
    all_kinds = {n.node: n.kind for n in v.graph.nodes}
    path_nodes, _ = witness(v)
    keep, omitted = _kept(v, all_kinds, path_nodes, max_nodes)
    kinds = {n: all_kinds[n] for n in keep}
    labels = {n.node: n.label for n in v.graph.nodes if n.node in keep}
    edges = tuple((e.source, e.target, e.relation) for e in v.graph.edges
                  if e.source in keep and e.target in keep)
    out: dict[str, list[tuple[str, str]]] = defaultdict(list)
    neighbours: dict[str, set[str]] = defaultdict(set)
    for u, t, rel in edges:
        out[u].append((t, rel))
        neighbours[u].add(t)
        neighbours[t].add(u)
    holders = {n for n, k in kinds.items() if k in ("resource", "subprocessor")}
    entities = {n for n, k in kinds.items() if k == "entity"}
    depth = _entity_depths(out, entities, holders)
    levels = max(depth.values(), default=0) + 1
    names = ["Data", "Holders", "Locations", "Operators"] + ["Parents"] * (levels - 1) + ["Countries", "Laws"]

    def column(n: str) -> int:
        k = kinds[n]
        fixed = {"data": 0, "resource": 1, "subprocessor": 1, "location": 2}
        if k in fixed:
            return fixed[k]
        if k == "entity":
            return 3 + depth[n]
        return 3 + levels + (0 if k == "country" else 1)

    cols: dict[int, list[str]] = defaultdict(list)
    for n in sorted(keep):
        cols[column(n)].append(n)
    row: dict[str, int] = {}
    ordered: list[tuple[str, tuple[str, ...]]] = []
    for c in range(len(names)):
        def key(n: str) -> tuple[int, float, str]:
            placed = sorted(row[m] for m in neighbours[n] if m in row)
            return (0, sum(placed) / len(placed), n) if placed else (1, 0.0, n)

        members = tuple(sorted(cols.get(c, []), key=key))
        for i, n in enumerate(members):
            row[n] = i
        ordered.append((names[c], members))
    tallest = max((len(m) for _, m in ordered), default=0)
    pos: dict[str, tuple[int, int]] = {}
    for c, (_, members) in enumerate(ordered):
        offset = (tallest - len(members)) // 2 * ROW_H  # whole rows: labels sit between the rows of links
        for i, n in enumerate(members):
            pos[n] = (LEFT + c * COL_W, TOP + 24 + offset + i * ROW_H)
    width = LEFT * 2 + (len(ordered) - 1) * COL_W
    height = TOP + 24 + max(tallest - 1, 0) * ROW_H + 24
    return GraphLayout(columns=tuple(ordered), pos=pos, edges=edges, width=width, height=height,
                       omitted=omitted, kinds=kinds, labels=labels)


def edge_path(p: tuple[int, int], q: tuple[int, int]) -> str:
    """The SVG path of a link: an S-curve between columns, an arc beside the column within one.

    >>> edge_path((0, 0), (100, 40))
    'M0 0 C50 0 50 40 100 40'
    >>> edge_path((10, 0), (10, 76))
    'M10 0 Q-28 38 10 76'
    """
    (x1, y1), (x2, y2) = p, q
    if x1 == x2:
        bulge = max(24, abs(y2 - y1) // 2)
        return f"M{x1} {y1} Q{x1 - bulge} {(y1 + y2) // 2} {x2} {y2}"
    mid = (x1 + x2) // 2
    return f"M{x1} {y1} C{mid} {y1} {mid} {y2} {x2} {y2}"


def _graph_svg(v: AuditView, t: ReportText) -> str:
    lay = graph_layout(v)
    path_nodes, path_links = witness(v)
    flagged = {f.node for f in v.active_findings}
    wide = " wide" if lay.width > WIDE else ""
    out = [f'<svg class="graph{wide}" width="{lay.width}" height="{lay.height}" '
           f'viewBox="0 0 {lay.width} {lay.height}" '
           'preserveAspectRatio="xMidYMin meet" role="img" '
           f'aria-label="{_e(t("graph.aria"))}">']
    for c, (name, members) in enumerate(lay.columns):
        if members:
            out.append(f'<text class="col" x="{LEFT + c * COL_W}" y="{TOP - 14}" '
                       f'text-anchor="middle">{_e(t("graph.col." + name.lower()))}</text>')
    # links first, then nodes and their haloed labels on top: no link crosses a label
    ordered_edges = sorted(lay.edges, key=lambda e: (frozenset((e[0], e[1])) in path_links, e))
    for u, w, rel in ordered_edges:
        hl = frozenset((u, w)) in path_links
        out.append(f'<path class="edge{" hl" if hl else ""}" d="{edge_path(lay.pos[u], lay.pos[w])}">'
                   f'<title>{_e(lay.labels[u])} —{_e(rel)}→ {_e(lay.labels[w])}</title></path>')
    for _, members in lay.columns:
        for n in members:
            x, y = lay.pos[n]
            kind = lay.kinds[n]
            label = lay.labels[n]
            cls = f"node k-{_e(kind)}" + (" hl" if n in path_nodes else "")
            out.append(f'<g><title>{_e(label)} [{_e(n)}]</title>'
                       f'<circle class="{cls}" cx="{x}" cy="{y}" r="7"></circle>'
                       + (f'<circle class="ring flag" cx="{x}" cy="{y}" r="11"></circle>'
                          if n in flagged else "")
                       + _label(x, y, _short(label)) + "</g>")
    out.append("</svg>")
    note = (f'<p class="muted">{t("graph.omitted", count=t.num(lay.omitted))}</p>'
            if lay.omitted else "")
    return "".join(out) + note


def _label(x: int, y: int, text: str) -> str:
    """A node's label above it, on a padded box of the background colour that hides any link
    behind it (the box's width is estimated from the text: 7 px a character at 12 px)."""
    w = 7 * len(text) + 8
    return (f'<rect class="lblbox" x="{x - w // 2}" y="{y - 26}" width="{w}" height="16" rx="3"></rect>'
            f'<text class="lbl" x="{x}" y="{y - 13}" text-anchor="middle">{_e(text)}</text>')


def _country_svg(rows: list[CountryCopies], t: ReportText) -> str:
    if not rows:
        return f'<p class="muted">{t("countries.none")}</p>'
    top = max(r.copies for r in rows)
    bar_w = 420
    name_w = 230
    width = name_w + bar_w + 200
    height = 44 + 26 * len(rows)
    out = [f'<svg class="countries" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
           'preserveAspectRatio="xMinYMin meet" role="img" '
           f'aria-label="{_e(t("countries.aria"))}">']
    legend = (("reached", t("countries.legend-reached")), ("clear", t("countries.legend-clear")))
    x = name_w
    for cls, text in legend:
        out.append(f'<rect class="bar {cls}" x="{x}" y="6" width="12" height="12"></rect>'
                   f'<text x="{x + 17}" y="16">{_e(text)}</text>')
        x += 24 + 7 * len(text)
    for i, r in enumerate(rows):
        y = 32 + i * 26
        name = f"{r.country} {r.name}" if r.country else t("word.unknown-place")
        eea = "" if not r.country else t("word.eea") if r.eea else t("word.outside-eea")
        out.append(f'<text class="{"unknown" if not r.country else "place"}" x="{name_w - 10}" y="{y + 13}" '
                   'text-anchor="end">'
                   f'<title>{_e(name + eea)}</title>{_e(_short(name + eea, 34))}</text>')
        reached_w = round(bar_w * r.reached / top)
        clear_w = round(bar_w * (r.copies - r.reached) / top)
        laws = ", ".join(law.removeprefix("law:") for law in r.laws)
        if r.reached:
            out.append(f'<rect class="bar reached" x="{name_w}" y="{y}" width="{max(2, reached_w)}" '
                       'height="18"><title>' + t("countries.bar-reached", name=_e(name), reached=t.num(r.reached),
                                                 copies=t.num(r.copies), laws=_e(laws)) + "</title></rect>")
        if r.copies - r.reached:
            out.append(f'<rect class="bar clear" x="{name_w + reached_w}" y="{y}" '
                       f'width="{max(2, clear_w)}" height="18"><title>'
                       + t("countries.bar-clear", name=_e(name), clear=t.num(r.copies - r.reached),
                           copies=t.num(r.copies)) + "</title></rect>")
        tail = (t("countries.tail-reached", copies=t.num(r.copies), reached=t.num(r.reached))
                if r.reached else t.num(r.copies))
        out.append(f'<text x="{name_w + 8 + max(2, reached_w + clear_w)}" y="{y + 13}">{_e(tail)}</text>')
    out.append("</svg>")
    return "".join(out)


# sections ------------------------------------------------------------------------------------

def _table(header: list[str], rows: list[list[str]]) -> str:
    """A table whose cells are already-escaped HTML."""
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _finding(f: FindingView, i: int, t: ReportText) -> str:
    sev = str(f.severity)
    cls = f"finding s-{_e(sev)}" + (" excepted" if f.exception else "")
    parts = [f'<div class="{cls}" id="finding-{i}">',
             f"<h4>{_sev(sev, t)} {_e(f.title)} — {_e(f.label)}</h4>",
             f"<p>{t('finding.rule')} <code>{_e(f.rule)}</code>; {t('finding.node')} <code>{_e(f.node)}</code>"
             + (f"; {t('finding.laws')} <code>{_e(', '.join(f.laws))}</code>" if f.laws else "") + "</p>"]
    if f.exception:
        parts.append(f"<p><strong>{t('finding.excepted')}</strong> {_e(f.exception)}</p>")
    parts.append(f"<p>{_e(f.message)}</p>")
    if f.data:
        parts.append(f"<p>{t('finding.data')} " + ", ".join(f"<code>{_e(d)}</code>" for d in f.data) + "</p>")
    if f.path:
        steps = []
        for j, step in enumerate(f.path):
            ev = (f'<div class="evidence">{t("finding.evidence-step")} {_e(f.path_evidence[j])}</div>'
                  if j < len(f.path_evidence) else "")
            steps.append(f"<li>{_e(step.label)} <code>{_e(step.node)}</code>{ev}</li>")
        parts.append(f"<p>{t('finding.path')}</p><ol>" + "".join(steps) + "</ol>")
    elif f.path_evidence:
        parts.append(f"<p>{t('finding.evidence')}</p><ul>" + "".join(
            f'<li class="evidence">{_e(x)}</li>' for x in f.path_evidence) + "</ul>")
    for m in f.mitigations:
        parts.append(f"<p>{t('finding.mitigation')} {_e(m)}</p>")
    parts.append(f"<p><em>{t('finding.remedy')}</em> {_e(f.remedy)}</p></div>")
    return "".join(parts)


def _findings_section(v: AuditView, t: ReportText) -> str:
    out = [f'<h2 id="findings">{t("section.findings")}</h2>']
    if not v.findings:
        out.append(f'<p class="ok">{t("findings.none")}</p>')
    i = 0
    for sev in reversed(list(Severity)):
        group = [f for f in v.findings if f.severity == sev]
        if not group:
            continue
        active = sum(1 for f in group if f.active)
        counts = t("findings.group-one" if active == 1 else "findings.group",
                   count=t.num(len(group)), active=t.num(active))
        out.append(f"<h3>{_sev(str(sev), t)} {counts}</h3>")
        for f in group:
            i += 1
            out.append(_finding(f, i, t))
    return "".join(out)


def _summary(v: AuditView, t: ReportText) -> str:
    s = v.summary
    counts = _table([_sev(k, t) for k in s.findings], [[t.num(n) for n in s.findings.values()]])
    rows = [[t("summary.resources"), t.num(s.resources)], [t("summary.subprocessors"), t.num(s.subprocessors)],
            [t("summary.data-categories"), t.num(s.data_categories)],
            [t("summary.countries-label"), _e(", ".join(s.countries) or t("word.none-known"))],
            [t("summary.excepted"), t.num(s.excepted)], [t("summary.gaps-label"), t.num(s.gaps)],
            [t("summary.sources"), _e(", ".join(s.sources) or t("word.none"))]]
    return (f'<h2 id="summary">{t("section.summary")}</h2>' + f"<p>{t('summary.active-by-severity')}</p>"
            + counts + _table(["", ""], rows))


def _data_row(d: DataView, t: ReportText) -> list[str]:
    return [f"{_e(d.label)}<br><code>{_e(d.node)}</code>", _e(d.classification), _e(t.copies(d)),
            _e(", ".join(d.countries) or "—"),
            _e(", ".join(x.removeprefix("law:") for x in d.reached_by) or t("word.none"))]


def _cols(t: ReportText, *keys: str) -> list[str]:
    return [t(f"col.{k}") for k in keys]


def _data_section(v: AuditView, t: ReportText) -> str:
    return (f'<h2 id="data">{t("section.data")}</h2>'
            f'<p class="muted">{t("data.note-html")}</p>'
            + _table(_cols(t, "data", "classification", "copies", "countries", "reached-by"),
                     [_data_row(d, t) for d in v.data]))


def _countries_section(v: AuditView, t: ReportText) -> str:
    rows = copies_by_country(v)
    table = _table(_cols(t, "country", "eea", "copies", "reached-foreign", "roles", "holders"), [
        [_e(f"{c.country} {c.name}" if c.country else t("word.unknown-place")),
         "—" if not c.country else t("word.yes") if c.eea else t("word.no"), t.num(c.copies),
         _e(f"{t.num(c.reached)}: " + ", ".join(law.removeprefix("law:") for law in c.laws)
            if c.reached else "0"),
         _e(", ".join(f"{t.role(role)} {t.num(n)}" for role, n in c.roles)),
         "<br>".join(f"<code>{_e(h)}</code>" for h in c.holders)] for c in rows])
    return (f'<h2 id="countries">{t("section.countries")}</h2>'
            f'<p class="muted">{t("countries.note")}</p>'
            f'<div class="figure">{_country_svg(rows, t)}</div>' + table)


def _mitigations_section(v: AuditView, t: ReportText) -> str:
    head = f'<h2 id="mitigations">{t("section.mitigations")}</h2>'
    if not v.mitigations:
        return head + f'<p class="muted">{t("mitigations.none")}</p>'
    rows = [[_e(m.law), f"<code>{_e(m.source)}</code> → <code>{_e(m.target)}</code>",
             _e(m.kind), _e(m.description), f'<span class="evidence">{_e(m.evidence)}</span>']
            for m in v.mitigations]
    return head + _table(_cols(t, "law", "link", "kind", "description", "rests-on"), rows)


def _gaps_section(v: AuditView, t: ReportText) -> str:
    if not v.gaps:
        return f'<h2 id="gaps">{t("section.gaps")}</h2><p class="ok">{t("gaps.none")}</p>'
    rows = [[_e(x) for x in (g.provider, g.scope, g.region, g.service, g.operation, g.error, g.resource,
                             g.message)] for g in v.gaps]
    return (f'<h2 id="gaps">{t("section.gaps")}</h2><p>{t("gaps.note")}</p>'
            + _table(_cols(t, "provider", "scope", "region", "service", "operation", "error", "resource",
                           "message"), rows))


def _laws_section(v: AuditView, t: ReportText) -> str:
    rows = []
    for law in v.laws:
        rows.append([f"{_e(law.label)}<br><span class=\"evidence\">{_e(law.citation)}</span>",
                     _e(law.country), _e(law_scope(law, t)), t("word.yes") if law.foreign else t("word.no"),
                     t.num(len(law.reaches_data))])
    return (f'<h2 id="laws">{t("section.laws")}</h2>'
            + _table(_cols(t, "law", "country", "law-scope", "foreign", "data-reached"), rows))


def _csp() -> str:
    digest = base64.b64encode(hashlib.sha256(_CSS.encode("utf-8")).digest()).decode("ascii")
    return (f"default-src 'none'; style-src 'sha256-{digest}'; img-src 'none'; font-src 'none'; "
            "script-src 'none'; connect-src 'none'; frame-src 'none'; object-src 'none'; "
            "base-uri 'none'; form-action 'none'")


def render_html(a: Audit | AuditView, *, lang: str = "en") -> str:
    """The report of ``a`` as one self-contained HTML document ending in a newline, in ``lang``."""
    t = report_text(lang)
    v = as_view(a)
    title = t("title", policy=v.policy.name, home=v.policy.home)
    nav = " · ".join(f'<a href="#{k}">{t("nav." + k)}</a>' for k in (
        "summary", "countries", "graph", "findings", "data", "mitigations", "gaps", "laws"))
    note = "" if lang == "en" else f'<p class="muted">{t("findings-in-english")}</p>'
    body = [
        f"<h1>{_e(title)}</h1>",
        '<p class="muted">' + t("evaluated", date=_e(t.date(v.evaluated_on)), version=_e(v.tool_version),
                                 catalog=_e(v.catalog_version)) + "</p>" + note,
        f"<nav>{nav}</nav>",
        _summary(v, t),
        _countries_section(v, t),
        f'<div class="graphpage"><h2 id="graph">{t("section.graph")}</h2>'
        f'<p class="muted">{t("graph.note")}</p>'
        f'<div class="figure">{_graph_svg(v, t)}</div></div>',
        _findings_section(v, t),
        _data_section(v, t),
        _mitigations_section(v, t),
        _gaps_section(v, t),
        _laws_section(v, t),
    ]
    head = (f'<meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="{_e(_csp())}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<meta name="generator" content="residency-audit {_e(v.tool_version)}">'
            f"<title>{_e(title)}</title><style>{_CSS}</style>")
    return (f'<!DOCTYPE html>\n<html lang="{_e(lang)}"><head>' + head + "</head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")
