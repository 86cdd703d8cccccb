"""The catalog facts an audit relied on, as plain frozen records, and how two sets of them differ.

An audit's verdicts rest on dated facts as much as on the estate: a law's status on the
evaluation date, a country's adequacy decision and its validity, the parents and holdings of the
entities that operate the holders. :func:`build_facts` takes them from an audit (the laws and
countries its graph names, the entities in its holders' operator chains, the catalog version),
each with its source and the ids of the findings that rest on it; the history stores them with
the run, and :func:`diff_facts` says which changed between two runs.

>>> import datetime as dt
>>> from residency_audit.demo import demo_estate
>>> from residency_audit.pipeline import audit
>>> a = build_facts(audit(demo_estate(), today=dt.date(2025, 11, 1)))
>>> b = build_facts(audit(demo_estate(), today=dt.date(2026, 11, 24)))
>>> [c.key for c in diff_facts(a, b)]
['law:us-fisa-702', 'adequacy:GB']
>>> [c.summary for c in diff_facts(a, b) if c.key == "adequacy:GB"][0][0]
'extended from 2025-06-28 until 2025-12-18 (full) → renewed from 2025-12-19 until 2031-12-27 (full)'
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from residency_audit.catalog import Catalog, DatedStatus

if TYPE_CHECKING:
    from residency_audit.pipeline import Audit

__all__ = ["FACT_KINDS", "Fact", "FactChange", "build_facts", "diff_facts", "fact_order", "status_words"]

#: The kinds of fact, in the order a diff lists them.
FACT_KINDS = ("catalog", "law", "adequacy", "entity")

_WORDS = {"in-force": "in force", "renewed": "renewed", "extended": "extended",
          "sunset-transition": "sunset with transition", "challenged": "in force, challenged",
          "under-appeal": "in force, under appeal", "unknown": "status unknown",
          "lapsed": "lapsed", "expired": "expired", "invalidated": "invalidated",
          "repealed": "repealed", "not-in-force": "not in force"}

#: The part prefixes of an entity fact and how a diff words one that appeared or went.
_PART_WORDS = {"parent": ("new parent", "no longer parent"),
               "holding": ("new holding", "holding ended"),
               "country": ("now incorporated in", "no longer incorporated in"),
               "controlled-from": ("now controlled from", "no longer controlled from"),
               "certified": ("new certification", "certification no longer listed")}


@dataclass(frozen=True, slots=True, kw_only=True)
class Fact:
    """One fact an audit relied on.

    ``key`` is ``law:<id>``, ``adequacy:<country>``, ``entity:<id>`` or ``catalog``; ``value`` is
    the one line a diff compares and shows (a status with its validity); ``detail`` what else
    identifies it (the decision, the case); ``parts`` an entity's parents, holdings,
    incorporation and certifications as sorted ``prefix: text`` items; ``findings`` the ids of
    the run's findings that rest on it (by their laws, countries or holders' operator chains).
    """

    key: str
    kind: str
    label: str
    value: str
    detail: str = ""
    source: str = ""
    parts: tuple[str, ...] = ()
    findings: tuple[str, ...] = ()

    def same_as(self, other: Fact) -> bool:
        """True when ``other`` states the same fact (the findings resting on it aside)."""
        return ((self.value, self.detail, self.source, self.parts)
                == (other.value, other.detail, other.source, other.parts))


@dataclass(frozen=True, slots=True, kw_only=True)
class FactChange:
    """A fact both runs relied on that differs between them: as in run ``a`` and in run ``b``."""

    key: str
    kind: str
    label: str
    a: Fact
    b: Fact
    summary: tuple[str, ...]

    @property
    def findings(self) -> frozenset[str]:
        """The ids of the findings resting on the fact in either run."""
        return frozenset(self.a.findings + self.b.findings)


def status_words(status: str) -> str:
    """A dated status in words.

    >>> status_words("sunset-transition")
    'sunset with transition'
    """
    return _WORDS.get(status, status)


def _period(s: DatedStatus) -> str:
    out = status_words(s.status)
    if s.valid_from is not None:
        out += f" from {s.valid_from.isoformat()}"
    if s.valid_to is not None:
        out += f" until {s.valid_to.isoformat()}"
    return out


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _law_facts(g: Any, catalog: Catalog, day: dt.date,
               relying: Mapping[str, set[str]]) -> list[Fact]:
    out: list[Fact] = []
    for node, attrs in g.nodes(data=True):
        if attrs.get("kind") != "law":
            continue
        lid = node.removeprefix("law:")
        law = catalog.laws.get(lid)
        status = catalog.law_status(lid, day)
        if status is None:
            value, detail = "in force (no dated status)", ""
            source = str(law.source) if law is not None else ""
        else:
            value, detail, source = _period(status), _one_line(status.case), str(status.source)
        out.append(Fact(key=node, kind="law", label=_one_line(str(attrs.get("label") or lid)),
                        value=value, detail=detail, source=source,
                        findings=tuple(sorted(relying.get(node, ())))))
    return out


def _adequacy_facts(catalog: Catalog, day: dt.date, relying: Mapping[str, set[str]],
                    involved: Iterable[str]) -> list[Fact]:
    """The adequacy of each country outside the EEA that a copy may be in."""
    out: list[Fact] = []
    for code in sorted(set(involved)):
        country = catalog.countries.get(code)
        if country is None or country.eea:
            continue  # no adequacy question inside the EEA; an unknown country is its own finding
        status = catalog.adequacy_status(code, day)
        if status is None:
            value = (f"adequacy ({country.adequacy_scope or 'full'}), undated"
                     if country.adequacy else "no adequacy decision")
            detail, source = _one_line(country.adequacy), str(country.source)
        else:
            scope = f" ({status.scope})" if status.scope else ""
            value = _period(status) + scope
            detail = _one_line("; ".join(x for x in (status.decision, status.case) if x))
            source = str(status.source)
        out.append(Fact(key=f"adequacy:{code}", kind="adequacy",
                        label=f"{_one_line(country.name)} adequacy decision", value=value,
                        detail=detail, source=source,
                        findings=tuple(sorted(relying.get(code, ())))))
    return out


def _share(value: Any) -> str:
    if value is None or value == "":
        return "share not known"
    return f"{float(value):g}%"


def _entity_parts(g: Any, node: str) -> tuple[str, ...]:
    attrs = g.nodes[node]
    parts: set[str] = set()
    if attrs.get("country"):
        parts.add(f"country: {attrs['country']}")
    for cert in str(attrs.get("certifications") or "").split():
        parts.add(f"certified: {cert}")
    for _, target, rel in g.out_edges(node, data="relation"):
        if rel == "controlled_by":
            parts.add(f"parent: {target.removeprefix('entity:')}")
        elif rel == "controlled_from":
            parts.add(f"controlled-from: {g.nodes[target].get('code') or target}")
    for source, _, data in g.in_edges(node, data=True):
        if data.get("relation") == "holds_share_in":
            parts.add(f"holding: {source.removeprefix('entity:')} ({_share(data.get('share'))}, "
                      f"control {data.get('control') or 'unknown'})")
    return tuple(sorted(parts))


def _related(g: Any, node: str, relation: str) -> list[str]:
    """The targets of ``node``'s links of ``relation`` (read from the adjacency, once per node)."""
    return sorted(t for t, keyed in g._succ[node].items()
                  if any(d.get("relation") == relation for d in keyed.values()))


def _chains(g: Any, holders: Iterable[str]) -> dict[str, frozenset[str]]:
    """Each holder's operator chain: the entities operating it and all their parents."""
    of_entity: dict[str, frozenset[str]] = {}

    def chain(entity: str) -> frozenset[str]:
        found = of_entity.get(entity)
        if found is None:
            seen: set[str] = set()
            todo = [entity]
            while todo:  # iterative, each entity once: a parent cycle cannot loop
                e = todo.pop()
                if e not in seen:
                    seen.add(e)
                    todo.extend(_related(g, e, "controlled_by"))
            found = of_entity[entity] = frozenset(seen)
        return found

    out: dict[str, frozenset[str]] = {}
    by_operators: dict[tuple[str, ...], frozenset[str]] = {}
    for holder in holders:
        if holder not in g:
            continue
        operators = tuple(_related(g, holder, "operated_by"))
        union = by_operators.get(operators)
        if union is None:
            union = by_operators[operators] = frozenset().union(*(chain(o) for o in operators))
        out[holder] = union
    return out


def _entity_facts(g: Any, catalog: Catalog, relying: Mapping[str, set[str]],
                  used: Iterable[str]) -> list[Fact]:
    out: list[Fact] = []
    for node in sorted(set(used)):
        eid = node.removeprefix("entity:")
        parts = _entity_parts(g, node)
        cat = catalog.entities.get(eid)
        out.append(Fact(key=node, kind="entity",
                        label=_one_line(str(g.nodes[node].get("label") or eid)),
                        value="; ".join(parts) or "nothing known",
                        source=str(cat.source) if cat is not None else "declared in the inventory",
                        parts=parts, findings=tuple(sorted(relying.get(node, ())))))
    return out


def build_facts(audit: Audit) -> tuple[Fact, ...]:
    """The facts ``audit`` relied on, sorted by kind and key (see the module's docstring)."""
    g, catalog, day = audit.graph, audit.catalog, audit.evaluated_on
    holders = sorted({h for f in audit.findings for h in f.all_holders}
                     | {n for n, k in g.nodes(data="kind") if k in ("resource", "subprocessor")})
    chains = _chains(g, holders)
    by_law: dict[str, set[str]] = {}
    by_country: dict[str, set[str]] = {}
    by_entity: dict[str, set[str]] = {}
    transfer_rules = {r.id for r in audit.policy.rules if r.type == "transfer"}
    for f in audit.findings:
        for law in f.laws or ((f.law,) if f.law else ()):
            by_law.setdefault(law, set()).add(f.id)
        if f.rule in transfer_rules:  # only a transfer rule weighs adequacy decisions
            for c in f.countries:
                by_country.setdefault(c, set()).add(f.id)
        for chain in {chains[h] for h in f.all_holders if h in chains}:
            for e in chain:
                by_entity.setdefault(e, set()).add(f.id)
    used = {e for chain in set(chains.values()) for e in chain}
    facts = [Fact(key="catalog", kind="catalog", label="Catalog version", value=catalog.version(),
                  detail=", ".join(catalog.files))]
    facts += _law_facts(g, catalog, day, by_law)
    copies_in = {c for _, attrs in g.nodes(data=True) if attrs.get("kind") == "location"
                 for c in str(attrs.get("countries") or "").split()}
    facts += _adequacy_facts(catalog, day, by_country, copies_in | set(by_country))
    facts += _entity_facts(g, catalog, by_entity, used)
    return tuple(sorted(facts, key=fact_order))


def fact_order(f: Fact) -> tuple[int, str]:
    return (FACT_KINDS.index(f.kind) if f.kind in FACT_KINDS else len(FACT_KINDS), f.key)


def _part_lines(a: Sequence[str], b: Sequence[str]) -> list[str]:
    lines: list[str] = []
    for part, index in [*((p, 1) for p in sorted(set(a) - set(b))),
                        *((p, 0) for p in sorted(set(b) - set(a)))]:
        prefix, _, text = part.partition(": ")
        words = _PART_WORDS.get(prefix)
        lines.append(f"{words[index]} {text}" if words else ("+" if index == 0 else "−") + part)
    return sorted(lines)


def _summary(a: Fact, b: Fact) -> tuple[str, ...]:
    lines: list[str] = []
    if a.kind == "entity" and (a.parts or b.parts):
        lines += _part_lines(a.parts, b.parts)
    elif a.value != b.value:
        lines.append(f"{a.value} → {b.value}")
    if a.detail != b.detail:
        lines.append(f"{a.detail or '(none)'} → {b.detail or '(none)'}")
    if a.source != b.source and not lines:
        lines.append(f"source {a.source or '(none)'} → {b.source or '(none)'}")
    return tuple(lines)


def diff_facts(a: Iterable[Fact], b: Iterable[Fact]) -> tuple[FactChange, ...]:
    """The facts both runs relied on that differ from ``a`` to ``b``, sorted by kind and key.

    A fact only one run relied on (a holder that appeared brings its operator's entity) is not a
    changed fact: the estate changed, and the diff says so in its own sections.
    """
    fa, fb = {f.key: f for f in a}, {f.key: f for f in b}
    out = [FactChange(key=key, kind=fb[key].kind, label=fb[key].label, a=fa[key], b=fb[key],
                      summary=_summary(fa[key], fb[key]))
           for key in fa.keys() & fb.keys() if not fa[key].same_as(fb[key])]
    return tuple(sorted(out, key=lambda c: fact_order(c.b)))
