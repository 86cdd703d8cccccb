"""The register: one entry per data category, with the evidence an authority weighs under
10 kap. 2 a § OSL before it hands confidential data to an IT provider.

Each entry says, with a reference to its evidence: the classification; every copy, its role,
place and country; the operator chain of each holder to its ultimate parent; each law that
reaches the data, by which route, with its status at the evaluation date; the mitigations with
their evidence and expiry; the transfer basis of each copy outside the EEA; agreed against actual
locations; what could not be seen; and the questions left for the people who decide. The register
compiles evidence; it does not decide whether the disclosure is unsuitable ("olämpligt").

Built from the typed view (:mod:`residency_audit.view`) and the audit's explanations, never from
report dictionaries. Everything is sorted; no clock is read.

>>> import datetime as dt
>>> from residency_audit.demo import demo_estate
>>> from residency_audit.pipeline import audit
>>> reg = build_register(audit(demo_estate(), today=dt.date(2026, 11, 24)))
>>> sms = next(e for e in reg.entries if e.node == "data:sms-reminders")
>>> [(c.holder, c.inside) for c in sms.agreed if not c.inside]
[('subprocessor:messaging-gateway', False)]
"""

from __future__ import annotations

from dataclasses import dataclass

from residency_audit.assessment.agreed import check_copies
from residency_audit.graph import edge_evidence
from residency_audit.pipeline import Audit
from residency_audit.view import AuditView, HolderView, build_view

__all__ = ["AgreedCheck", "ChainLink", "CopyEntry", "DataEntry", "GapEntry", "LawEntry",
           "MitigationEntry", "OperatorChain", "Question", "Register", "TransferEntry",
           "build_register", "laws_of"]


@dataclass(frozen=True, slots=True, kw_only=True)
class CopyEntry:
    holder: str
    holder_label: str
    role: str
    location: str
    location_label: str
    countries: tuple[str, ...]
    eea: bool
    known: bool
    evidence: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ChainLink:
    """One entity of an operator chain; ``holdings`` are the catalog's holdings in it at the audit's
    date (holder, share, control, source), for sovereignty criteria written in shares."""

    entity: str
    label: str
    country: str
    evidence: str
    holdings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class OperatorChain:
    """A holder's operating entity and its parents up to the ultimate parent."""

    holder: str
    holder_label: str
    links: tuple[ChainLink, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class LawEntry:
    law: str
    label: str
    citation: str
    country: str
    foreign: bool
    extraterritorial: bool
    route: str
    path: tuple[str, ...]
    evidence: tuple[str, ...]
    status: str
    status_note: str
    status_source: str


@dataclass(frozen=True, slots=True, kw_only=True)
class MitigationEntry:
    kind: str
    source: str
    target: str
    description: str
    evidence: str
    expires: str
    laws: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class TransferEntry:
    """A copy outside the EEA and what it rests on: ``adequacy``, ``transfer-tool`` or ``none``."""

    holder: str
    holder_label: str
    country: str
    basis: str
    detail: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AgreedCheck:
    holder: str
    holder_label: str
    agreed_by: str
    agreed_by_label: str
    places: tuple[str, ...]
    clause: str
    ref: str
    location: str
    location_label: str
    role: str
    countries: tuple[str, ...]
    known: bool
    inside: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class GapEntry:
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Question:
    """A question left for the human assessment: a message id and its fields."""

    key: str
    params: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class DataEntry:
    node: str
    label: str
    classification: str
    origin: str
    copies: tuple[CopyEntry, ...]
    operators: tuple[OperatorChain, ...]
    laws: tuple[LawEntry, ...]
    mitigations: tuple[MitigationEntry, ...]
    transfers: tuple[TransferEntry, ...]
    agreed: tuple[AgreedCheck, ...]
    gaps: tuple[GapEntry, ...]
    questions: tuple[Question, ...]

    @property
    def holders(self) -> tuple[str, ...]:
        return tuple(sorted({c.holder for c in self.copies}))


@dataclass(frozen=True, slots=True, kw_only=True)
class Register:
    evaluated_on: str
    tool_version: str
    catalog_version: str
    policy: str
    home: str
    sources: tuple[str, ...]
    entries: tuple[DataEntry, ...]
    view: AuditView


def _copies(holders: list[HolderView], eea: dict[str, bool], labels: dict[str, str]) -> tuple[CopyEntry, ...]:
    out = []
    for h in holders:
        for p in h.placements:
            out.append(CopyEntry(holder=h.node, holder_label=h.label, role=p.role, location=p.location,
                                 location_label=labels.get(p.location, p.location), countries=p.countries,
                                 eea=bool(p.countries) and all(eea.get(c, False) for c in p.countries),
                                 known=p.known and bool(p.countries), evidence=p.evidence))
    return tuple(sorted(out, key=lambda c: (c.holder, c.location, c.role)))


def _chain(a: Audit, h: HolderView) -> OperatorChain:
    g = a.graph
    links: list[ChainLink] = []
    for op in h.operators:
        current: str | None = op
        evidence = next((_ev(e) for e in g._adj[h.node][op].values() if e.get("relation") == "operated_by"), "")
        while current is not None and current not in {x.entity for x in links}:
            attrs = g._node[current]
            links.append(ChainLink(entity=current, label=str(attrs.get("label") or current),
                                   country=str(attrs.get("country") or ""), evidence=evidence,
                                   holdings=_holdings(a, current)))
            nxt = [(v, e) for v, keyed in sorted(g._adj[current].items()) for e in keyed.values()
                   if e.get("relation") == "controlled_by"]
            current, evidence = (nxt[0][0], _ev(nxt[0][1])) if nxt else (None, "")
    return OperatorChain(holder=h.node, holder_label=h.label, links=tuple(links))


def _holdings(a: Audit, entity: str) -> tuple[str, ...]:
    out = []
    for h in a.catalog.holdings_of(entity.removeprefix("entity:")):
        if not h.covers(a.evaluated_on):
            continue
        share = "?" if h.share is None else f"{h.share:g} %"
        out.append(f"{h.parent}: {share}, control {h.control} [{h.source.ref}]")
    return tuple(sorted(out))


def _ev(attrs: dict[str, object]) -> str:
    return edge_evidence(attrs)


def laws_of(a: Audit, d: str) -> tuple[LawEntry, ...]:
    """Each law that reaches node ``d`` (a data category or a holder), with its route, path,
    evidence and status at the audit's date."""
    out = []
    g = a.graph
    for p in a.explain(d).paths:
        status = a.catalog.law_status(p.law.removeprefix("law:"), a.evaluated_on)
        attrs = g._node[p.law]
        out.append(LawEntry(
            law=p.law, label=p.law_name, citation=p.citation, country=str(attrs.get("country") or ""),
            foreign=p.foreign, extraterritorial=bool(attrs.get("extraterritorial")), route=p.route, path=p.labels, evidence=p.evidence,
            status=status.status if status else "",
            status_note=status.describe() if status else "",
            status_source=status.source.ref if status else ""))
    return tuple(out)


def _transfers(a: Audit, copies: tuple[CopyEntry, ...]) -> tuple[TransferEntry, ...]:
    g = a.graph
    out: dict[tuple[str, str], TransferEntry] = {}
    for c in copies:
        for country in c.countries:
            node = g._node.get(f"country:{country}", {})
            if node.get("eea"):
                continue
            tool = str(g._node[c.holder].get("transfer_tool") or "")
            status = a.catalog.adequacy_status(country, a.evaluated_on)
            adequacy = str(node.get("adequacy") or "")
            if adequacy and (status is None or status.holds):
                basis, detail = "adequacy", adequacy + (f" ({status.describe()} [{status.source.ref}])"
                                                        if status else "")
            elif tool:
                basis, detail = "transfer-tool", tool
            else:
                basis, detail = "none", status.describe() if status else ""
            out[(c.holder, country)] = TransferEntry(holder=c.holder, holder_label=c.holder_label,
                                                     country=country, basis=basis, detail=detail)
    return tuple(out[k] for k in sorted(out))


def _questions(laws: tuple[LawEntry, ...], transfers: tuple[TransferEntry, ...],
               agreed: tuple[AgreedCheck, ...], gaps: tuple[GapEntry, ...],
               mitigations: tuple[MitigationEntry, ...]) -> tuple[Question, ...]:
    qs: list[Question] = [Question(key="question.suitability")]
    for law in laws:
        if law.foreign:
            qs.append(Question(key="question.foreign-law", params=(("law", law.label), ("route", law.route))))
    for m in mitigations:
        qs.append(Question(key="question.mitigation", params=(("kind", m.kind), ("description", m.description))))
    for t in transfers:
        if t.basis == "none":
            qs.append(Question(key="question.transfer", params=(("holder", t.holder_label), ("country", t.country))))
    for c in agreed:
        if not c.inside:
            qs.append(Question(key="question.agreed", params=(("holder", c.holder_label), ("clause", c.clause))))
    if gaps:
        qs.append(Question(key="question.gaps"))
    qs.append(Question(key="question.confidentiality"))
    unique = {(q.key, q.params): q for q in qs}
    return tuple(unique.values())


def build_register(a: Audit, view: AuditView | None = None) -> Register:
    """The register of ``a``: one :class:`DataEntry` per data category, sorted by node id."""
    v = view or build_view(a)
    g = a.graph
    holders = {h.node: h for h in v.holders}
    eea = {str(attrs.get("code") or n.removeprefix("country:")): bool(attrs.get("eea"))
           for n, attrs in g._node.items() if attrs.get("kind") == "country"}
    declared = {f"data:{d.id}": d.evidence.ref for d in a.estate.data}
    labels = {n: str(attrs.get("label") or n) for n, attrs in g._node.items() if attrs.get("kind") == "location"}
    checks = check_copies(g)
    entries = []
    for d in v.data:
        hs = [holders[h] for h in d.holders if h in holders]
        copies = _copies(hs, eea, labels)
        explanation = a.explain(d.node)
        laws = laws_of(a, d.node)
        mitigations = tuple(MitigationEntry(kind=m.kind, source=m.source, target=m.target,
                                            description=m.description, evidence=m.evidence,
                                            expires=m.expires, laws=m.law_names)
                            for m in explanation.mitigated)
        mine = set(d.holders)
        agreed = tuple(AgreedCheck(
            holder=c.holder, holder_label=holders[c.holder].label if c.holder in holders else c.holder,
            agreed_by=c.agreement.holder,
            agreed_by_label=holders[c.agreement.holder].label if c.agreement.holder in holders else c.agreement.holder,
            places=c.agreement.places, clause=c.agreement.clause, ref=c.agreement.ref, location=c.location,
            location_label=labels.get(c.location, c.location or "?"),
            role=c.role, countries=c.countries, known=c.known, inside=c.inside)
            for c in checks if c.holder in mine)
        gaps = tuple(GapEntry(text=t) for t in explanation.unjudged)
        transfers = _transfers(a, copies)
        entries.append(DataEntry(
            node=d.node, label=d.label, classification=d.classification, origin=declared.get(d.node, ""),
            copies=copies,
            operators=tuple(_chain(a, h) for h in hs), laws=laws, mitigations=mitigations,
            transfers=transfers, agreed=agreed, gaps=gaps,
            questions=_questions(laws, transfers, agreed, gaps, mitigations)))
    return Register(evaluated_on=v.evaluated_on, tool_version=v.tool_version, catalog_version=v.catalog_version,
                    policy=v.policy.name, home=v.policy.home, sources=v.summary.sources,
                    entries=tuple(entries), view=v)
