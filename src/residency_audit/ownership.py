"""Ownership with shares and control: who outside the EU holds how much of an operator.

Sovereignty schemes are written in shares and control rights. ANSSI's SecNumCloud 3.2 (8 March
2022), §19.6 b, says the provider's share capital and voting rights may not be held, directly or
indirectly, individually above 24 % or collectively above 39 % by entities whose registered
office, central administration or principal establishment is outside the EU, and that those
entities may not, by contract or statute, hold a veto or appoint the majority of its boards;
§19.6 a puts the provider's own seat in the EU. :func:`assess` reads the graph's holdings
(``holds_share_in`` edges with ``share`` and ``control``) and controlling parents
(``controlled_by``) of an operator, looks through EU holders to the non-EU holders above them
(shares multiply along the way), and :func:`ownership_findings` turns limits that do not hold
into findings. A share the catalog does not know is never read as small: it is a finding that
says what cannot be judged.

>>> g = nx.MultiDiGraph()
>>> g.add_node("entity:op", kind="entity", label="Op GmbH", country="DE")
>>> g.add_node("entity:us", kind="entity", label="US Inc.", country="US")
>>> _ = g.add_edge("entity:us", "entity:op", key="holds_share_in", relation="holds_share_in",
...                share=30.0, control="no")
>>> a = assess(g, "entity:op", eu={"DE"})
>>> a.largest, SECNUMCLOUD_3_2.breaches(a)
(30.0, ['US Inc. (US) holds 30 %, more than 24 % for a single non-EU holder'])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import networkx as nx

from residency_audit.model import Finding, Severity

__all__ = ["SECNUMCLOUD_3_2", "ForeignHolding", "OwnershipAssessment", "OwnershipLimits", "assess",
           "ownership_findings"]

_MAX_DEPTH = 12


@dataclass(frozen=True, slots=True, kw_only=True)
class ForeignHolding:
    """A non-EU holder's effective stake in the operator, and the chain it is held through.

    ``share`` is in percent of the operator (None when a share on the way is not known);
    ``control`` is ``yes`` when every link on the way controls, ``veto`` when one is a veto and
    the rest control, else ``no`` or ``unknown``.
    """

    holder: str
    label: str
    country: str
    share: float | None
    control: str
    path: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class OwnershipAssessment:
    """An operator's seat and its non-EU holders, direct and through EU holders."""

    operator: str
    label: str
    seat: str
    seat_in_eu: bool
    foreign: tuple[ForeignHolding, ...]

    @property
    def largest(self) -> float | None:
        known = [h.share for h in self.foreign if h.share is not None]
        return max(known) if known else None

    @property
    def total(self) -> float:
        return sum(h.share for h in self.foreign if h.share is not None)

    @property
    def unknown_shares(self) -> tuple[ForeignHolding, ...]:
        return tuple(h for h in self.foreign if h.share is None)


@dataclass(frozen=True, slots=True, kw_only=True)
class OwnershipLimits:
    """What non-EU holders may have: the largest single share and the sum (percent, at most),
    whether a veto or control is allowed, and whether the operator's seat must be in the EU."""

    max_single_share: float | None = None
    max_total_share: float | None = None
    allow_veto: bool = True
    allow_control: bool = True
    require_eu_seat: bool = False

    def breaches(self, a: OwnershipAssessment) -> list[str]:
        """Each limit ``a`` does not meet, or cannot be shown to meet, as one sentence."""
        out: list[str] = []
        if self.require_eu_seat and not a.seat_in_eu:
            out.append(f"seat outside the EU ({a.seat or 'country not known'})")
        for h in a.foreign:
            who = f"{h.label} ({h.country or 'country not known'})"
            if h.control == "yes" and not self.allow_control:
                out.append(f"controlled from outside the EU by {who}")
            elif h.control == "veto" and not self.allow_veto:
                out.append(f"{who} holds a veto")
        if self.max_single_share is not None:
            for h in a.foreign:
                if h.share is not None and h.share > self.max_single_share:
                    out.append(f"{h.label} ({h.country}) holds {h.share:g} %, more than "
                               f"{self.max_single_share:g} % for a single non-EU holder")
        if self.max_total_share is not None and a.total > self.max_total_share:
            out.append(f"non-EU holders hold {a.total:g} % together, more than "
                       f"{self.max_total_share:g} %")
        limited = self.max_single_share is not None or self.max_total_share is not None
        if limited:
            for h in a.unknown_shares:
                out.append(f"the share of {h.label} ({h.country or 'country not known'}) is not "
                           "known, so the limits cannot be judged")
        return out


#: ANSSI SecNumCloud 3.2 §19.6 a-b as limits (see the module docstring).
SECNUMCLOUD_3_2 = OwnershipLimits(max_single_share=24, max_total_share=39, allow_veto=False,
                                  allow_control=False, require_eu_seat=True)


def _country_of(g: nx.MultiDiGraph, entity: str) -> tuple[str, list[str]]:
    """The entity's country of incorporation and the countries it is controlled from."""
    attrs = g.nodes[entity]
    country = str(attrs.get("country") or "")
    run_from = [str(g.nodes[v].get("code") or v.removeprefix("country:"))
                for _, v, e in g.out_edges(entity, data=True) if e.get("relation") == "controlled_from"]
    return country, run_from


def _direct(g: nx.MultiDiGraph, entity: str) -> list[tuple[str, float | None, str]]:
    """The holders of ``entity``: (holder, share, control), holdings first, then parents."""
    out: dict[str, tuple[str, float | None, str]] = {}
    for u, _, e in g.in_edges(entity, data=True):
        if e.get("relation") == "holds_share_in":
            share = e.get("share")
            out[u] = (u, float(share) if share is not None else None, str(e.get("control") or "unknown"))
    for _, v, e in g.out_edges(entity, data=True):
        if e.get("relation") == "controlled_by" and v not in out:
            out[v] = (v, None, "yes")
    return [out[k] for k in sorted(out)]


def _combine(outer: str, inner: str) -> str:
    if outer == "yes":
        return inner
    if outer == "veto" and inner in ("yes", "veto"):
        return "veto"
    return "unknown" if "unknown" in (outer, inner) else "no"


def assess(g: nx.MultiDiGraph, operator: str, *, eu: set[str]) -> OwnershipAssessment:
    """The seat and the non-EU holders of ``operator`` (an ``entity:`` node) in graph ``g``.

    A holder is non-EU when it is incorporated or controlled from outside ``eu``; an EU holder
    is looked through, so that a non-EU holder above it counts with the product of the shares.
    """
    seat, run_from = _country_of(g, operator)
    found: dict[str, ForeignHolding] = {}

    def walk(entity: str, fraction: float | None, control: str, path: tuple[str, ...]) -> None:
        if len(path) > _MAX_DEPTH:
            return
        for holder, share, link in _direct(g, entity):
            if holder in path:
                continue
            eff = None if fraction is None or share is None else fraction * share / 100
            ctl = _combine(control, link)
            country, holder_run_from = _country_of(g, holder)
            here = (*path, holder)
            if country not in eu or any(c not in eu for c in holder_run_from):
                seen = found.get(holder)
                if seen is None:
                    found[holder] = ForeignHolding(
                        holder=holder, label=str(g.nodes[holder].get("label") or holder),
                        country=country, share=eff, control=ctl, path=here)
                else:  # held along two ways: the shares add, the stronger control counts
                    total = None if seen.share is None or eff is None else seen.share + eff
                    strongest = min((seen.control, ctl), key=("yes", "veto", "unknown", "no").index)
                    found[holder] = ForeignHolding(holder=holder, label=seen.label, country=country,
                                                   share=total, control=strongest, path=seen.path)
            else:
                walk(holder, eff, ctl, here)

    walk(operator, 100.0, "yes", (operator,))
    return OwnershipAssessment(
        operator=operator, label=str(g.nodes[operator].get("label") or operator), seat=seat,
        seat_in_eu=seat in eu and all(c in eu for c in run_from),
        foreign=tuple(found[k] for k in sorted(found)))


def ownership_findings(g: nx.MultiDiGraph, operators_of: Mapping[str, Sequence[str]], *,
                       rule: str, severity: Severity, remedy: str, limits: OwnershipLimits,
                       eu: set[str]) -> list[Finding]:
    """One finding per operator of the holders in ``operators_of`` whose ownership breaks
    ``limits`` (or cannot be shown to meet them), naming the holders it runs."""
    holders_of: dict[str, list[str]] = {}
    for holder, operators in operators_of.items():
        for op in operators:
            holders_of.setdefault(op, []).append(holder)
    findings = []
    for op in sorted(holders_of):
        if op not in g:
            continue
        a = assess(g, op, eu=eu)
        reasons = limits.breaches(a)
        if not reasons:
            continue
        holders = tuple(sorted(holders_of[op]))
        judged = not all(r.endswith("cannot be judged") for r in reasons)
        worst = next((h for h in a.foreign if h.control == "yes"), a.foreign[0] if a.foreign else None)
        findings.append(Finding(
            rule=rule, severity=severity, node=op,
            title="Ownership outside the limits" if judged else "Ownership cannot be judged",
            message=f"{a.label} (seat {a.seat or 'not known'}), which operates {len(holders)} "
                    f"holder(s): " + "; ".join(reasons) + ".",
            remedy=remedy, holders=holders, path=worst.path if worst else (op,),
            key=op))
    return findings
