"""The register written out: Markdown, a single-file HTML page, or JSON, in Swedish or English.

Markdown and HTML are written from one list of blocks (headings, paragraphs, tables, lists) so
that both say the same thing; every text that comes from an estate, an inventory, a catalog or a
framework file is escaped as the other reports escape it (:mod:`residency_audit.textsafe`). The
HTML page fetches nothing and runs nothing: its CSS is inline, allowed by its hash in a strict
Content-Security-Policy. The JSON form is documented in ``docs/assessment-schema.md``.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from residency_audit.assessment.frameworks import STATUSES, FrameworkResult
from residency_audit.assessment.i18n import Messages
from residency_audit.assessment.register import DataEntry, Register
from residency_audit.textsafe import json_safe, markdown_text, visible

__all__ = ["ASSESSMENT_SCHEMA_VERSION", "register_dict", "render_register"]

ASSESSMENT_SCHEMA_VERSION = 1


@dataclass(frozen=True, slots=True)
class _Heading:
    level: int
    text: str
    anchor: str = ""


@dataclass(frozen=True, slots=True)
class _Para:
    text: str
    muted: bool = False


@dataclass(frozen=True, slots=True)
class _Table:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    status_col: int = -1


@dataclass(frozen=True, slots=True)
class _List:
    items: tuple[str, ...]


_Block = _Heading | _Para | _Table | _List


def _law_name(label: str, citation: str) -> str:
    """A law's name and citation, the name once when the citation starts with it."""
    if not citation or citation == label:
        return label
    return citation if citation.startswith(label) else f"{label} ({citation})"


def _yes(m: Messages, flag: bool) -> str:
    return m("word.yes") if flag else m("word.no")


def _status(m: Messages, status: str) -> str:
    return m(f"status.{status}")


def _entry_blocks(e: DataEntry, m: Messages, results: Sequence[FrameworkResult], lang: str) -> list[_Block]:
    out: list[_Block] = [_Heading(2, e.label, anchor=e.node),
                         _Para(m("entry.node", node=e.node, origin=e.origin or "—"), muted=True),
                         _Para(m("entry.classification", classification=e.classification or m("word.none")))]
    out.append(_Heading(3, m("section.copies")))
    out.append(_Table((m("col.holder"), m("col.role"), m("col.place"), m("col.countries"), m("col.eea"),
                       m("col.evidence")),
                      tuple((c.holder_label, m(f"role.{c.role}") if c.role else "—", c.location_label,
                             " ".join(c.countries) or m("word.unknown"),
                             _yes(m, c.eea) if c.known else m("word.unknown"), c.evidence or "—")
                            for c in e.copies)))
    out.append(_Heading(3, m("section.operators")))
    out.append(_List(tuple(
        f"{ch.holder_label}: " + " → ".join(f"{x.label} ({x.country or '?'})"
                                            + (f" {{{'; '.join(x.holdings)}}}" if x.holdings else "")
                                            for x in ch.links)
        + (f" [{m('word.evidence')}: " + "; ".join(x.evidence for x in ch.links if x.evidence) + "]"
           if any(x.evidence for x in ch.links) else "")
        for ch in e.operators) or (m("word.none"),)))
    out.append(_Heading(3, m("section.laws")))
    if e.laws:
        out.append(_Table((m("col.law"), m("col.route"), m("col.path"), m("col.status"), m("col.evidence")),
                          tuple((_law_name(law.label, law.citation)
                                 + ("" if law.foreign else f" — {m('word.home-law')}"),
                                 m(f"route.{law.route}"), " → ".join(law.path[1:]),
                                 (law.status_note + (f" [{law.status_source}]" if law.status_source else ""))
                                 or m("law.no-status"),
                                 "; ".join(law.evidence[1:]))
                                for law in e.laws)))
    else:
        out.append(_Para(m("laws.none")))
    out.append(_Heading(3, m("section.mitigations")))
    out.append(_List(tuple(
        m("mitigation.line", kind=x.kind, description=x.description, evidence=x.evidence,
          expires=m.date(x.expires) if x.expires else m("word.no-expiry"), laws=", ".join(x.laws))
        for x in e.mitigations) or (m("word.none"),)))
    out.append(_Heading(3, m("section.transfers")))
    if e.transfers:
        out.append(_Table((m("col.holder"), m("col.country"), m("col.basis"), m("col.detail")),
                          tuple((t.holder_label, t.country, m(f"basis.{t.basis}"), t.detail or "—")
                                for t in e.transfers)))
    else:
        out.append(_Para(m("transfers.none")))
    out.append(_Heading(3, m("section.agreed")))
    if e.agreed:
        out.append(_Table((m("col.holder"), m("col.agreed-by"), m("col.agreed"), m("col.actual"), m("col.result")),
                          tuple((c.holder_label, c.agreed_by_label, f"{', '.join(c.places)} — \"{c.clause}\" [{c.ref}]",
                                 f"{c.location_label} ({' '.join(c.countries) or m('word.unknown')})",
                                 m("agreed.inside") if c.inside else m("agreed.unknown") if not c.known
                                 else m("agreed.outside"))
                                for c in e.agreed), status_col=4))
    else:
        out.append(_Para(m("agreed.none")))
    out.append(_Heading(3, m("section.gaps")))
    out.append(_List(tuple(g.text for g in e.gaps) or (m("gaps.none"),)))
    if results:
        out.append(_Heading(3, m("section.criteria")))
        rows = []
        for fr in results:
            titles = {c.id: c.title.get(lang) for c in fr.framework.criteria}
            for r in fr.results:
                if r.subject == e.node:
                    rows.append((fr.framework.name, f"{r.criterion}: {titles[r.criterion]}", _status(m, r.status),
                                 "; ".join(r.reasons) or "—"))
        out.append(_Table((m("col.framework"), m("col.criterion"), m("col.result"), m("col.why")), tuple(rows),
                          status_col=2))
    out.append(_Heading(3, m("section.questions")))
    out.append(_List(tuple(m(q.key, **dict(q.params)) for q in e.questions)))
    return out


def _framework_blocks(fr: FrameworkResult, m: Messages, lang: str) -> list[_Block]:
    fw = fr.framework
    out: list[_Block] = [_Heading(2, fw.name, anchor=f"framework-{fw.id}"),
                         _Para(m("framework.meta", publisher=fw.publisher, version=fw.version,
                                 status=m(f"framework.status.{fw.status}")))]
    if fw.status == "proposal":
        out.append(_Para(m("framework.proposal")))
    if fw.note:
        out.append(_Para(fw.note.get(lang)))
    out.append(_Para(m("framework.source", title=fw.source.title, url=fw.source.url,
                       checked=m.date(fw.source.checked), verified=m(f"verified.{fw.source.verified}"))
                     + (f" {fw.source.note}" if fw.source.note else ""), muted=True))
    if fw.overall:
        out.append(_Para(fw.overall.get(lang)))
    header = (m("col.criterion"), m("col.check"), *(_status(m, s) for s in STATUSES))
    rows = []
    for c in fw.criteria:
        counts = fr.counts(c.id)
        rows.append((f"{c.id}: {c.title.get(lang)} ({c.citation})"
                     + (f" — {c.if_not_met.get(lang)}" if c.if_not_met and counts["not-met"] else ""),
                     c.how.get(lang) + " " + m("framework.criterion-source", url=c.source.url,
                                                checked=m.date(c.source.checked),
                                                verified=m(f"verified.{c.source.verified}")),
                     *(str(counts[s]) for s in STATUSES)))
    out.append(_Para(m("framework.counts")))
    out.append(_Table(header, tuple(rows)))
    blind = {c.id for c in fw.criteria if c.check.type in ("not-evaluated", "register")}
    holder_rows = [(r.subject_label, r.criterion, _status(m, r.status), "; ".join(r.reasons) or "—")
                   for r in fr.results if r.subject_kind == "holder" and r.criterion not in blind]
    out.append(_Heading(3, m("section.per-holder")))
    if blind:
        out.append(_Para(m("framework.per-holder-blind", criteria=", ".join(sorted(blind))), muted=True))
    out.append(_Table((m("col.holder"), m("col.criterion"), m("col.result"), m("col.why")), tuple(holder_rows),
                      status_col=2))
    return out


def _blocks(reg: Register, results: Sequence[FrameworkResult], m: Messages, lang: str) -> list[_Block]:
    out: list[_Block] = [
        _Heading(1, m("register.title")),
        _Para(m("register.meta", date=m.date(reg.evaluated_on), version=reg.tool_version,
                catalog=reg.catalog_version, policy=reg.policy, home=reg.home,
                sources=", ".join(reg.sources) or "—"), muted=True),
        _Para(m("register.purpose")),
        _Para(m("register.not-a-decision")),
        _Heading(2, m("section.summary"), anchor="summary"),
        _Table((m("col.data"), m("col.classification"), m("col.copies"), m("col.countries"), m("col.foreign-laws"),
                m("col.agreed-outside"), m("col.gaps")),
               tuple((e.label, e.classification or "—", m.number(len(e.copies)),
                      " ".join(sorted({c for x in e.copies for c in x.countries})) or "—",
                      ", ".join(sorted({law.label for law in e.laws if law.foreign})) or m("word.none"),
                      m.number(sum(1 for c in e.agreed if not c.inside)) if e.agreed else m("word.not-agreed"),
                      m.number(len(e.gaps)))
                     for e in reg.entries)),
    ]
    for e in reg.entries:
        out += _entry_blocks(e, m, results, lang)
    for fr in results:
        out += _framework_blocks(fr, m, lang)
    out.append(_Heading(2, m("section.about"), anchor="about"))
    out.append(_List((m("about.evidence"), m("about.routes"), m("about.statuses"), m("about.unknown"))))
    return out


# Markdown --------------------------------------------------------------------------------------

def _md_cell(text: str) -> str:
    return markdown_text(text) or " "


def _markdown(blocks: Sequence[_Block]) -> str:
    lines: list[str] = []
    for b in blocks:
        if isinstance(b, _Heading):
            lines += ["#" * b.level + " " + markdown_text(b.text), ""]
        elif isinstance(b, _Para):
            lines += [("_" + markdown_text(b.text) + "_") if b.muted else markdown_text(b.text), ""]
        elif isinstance(b, _List):
            lines += [f"- {markdown_text(x)}" for x in b.items] + [""]
        else:
            lines.append("| " + " | ".join(_md_cell(h) for h in b.header) + " |")
            lines.append("|" + "---|" * len(b.header))
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in b.rows]
            lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


# HTML ------------------------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1200px;
padding:1em 2em;color:#1b1b1b;line-height:1.45}
h1{font-size:1.5em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}h3{margin-bottom:.3em}
table{border-collapse:collapse;margin:.5em 0;font-size:.9em;width:100%}
th,td{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top;overflow-wrap:anywhere}
th{overflow-wrap:normal;hyphens:auto}
th{background:#f3f3f3}.muted{color:#555;font-size:.9em}
.st{display:inline-block;padding:0 .45em;border-radius:.3em;font-weight:600;font-size:.85em;white-space:nowrap}
.st-met{background:#d5f5e3;color:#145a32}.st-not-met{background:#fadbd8;color:#78281f}
.st-cannot-be-judged{background:#fdebd0;color:#7e5109}.st-not-evaluated{background:#eaeded;color:#424949}
@media print{body{max-width:none}h2{page-break-before:auto}}
""".strip()


def _e(text: object) -> str:
    return escape(visible(text), quote=True)


def _csp() -> str:
    digest = base64.b64encode(hashlib.sha256(_CSS.encode("utf-8")).digest()).decode("ascii")
    return (f"default-src 'none'; style-src 'sha256-{digest}'; img-src 'none'; font-src 'none'; "
            "script-src 'none'; connect-src 'none'; frame-src 'none'; object-src 'none'; "
            "base-uri 'none'; form-action 'none'")


def _status_class(text: str, labels: dict[str, str]) -> str:
    return labels.get(text, "")


def _html(blocks: Sequence[_Block], m: Messages, lang: str, title: str) -> str:
    labels = {_status(m, s): s for s in STATUSES}
    labels.update({m("agreed.inside"): "met", m("agreed.outside"): "not-met", m("agreed.unknown"): "cannot-be-judged"})
    body: list[str] = []
    for b in blocks:
        if isinstance(b, _Heading):
            anchor = f' id="{_e(b.anchor)}"' if b.anchor else ""
            body.append(f"<h{b.level}{anchor}>{_e(b.text)}</h{b.level}>")
        elif isinstance(b, _Para):
            cls = ' class="muted"' if b.muted else ""
            body.append(f"<p{cls}>{_e(b.text)}</p>")
        elif isinstance(b, _List):
            body.append("<ul>" + "".join(f"<li>{_e(x)}</li>" for x in b.items) + "</ul>")
        else:
            head = "".join(f"<th>{_e(h)}</th>" for h in b.header)
            rows = []
            for row in b.rows:
                cells = []
                for i, c in enumerate(row):
                    cls = _status_class(c, labels) if i == b.status_col else ""
                    cells.append(f'<td><span class="st st-{cls}">{_e(c)}</span></td>' if cls else f"<td>{_e(c)}</td>")
                rows.append("<tr>" + "".join(cells) + "</tr>")
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>")
    head = (f'<meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="{_e(_csp())}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{_e(title)}</title><style>{_CSS}</style>")
    return (f'<!DOCTYPE html>\n<html lang="{_e(lang)}"><head>' + head + "</head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")


# JSON ------------------------------------------------------------------------------------------

def register_dict(reg: Register, results: Sequence[FrameworkResult], lang: str) -> dict[str, Any]:
    """The register as a JSON-ready dict (``docs/assessment-schema.md``)."""
    def entry(e: DataEntry) -> dict[str, Any]:
        return {
            "node": e.node, "label": e.label, "classification": e.classification, "origin": e.origin,
            "copies": [{"holder": c.holder, "holder_label": c.holder_label, "role": c.role, "location": c.location,
                        "location_label": c.location_label, "countries": list(c.countries), "eea": c.eea,
                        "known": c.known, "evidence": c.evidence} for c in e.copies],
            "operators": [{"holder": ch.holder, "chain": [{"entity": x.entity, "label": x.label,
                                                            "country": x.country, "evidence": x.evidence,
                                                            "holdings": list(x.holdings)}
                                                           for x in ch.links]} for ch in e.operators],
            "laws": [{"law": law.law, "label": law.label, "citation": law.citation, "country": law.country,
                      "foreign": law.foreign, "route": law.route, "path": list(law.path),
                      "evidence": list(law.evidence), "status": law.status or None,
                      "status_note": law.status_note or None, "status_source": law.status_source or None}
                     for law in e.laws],
            "mitigations": [{"kind": x.kind, "source": x.source, "target": x.target, "description": x.description,
                             "evidence": x.evidence, "expires": x.expires or None, "laws": list(x.laws)}
                            for x in e.mitigations],
            "transfers": [{"holder": t.holder, "country": t.country, "basis": t.basis, "detail": t.detail}
                          for t in e.transfers],
            "agreed": [{"holder": c.holder, "agreed_by": c.agreed_by, "places": list(c.places), "clause": c.clause,
                        "ref": c.ref, "location": c.location, "role": c.role, "countries": list(c.countries),
                        "known": c.known, "inside": c.inside} for c in e.agreed],
            "gaps": [g.text for g in e.gaps],
            "questions": [{"key": q.key, "params": dict(q.params)} for q in e.questions],
        }

    def framework(fr: FrameworkResult) -> dict[str, Any]:
        fw = fr.framework
        return {
            "id": fw.id, "name": fw.name, "publisher": fw.publisher, "version": fw.version, "status": fw.status,
            "source": fw.source.model_dump(mode="json"),
            "overall": "not-evaluated" if fw.overall else None,
            "criteria": [{"id": c.id, "title": c.title.get(lang), "citation": c.citation,
                          "objective": c.objective or None, "check": c.check.type,
                          "source": c.source.model_dump(mode="json"), "counts": fr.counts(c.id),
                          "holder_counts": fr.counts(c.id, "holder")} for c in fw.criteria],
            "results": [{"criterion": r.criterion, "subject": r.subject, "kind": r.subject_kind,
                         "status": r.status, "reasons": list(r.reasons)} for r in fr.results],
        }

    return {"schema_version": ASSESSMENT_SCHEMA_VERSION, "kind": "residency-audit-register", "lang": lang,
            "evaluated_on": reg.evaluated_on, "tool_version": reg.tool_version,
            "catalog_version": reg.catalog_version, "policy": {"name": reg.policy, "home": reg.home},
            "sources": list(reg.sources), "entries": [entry(e) for e in reg.entries],
            "frameworks": [framework(fr) for fr in results]}


def render_register(reg: Register, results: Sequence[FrameworkResult], m: Messages, *, fmt: str = "md") -> str:
    """The register in ``fmt`` (``md``, ``html`` or ``json``) and the language of ``m``."""
    if fmt == "json":
        text = json.dumps(register_dict(reg, results, m.lang), indent=2, sort_keys=True, ensure_ascii=False)
        return json_safe(text) + "\n"
    blocks = _blocks(reg, results, m, m.lang)
    if fmt == "html":
        return _html(blocks, m, m.lang, m("register.title"))
    if fmt == "md":
        return _markdown(blocks)
    raise ValueError(f"unknown format {fmt!r}: md, html or json")
