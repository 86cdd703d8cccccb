"""Policies as data: rules, scopes, exceptions, and their evaluation into findings.

A policy (YAML) names its home country and a list of rules of these types:

``location``
    every copy of in-scope data is in an allowed place (``EEA``, ``EU`` or country codes);
``transfer``
    every copy outside the EEA is covered by an adequacy decision that reaches the recipient,
    or by a transfer tool declared on the holder (GDPR chapter V);
``reach``
    no selected law reaches in-scope data (``foreign-extraterritorial``, ``foreign``, or law ids);
``coverage``
    everything that could not be seen (coverage gaps, unknown locations, unknown operators) is a
    finding: unknown is never compliant;
``ownership``
    the operators' non-EU holders stay within share, veto and control limits, and their seat is
    in the EU (:mod:`residency_audit.ownership`);
``agreed-locations``
    every copy is inside the locations its contract agreed (``agreed_locations`` in the
    inventory), replicas, backups and subprocessors included
    (:mod:`residency_audit.assessment.agreed`).

Built-in presets: ``eea-only``, ``sweden-only``, ``gdpr-transfers``, ``esam``,
``swedish-public-sector`` (the first four together, the default) and ``secnumcloud``
(SecNumCloud 3.2 §19.6 ownership limits).

>>> policy = load_policy("esam")
>>> policy.home, [r.type for r in policy.rules]
('SE', ['reach', 'coverage'])
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections import defaultdict, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from importlib import resources
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Any, Literal

import networkx as nx
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from residency_audit.assessment.agreed import agreed_findings
from residency_audit.errors import InputError
from residency_audit.graph import COPY_RELATIONS, LinkCategories, edge_evidence, gc_paused
from residency_audit.holders import HolderLinks
from residency_audit.jurisdiction import Reach, path_evidence, route_kind
from residency_audit.model import CoverageGap, Finding, GapLevel, Role, Severity
from residency_audit.ownership import OwnershipLimits, ownership_findings
from residency_audit.scopes import ScopeState, ScopeStatus
from residency_audit.yamlfile import (
    CalendarDate,
    line_of,
    load_yaml,
    validation_error_to_input_error,
)

__all__ = ["EU_LAW", "Policy", "PolicyException", "Rule", "Scope", "data_copies", "evaluate", "is_foreign",
           "load_policy", "preset_names"]

EU_LAW = "EU"
Text = Annotated[str, StringConstraints(max_length=10_000)]
Id = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9/][^\s]*$", max_length=2048)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Scope(_Model):
    """Which data a rule is about: data categories, tags, classifications (any of them).

    An empty scope means every holder in the estate.
    """

    data: list[Id] = []
    tags: dict[str, str] = {}
    classification: list[Text] = []

    @property
    def empty(self) -> bool:
        return not (self.data or self.tags or self.classification)


class Rule(_Model):
    id: Id
    type: Literal["location", "transfer", "reach", "coverage", "ownership", "agreed-locations"]
    severity: Severity = Severity.HIGH
    description: Text = ""
    remedy: Text = ""
    scope: Scope = Scope()
    allowed: list[Annotated[str, StringConstraints(pattern=r"^(EEA|EU|[A-Za-z]{2})$")]] = []
    roles: list[Role] = []
    laws: Literal["foreign-extraterritorial", "foreign"] | list[Id] = "foreign-extraterritorial"
    #: Ownership rules (:mod:`residency_audit.ownership`): the most a single non-EU holder, and
    #: all of them together, may hold of an operator (percent); whether a non-EU veto or control
    #: is allowed; whether the operator's seat must be in the EU.
    max_single_share: Annotated[float, Field(ge=0, le=100)] | None = None
    max_total_share: Annotated[float, Field(ge=0, le=100)] | None = None
    allow_veto: bool = True
    allow_control: bool = True
    require_eu_seat: bool = False

    @property
    def ownership_limits(self) -> OwnershipLimits:
        return OwnershipLimits(max_single_share=self.max_single_share, max_total_share=self.max_total_share,
                               allow_veto=self.allow_veto, allow_control=self.allow_control,
                               require_eu_seat=self.require_eu_seat)

    @model_validator(mode="after")
    def _shape(self) -> Rule:
        if self.type == "location" and not self.allowed:
            raise ValueError("a location rule needs 'allowed' (EEA, EU or country codes)")
        if self.type != "location" and self.allowed:
            raise ValueError("'allowed' belongs to location rules only")
        limits = self.ownership_limits
        if self.type == "ownership" and limits == OwnershipLimits():
            raise ValueError("an ownership rule needs a limit: max_single_share, max_total_share, "
                             "allow_veto: false, allow_control: false or require_eu_seat: true")
        if self.type != "ownership" and limits != OwnershipLimits():
            raise ValueError("share, veto, control and seat limits belong to ownership rules only")
        return self


class PolicyException(_Model):
    """A finding that is accepted for a while: the rule, the node, why, and until when."""

    rule: Id
    node: Id
    reason: Annotated[str, StringConstraints(min_length=1, max_length=10_000)]
    expires: CalendarDate


class Policy(_Model):
    name: Text
    home: Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2}$")]
    description: Text = ""
    rules: list[Rule]
    exceptions: list[PolicyException] = []

    @model_validator(mode="after")
    def _unique(self) -> Policy:
        ids = [r.id for r in self.rules]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"rule ids must be unique; repeated: {', '.join(dup)}")
        unknown = sorted({e.rule for e in self.exceptions} - set(ids))
        if unknown:
            raise ValueError(f"exceptions name rules the policy does not have: {', '.join(unknown)}")
        return self


def preset_names() -> list[str]:
    """The names of the built-in policies."""
    folder = resources.files("residency_audit.policies")
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def _parse_policy(doc: Any, origin: str) -> Policy:
    if not isinstance(doc, dict):
        raise InputError(origin, line_of(doc), None, "a policy is a mapping (name, home, rules)")
    try:
        policy = Policy.model_validate(doc)
    except ValidationError as exc:
        raise validation_error_to_input_error(exc, doc, origin, model=Policy) from None
    return policy.model_copy(update={"home": policy.home.upper()})


#: The largest policy file read: far more than anyone writes by hand.
POLICY_MAX_BYTES = 4 * 1024 * 1024


def load_policy(name_or_path: str | os.PathLike[str]) -> Policy:
    """A built-in policy by name, or a policy YAML file by path."""
    text = str(name_or_path)
    if text in preset_names():
        from residency_audit.yamlfile import load_yaml_text

        body = resources.files("residency_audit.policies").joinpath(f"{text}.yaml").read_text(
            encoding="utf-8")
        return _parse_policy(load_yaml_text(body, f"preset:{text}"), f"preset:{text}")
    if ("\x00" not in text and os.sep not in text and not os.path.lexists(text)
            and Path(text).suffix not in (".yaml", ".yml")):
        raise InputError(text, None, None,
                         f"no such policy file or preset; presets: {', '.join(preset_names())}")
    return _parse_policy(load_yaml(name_or_path, max_bytes=POLICY_MAX_BYTES, what="policy"), text)


def is_foreign(law_country: str, home: str, eu_members: Iterable[str]) -> bool:
    """True unless the law is the home country's, or EU law for a home in the EU.

    >>> is_foreign("US", "SE", {"SE"}), is_foreign("SE", "SE", {"SE"}), is_foreign("EU", "SE", {"SE"})
    (True, False, False)
    """
    if law_country == home:
        return False
    return not (law_country == EU_LAW and home in set(eu_members))


# facts the rules need, computed once per evaluation ------------------------------------------

_HOLDER_KINDS = ("resource", "subprocessor")

_Profile = tuple[tuple[tuple[str, str], ...], tuple[str, ...], str, bool]
"""What a holder's location, transfer and coverage verdicts depend on: its placements
``(location, role)``, its operators, its declared transfer tool, and whether it is a stub."""


def _sorted_groups(groups: dict[Any, list[str]]) -> None:
    """Sort each group's holders in place (groups gathered from several profiles)."""
    for hs in groups.values():
        hs.sort()


@dataclass(slots=True)
class _Facts:
    g: nx.MultiDiGraph
    holders: list[str]
    links: HolderLinks
    """Each holder's placements and operators, read once (and shared with the view)."""
    data_of: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    copies: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    eu: set[str] = field(default_factory=set)
    # Memos: each rule asks the same questions of the same holders; the graph does not change.
    _countries: dict[str, list[str]] = field(default_factory=dict)
    _chains: dict[str, list[str]] = field(default_factory=dict)
    _data: dict[str, tuple[str, ...]] = field(default_factory=dict)
    _labels: dict[str, str] = field(default_factory=dict)
    _tags: dict[str, dict[str, str]] = field(default_factory=dict)
    _evidence: dict[tuple[Any, Any, Any], str] = field(default_factory=dict)
    _profiles: dict[_Profile, list[str]] | None = None

    def profiles(self) -> dict[_Profile, list[str]]:
        """The holders grouped by what the location, transfer and coverage rules look at: their
        placements, operators, declared transfer tool and whether they were seen. Each group's
        holders are sorted; a million holders share a few thousand profiles."""
        if self._profiles is None:
            nodes = self.g._node
            out: dict[_Profile, list[str]] = {}
            interned: dict[tuple[str, ...], tuple[str, ...]] = {}
            for h in self.holders:
                attrs = nodes[h]
                ops = tuple(self.operators(h))
                ops = interned.setdefault(ops, ops)
                key = (self.placements(h), ops, str(attrs.get("transfer_tool") or ""), bool(attrs.get("stub")))
                group = out.get(key)
                if group is None:
                    out[key] = [h]
                else:
                    group.append(h)
            self._profiles = out
        return self._profiles

    def scoped_profiles(self, scope: Scope) -> list[tuple[_Profile, list[str]]]:
        """:meth:`profiles` restricted to the holders ``scope`` selects (groups left empty dropped)."""
        groups = self.profiles()
        if scope.empty:
            return list(groups.items())
        chosen = set(self.in_scope(scope))
        out = []
        for key, hs in groups.items():
            kept = [h for h in hs if h in chosen]
            if kept:
                out.append((key, kept))
        return out

    def tags(self, node: str) -> dict[str, str]:
        raw = self.g._node[node].get("tags") or "{}"
        value = self._tags.get(raw)
        if value is None:
            loaded = json.loads(raw)
            value = self._tags[raw] = loaded if isinstance(loaded, dict) else {}
        return value

    def in_scope(self, scope: Scope) -> list[str]:
        if scope.empty:
            return self.holders
        selected: set[str] = set()
        for d in scope.data:
            selected |= self.copies.get(f"data:{d}", set())
        if scope.classification:
            wanted = set(scope.classification)
            for d, holders in self.copies.items():
                if self.g.nodes[d].get("classification") in wanted:
                    selected |= holders
        if scope.tags:
            for h in self.holders:
                t = self.tags(h)
                if all(t.get(k) == v for k, v in scope.tags.items()):
                    selected.add(h)
        return sorted(selected)

    def data_scope(self, scope: Scope) -> list[str]:
        """The data categories a scope selects (all, for an empty scope)."""
        datas = sorted(self.copies)
        if scope.empty:
            return datas
        out = {f"data:{d}" for d in scope.data if f"data:{d}" in self.g}
        if scope.classification:
            out |= {d for d in datas if self.g.nodes[d].get("classification") in set(scope.classification)}
        if scope.tags:
            tagged = set(self.in_scope(Scope(tags=scope.tags)))
            out |= {d for d in datas if self.copies[d] & tagged}
        return sorted(out)

    def placements(self, holder: str) -> tuple[tuple[str, str], ...]:
        """``(location node, role)`` of each copy at the holder, sorted."""
        return self.links.placements_of(holder)

    def countries(self, location: str) -> list[str]:
        out = self._countries.get(location)
        if out is None:
            raw = self.g._node[location].get("countries") or ""
            out = self._countries[location] = sorted(raw.split())
        return out

    def operators(self, holder: str) -> list[str]:
        """The operating entities of the holder, sorted."""
        return self.links.operators_of(holder)

    def chain(self, entity: str) -> list[str]:
        memo = self._chains.get(entity)
        if memo is not None:
            return memo
        out: list[str] = []
        current: str | None = entity
        adj = self.g._adj
        while current is not None and current not in out:
            out.append(current)
            current = next((v for v, keyed in adj[current].items() for attrs in keyed.values()
                            if attrs.get("relation") == "controlled_by"), None)
        self._chains[entity] = out
        return out

    def data(self, holder: str) -> tuple[str, ...]:
        """The data categories the holder has a copy of, sorted."""
        out = self._data.get(holder)
        if out is None:
            out = self._data[holder] = tuple(sorted(self.data_of.get(holder, ())))
        return out

    def label(self, node: str) -> str:
        out = self._labels.get(node)
        if out is None:
            out = self._labels[node] = _label(self.g, node)
        return out

    def evidence(self, attrs: Mapping[str, Any]) -> str:
        """:func:`~residency_audit.graph.edge_evidence`, once per distinct evidence."""
        key = (attrs.get("evidence_source"), attrs.get("evidence_ref"), attrs.get("evidence_detail"))
        out = self._evidence.get(key)
        if out is None:
            out = self._evidence[key] = edge_evidence(attrs)
        return out


def _copy_walk(g: nx.MultiDiGraph, holder_links: HolderLinks | None = None) -> dict[str, set[str]]:
    """For each data node, its holders: one forward walk along the copy links."""
    copies: dict[str, set[str]] = {}
    succ = g._adj
    copy_relations = COPY_RELATIONS
    # Each node's copy links, (target, categories the link carries or None), read once for all
    # the walks: a holder in several categories is walked from each.
    out_links: dict[str, list[tuple[str, frozenset[str] | None]]] = (
        dict(holder_links.copy_links) if holder_links is not None else {})
    split = LinkCategories()

    def links_of(node: str) -> list[tuple[str, frozenset[str] | None]]:
        found: list[tuple[str, frozenset[str] | None]] = []
        for v, keyed in succ[node].items():
            for edge in keyed.values():
                if edge["relation"] in copy_relations:
                    cats = edge.get("categories")
                    found.append((v, split[cats] if cats else None))
        out_links[node] = found
        return found

    for d in sorted(n for n, a in g._node.items() if a.get("kind") == "data"):
        category = d.removeprefix("data:")
        seen = {d}
        queue = deque([d])
        while queue:
            node = queue.popleft()
            links = out_links.get(node)
            if links is None:
                links = links_of(node)
            for v, allowed in links:
                if v in seen or (allowed is not None and category not in allowed):
                    continue
                seen.add(v)
                queue.append(v)
        seen.discard(d)
        copies[d] = seen
    return copies


def _facts(g: nx.MultiDiGraph, copies: Mapping[str, set[str]] | None = None,
           holder_links: HolderLinks | None = None) -> _Facts:
    nodes = g._node
    holders: list[str] = []
    eu: set[str] = set()
    for n, a in nodes.items():  # one pass over the nodes
        kind = a.get("kind")
        if kind in _HOLDER_KINDS:
            holders.append(n)
        elif kind == "country" and a.get("eu"):
            eu.add(n.removeprefix("country:"))
    holders.sort()
    links = holder_links if holder_links is not None else HolderLinks(g)
    facts = _Facts(g=g, holders=holders, links=links, eu=eu)
    if copies is not None:
        for d, hs in copies.items():
            facts.copies[d] = set(hs)
            for h in hs:
                facts.data_of[h].add(d)
        return facts
    for d, hs in _copy_walk(g, links).items():
        facts.copies[d] = hs
        for h in hs:
            facts.data_of[h].add(d)
    return facts


# rules ---------------------------------------------------------------------------------------

def _label(g: nx.MultiDiGraph, node: str) -> str:
    return str(g.nodes[node].get("label") or node) if node in g else node


def _who(facts: _Facts, holders: Sequence[str]) -> str:
    """The holders of a grouped finding as a reader names them: one, two, or a few and a count."""
    labels = [facts.label(h) for h in holders[:3]]
    if len(holders) == 1:
        return labels[0]
    if len(holders) <= 3:
        return ", ".join(labels[:-1]) + " and " + labels[-1]
    return f"{', '.join(labels)} and {len(holders) - 3} more ({len(holders)} holders)"


def _union_data(facts: _Facts, holders: Sequence[str]) -> tuple[str, ...]:
    if len(holders) == 1:
        return facts.data(holders[0])
    return tuple(sorted({d for h in holders for d in facts.data(h)}))


def _group_key(*parts: object) -> str:
    """A stable, readable key for a group of holders (used in the finding's id)."""
    out = []
    for part in parts:
        if isinstance(part, tuple | list):
            out.append(",".join("/".join(x) if isinstance(x, tuple) else str(x) for x in part))
        else:
            out.append(str(part))
    return ";".join(out).replace("|", "¦")


def _unknown_location(rule: Rule, facts: _Facts, holders: Sequence[str], locations: Sequence[str],
                      ) -> Finding:
    g = facts.g
    where = ", ".join(g.nodes[x].get("code", x) for x in locations) or "no location at all"
    return Finding(
        rule=rule.id, severity=max(rule.severity, Severity.HIGH, key=lambda s: s.rank),
        node=holders[0], title="Unknown location",
        message=(f"{_who(facts, holders)}: where the copy is could not be established ({where}); "
                 "an unknown location is not compliant."),
        remedy="Add the region to the catalog with a source, or declare the location in the inventory.",
        data=_union_data(facts, holders), locations=tuple(sorted(locations)),
        holders=tuple(holders) if len(holders) > 1 else (),
        key=_group_key("unknown-location", tuple(sorted(locations))) if len(holders) > 1 else "")


def _unknown_locations(facts: _Facts, placements: Sequence[tuple[str, str]]) -> list[str]:
    """The locations of ``placements`` with no known country, sorted, each once."""
    countries = facts.countries
    unknown = [loc for loc, _ in placements if not countries(loc)]
    return sorted(set(unknown)) if len(unknown) > 1 else unknown


_Placements = tuple[tuple[str, str], ...]


def _location_rule(rule: Rule, facts: _Facts) -> list[Finding]:
    g = facts.g
    nodes = g._node
    allowed = set()
    for a in rule.allowed:
        if a == "EEA":
            allowed |= {n.removeprefix("country:") for n, attrs in nodes.items()
                        if attrs.get("kind") == "country" and attrs.get("eea")}
        elif a == "EU":
            allowed |= facts.eu
        else:
            allowed.add(a.upper())
    roles = {str(r) for r in rule.roles}
    outside_text = f" — outside {', '.join(rule.allowed)}."
    # Per location (the same for every holder): the countries outside the allowed area, and
    # how a copy there reads; per country: its adequacy note.
    bad_of: dict[str, list[str]] = {}
    where_of: dict[str, str] = {}
    note_of: dict[str, str] = {}
    region_lines: dict[tuple[str, str], list[str]] = {}

    def verdict(placements: _Placements) -> tuple[list[str], tuple[str, ...], tuple[str, ...], str]:
        """Unknown locations, offending locations, their countries, and the message's body."""
        unknown = _unknown_locations(facts, placements)
        outside: dict[str, set[str]] = {}
        for loc, role in placements:
            bad = bad_of.get(loc)
            if bad is None:
                bad = bad_of[loc] = [c for c in facts.countries(loc) if c not in allowed]
            if bad:
                outside.setdefault(loc, set()).add(role)
        if not outside:
            return unknown, (), (), ""
        offending = sorted(outside)
        countries = sorted({c for loc in offending for c in bad_of[loc]})
        parts = []
        for loc in offending:
            where = where_of.get(loc)
            if where is None:
                cs = sorted(set(bad_of[loc]))
                zone = (f" (a {nodes[loc].get('region_kind') or 'zone'} that stores copies in "
                        + " and ".join(cs) + ")" if nodes[loc].get("stores_in_all")
                        else " (a zone that may store data in " + ", ".join(cs) + ")") \
                    if nodes[loc].get("zone") else f" ({', '.join(cs)})"
                where = where_of[loc] = f" copy in {nodes[loc].get('code', loc)}{zone}"
            parts.append("/".join(sorted(outside[loc])) + where)
        notes = []
        for c in countries:
            note = note_of.get(c)
            if note is None:
                country = f"country:{c}"
                adequacy = nodes[country].get("adequacy") if country in nodes else ""
                note = note_of[c] = f"{c} has an EU adequacy decision: {adequacy}" if adequacy else ""
            if note:
                notes.append(note)
        body = "; ".join(parts) + outside_text
        if notes:
            body += " Note: " + "; ".join(notes) + "."
        return unknown, tuple(offending), tuple(countries), body

    # Holders share a few hundred distinct placement lists even in a large estate.
    verdicts: dict[_Placements, tuple[list[str], tuple[str, ...], tuple[str, ...], str]] = {}
    unknown_groups: dict[tuple[str, ...], list[str]] = {}
    outside_groups: dict[tuple[_Placements, tuple[str, ...]], list[str]] = {}
    for (placements, operators, _tool, _stub), members in facts.scoped_profiles(rule.scope):
        if roles:
            placements = tuple((loc, role) for loc, role in placements if role in roles)
        found = verdicts.get(placements)
        if found is None:
            found = verdicts[placements] = verdict(placements)
        unknown, offending, countries, body = found
        if unknown or (not placements and not roles):
            unknown_groups.setdefault(tuple(unknown), []).extend(members)
        if offending:
            outside_groups.setdefault((placements, operators), []).extend(members)
    _sorted_groups(unknown_groups)
    _sorted_groups(outside_groups)
    findings = [_unknown_location(rule, facts, hs, list(unknown)) for unknown, hs in unknown_groups.items()]
    for (placements, operators), hs in outside_groups.items():
        _, offending, countries, body = verdicts[placements]
        evidence = _placement_evidence(g, hs[0], offending, countries, facts=facts, region_lines=region_lines)
        if len(hs) > 1:
            evidence += (f"The {len(hs) - 1} other holders of this finding keep their copies in the same "
                         "places, each by the same kind of evidence.",)
        findings.append(Finding(
            rule=rule.id, severity=rule.severity, node=hs[0], title="Copy outside the allowed area",
            message=f"{_who(facts, hs)}: " + body, remedy=rule.remedy, data=_union_data(facts, hs),
            locations=offending, countries=countries, path_evidence=evidence,
            holders=tuple(hs) if len(hs) > 1 else (),
            key=_group_key("outside", placements, operators) if len(hs) > 1 else ""))
    return findings


def _placement_evidence(g: nx.MultiDiGraph, holder: str, locations: Sequence[str],
                        countries: Sequence[str], *, facts: _Facts | None = None,
                        region_lines: dict[tuple[str, str], list[str]] | None = None,
                        ) -> tuple[str, ...]:
    """Why each offending copy is where it is: the placement's and the region's evidence.

    ``facts`` and ``region_lines`` are memos shared across holders (the lines of a region's
    link to a country are the same for every holder).
    """
    evidence = facts.evidence if facts is not None else edge_evidence
    lines = region_lines if region_lines is not None else {}
    adj = g._adj
    out: list[str] = []
    def label(n: str) -> str:
        return facts.label(n) if facts is not None else _label(g, n)

    for loc in locations:
        for _key, attrs in sorted(adj[holder][loc].items()):
            role = attrs.get("role")
            copy = f"a {role} copy" if role else "a copy"
            out.append(f"{label(holder)} keeps {copy} in {label(loc)} [{holder} → {loc}] — {evidence(attrs)}")
        for c in countries:
            region = lines.get((loc, c))
            if region is None:
                region = lines[(loc, c)] = []
                country = f"country:{c}"
                keyed = adj[loc].get(country) if loc in adj else None
                if keyed:
                    for _key, attrs in sorted(keyed.items()):
                        region.append(f"{label(loc)} is in {label(country)} [{loc} → {country}] — "
                                      f"{evidence(attrs)}")
            out.extend(region)
    return tuple(out)


def _certified(facts: _Facts, holder: str) -> list[str]:
    out = []
    for op in facts.operators(holder):
        for ent in facts.chain(op):
            certs = str(facts.g.nodes[ent].get("certifications") or "").split()
            if "dpf" in certs:
                out.append(ent)
    return sorted(set(out))


def _transfer_rule(rule: Rule, facts: _Facts) -> list[Finding]:
    g = facts.g
    nodes = g._node
    # Per location (the same for every holder): its countries outside the EEA, each with its
    # adequacy decision and that decision's scope.
    foreign_of: dict[str, list[tuple[str, str, str]]] = {}

    def outside(placements: _Placements) -> tuple[list[str], list[tuple[str, str, str]], bool]:
        """Unknown locations, countries outside the EEA, and whether certification matters."""
        foreign: list[tuple[str, str, str]] = []
        for loc, _role in placements:
            found = foreign_of.get(loc)
            if found is None:
                found = foreign_of[loc] = []
                for c in facts.countries(loc):
                    node = nodes.get(f"country:{c}", {})
                    if node.get("eea"):
                        continue
                    found.append((c, str(node.get("adequacy") or ""),
                                  str(node.get("adequacy_scope") or "")))
            foreign += found
        needs_certified = any(adequacy and scope == "certified-only" for _, adequacy, scope in foreign)
        return _unknown_locations(facts, placements), foreign, needs_certified

    def decide(placements: _Placements, tool: str, certified: list[str] | None,
               foreign: list[tuple[str, str, str]]) -> tuple[bool, str, tuple[str, ...], tuple[str, ...]]:
        """Whether a legal basis is missing, the text, the countries and the locations."""
        uncovered: dict[str, str] = {}
        covered: dict[str, str] = {}
        for c, adequacy, scope in foreign:
            if adequacy and scope in ("full", ""):
                covered[c] = f"adequacy decision: {adequacy}"
            elif adequacy and scope == "certified-only" and certified:
                covered[c] = (f"adequacy decision for certified organisations ({adequacy}); "
                              f"certified: {', '.join(certified)}")
            elif adequacy and scope == "partial":
                covered[c] = f"partial adequacy decision: {adequacy} — check that it covers the recipient"
            elif tool:
                covered[c] = f"declared transfer tool: {tool}"
            else:
                why = ("adequacy covers only certified organisations and no entity in the "
                       "operator's chain is declared certified" if adequacy else
                       "no adequacy decision")
                uncovered[c] = why
        chosen = uncovered or covered
        text = "; ".join(f"{c}: {why}" for c, why in sorted(chosen.items()))
        locations = tuple(sorted({loc for loc, _ in placements
                                  if set(facts.countries(loc)) & set(chosen)}))
        return bool(uncovered), text, tuple(sorted(chosen)), locations

    # Holders share a few hundred distinct placement lists even in a large estate.
    outsides: dict[_Placements, tuple[list[str], list[tuple[str, str, str]], bool]] = {}
    decisions: dict[tuple[_Placements, str, tuple[str, ...] | None],
                    tuple[bool, str, tuple[str, ...], tuple[str, ...]]] = {}
    unknown_groups: dict[tuple[str, ...], list[str]] = {}
    groups: dict[tuple[tuple[_Placements, str, tuple[str, ...] | None], tuple[str, ...]], list[str]] = {}
    for (placements, operators, tool, _stub), members in facts.scoped_profiles(rule.scope):
        found = outsides.get(placements)
        if found is None:
            found = outsides[placements] = outside(placements)
        unknown, foreign, needs_certified = found
        if unknown or not placements:
            unknown_groups.setdefault(tuple(unknown), []).extend(members)
        if not foreign:
            continue
        certified = _certified(facts, members[0]) if needs_certified else None  # by the operators
        key = (placements, tool, tuple(certified) if certified is not None else None)
        if key not in decisions:
            decisions[key] = decide(placements, tool, certified, foreign)
        groups.setdefault((key, operators), []).extend(members)
    _sorted_groups(unknown_groups)
    _sorted_groups(groups)
    findings = [_unknown_location(rule, facts, hs, list(unknown)) for unknown, hs in unknown_groups.items()]
    for (key, operators), hs in groups.items():
        missing, text, countries, locations = decisions[key]
        one = len(hs) == 1
        verb = "keeps a copy" if one else "keep copies"
        base = Finding(rule=rule.id, severity=rule.severity, node=hs[0], data=_union_data(facts, hs),
                       countries=countries, locations=locations, holders=() if one else tuple(hs),
                       key="" if one else _group_key("transfer", key[0], key[1], key[2] or (), operators),
                       title="Transfer outside the EEA without a legal basis",
                       message=f"{_who(facts, hs)} {verb} outside the EEA — {text}.", remedy=rule.remedy)
        if not missing:
            base = replace(base, severity=Severity.INFO, title="Transfer outside the EEA, covered",
                           message=f"{_who(facts, hs)} {verb} outside the EEA, covered by {text}.",
                           remedy="Keep the basis under review.")
        findings.append(base)
    return findings


def _selected_laws(rule: Rule, g: nx.MultiDiGraph, home: str, eu: set[str]) -> list[str]:
    laws = sorted(n for n, a in g._node.items() if a.get("kind") == "law")
    if isinstance(rule.laws, list):
        wanted = {x if x.startswith("law:") else f"law:{x}" for x in rule.laws}
        return [x for x in laws if x in wanted]
    out = []
    for law in laws:
        attrs = g.nodes[law]
        if not is_foreign(str(attrs.get("country", "")), home, eu):
            continue
        if rule.laws == "foreign-extraterritorial" and not attrs.get("extraterritorial"):
            continue
        out.append(law)
    return out


def _names(labels: Sequence[str]) -> str:
    """``A``, ``A and B``, ``A, B and C``."""
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]


def _route_remedy(facts: _Facts, kind: str, route: Sequence[str], laws: str) -> str:
    country = facts.label(route[0])
    if kind == "territorial":
        return (f"Move the copies that are in {country} (or in a zone that may include it) out of it: "
                f"{laws} reach data there, whoever runs it. Or declare a mitigation that keeps the "
                "data unreadable there, with its evidence.")
    top = next((n for n in route[1:] if n.startswith("entity:")), route[0])
    return (f"Choose an operator outside the control of {facts.label(top)} (incorporated in or "
            f"controlled from {country}), or declare a mitigation that keeps the data unreadable to it "
            "(client-side encryption with keys held outside the provider), with its evidence.")


def _route_text(facts: _Facts, kind: str, route: Sequence[str]) -> str:
    country = facts.label(route[0])
    if kind == "territorial":
        return f"territorial: a copy is in {country}"
    top = next((n for n in route[1:] if n.startswith("entity:")), route[0])
    return f"control: {facts.label(top)} is incorporated in or controlled from {country}"


def _copy_places(facts: _Facts, holders: Iterable[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The locations and countries where ``holders`` keep copies, sorted."""
    locations: set[str] = set()
    countries: set[str] = set()
    for profile in facts.links.distinct_placements(holders):  # holders share a few placement lists
        for loc, _role in profile:
            if loc not in locations:
                locations.add(loc)
                countries.update(facts.countries(loc))
    return tuple(sorted(locations)), tuple(sorted(countries))


def _reach_rule(rule: Rule, facts: _Facts, reach: Mapping[str, Reach], home: str) -> list[Finding]:
    """One finding per data category and route, naming every law that reaches through it.

    Laws of one country usually reach through the same chain (the CLOUD Act and FISA 702 through
    the same US parent): those are one finding, each law named once. Holders without a declared
    data category that are reached through the same route by the same laws are one finding too.
    """
    g = facts.g
    findings = []
    datas = facts.data_scope(rule.scope)
    holders = facts.in_scope(rule.scope)
    categorised = {h for h, ds in facts.data_of.items() if ds}
    uncategorised = [h for h in holders if h not in categorised]
    links: dict[tuple[str, str], str] = {}  # each link's evidence line, shared by many paths

    def evidence(path: tuple[str, ...]) -> tuple[str, ...]:
        """:func:`~residency_audit.jurisdiction.path_evidence`, one link at a time, memoised."""
        out = []
        for link in pairwise(path):
            line = links.get(link)
            if line is None:
                line = links[link] = path_evidence(g, link)[0]
            out.append(line)
        return tuple(out)

    laws_of: dict[tuple[str, tuple[str, ...]], list[str]] = {}  # (data, route) -> laws
    path_of: dict[tuple[str, tuple[str, ...]], tuple[str, ...]] = {}
    reached_of: dict[tuple[str, tuple[str, ...]], set[str]] = {}
    blocked_of: dict[tuple[str, tuple[str, ...]], set[str]] = {}
    holder_routes: dict[str, dict[tuple[str, ...], list[str]]] = {}  # holder -> route prefix -> laws
    holder_paths: dict[tuple[str, tuple[str, ...]], tuple[str, ...]] = {}
    for law in _selected_laws(rule, g, home, facts.eu):
        r = reach.get(law)
        if r is None:
            continue
        for d in datas:
            if d not in r.data:
                continue
            path = r.path(d)
            key = (d, path[1:])
            laws_of.setdefault(key, []).append(law)
            path_of.setdefault(key, path)
            copies = facts.copies[d]
            reached_of.setdefault(key, set()).update(copies & r.holders)
            blocked_of.setdefault(key, set()).update(
                f"{b.kind}: {b.description} ({b.evidence})" for b in r.blocked
                if b.source in copies or b.target in copies or b.source == d)
        for h in uncategorised:
            if h not in r.holders:
                continue
            path = r.path(h)
            holder_routes.setdefault(h, {}).setdefault(path[1:-1], []).append(law)
            holder_paths.setdefault((h, path[1:-1]), path)

    every_copy: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}  # places of all of d's copies
    for key in sorted(laws_of):
        d, route = key
        laws = laws_of[key]
        path = path_of[key]
        kind = route_kind(path)
        names = _names([facts.label(x) for x in laws])
        reached = sorted(reached_of[key])
        if len(reached) == len(facts.copies[d]):  # every copy (the usual case): once per category
            places = every_copy.get(d)
            if places is None:
                places = every_copy[d] = _copy_places(facts, reached)
            locations, countries = places
        else:
            locations, countries = _copy_places(facts, reached)
        total = len(facts.copies[d])
        findings.append(Finding(
            rule=rule.id, severity=rule.severity, node=d, law=laws[0] if len(laws) == 1 else "",
            laws=tuple(laws), route=kind, key=_group_key("via", route[:-1]),
            title=f"Within reach of {names}",
            message=(f"{facts.label(d)} is within reach of {names} ({_route_text(facts, kind, route)}). "
                     f"{len(reached)} of {total} {'copy is' if total == 1 else 'copies are'} within reach"
                     + (f", stored in {', '.join(countries)}" if countries else "")
                     + "; the route: " + " → ".join(facts.label(n) for n in route) + "."),
            remedy=_route_remedy(facts, kind, route, names), data=(d,), path=path,
            path_evidence=evidence(path), holders=tuple(reached), locations=locations,
            countries=countries, mitigations=tuple(sorted(blocked_of[key]))))

    groups: dict[tuple[tuple[str, ...], tuple[str, ...]], list[str]] = {}
    for h in sorted(holder_routes):
        for prefix, laws in holder_routes[h].items():
            groups.setdefault((prefix, tuple(laws)), []).append(h)
    for (prefix, group_laws), hs in sorted(groups.items()):
        path = holder_paths[(hs[0], prefix)]
        kind = route_kind(path)
        names = _names([facts.label(x) for x in group_laws])
        locations, countries = _copy_places(facts, hs)
        one = len(hs) == 1
        findings.append(Finding(
            rule=rule.id, severity=rule.severity, node=hs[0], law=group_laws[0] if len(group_laws) == 1 else "",
            laws=group_laws, route=kind, key="" if one and len(group_laws) == 1 else _group_key("via", prefix, group_laws),
            title=f"Within reach of {names}",
            message=(f"{_who(facts, hs)} (no declared data category) {'is' if one else 'are'} within "
                     f"reach of {names} ({_route_text(facts, kind, prefix)})"
                     + (f", stored in {', '.join(countries)}" if countries else "")
                     + "; the route: " + " → ".join(facts.label(n) for n in path[1:]) + "."),
            remedy=_route_remedy(facts, kind, prefix, names), path=path, path_evidence=evidence(path),
            holders=() if one else tuple(hs), locations=locations, countries=countries))
    return findings


_UNANSWERED_SCOPE = ("where the data in it is stored, which replicas and backups exist, who operates "
                     "them and which laws reach them")


def _at_least(severity: Severity, floor: Severity) -> Severity:
    return max(severity, floor, key=lambda s: s.rank)


def _gap_finding(rule: Rule, gap: CoverageGap) -> Finding:
    node = "gap:" + ":".join(x for x in (gap.provider, gap.scope, gap.region, gap.service,
                                          gap.operation, gap.resource, gap.field) if x)
    where = " ".join(x for x in (gap.provider, gap.scope, gap.region) if x)
    if gap.level is GapLevel.SCOPE:
        what = "scope" if not gap.region else "region"
        title, severity = f"{what.capitalize()} not read", _at_least(rule.severity, Severity.HIGH)
        unanswered = f" For this {what}, these cannot be answered: {_UNANSWERED_SCOPE}."
    elif gap.level is GapLevel.RECORD:
        title, severity = "Record not read", rule.severity
        unanswered = (" Where that record's copies are and who runs them cannot be answered"
                      + (f" (field {gap.field})" if gap.field else "") + ".")
    elif gap.field == "tags":
        title, severity = "Tags not read", rule.severity
        unanswered = (f" Which data categories select these {gap.service} holders by tag cannot be answered: "
                      "a category that selects by tag may have more copies than the report shows.")
    else:
        title, severity = "Not seen", rule.severity
        unanswered = f" What {gap.service} holds there is unknown, not compliant."
    if gap.error == "NotRequested":
        return Finding(
            rule=rule.id, severity=severity, node=node, title=title,
            message=f"{where}: {gap.service} {gap.operation} was not called ({gap.message}).{unanswered}",
            remedy="Scan again without the option that left them out, or select the data by resource id.")
    return Finding(
        rule=rule.id, severity=severity, node=node, title=title,
        message=(f"{where}: {gap.service} {gap.operation} failed with {gap.error}"
                 + (f" on {gap.resource}" if gap.resource else "")
                 + (f" ({gap.message})" if gap.message else "") + "." + unanswered),
        remedy=rule.remedy)


def _scope_finding(rule: Rule, status: ScopeStatus) -> Finding:
    reasons = "; ".join(status.reasons[:5]) + (f"; and {len(status.reasons) - 5} more"
                                               if len(status.reasons) > 5 else "")
    nothing = " Nothing at all was seen in it." if status.resources == 0 else ""
    return Finding(
        rule=rule.id, severity=_at_least(rule.severity, Severity.HIGH), node=f"scope:{status.scope}",
        title="Scope not read",
        message=(f"{status.scope} was asked for but not read ({reasons}).{nothing} For this scope, "
                 f"these cannot be answered: {_UNANSWERED_SCOPE}. A scan that saw nothing is not a pass."),
        remedy=rule.remedy)


def _coverage_rule(rule: Rule, facts: _Facts, gaps: Sequence[CoverageGap],
                   scopes: Sequence[ScopeStatus] = (),
                   located: frozenset[str] = frozenset()) -> list[Finding]:
    """Gaps, scopes not read, copies not seen, unknown locations, operators and entities.

    ``located`` are holders another rule already reported as in an unknown location.
    """
    g = facts.g
    findings = [_gap_finding(rule, gap) for gap in gaps]
    findings += [_scope_finding(rule, s) for s in scopes if s.status is ScopeState.NOT_READ
                 and not any(x.level is GapLevel.SCOPE and not x.region for x in s.gaps)]
    nodes = g._node
    unknown_of: dict[str, list[str]] = {}  # per operator: the unknown entities in its chain
    nowhere_groups: dict[tuple[str, ...], list[str]] = {}
    no_operator: list[str] = []
    unknown_entity_groups: dict[tuple[str, ...], list[str]] = {}
    stubs: list[str] = []
    for (placements, ops, _tool, stub), members in facts.profiles().items():
        if stub:
            stubs.extend(members)
            continue
        nowhere = _unknown_locations(facts, placements)
        if nowhere or not placements:
            unlocated = [h for h in members if h not in located] if located else members
            if unlocated:
                nowhere_groups.setdefault(tuple(nowhere), []).extend(unlocated)
        if not ops:
            no_operator.extend(members)
        for op in ops:
            unknown = unknown_of.get(op)
            if unknown is None:
                unknown = unknown_of[op] = [e for e in facts.chain(op) if not nodes[e].get("known")]
            if unknown:
                unknown_entity_groups.setdefault(tuple(unknown), []).extend(members)
    _sorted_groups(nowhere_groups)
    no_operator.sort()
    for h in sorted(stubs):
        findings.append(Finding(
            rule=rule.id, severity=max(rule.severity, Severity.HIGH, key=lambda s: s.rank),
            node=h, title="Copy not seen",
            message=(f"{facts.label(h)} receives data but was not seen by any scan or declared in the "
                     "inventory: where it is and who runs it are unknown."),
            remedy=rule.remedy, data=facts.data(h)))
    for nowhere_key, hs in nowhere_groups.items():
        found = _unknown_location(rule, facts, hs, list(nowhere_key))
        findings.append(replace(found, message=found.message + (
            " Which territorial laws reach it, and whether it is inside an allowed area, "
            "cannot be judged.")))
    if no_operator:
        findings.append(Finding(
            rule=rule.id, severity=rule.severity, node=no_operator[0], title="Unknown operator",
            message=(f"{_who(facts, no_operator)}: no operating entity is known, so foreign reach "
                     "cannot be decided."),
            remedy="Declare 'operator' on the resource in the inventory.",
            data=_union_data(facts, no_operator),
            holders=tuple(no_operator) if len(no_operator) > 1 else (),
            key="unknown-operator" if len(no_operator) > 1 else ""))
    for unknown_key, hs in sorted(unknown_entity_groups.items()):
        hs = sorted(set(hs))
        findings.append(Finding(
            rule=rule.id, severity=rule.severity, node=hs[0], title="Unknown entity",
            message=(f"{_who(facts, hs)} {'is' if len(hs) == 1 else 'are'} operated through "
                     f"{', '.join(unknown_key)}, which is in neither the catalog nor the inventory: "
                     "its country and parents are unknown."),
            remedy="Declare the entity with its country and parent in the inventory.",
            data=_union_data(facts, hs), holders=tuple(hs) if len(hs) > 1 else (),
            key=_group_key("unknown-entity", unknown_key) if len(hs) > 1 else ""))
    for d in sorted(facts.copies):
        if not facts.copies[d]:
            findings.append(Finding(
                rule=rule.id, severity=Severity.LOW, node=d, title="Data with no known copy",
                message=f"{facts.label(d)} is declared but no holder of it was found.",
                remedy="Check the data category's 'stored_in' selectors and resource ids."))
    return findings


def _apply_exceptions(findings: list[Finding], policy: Policy, today: dt.date) -> list[Finding]:
    from dataclasses import replace

    active = {(e.rule, e.node): e for e in policy.exceptions if e.expires >= today}
    expired = {(e.rule, e.node): e for e in policy.exceptions if e.expires < today}
    out = []
    for f in findings:
        exc = active.get((f.rule, f.node))
        if exc is not None:
            out.append(replace(f, exception=f"{exc.reason} (until {exc.expires.isoformat()})"))
            continue
        old = expired.get((f.rule, f.node))
        if old is not None:
            f = replace(f, message=f.message + f" (An exception expired on {old.expires.isoformat()}.)")
        out.append(f)
    return out


def data_copies(g: nx.MultiDiGraph, *, holder_links: HolderLinks | None = None) -> dict[str, set[str]]:
    """For each data node, every holder of a copy: one forward walk along the copy links
    (``holder_links``: the holders' links, when already read)."""
    with gc_paused():
        return _copy_walk(g, holder_links)


IMPLICIT_COVERAGE = Rule(
    id="coverage", type="coverage", severity=Severity.MEDIUM,
    description="Everything that could not be seen is reported; unknown is not compliant.",
    remedy="Grant the read permissions the scan needs, or declare the missing facts in the inventory.")
"""The coverage rule a policy without one is evaluated with: unknown is never compliant."""


def evaluate(g: nx.MultiDiGraph, reach: Mapping[str, Reach], policy: Policy, *,
             gaps: Sequence[CoverageGap] = (), today: dt.date | None = None,
             copies: Mapping[str, set[str]] | None = None,
             scopes: Sequence[ScopeStatus] = (), holder_links: HolderLinks | None = None) -> list[Finding]:
    """The findings of ``policy`` over graph ``g`` and its ``reach``, sorted, most severe first.

    ``today`` is the evaluation date (exceptions that expired before it stop applying); pass it
    to reproduce a report. ``scopes`` are the scan's scopes
    (:func:`~residency_audit.scopes.scope_statuses`): each one not read is a finding severe
    enough to fail the default ``--fail-on``. A policy without a coverage rule is evaluated with
    :data:`IMPLICIT_COVERAGE`, so that no policy lets unknown pass in silence.
    """
    day = today or dt.date.today()
    rules = list(policy.rules)
    if not any(r.type == "coverage" for r in rules):
        taken = {r.id for r in rules}
        rules.append(IMPLICIT_COVERAGE if IMPLICIT_COVERAGE.id not in taken
                     else IMPLICIT_COVERAGE.model_copy(update={"id": "coverage-implicit"}))
    with gc_paused():
        facts = _facts(g, copies, holder_links)
        findings: list[Finding] = []
        for rule in sorted(rules, key=lambda r: r.type == "coverage"):  # coverage last, order kept
            if rule.type == "location":
                findings += _location_rule(rule, facts)
            elif rule.type == "transfer":
                findings += _transfer_rule(rule, facts)
            elif rule.type == "reach":
                findings += _reach_rule(rule, facts, reach, policy.home)
            elif rule.type == "agreed-locations":
                findings += agreed_findings(facts.g, facts.copies, rule=rule.id, severity=rule.severity,
                                            remedy=rule.remedy, holders=facts.in_scope(rule.scope))
            elif rule.type == "ownership":
                findings += ownership_findings(
                    facts.g, {h: facts.operators(h) for h in facts.in_scope(rule.scope)}, rule=rule.id,
                    severity=rule.severity, remedy=rule.remedy, limits=rule.ownership_limits, eu=facts.eu)
            else:
                located = frozenset(h for f in findings if f.title == "Unknown location"
                                    for h in (f.holders or (f.node,)))
                findings += _coverage_rule(rule, facts, gaps, scopes, located)
        unique = {f.id: f for f in findings}
        return sorted(_apply_exceptions(list(unique.values()), policy, day), key=lambda f: f.sort_key)
