"""A single-file HTML report that opens offline: summary, graph picture, findings, gaps, mitigations.

Nothing is fetched: the CSS is inline (allowed by its hash in a strict Content-Security-Policy
that forbids scripts, fonts, images, frames and connections), the pictures are inline SVG laid
out here, and there is no link to anything outside the page. Every text that comes from an estate,
an inventory, a catalog or a policy is escaped, and its control and bidi characters are shown
as escapes.

The graph picture puts the nodes in columns — data, holders, locations, operating entities,
their parents (one column per level of control), countries, laws — and orders each column by
the mean row of its neighbours in the columns before it (ties by node id), so the same audit
gives the same picture, byte for byte. The nodes and links of the witness paths of active
findings are drawn highlighted (class ``hl``); nodes with an active finding are ringed
(class ``flag``).
"""

from __future__ import annotations

import base64
import hashlib
from collections import defaultdict
from dataclasses import dataclass
from html import escape
from typing import Any

from residency_audit.model import Severity
from residency_audit.pipeline import Audit
from residency_audit.report.copies import CountryCopies, copies_by_country
from residency_audit.report.json_report import report_dict
from residency_audit.textsafe import visible

__all__ = ["GraphLayout", "graph_layout", "render_html"]

MAX_PICTURE_NODES = 300
_COL_W = 210
_ROW_H = 36
_TOP = 40
_LEFT = 70
_LABEL_CHARS = 28

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1200px;
padding:1em 2em;color:#1b1b1b;line-height:1.45}
h1{font-size:1.5em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
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
svg text{font-family:system-ui,sans-serif;font-size:11px;fill:#222}
svg .col{font-weight:700;font-size:12px;fill:#444}
svg .edge{stroke:#b5b5b5;stroke-width:1}
svg .edge.hl{stroke:#c0392b;stroke-width:2.5}
svg .node{stroke:#fff;stroke-width:1.5}
svg .k-data{fill:#8e44ad}svg .k-resource,svg .k-subprocessor{fill:#2e86c1}
svg .k-location{fill:#17a589}svg .k-entity{fill:#d68910}svg .k-country{fill:#566573}
svg .k-law{fill:#7b1020}svg .node.hl{stroke:#c0392b;stroke-width:3}
svg .ring{fill:none;stroke:#c0392b;stroke-width:1.5;stroke-dasharray:3 2}
svg .bar.eea{fill:#1e8449}svg .bar.noneea{fill:#c0392b}svg .bar.unknown{fill:#7f8c8d}
""".strip()


def _e(text: object) -> str:
    """Data as HTML text or attribute: markup escaped, controls and bidi overrides shown as escapes
    (which also keeps the inline SVG well-formed XML)."""
    return escape(visible(text), quote=True)


def _short(text: str, n: int = _LABEL_CHARS) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _sev(name: str) -> str:
    return f'<span class="sev sev-{_e(name)}">{_e(name)}</span>'


# graph picture -------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class GraphLayout:
    """Where each node of the picture goes: ``columns`` of node ids, ``pos`` in pixels."""

    columns: tuple[tuple[str, tuple[str, ...]], ...]
    pos: dict[str, tuple[int, int]]
    edges: tuple[tuple[str, str, str], ...]
    width: int
    height: int
    omitted: int


def _witness(a: Audit) -> tuple[set[str], set[frozenset[str]]]:
    nodes: set[str] = set()
    links: set[frozenset[str]] = set()
    for f in a.active_findings:
        nodes.update(f.path)
        links.update(frozenset(p) for p in zip(f.path, f.path[1:], strict=False))
    return nodes, links


def _entity_depths(g: Any, entities: set[str], holders: set[str]) -> dict[str, int]:
    depth: dict[str, int] = {}
    frontier = sorted({v for h in holders for _, v, rel in g.out_edges(h, data="relation")
                       if rel == "operated_by" and v in entities})
    level = 0
    while frontier:
        nxt: list[str] = []
        for e in frontier:
            if e in depth:
                continue
            depth[e] = level
            nxt.extend(v for _, v, rel in g.out_edges(e, data="relation")
                       if rel == "controlled_by" and v in entities)
        frontier = sorted(set(nxt) - set(depth))
        level += 1
    for e in sorted(entities - set(depth)):
        depth[e] = 0
    return depth


def graph_layout(a: Audit, *, max_nodes: int = MAX_PICTURE_NODES) -> GraphLayout:
    """A deterministic layered layout of the data-flow graph of ``a``.

    Laws that reach no data are left out, and so are countries left with no link. When more than
    ``max_nodes`` remain, only the data and the nodes of witness paths are kept, then nodes with
    findings (by id) while there is room; ``omitted`` says how many were dropped.
    """
    g = a.graph
    path_nodes, _ = _witness(a)
    flagged = {f.node for f in a.active_findings}
    keep = set()
    for n, kind in g.nodes(data="kind"):
        if kind == "law" and not (a.reach.get(n) and a.reach[n].data) and n not in path_nodes:
            continue
        if kind in ("data", "resource", "subprocessor", "location", "entity", "law", "country"):
            keep.add(n)
    connected = {x for u, v in g.edges() if u in keep and v in keep for x in (u, v)}
    keep = {n for n in keep if n in connected or g.nodes[n].get("kind") != "country"}
    omitted = 0
    if len(keep) > max_nodes:
        small = {n for n in keep if g.nodes[n].get("kind") == "data"} | (path_nodes & keep)
        room = max(0, max_nodes - len(small))
        small |= set(sorted((flagged & keep) - small)[:room])
        omitted = len(keep) - len(small)
        keep = small
    kinds = {n: str(g.nodes[n].get("kind")) for n in keep}
    holders = {n for n, k in kinds.items() if k in ("resource", "subprocessor")}
    entities = {n for n, k in kinds.items() if k == "entity"}
    depth = _entity_depths(g, entities, holders)
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
    neighbours: dict[str, set[str]] = defaultdict(set)
    edge_set: set[tuple[str, str, str]] = set()
    for u, v, rel in g.edges(data="relation"):
        if u in keep and v in keep and u != v:
            neighbours[u].add(v)
            neighbours[v].add(u)
            edge_set.add((u, v, str(rel)))
    row: dict[str, int] = {}
    ordered: list[tuple[str, tuple[str, ...]]] = []
    for c in range(len(names)):
        column_nodes = cols.get(c, [])

        def key(n: str) -> tuple[int, float, str]:
            placed = sorted(row[m] for m in neighbours[n] if m in row)
            return (0, sum(placed) / len(placed), n) if placed else (1, 0.0, n)

        members = tuple(sorted(column_nodes, key=key))
        for i, n in enumerate(members):
            row[n] = i
        ordered.append((names[c], members))
    tallest = max((len(m) for _, m in ordered), default=0)
    pos: dict[str, tuple[int, int]] = {}
    for c, (_, members) in enumerate(ordered):
        offset = (tallest - len(members)) * _ROW_H // 2
        for i, n in enumerate(members):
            pos[n] = (_LEFT + 40 + c * _COL_W, _TOP + 20 + offset + i * _ROW_H)
    merged: dict[tuple[str, str], set[str]] = defaultdict(set)
    for u, v, rel in edge_set:
        merged[(u, v)].add(rel)
    edges = tuple(sorted((u, v, ", ".join(sorted(r))) for (u, v), r in merged.items()))
    width = _LEFT * 2 + len(ordered) * _COL_W
    height = _TOP + 40 + max(tallest, 1) * _ROW_H
    return GraphLayout(columns=tuple(ordered), pos=pos, edges=edges, width=width, height=height,
                       omitted=omitted)


def _graph_svg(a: Audit) -> str:
    g = a.graph
    lay = graph_layout(a)
    path_nodes, path_links = _witness(a)
    flagged = {f.node for f in a.active_findings}
    out = [f'<svg class="graph" width="{lay.width}" height="{lay.height}" '
           f'viewBox="0 0 {lay.width} {lay.height}" role="img" '
           'aria-label="Data-flow graph with the witness paths of the findings highlighted">']
    for c, (name, members) in enumerate(lay.columns):
        if members:
            out.append(f'<text class="col" x="{_LEFT + 40 + c * _COL_W}" y="{_TOP - 12}" '
                       f'text-anchor="middle">{_e(name)}</text>')
    for u, v, rel in lay.edges:
        (x1, y1), (x2, y2) = lay.pos[u], lay.pos[v]
        hl = frozenset((u, v)) in path_links
        out.append(f'<line class="edge{" hl" if hl else ""}" x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}">'
                   f'<title>{_e(u)} —{_e(rel)}→ {_e(v)}</title></line>')
    for _, members in lay.columns:
        for n in members:
            x, y = lay.pos[n]
            kind = str(g.nodes[n].get("kind"))
            label = str(g.nodes[n].get("label") or n)
            cls = f"node k-{_e(kind)}" + (" hl" if n in path_nodes else "")
            out.append(f'<g><title>{_e(label)} [{_e(n)}]</title>'
                       f'<circle class="{cls}" cx="{x}" cy="{y}" r="7"></circle>'
                       + (f'<circle class="ring flag" cx="{x}" cy="{y}" r="11"></circle>'
                          if n in flagged else "")
                       + f'<text x="{x}" y="{y - 12}" text-anchor="middle">{_e(_short(label))}</text></g>')
    out.append("</svg>")
    note = (f'<p class="muted">{lay.omitted} nodes not on a witness path are left out of the picture '
            "to keep it legible; the tables below list everything.</p>") if lay.omitted else ""
    return "".join(out) + note


def _country_svg(rows: list[CountryCopies]) -> str:
    if not rows:
        return '<p class="muted">No copy has a known place.</p>'
    top = max(r.copies for r in rows)
    bar_w = 420
    height = 20 + 24 * len(rows)
    out = [f'<svg class="countries" width="{bar_w + 260}" height="{height}" '
           f'viewBox="0 0 {bar_w + 260} {height}" role="img" aria-label="Copies by country">']
    for i, r in enumerate(rows):
        y = 10 + i * 24
        w = max(2, round(bar_w * r.copies / top))
        cls = "unknown" if not r.country else "eea" if r.eea else "noneea"
        name = f"{r.country} {r.name}" if r.country else "unknown place"
        out.append(f'<text x="150" y="{y + 13}" text-anchor="end">{_e(_short(name, 24))}</text>'
                   f'<rect class="bar {cls}" x="160" y="{y}" width="{w}" height="16"><title>'
                   f'{_e(name)}: {r.copies} copies</title></rect>'
                   f'<text x="{166 + w}" y="{y + 13}">{r.copies}</text>')
    out.append("</svg>")
    return "".join(out)


# sections ------------------------------------------------------------------------------------

def _table(header: list[str], rows: list[list[str]]) -> str:
    """A table whose cells are already-escaped HTML."""
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _finding(f: dict[str, Any], i: int) -> str:
    cls = f"finding s-{_e(f['severity'])}" + (" excepted" if f["exception"] else "")
    parts = [f'<div class="{cls}" id="finding-{i}">',
             f"<h4>{_sev(f['severity'])} {_e(f['title'])} — {_e(f['label'])}</h4>",
             f"<p>Rule <code>{_e(f['rule'])}</code>; node <code>{_e(f['node'])}</code>"
             + (f"; laws <code>{_e(', '.join(f['laws']))}</code>" if f["laws"] else "") + "</p>"]
    if f["exception"]:
        parts.append(f"<p><strong>Excepted:</strong> {_e(f['exception'])}</p>")
    parts.append(f"<p>{_e(f['message'])}</p>")
    if f["data"]:
        parts.append("<p>Data: " + ", ".join(f"<code>{_e(d)}</code>" for d in f["data"]) + "</p>")
    if f["path"]:
        steps = []
        for j, step in enumerate(f["path"]):
            ev = (f'<div class="evidence">evidence: {_e(f["path_evidence"][j])}</div>'
                  if j < len(f["path_evidence"]) else "")
            steps.append(f"<li>{_e(step['label'])} <code>{_e(step['node'])}</code>{ev}</li>")
        parts.append("<p>Witness path:</p><ol>" + "".join(steps) + "</ol>")
    elif f["path_evidence"]:
        parts.append('<p>Evidence:</p><ul>' + "".join(
            f'<li class="evidence">{_e(x)}</li>' for x in f["path_evidence"]) + "</ul>")
    for m in f["mitigations"]:
        parts.append(f"<p>Mitigation: {_e(m)}</p>")
    parts.append(f"<p><em>Remedy:</em> {_e(f['remedy'])}</p></div>")
    return "".join(parts)


def _findings_section(r: dict[str, Any]) -> str:
    out = ["<h2 id=\"findings\">Findings</h2>"]
    if not r["findings"]:
        out.append('<p class="ok">No findings.</p>')
    i = 0
    for sev in reversed(list(Severity)):
        group = [f for f in r["findings"] if f["severity"] == str(sev)]
        if not group:
            continue
        active = sum(1 for f in group if not f["exception"])
        out.append(f"<h3>{_sev(str(sev))} {len(group)} ({active} active)</h3>")
        for f in group:
            i += 1
            out.append(_finding(f, i))
    return "".join(out)


def _summary(r: dict[str, Any]) -> str:
    s = r["summary"]
    counts = _table([_sev(k) for k in s["findings"]], [[str(v) for v in s["findings"].values()]])
    rows = [["Resources", str(s["resources"])], ["Subprocessors", str(s["subprocessors"])],
            ["Data categories", str(s["data_categories"])],
            ["Countries holding copies", _e(", ".join(s["countries"]) or "none known")],
            ["Excepted findings", str(s["excepted"])], ["Coverage gaps", str(s["gaps"])],
            ["Sources", _e(", ".join(s["sources"]) or "none")]]
    return ('<h2 id="summary">Summary</h2>' + "<p>Active findings by severity:</p>" + counts
            + _table(["", ""], rows))


def _data_section(r: dict[str, Any]) -> str:
    rows = [[f"{_e(d['label'])}<br><code>{_e(d['node'])}</code>", _e(d["classification"]),
             str(len(d["copies"])), _e(", ".join(d["countries"]) or "—"),
             _e(", ".join(x.removeprefix("law:") for x in d["reached_by"]) or "none")] for d in r["data"]]
    return ('<h2 id="data">Data categories</h2>'
            + _table(["Data", "Classification", "Copies", "Countries", "Reached by"], rows))


def _countries_section(a: Audit) -> str:
    rows = copies_by_country(a)
    table = _table(["Country", "EEA", "Copies", "Roles", "Holders"], [
        [_e(f"{c.country} {c.name}" if c.country else "unknown place"),
         "—" if not c.country else "yes" if c.eea else "no", str(c.copies),
         _e(", ".join(f"{role} {n}" for role, n in c.roles)),
         "<br>".join(f"<code>{_e(h)}</code>" for h in c.holders)] for c in rows])
    return ('<h2 id="countries">Where the copies are</h2>'
            '<p class="muted">One copy is one placement of one holder; green bars are EU/EEA '
            "countries, red bars are not, grey is an unknown place.</p>"
            f'<div class="figure">{_country_svg(rows)}</div>' + table)


def _mitigations_section(r: dict[str, Any]) -> str:
    if not r["mitigations"]:
        return '<h2 id="mitigations">Mitigations</h2><p class="muted">None declared, or none stood in a law\'s way.</p>'
    rows = [[_e(m["law"]), f"<code>{_e(m['source'])}</code> → <code>{_e(m['target'])}</code>",
             _e(m["kind"]), _e(m["description"]), f'<span class="evidence">{_e(m["evidence"])}</span>']
            for m in r["mitigations"]]
    return ('<h2 id="mitigations">Mitigations</h2>'
            + _table(["Law", "Link", "Kind", "Description", "What it rests on"], rows))


def _gaps_section(r: dict[str, Any]) -> str:
    if not r["gaps"]:
        return '<h2 id="gaps">Coverage gaps</h2><p class="ok">None: every source answered.</p>'
    rows = [[_e(x[k]) for k in ("provider", "scope", "region", "service", "operation", "error",
                                 "resource", "message")] for x in r["gaps"]]
    return ('<h2 id="gaps">Coverage gaps</h2><p>What could not be seen is not compliant: each gap '
            "is also a finding of the coverage rule.</p>"
            + _table(["Provider", "Scope", "Region", "Service", "Operation", "Error", "Resource",
                      "Message"], rows))


def _laws_section(r: dict[str, Any]) -> str:
    rows = []
    for law in r["laws"]:
        scope = " + ".join(x for x, on in (("territorial", law["territorial"]),
                                          ("extraterritorial", law["extraterritorial"])) if on)
        rows.append([f"{_e(law['label'])}<br><span class=\"evidence\">{_e(law['citation'])}</span>",
                     _e(law["country"]), _e(scope), "yes" if law["foreign"] else "no",
                     str(len(law["reaches_data"]))])
    return ('<h2 id="laws">Laws considered</h2>'
            + _table(["Law", "Country", "Scope", "Foreign", "Data reached"], rows))


def _csp() -> str:
    digest = base64.b64encode(hashlib.sha256(_CSS.encode("utf-8")).digest()).decode("ascii")
    return (f"default-src 'none'; style-src 'sha256-{digest}'; img-src 'none'; font-src 'none'; "
            "script-src 'none'; connect-src 'none'; frame-src 'none'; object-src 'none'; "
            "base-uri 'none'; form-action 'none'")


def render_html(a: Audit) -> str:
    """The report of ``a`` as one self-contained HTML document ending in a newline."""
    r = report_dict(a)
    title = f"Residency audit — policy {r['policy']['name']} (home {r['policy']['home']})"
    nav = " · ".join(f'<a href="#{k}">{v}</a>' for k, v in (
        ("summary", "Summary"), ("countries", "Countries"), ("graph", "Graph"), ("findings", "Findings"),
        ("data", "Data"), ("mitigations", "Mitigations"), ("gaps", "Coverage gaps"), ("laws", "Laws")))
    body = [
        f"<h1>{_e(title)}</h1>",
        f'<p class="muted">Evaluated on {_e(r["evaluated_on"])} with residency-audit '
        f'{_e(r["tool"]["version"])}, catalog {_e(r["catalog_version"])}.</p>',
        f"<nav>{nav}</nav>",
        _summary(r),
        _countries_section(a),
        '<h2 id="graph">Data-flow graph</h2>'
        '<p class="muted">Columns: data → holders → locations → operating entities → parents → '
        "countries → laws. Red links and outlined nodes are the witness paths of active findings; "
        "a dashed ring marks a node with a finding. Hover a node for its id.</p>"
        f'<div class="figure">{_graph_svg(a)}</div>',
        _findings_section(r),
        _data_section(r),
        _mitigations_section(r),
        _gaps_section(r),
        _laws_section(r),
    ]
    head = (f'<meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="{_e(_csp())}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<meta name="generator" content="residency-audit {_e(r["tool"]["version"])}">'
            f"<title>{_e(title)}</title><style>{_CSS}</style>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head>" + head + "</head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")
