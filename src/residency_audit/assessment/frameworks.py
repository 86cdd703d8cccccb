"""Criteria as data: framework files, and their results per data category and per holder.

A framework file (``assessment/frameworks/<id>.yaml``, or a user's own file) names the framework,
its source and status, and its criteria: each with an id, a title, a citation, where its text was
checked, and the ``check`` that answers it. The checks are few and plain (below); a criterion the
tool cannot see is ``not-evaluated``, and that is never counted as met.

Results are ``met``, ``not-met``, ``not-evaluated`` (the tool cannot see it) or
``cannot-be-judged`` (something it needs could not be seen: an unknown place, a scope not read).

Checks:

``copies-in``
    every copy (``roles``: only copies in these roles) is in ``places`` (EEA, EU, country codes);
``locations-known``
    every copy's place and country is known;
``agreed-locations``
    every copy is inside the locations agreed for it (not evaluated when nothing was agreed);
``no-foreign-reach``
    no law of the kind ``laws`` reaches the data: ``foreign-extraterritorial`` (foreign to the
    policy's home, reaching through control), ``foreign``, or ``non-eu`` (a law of a state outside
    the EU, by any route);
``operators-in``
    every entity of each holder's operator chain, up to the ultimate parent, is incorporated in
    ``places``;
``ownership``
    the operators' non-EU holdings stay within the limits given (as the ``ownership`` policy rule);
``not-evaluated``
    the tool cannot see it (``reason`` says why);
``register``
    answered by the register itself: the evidence is compiled, the decision is the authority's
    (reported as ``not-evaluated``, with that reason).

>>> import datetime as dt
>>> from residency_audit.demo import demo_estate
>>> from residency_audit.pipeline import audit
>>> from residency_audit.assessment.register import build_register
>>> a = audit(demo_estate(), today=dt.date(2026, 11, 24))
>>> fw = load_framework("finos-ccc")
>>> r = evaluate_framework(fw, a, build_register(a))
>>> sorted({x.status for x in r.results if x.criterion == "CCC.Core.CN10"})
['met', 'not-met']
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)

from residency_audit.assessment.register import DataEntry, LawEntry, Register, laws_of
from residency_audit.errors import InputError
from residency_audit.model import Severity
from residency_audit.ownership import OwnershipLimits, ownership_findings
from residency_audit.pipeline import Audit
from residency_audit.yamlfile import (
    CalendarDate,
    load_yaml,
    load_yaml_text,
    validation_error_to_input_error,
)

__all__ = ["STATUSES", "Criterion", "CriterionResult", "Framework", "FrameworkResult", "builtin_frameworks",
           "evaluate_framework", "load_framework"]

STATUSES = ("met", "not-met", "cannot-be-judged", "not-evaluated")
Text = Annotated[str, StringConstraints(max_length=10_000)]
Id = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", max_length=200)]
Place = Annotated[str, StringConstraints(pattern=r"^(EEA|EU|[A-Z]{2})$")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Localised(_Model):
    en: Text = Field(min_length=1)
    sv: Text = Field(min_length=1)

    def get(self, lang: str) -> str:
        return self.sv if lang == "sv" else self.en


def _yes_no(value: Any) -> Any:
    """YAML reads an unquoted ``yes``/``no`` as a boolean: take it as the word."""
    return ("yes" if value else "no") if isinstance(value, bool) else value


class SourceIn(_Model):
    url: Text
    title: Text
    checked: CalendarDate
    verified: Annotated[Literal["yes", "partly", "no"], BeforeValidator(_yes_no)]
    note: Text = ""


class Check(_Model):
    type: Literal["copies-in", "locations-known", "agreed-locations", "no-foreign-reach", "operators-in",
                  "ownership", "not-evaluated", "register"]
    places: list[Place] = []
    roles: list[Text] = []
    laws: Literal["foreign-extraterritorial", "foreign", "non-eu"] = "foreign-extraterritorial"
    max_single_share: float | None = None
    max_total_share: float | None = None
    allow_veto: bool = True
    allow_control: bool = True
    require_eu_seat: bool = False
    reason: Localised | None = None


class Criterion(_Model):
    id: Id
    title: Localised
    citation: Text
    objective: Text = ""
    source: SourceIn
    check: Check
    how: Localised
    if_not_met: Localised | None = None


class Framework(_Model):
    id: Id
    name: Text
    publisher: Text
    version: Text
    status: Literal["published", "proposal", "law"]
    source: SourceIn
    note: Localised | None = None
    overall: Localised | None = None
    criteria: list[Criterion] = Field(min_length=1)


@dataclass(frozen=True, slots=True, kw_only=True)
class CriterionResult:
    """One criterion's result for one subject (a data category or a holder), with the reasons."""

    criterion: str
    subject: str
    subject_label: str
    subject_kind: str
    status: str
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class FrameworkResult:
    framework: Framework
    results: tuple[CriterionResult, ...]

    def counts(self, criterion: str, kind: str = "data") -> dict[str, int]:
        """How many subjects of ``kind`` have each status for ``criterion`` (every status present)."""
        out = dict.fromkeys(STATUSES, 0)
        for r in self.results:
            if r.criterion == criterion and r.subject_kind == kind:
                out[r.status] += 1
        return out


_PACKAGE = "residency_audit.assessment"


def builtin_frameworks() -> list[str]:
    """The ids of the packaged frameworks, sorted."""
    folder = resources.files(_PACKAGE) / "frameworks"
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))


def _parse(doc: Any, origin: str) -> Framework:
    if not isinstance(doc, dict):
        raise InputError(origin, None, None, "a framework file is a mapping (id, name, criteria, …)")
    try:
        return Framework.model_validate(doc)
    except ValidationError as exc:
        raise validation_error_to_input_error(exc, doc, origin, model=Framework) from None


def load_framework(name_or_path: str | os.PathLike[str]) -> Framework:
    """A packaged framework by id (:func:`builtin_frameworks`), or a framework file."""
    name = os.fspath(name_or_path)
    if name in builtin_frameworks():
        res = resources.files(_PACKAGE) / "frameworks" / f"{name}.yaml"
        origin = f"residency_audit/assessment/frameworks/{name}.yaml"
        return _parse(load_yaml_text(res.read_text(encoding="utf-8"), origin), origin)
    if not Path(name).suffix:
        raise InputError("<command line>", None, "--framework",
                         f"no framework {name!r}; packaged: {', '.join(builtin_frameworks())}")
    return _parse(load_yaml(name, max_bytes=5 * 1024 * 1024, what="framework"), name)


# subjects --------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True, kw_only=True)
class _Subject:
    node: str
    label: str
    kind: str
    entry: DataEntry
    holders: frozenset[str]
    gaps: tuple[str, ...]
    laws: tuple[LawEntry, ...]


def _eu(a: Audit) -> set[str]:
    return {c.code for c in a.catalog.countries.values() if c.eu}


def _in(place: str, countries: Sequence[str], eea: set[str], eu: set[str]) -> bool:
    if place == "EEA":
        return bool(countries) and all(c in eea for c in countries)
    if place == "EU":
        return bool(countries) and all(c in eu for c in countries)
    return bool(countries) and all(c == place for c in countries)


def _check(c: Check, s: _Subject, a: Audit, lang: str) -> tuple[str, list[str]]:
    e = s.entry
    copies = [x for x in e.copies if x.holder in s.holders]
    eea = {x.code for x in a.catalog.countries.values() if x.eea}
    eu = _eu(a)
    if c.type in ("not-evaluated", "register"):
        return "not-evaluated", [c.reason.get(lang)] if c.reason else []
    bad: list[str] = []
    unknown: list[str] = []
    if c.type in ("copies-in", "locations-known"):
        for x in copies:
            if c.roles and x.role not in c.roles:
                continue
            where = f"{x.holder_label} ({x.role}): {x.location_label} [{' '.join(x.countries) or '?'}]"
            if not x.known:
                unknown.append(where)
            elif c.type == "copies-in" and not any(_in(p, x.countries, eea, eu) for p in c.places):
                bad.append(where)
    elif c.type == "agreed-locations":
        checks = [x for x in e.agreed if x.holder in s.holders]
        if not checks:
            return "not-evaluated", []
        for ch in checks:
            where = f"{ch.holder_label}: {ch.location} [{' '.join(ch.countries) or '?'}] — \"{ch.clause}\" ({ch.ref})"
            if not ch.known:
                unknown.append(where)
            elif not ch.inside:
                bad.append(where)
    elif c.type == "no-foreign-reach":
        for law in s.laws:
            hit = (law.foreign and law.extraterritorial if c.laws == "foreign-extraterritorial"
                   else law.foreign if c.laws == "foreign"
                   else law.country not in eu and law.country != "EU")
            if hit:
                bad.append(f"{law.label} ({law.route}): {' → '.join(law.path)}")
    elif c.type == "operators-in":
        for chain in e.operators:
            if chain.holder not in s.holders:
                continue
            for link in chain.links:
                if not link.country:
                    unknown.append(f"{chain.holder_label}: {link.label}")
                elif not any(_in(p, [link.country], eea, eu) for p in c.places):
                    bad.append(f"{chain.holder_label}: {link.label} ({link.country}) [{link.evidence}]")
    elif c.type == "ownership":
        limits = OwnershipLimits(max_single_share=c.max_single_share, max_total_share=c.max_total_share,
                                 allow_veto=c.allow_veto, allow_control=c.allow_control,
                                 require_eu_seat=c.require_eu_seat)
        ops = {h: [link.entity for link in chain.links[:1]] for chain in e.operators
               for h in [chain.holder] if h in s.holders}
        for f in ownership_findings(a.graph, ops, rule="framework", severity=Severity.HIGH, remedy="",
                                    limits=limits, eu=eu):
            (bad if f.title == "Ownership outside the limits" else unknown).append(f.message)
    if bad:
        return "not-met", sorted(set(bad))
    if unknown or s.gaps:
        return "cannot-be-judged", sorted(set(unknown)) + list(s.gaps)
    return "met", []


def evaluate_framework(fw: Framework, a: Audit, register: Register, *, lang: str = "en") -> FrameworkResult:
    """Each criterion of ``fw`` for each data category of ``register`` and for each holder."""
    subjects: list[_Subject] = []
    for e in register.entries:
        subjects.append(_Subject(node=e.node, label=e.label, kind="data", entry=e,
                                 holders=frozenset(e.holders), gaps=tuple(g.text for g in e.gaps),
                                 laws=e.laws))
    seen: set[str] = set()
    labels = {h.node: h.label for h in register.view.holders}
    for e in register.entries:
        for h in e.holders:
            if h in seen:
                continue
            seen.add(h)
            label = labels.get(h, h)
            subjects.append(_Subject(node=h, label=label, kind="holder", entry=e, holders=frozenset({h}),
                                     gaps=a.explain(h).unjudged, laws=laws_of(a, h)))
    results = []
    for crit in fw.criteria:
        for s in sorted(subjects, key=lambda s: (s.kind, s.node)):
            status, reasons = _check(crit.check, s, a, lang)
            results.append(CriterionResult(criterion=crit.id, subject=s.node, subject_label=s.label,
                                           subject_kind=s.kind, status=status, reasons=tuple(reasons)))
    return FrameworkResult(framework=fw, results=tuple(results))
