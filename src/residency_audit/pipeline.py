"""The whole pipeline in one call: graph, exposure, policy, and explanations.

>>> from residency_audit.demo import demo_estate
>>> import datetime as dt
>>> result = audit(demo_estate(), policy="esam", today=dt.date(2026, 11, 24))
>>> any("law:us-cloud-act" in f.all_laws for f in result.findings)
True
"""

from __future__ import annotations

import datetime as dt
import gc
import os
import threading
import weakref
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

import networkx as nx

from residency_audit.catalog import Catalog, default_catalog
from residency_audit.graph import build, gc_paused
from residency_audit.holders import HolderLinks
from residency_audit.jurisdiction import Blocked, Reach, exposure, path_evidence, route_kind
from residency_audit.model import CoverageGap, Estate, Finding, Mitigation, Severity
from residency_audit.policy import (
    Policy,
    data_copies,
    evaluate,
    is_foreign,
    load_policy,
)
from residency_audit.scopes import ScopeStatus, scope_statuses

__all__ = ["DEFAULT_POLICY", "Audit", "BlockedReach", "Explanation", "PathExplanation", "audit"]

DEFAULT_POLICY = "swedish-public-sector"


@dataclass(frozen=True, slots=True)
class PathExplanation:
    """One law's witness path to a node, each link with its evidence."""

    law: str
    law_name: str
    citation: str
    foreign: bool
    path: tuple[str, ...]
    labels: tuple[str, ...]
    evidence: tuple[str, ...]

    @property
    def route(self) -> str:
        """``territorial`` (a copy is in the law's country) or ``control`` (an entity in the
        operator chain is incorporated in or controlled from it)."""
        return route_kind(self.path)


@dataclass(frozen=True, slots=True)
class BlockedReach:
    """One declared mitigation that keeps laws from a node, the laws it keeps out, its evidence."""

    kind: str
    source: str
    target: str
    description: str
    evidence: str
    laws: tuple[str, ...]
    law_names: tuple[str, ...]
    expires: str = ""


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why (and by which laws) a node can be reached; prints as text, renders as HTML.

    The story has three parts, each shown when it applies: the laws within whose reach the node
    is (``paths``); the laws a declared mitigation keeps out (``mitigated``); and what cannot be
    judged (``unjudged``: an unknown location, operator or entity, a copy not seen, a scope not
    read), so that "no law reaches it" is said only when it is known.
    """

    node: str
    label: str
    kind: str
    paths: tuple[PathExplanation, ...]
    blocked: tuple[Blocked, ...]
    findings: tuple[Finding, ...]
    mitigated: tuple[BlockedReach, ...] = ()
    unjudged: tuple[str, ...] = ()

    @property
    def verdict(self) -> str:
        """``reached``, ``mitigated``, ``cannot be judged`` or ``not reached``."""
        if self.paths:
            return "reached"
        if self.unjudged:
            return "cannot be judged"
        if self.mitigated:
            return "mitigated"
        return "not reached"

    def __str__(self) -> str:
        lines = [f"{self.label} [{self.node}]"]
        if not self.paths:
            if self.unjudged:
                lines.append("  No law in the catalog is known to reach it, but that cannot be judged "
                             "in full (see below).")
            elif self.mitigated:
                lines.append("  No law reaches it past the declared mitigations below.")
            else:
                lines.append("  No law in the catalog reaches it.")
        else:
            lines.append("  Within reach of:")
        routes: dict[tuple[str, ...], list[PathExplanation]] = {}
        for p in self.paths:  # laws that reach through the same route are told once
            routes.setdefault(p.path[1:], []).append(p)
        for same in routes.values():
            first = same[0]
            for p in same:
                tag = "foreign" if p.foreign else "home"
                lines.append(f"  {p.law_name} ({p.citation}; {tag})")
            lines.append(f"    {first.route} route: " + " → ".join(first.labels[1:]))
            lines.append("    because:")
            lines.extend(f"      - {fact}" for fact in first.evidence[1:])
        for m in self.mitigated:
            until = f", until {m.expires}" if m.expires else ""
            lines.append(f"  Kept out by mitigation ({m.kind}) on {m.source} → {m.target}{until}: "
                         f"{', '.join(m.law_names)}")
            lines.append(f"        {m.description} [evidence: {m.evidence}]")
        if self.unjudged:
            lines.append("  Cannot be judged:")
            lines.extend(f"    - {u}" for u in self.unjudged)
        for f in self.findings:
            lines.append(f"  Finding [{f.severity}] {f.rule}: {f.title}")
        return "\n".join(lines)

    def __rich__(self) -> Any:
        """Plain text for rich (never parsed as markup), data controls shown as escapes."""
        from rich.text import Text

        from residency_audit.textsafe import terminal_text, visible_fields

        return Text(terminal_text(visible_fields(self)))

    def _repr_html_(self) -> str:
        from residency_audit.display import explanation_html

        return explanation_html(self)


_UNJUDGED_TITLES = frozenset({"Unknown location", "Unknown operator", "Unknown entity", "Copy not seen",
                              "Scope not read", "Region not read", "Record not read", "Not seen"})


@dataclass(slots=True, weakref_slot=True)
class Audit:
    """The result of :func:`audit`: findings, the graph, what each law reaches."""

    estate: Estate
    catalog: Catalog
    policy: Policy
    graph: nx.MultiDiGraph
    reach: dict[str, Reach]
    findings: list[Finding]
    evaluated_on: dt.date
    copies: dict[str, set[str]] = field(default_factory=dict)
    scopes: tuple[ScopeStatus, ...] = ()
    holder_links: HolderLinks | None = field(default=None, repr=False, compare=False)
    """Each holder's links as the audit read them (the view reads them too); ``None``: read anew."""
    _by_node: dict[str, list[Finding]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for f in self.findings:
            self._by_node.setdefault(f.node, []).append(f)

    @property
    def active_findings(self) -> list[Finding]:
        """Findings not covered by an unexpired exception."""
        return [f for f in self.findings if not f.exception]

    def counts(self) -> dict[str, int]:
        """Active findings per severity, every severity present (0 where none)."""
        c = Counter(str(f.severity) for f in self.active_findings)
        return {str(s): c.get(str(s), 0) for s in reversed(list(Severity))}

    def countries(self) -> list[str]:
        """Every country where some copy is (or may be), sorted."""
        g = self.graph
        out: set[str] = set()
        for loc, attrs in g._node.items():  # the places some copy is located in
            if attrs.get("kind") != "location" or not attrs.get("countries"):
                continue
            if any(e.get("relation") == "located_in" for keyed in g._pred[loc].values() for e in keyed.values()):
                out.update(str(attrs["countries"]).split())
        return sorted(out)

    def failed(self, fail_on: Severity | str = Severity.HIGH) -> bool:
        """True when an active finding is at or above ``fail_on``."""
        threshold = Severity(fail_on).rank
        return any(f.severity.rank >= threshold for f in self.active_findings)

    def is_foreign(self, law: str) -> bool:
        """Whether ``law`` is foreign to the policy's home (EU law is not, for a home in the EU)."""
        eu = {c.code for c in self.catalog.countries.values() if c.eu}
        return is_foreign(str(self.graph.nodes[law].get("country", "")), self.policy.home, eu)

    @property
    def mitigations(self) -> list[Blocked]:
        """Every mitigation that kept a law from crossing a link, sorted."""
        out = {b for r in self.reach.values() for b in r.blocked}
        return sorted(out, key=lambda b: (b.law, b.source, b.target, b.kind))

    def resolve(self, node: str) -> str:
        """The graph node id for ``node``: an id as is, or a bare id of data/subprocessor/resource."""
        if node in self.graph:
            return node
        for prefix in ("data:", "subprocessor:", "entity:", "law:", "country:"):
            if prefix + node in self.graph:
                return prefix + node
        matches = sorted(str(n) for n, a in self.graph.nodes(data=True)
                         if a.get("kind") == "resource" and a.get("native_id") == node)
        if len(matches) == 1:
            return matches[0]
        raise KeyError(node)

    def explain(self, node: str) -> Explanation:
        """Every law's witness path to ``node``, with the evidence of each link."""
        n = self.resolve(node)
        g = self.graph
        paths = []
        for law in sorted(self.reach):
            r = self.reach[law]
            if not r.reaches(n) or n == law:
                continue
            path = r.path(n)
            paths.append(PathExplanation(
                law=law, law_name=str(g.nodes[law].get("label", law)),
                citation=str(g.nodes[law].get("citation", "")), foreign=self.is_foreign(law),
                path=path, labels=tuple(str(g.nodes[x].get("label", x)) for x in path),
                evidence=path_evidence(g, path)))
        paths.sort(key=lambda p: (not p.foreign, len(p.path), p.law))
        blocked = tuple(b for b in self.mitigations if n in (b.source, b.target))
        around = {n} | set(self.copies.get(n, ()))
        return Explanation(node=n, label=str(g.nodes[n].get("label", n)),
                           kind=str(g.nodes[n].get("kind", "")), paths=tuple(paths),
                           blocked=blocked, findings=tuple(self._by_node.get(n, ())),
                           mitigated=self._mitigated(around, reached={p.law for p in paths}),
                           unjudged=self._unjudged(n, around))

    def _mitigated(self, around: set[str], *, reached: set[str]) -> tuple[BlockedReach, ...]:
        """The mitigations on links at ``around``, each once, with the laws they keep out."""
        g = self.graph
        expiry = {(m.source, m.target, m.kind): m.expires for m in self.estate.mitigations}
        grouped: dict[tuple[str, str, str, str, str], set[str]] = {}
        for b in self.mitigations:
            if b.source in around or b.target in around:
                grouped.setdefault((b.kind, b.source, b.target, b.description, b.evidence), set()).add(b.law)
        out = []
        for (kind, source, target, description, evidence), laws in sorted(grouped.items()):
            kept = sorted(laws - reached) or sorted(laws)
            ends = [x.split(":", 1)[-1] if x.startswith(("resource:", "subprocessor:")) else x
                    for x in (source, target)]
            when = next((expiry[k] for k in ((ends[0], ends[1], kind), (ends[0], "*", kind))
                         if k in expiry), None)
            out.append(BlockedReach(
                kind=kind, source=source, target=target, description=description, evidence=evidence,
                laws=tuple(kept), law_names=tuple(str(g.nodes[x].get("label", x)) if x in g else x
                                                  for x in kept),
                expires=when.isoformat() if when else ""))
        return tuple(out)

    def _unjudged(self, node: str, around: set[str]) -> tuple[str, ...]:
        """What keeps the answer for ``node`` (and the copies of its data) from being known."""
        out: set[str] = set()
        for holder in sorted(around):
            for f in self._by_node.get(holder, ()):
                if f.title in _UNJUDGED_TITLES and not f.exception:
                    out.add(f"{f.title}: {f.message}")
        attrs = self.graph.nodes[node]
        mine = f"scope:{attrs.get('provider', '')}:{attrs.get('account', '')}".casefold()
        for f in self.findings:
            if f.title != "Scope not read" or f.exception:
                continue
            # A data category's copies may be in a scope that was not read; a holder only in its own.
            if attrs.get("kind") == "data" or f.node.casefold() == mine or f.node.casefold().startswith(mine + "/"):
                out.add(f"{f.title}: {f.message}")
        return tuple(sorted(out))

    def to_frame(self, what: str = "findings") -> Any:
        """A pandas DataFrame of ``findings``, ``resources`` or ``placements`` (extra [notebook])."""
        from residency_audit.frames import audit_frame

        return audit_frame(self, what)

    def plot(self, **kwargs: Any) -> Any:
        """Draw the graph with the reached nodes marked (extra [notebook])."""
        from residency_audit.display import plot_audit
        from residency_audit.frames import require_notebook

        require_notebook("matplotlib.pyplot", "Plots")

        return plot_audit(self, **kwargs)

    def plot_countries(self, **kwargs: Any) -> Any:
        """A bar chart of the copies per country, EU/EEA or not (extra [notebook])."""
        from residency_audit.display import plot_countries
        from residency_audit.frames import require_notebook

        require_notebook("matplotlib.pyplot", "Plots")

        return plot_countries(self, **kwargs)

    def _repr_html_(self) -> str:
        from residency_audit.display import audit_html

        return audit_html(self)


def _expired_mitigation(m: Mitigation) -> Finding:
    expires = m.expires.isoformat() if m.expires else ""
    return Finding(
        rule="mitigations", severity=Severity.MEDIUM, node=m.source, title="Mitigation expired",
        message=(f"The {m.kind} mitigation on {m.source} ({m.description}) expired on {expires} "
                 f"and no longer stops any law; declared at {m.evidence.ref}."),
        remedy="Renew the evidence and the expiry date, or remove the mitigation.")


def _gaps_that_matter(estate: Estate, policy: Policy) -> tuple[CoverageGap, ...]:
    """The estate's gaps the policy is evaluated with: all of them, but tags left unread on
    request (``field`` "tags", ``NotRequested``) only when a data category or a rule selects by
    tag; they stay in the estate and the report's gaps either way."""
    by_tag = any(d.selectors for d in estate.data) or any(r.scope.tags for r in policy.rules)
    if by_tag:
        return estate.gaps
    return tuple(x for x in estate.gaps if not (x.field == "tags" and x.error == "NotRequested"))


def audit(estate: Estate, *, policy: Policy | str | os.PathLike[str] = DEFAULT_POLICY,
          catalog: Catalog | None = None, today: dt.date | None = None) -> Audit:
    """Build the graph of ``estate``, compute each law's reach, and evaluate ``policy``.

    ``policy`` is a :class:`Policy`, a preset name or a policy file; ``today`` is the evaluation
    date (default: today), so that a report can be reproduced.
    """
    cat = catalog or default_catalog()
    pol = policy if isinstance(policy, Policy) else load_policy(policy)
    day = today or dt.date.today()
    expired = [m for m in estate.mitigations if m.expires is not None and m.expires < day]
    if expired:
        estate = replace(estate, mitigations=tuple(m for m in estate.mitigations if m not in expired))
    with gc_paused():  # the stages only allocate; see graph.gc_paused
        g = build(estate, cat, today=day)
        reach = exposure(g)
        links = HolderLinks(g)  # every holder's links, read once for the copies and the rules
        copies = data_copies(g, holder_links=links)
        scopes = scope_statuses(estate)
        findings = evaluate(g, reach, pol, gaps=_gaps_that_matter(estate, pol), today=day, copies=copies,
                            scopes=scopes, holder_links=links)
        if expired:  # evaluate's findings are sorted already
            findings = sorted(findings + [_expired_mitigation(m) for m in expired],
                              key=lambda f: f.sort_key)
        result = Audit(estate=estate, catalog=cat, policy=pol, graph=g, reach=reach, findings=findings,
                       evaluated_on=day, copies=copies, scopes=tuple(scopes), holder_links=links)
        _keep_from_collector(result)
    return result


class _Frozen:
    """How many audits keep their objects out of the cyclic collector (see :func:`_keep_from_collector`)."""

    lock = threading.Lock()
    live = 0


def _keep_from_collector(result: Audit) -> None:
    """Keep what the audit built out of the cyclic collector's passes while ``result`` lives.

    The stages run with the collector paused, so everything they built is still in its youngest
    generation: the first collections after the pause would walk every graph attribute, reach
    state and finding (about 30 % of the audit at a million resources), and every full collection
    after that again. The objects make no garbage cycles while the audit is in use, so they are
    frozen (:func:`gc.freeze`) until the last frozen audit is dropped, then unfrozen, so that
    what is left of them is collected as usual. When something else had frozen objects first,
    its freeze is left alone and nothing is frozen here.
    """
    with _Frozen.lock:
        if _Frozen.live == 0 and gc.get_freeze_count() > 0:
            return
        gc.freeze()
        _Frozen.live += 1
    weakref.finalize(result, _release_frozen)


def _release_frozen() -> None:
    with _Frozen.lock:
        _Frozen.live -= 1
        if _Frozen.live == 0:
            gc.unfreeze()
