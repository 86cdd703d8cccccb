"""Read and write an :class:`~residency_audit.model.Estate` as JSON.

The file is what ``residency-audit scan`` writes and ``audit --estate`` reads. It is sorted
and versioned, so the same estate gives the same bytes, and it is written readable by its
owner only: an estate describes an organisation's infrastructure.

>>> from residency_audit.model import Estate
>>> estate_from_dict(estate_to_dict(Estate())) == Estate()
True
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

from residency_audit.errors import InputError, unknown_field_message
from residency_audit.model import (
    AgreedLocations,
    CoverageGap,
    DataCategory,
    Entity,
    Estate,
    Evidence,
    GapLevel,
    Link,
    LinkRelation,
    Mitigation,
    Placement,
    Resource,
    Role,
    ScanMetadata,
    Subprocessor,
    freeze_tags,
    split_location,
)
from residency_audit.userfile import read_user_text

__all__ = ["ESTATE_MAX_BYTES", "ESTATE_SCHEMA_VERSION", "estate_from_dict", "estate_to_dict",
           "json_line", "parse_estate_text", "read_estate", "write_estate", "write_private_text"]

ESTATE_SCHEMA_VERSION = 1


def _agreed(a: AgreedLocations | None) -> dict[str, Any]:
    """``{"agreed_locations": …}`` for a holder with agreed locations; nothing otherwise."""
    if a is None:
        return {}
    return {"agreed_locations": {"places": list(a.places), "clause": a.clause, "evidence": _evidence(a.evidence)}}


def _evidence(e: Evidence | None) -> dict[str, str] | None:
    if e is None:
        return None
    out = {"source": e.source, "ref": e.ref}
    if e.detail:
        out["detail"] = e.detail
    return out


def _placement(p: Placement) -> dict[str, Any]:
    return {"location": p.location, "role": str(p.role), "evidence": _evidence(p.evidence)}


def _link(link: Link) -> dict[str, Any]:
    out: dict[str, Any] = {"relation": str(link.relation), "target": link.target,
                           "evidence": _evidence(link.evidence)}
    if link.categories:
        out["categories"] = sorted(link.categories)
    return out


def _placements(ps: tuple[Placement, ...]) -> list[dict[str, Any]]:
    return sorted((_placement(p) for p in ps), key=lambda d: (d["role"], d["location"]))


def _links(ls: tuple[Link, ...]) -> list[dict[str, Any]]:
    return sorted((_link(x) for x in ls), key=lambda d: (d["relation"], d["target"]))


def estate_to_dict(estate: Estate) -> dict[str, Any]:
    """A JSON-ready, sorted dict of ``estate``."""
    m = estate.metadata
    return {
        "schema_version": ESTATE_SCHEMA_VERSION,
        "metadata": {"sources": sorted(m.sources), "started": m.started, "finished": m.finished,
                     "tool_version": m.tool_version, "scopes": sorted(m.scopes)},
        "resources": [
            {"id": r.id, "provider": r.provider, "service": r.service, "kind": r.kind,
             "name": r.name, "account": r.account, "placements": _placements(r.placements),
             "tags": dict(r.tags), "links": _links(r.links), "operator": r.operator,
             "operator_evidence": _evidence(r.operator_evidence),
             "attributes": dict(r.attributes), **_agreed(r.agreed_locations)}
            for r in sorted(estate.resources, key=lambda r: r.id)
        ],
        "subprocessors": [
            {"id": s.id, "name": s.name, "entity": s.entity, "placements": _placements(s.placements),
             "evidence": _evidence(s.evidence), "links": _links(s.links), "tags": dict(s.tags),
             "attributes": dict(s.attributes), **_agreed(s.agreed_locations)}
            for s in sorted(estate.subprocessors, key=lambda s: s.id)
        ],
        "entities": [
            {"id": e.id, "name": e.name, "country": e.country, "parent": e.parent,
             "evidence": _evidence(e.evidence), "parent_evidence": _evidence(e.parent_evidence),
             "notes": e.notes, "certifications": sorted(e.certifications),
             "controlled_from": e.controlled_from}
            for e in sorted(estate.entities, key=lambda e: e.id)
        ],
        "data": [
            {"id": d.id, "name": d.name, "classification": d.classification,
             "resources": sorted(d.resources), "selectors": [dict(s) for s in d.selectors],
             "subprocessors": sorted(d.subprocessors), "evidence": _evidence(d.evidence),
             "description": d.description}
            for d in sorted(estate.data, key=lambda d: d.id)
        ],
        "mitigations": [
            {"kind": x.kind, "source": x.source, "target": x.target, "description": x.description,
             "evidence": _evidence(x.evidence),
             "expires": x.expires.isoformat() if x.expires else None}
            for x in sorted(estate.mitigations, key=lambda x: (x.source, x.target, x.kind))
        ],
        "gaps": [
            {"provider": g.provider, "scope": g.scope, "region": g.region, "service": g.service,
             "operation": g.operation, "resource": g.resource, "error": g.error,
             "message": g.message, "level": g.level.value, "field": g.field}
            for g in sorted(estate.gaps, key=lambda g: g.key)
        ],
    }


#: The largest estate file read: a scan of a few hundred thousand resources fits well within.
ESTATE_MAX_BYTES = 1024 ** 3

#: How deep the JSON of an estate may nest; the format itself needs six levels.
ESTATE_MAX_DEPTH = 64

class _Keys(tuple[str, ...]):
    """The keys a record may have, in the order messages list them, with their set."""

    set: frozenset[str]

    def __new__(cls, *keys: str) -> _Keys:
        out = super().__new__(cls, keys)
        out.set = frozenset(keys)
        return out


_ROOT_KEYS = _Keys("schema_version", "metadata", "resources", "subprocessors", "entities", "data",
                   "mitigations", "gaps")
_KEYS: dict[str, _Keys] = {
    "metadata": _Keys("sources", "started", "finished", "tool_version", "scopes"),
    "resource": _Keys("id", "provider", "service", "kind", "name", "account", "placements", "tags",
                 "links", "operator", "operator_evidence", "attributes", "agreed_locations"),
    "placement": _Keys("location", "role", "evidence"),
    "link": _Keys("relation", "target", "evidence", "categories"),
    "evidence": _Keys("source", "ref", "detail"),
    "subprocessor": _Keys("id", "name", "entity", "placements", "evidence", "links", "tags",
                     "attributes", "agreed_locations"),
    "agreed": _Keys("places", "clause", "evidence"),
    "entity": _Keys("id", "name", "country", "parent", "evidence", "parent_evidence", "notes",
               "certifications", "controlled_from"),
    "data": _Keys("id", "name", "classification", "resources", "selectors", "subprocessors",
             "evidence", "description"),
    "mitigation": _Keys("kind", "source", "target", "description", "evidence", "expires"),
    "gap": _Keys("provider", "scope", "region", "service", "operation", "resource", "error",
            "message", "level", "field"),
}

_EVIDENCE_KEYS = _KEYS["evidence"]

_Path = tuple[str | int, ...]
_REQUIRED: Any = object()


class _Malformed(Exception):
    """A field of the estate that is missing or of the wrong type, at ``path``."""

    def __init__(self, path: _Path, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


def _kind_of(value: Any) -> str:
    """The JSON kind of ``value`` in words (never its repr: it may be huge or deep)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _field_name(path: _Path) -> str:
    out = ""
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out


class _Record:
    """One JSON object of the estate, read field by field; errors carry the field's path.

    Unknown keys are refused first, with the closest known key, because a typo'd key is the
    cause of the "missing field" that would follow it.
    """

    __slots__ = ("memo", "path", "value")

    def __init__(self, value: Any, path: _Path, keys: _Keys, memo: dict[Any, Any] | None = None) -> None:
        if not isinstance(value, dict):
            raise _Malformed(path, f"malformed estate: expected an object, got {_kind_of(value)}")
        if not value.keys() <= keys.set:
            unknown = sorted(str(k) for k in value if k not in keys.set)
            raise _Malformed((*path, unknown[0]), unknown_field_message(unknown[0], keys))
        self.value = value
        self.path = path
        # Facts that repeat across records (evidence, placements), parsed once and shared.
        self.memo: dict[Any, Any] = {} if memo is None else memo

    def _get(self, key: str, default: Any) -> Any:
        if key in self.value:
            return self.value[key]
        if default is _REQUIRED:
            raise _Malformed((*self.path, key), "malformed estate: missing field")
        return default

    def text(self, key: str, default: Any = _REQUIRED) -> str:
        value = self.value.get(key, default)
        if type(value) is str:
            return value
        if value is _REQUIRED:
            raise _Malformed((*self.path, key), "malformed estate: missing field")
        if not isinstance(value, str):
            raise _Malformed((*self.path, key), f"malformed estate: expected text, got {_kind_of(value)}")
        return value

    def opt_text(self, key: str) -> str | None:
        value = self._get(key, None)
        return None if value is None else self.text(key)

    def texts(self, key: str) -> tuple[str, ...]:
        value = self._get(key, [])
        if not isinstance(value, list):
            raise _Malformed((*self.path, key), f"malformed estate: expected a list of text, "
                             f"got {_kind_of(value)}")
        for i, item in enumerate(value):
            if not isinstance(item, str):
                raise _Malformed((*self.path, key, i),
                                 f"malformed estate: expected text, got {_kind_of(item)}")
        return tuple(value)

    def tags(self, key: str) -> Mapping[str, str]:
        return _tag_map(self.value.get(key), (*self.path, key), self.memo)

    def records(self, key: str, keys: _Keys) -> list[_Record]:
        value = self._get(key, [])
        if not isinstance(value, list):
            raise _Malformed((*self.path, key), f"malformed estate: expected a list, got {_kind_of(value)}")
        path, memo = self.path, self.memo
        return [_Record(item, (*path, key, i), keys, memo) for i, item in enumerate(value)]

    def evidence(self, key: str, *, required: bool = True) -> Evidence | None:
        value = self._get(key, _REQUIRED if required else None)
        if value is None and not required:
            return None
        fields = _evidence_fields(value)
        if fields is not None:  # the usual case: one Evidence for every record that names it
            memo_key = ("evidence", *fields)
            found = self.memo.get(memo_key)
            if found is None:
                source, ref, detail = fields
                found = self.memo[memo_key] = Evidence(source=source, ref=ref, detail=detail)
            return cast(Evidence, found)
        r = _Record(value, (*self.path, key), _EVIDENCE_KEYS, self.memo)
        return Evidence(source=r.text("source"), ref=r.text("ref"), detail=r.text("detail", ""))

    def req_evidence(self, key: str) -> Evidence:
        ev = self.evidence(key)
        assert ev is not None
        return ev

    def choice(self, key: str, kind: Any, default: Any = _REQUIRED) -> Any:
        value = self.text(key, default)
        try:
            return kind(value)
        except ValueError:
            allowed = ", ".join(sorted(str(m) for m in kind))
            raise _Malformed((*self.path, key), f"malformed estate: {value[:80]!r} is not one of "
                             f"{allowed}") from None

    def location(self, key: str) -> str:
        value = self.text(key)
        try:
            split_location(value)
        except ValueError as exc:
            raise _Malformed((*self.path, key), f"malformed estate: {exc}") from None
        return value

    def date(self, key: str) -> dt.date | None:
        value = self.opt_text(key)
        if not value:
            return None
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise _Malformed((*self.path, key), f"malformed estate: {value[:40]!r} is not a date "
                             "(YYYY-MM-DD)") from None


_NO_TAGS = freeze_tags(None)


def _tag_map(value: Any, path: _Path, memo: dict[Any, Any] | None = None) -> Mapping[str, str]:
    if value is None or (type(value) is dict and not value):
        return _NO_TAGS
    if memo is not None and type(value) is dict:  # tags repeat: one read-only map per distinct set
        items = tuple(value.items())
        if all(type(v) is str for _, v in items):
            found = memo.get(("tags", items))
            if found is None:
                found = memo[("tags", items)] = freeze_tags(value)
            return cast(Mapping[str, str], found)
    if not isinstance(value, dict):
        raise _Malformed(path, f"malformed estate: expected an object of text, got {_kind_of(value)}")
    for k, v in value.items():
        if not isinstance(v, str):
            raise _Malformed((*path, k), f"malformed estate: expected text, got {_kind_of(v)}")
    return freeze_tags(value)


def _evidence_fields(value: Any) -> tuple[str, str, str] | None:
    """(source, ref, detail) of a well-formed evidence object, else ``None`` (the checked way
    then names what is wrong)."""
    if type(value) is not dict or not value.keys() <= _EVIDENCE_KEYS.set:
        return None
    source, ref, detail = value.get("source"), value.get("ref"), value.get("detail", "")
    if type(source) is str and type(ref) is str and type(detail) is str:
        return source, ref, detail
    return None


def _placement_key(value: Any) -> tuple[str, ...] | None:
    """The memo key of a well-formed placement object (location, role, evidence), else ``None``."""
    if type(value) is not dict or not value.keys() <= _KEYS["placement"].set:
        return None
    location, role = value.get("location"), value.get("role")
    if type(location) is not str or type(role) is not str:
        return None
    fields = _evidence_fields(value.get("evidence"))
    return None if fields is None else ("placement", location, role, *fields)


def _read_placements(r: _Record) -> tuple[Placement, ...]:
    """The placements of a holder; a placement seen before (same location, role and evidence)
    is the same object (a million resources share a few thousand)."""
    memo = r.memo
    raw = r.value.get("placements", [])
    if type(raw) is list:  # the usual case: every placement seen before, no record made
        shared = []
        for item in raw:
            key = _placement_key(item)
            found = memo.get(key) if key is not None else None
            if found is None:
                break
            shared.append(found)
        else:
            return tuple(shared)
    out = []
    for p in r.records("placements", _KEYS["placement"]):
        memo_key = _placement_key(p.value)
        if memo_key is not None:
            found = memo.get(memo_key)
            if found is not None:
                out.append(found)
                continue
        placement = Placement(location=p.location("location"), role=p.choice("role", Role),
                              evidence=p.req_evidence("evidence"))
        if memo_key is not None:
            memo[memo_key] = placement
        out.append(placement)
    return tuple(out)


def _read_agreed(r: _Record) -> AgreedLocations | None:
    """A holder's agreed locations (``agreed_locations``: places, clause, evidence), if any."""
    if r.value.get("agreed_locations") is None:
        return None
    a = _Record(r.value["agreed_locations"], (*r.path, "agreed_locations"), _KEYS["agreed"], r.memo)
    return AgreedLocations(places=a.texts("places"), clause=a.text("clause"), evidence=a.req_evidence("evidence"))


def _read_links(r: _Record) -> tuple[Link, ...]:
    raw = r.value.get("links", ())
    if raw == () or (type(raw) is list and not raw):  # absent or empty: most holders
        return ()
    return tuple(Link(relation=x.choice("relation", LinkRelation), target=x.text("target"),
                      evidence=x.req_evidence("evidence"), categories=x.texts("categories"))
                 for x in r.records("links", _KEYS["link"]))


def _selectors(r: _Record) -> tuple[Mapping[str, str], ...]:
    value = r.value.get("selectors", [])
    if not isinstance(value, list):
        raise _Malformed((*r.path, "selectors"), f"malformed estate: expected a list, got {_kind_of(value)}")
    return tuple(_tag_map(s, (*r.path, "selectors", i)) for i, s in enumerate(value))


def _parse_estate(d: Any) -> Estate:
    """The :class:`Estate` in the JSON value ``d``; :class:`_Malformed` names the field at fault."""
    if not isinstance(d, dict):
        raise _Malformed((), f"an estate holds a JSON object, not {_kind_of(d)}")
    version = d.get("schema_version")
    if type(version) is not int or version != ESTATE_SCHEMA_VERSION:
        shown = repr(version) if isinstance(version, int | str | None) and len(str(version)) < 40 \
            else _kind_of(version)
        raise _Malformed(("schema_version",), f"unsupported estate schema version {shown} "
                         f"(this version reads {ESTATE_SCHEMA_VERSION})")
    root = _Record(d, (), _ROOT_KEYS)
    m = _Record(d.get("metadata", {}), ("metadata",), _KEYS["metadata"], root.memo)
    estate = Estate(
        metadata=ScanMetadata(sources=m.texts("sources"), started=m.text("started", ""),
                              finished=m.text("finished", ""),
                              tool_version=m.text("tool_version", ""), scopes=m.texts("scopes")),
        resources=tuple(
            Resource(id=r.text("id"), provider=r.text("provider"), service=r.text("service"),
                     kind=r.text("kind"), name=r.text("name"), account=r.text("account", ""),
                     placements=_read_placements(r), tags=r.tags("tags"), links=_read_links(r),
                     operator=r.opt_text("operator"),
                     operator_evidence=r.evidence("operator_evidence", required=False),
                     attributes=r.tags("attributes"), agreed_locations=_read_agreed(r))
            for r in root.records("resources", _KEYS["resource"])),
        subprocessors=tuple(
            Subprocessor(id=s.text("id"), name=s.text("name"), entity=s.text("entity"),
                         placements=_read_placements(s), evidence=s.req_evidence("evidence"),
                         links=_read_links(s), tags=s.tags("tags"), attributes=s.tags("attributes"),
                         agreed_locations=_read_agreed(s))
            for s in root.records("subprocessors", _KEYS["subprocessor"])),
        entities=tuple(
            Entity(id=e.text("id"), name=e.text("name"), country=e.text("country"),
                   parent=e.opt_text("parent"), evidence=e.req_evidence("evidence"),
                   parent_evidence=e.evidence("parent_evidence", required=False),
                   notes=e.text("notes", ""), certifications=e.texts("certifications"),
                   controlled_from=e.opt_text("controlled_from"))
            for e in root.records("entities", _KEYS["entity"])),
        data=tuple(
            DataCategory(id=x.text("id"), name=x.text("name"),
                         classification=x.text("classification", ""),
                         resources=x.texts("resources"), selectors=_selectors(x),
                         subprocessors=x.texts("subprocessors"), evidence=x.req_evidence("evidence"),
                         description=x.text("description", ""))
            for x in root.records("data", _KEYS["data"])),
        mitigations=tuple(
            Mitigation(kind=x.text("kind"), source=x.text("source"), target=x.text("target"),
                       description=x.text("description"), evidence=x.req_evidence("evidence"),
                       expires=x.date("expires"))
            for x in root.records("mitigations", _KEYS["mitigation"])),
        gaps=tuple(
            CoverageGap(provider=g.text("provider"), scope=g.text("scope"),
                        region=g.text("region", ""), service=g.text("service"),
                        operation=g.text("operation"), resource=g.text("resource", ""),
                        error=g.text("error"), message=g.text("message", ""),
                        level=g.choice("level", GapLevel, GapLevel.SERVICE.value),
                        field=g.text("field", ""))
            for g in root.records("gaps", _KEYS["gap"])),
    )
    for group, kind in (("resources", "resource"), ("subprocessors", "subprocessor"),
                        ("entities", "entity"), ("data", "data category")):
        first: dict[str, int] = {}
        for i, record in enumerate(getattr(estate, group)):
            j = first.setdefault(record.id, i)
            if j != i:
                raise _Malformed((group, i, "id"), f"{kind} {record.id[:200]!r} is listed twice "
                                 f"(first as {group}[{j}])")
    return estate


def estate_from_dict(d: Mapping[str, Any], *, origin: str = "<estate>") -> Estate:
    """The :class:`Estate` that :func:`estate_to_dict` wrote; :class:`InputError` if malformed,
    naming the field (``resources[3].placements[0].location``)."""
    try:
        return _parse_estate(d)
    except _Malformed as exc:
        raise InputError(origin, None, _field_name(exc.path) or None, exc.message) from None


# --- where a field stands in the JSON text (json keeps no positions) ---------------------------

_TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"?|[{}\[\],:]|[^\s{}\[\],:"]+')


class _LineCounter:
    """The 1-based line of a position in ``text``, for positions asked in increasing order."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.line = 1

    def __call__(self, pos: int) -> int:
        self.line += self.text.count("\n", self.pos, pos)
        self.pos = pos
        return self.line


def json_line(text: str, path: Sequence[str | int]) -> int | None:
    """The line of the value at ``path`` in the JSON ``text`` (of its deepest ancestor found).

    >>> json_line('{"a": [\\n  1,\\n  {"b": 2}\\n]}', ["a", 1, "b"])
    3
    """
    target = tuple(path)
    frames: list[list[Any]] = []  # [kind, key or index, expecting a key]
    line_at = _LineCounter(text)
    best: int | None = 1 if text.strip() else None
    for m in _TOKEN.finditer(text):
        tok = m.group()
        top = frames[-1] if frames else None
        if top is not None and top[0] == "{" and top[2] and tok.startswith('"'):
            try:
                top[1] = json.loads(tok)
            except ValueError:
                top[1] = tok.strip('"')
            top[2] = False
            current = tuple(f[1] for f in frames)
            if current == target[: len(current)]:
                best = line_at(m.start())
                if current == target:
                    return best
            continue
        if tok == ":":
            continue
        if tok == ",":
            if top is not None:
                if top[0] == "{":
                    top[2] = True
                else:
                    top[1] += 1
            continue
        if tok in ("]", "}"):
            if frames:
                frames.pop()
            continue
        if top is not None and top[0] == "[":
            current = tuple(f[1] for f in frames)
            if current == target[: len(current)]:
                best = line_at(m.start())
                if current == target:
                    return best
        if tok == "{":
            frames.append(["{", None, True])
        elif tok == "[":
            frames.append(["[", 0, False])
    return best


def _refuse_too_deep(text: str, origin: str) -> None:
    """An :class:`InputError` naming the line where ``text`` nests deeper than an estate may."""
    line = _too_deep_line(text, ESTATE_MAX_DEPTH)
    if line is not None:
        raise InputError(origin, line, None,
                         f"not valid JSON: nested deeper than {ESTATE_MAX_DEPTH} levels")


def _too_deep_line(text: str, limit: int) -> int | None:
    """The line where the JSON ``text`` first nests deeper than ``limit``, if it does."""
    depth = 0
    line_at = _LineCounter(text)
    for m in _TOKEN.finditer(text):
        tok = m.group()
        if tok in ("[", "{"):
            depth += 1
            if depth > limit:
                return line_at(m.start())
        elif tok in ("]", "}"):
            depth -= 1
    return None


def _bare_token_line(text: str, token: str) -> int | None:
    """The line of the first bare (unquoted) ``token`` in the JSON ``text``."""
    line_at = _LineCounter(text)
    for m in _TOKEN.finditer(text):
        if m.group() == token:
            return line_at(m.start())
    return None


class _BadNumber(ValueError):
    def __init__(self, token: str, message: str) -> None:
        super().__init__(message)
        self.token = token
        self.message = message


def _refuse_constant(token: str) -> Any:
    raise _BadNumber(token, f"{token} is not a JSON number")


def _parse_int(token: str) -> int:
    if len(token) > 20:
        raise _BadNumber(token, f"a number of {len(token)} digits")
    return int(token)


def _parse_float(token: str) -> float:
    value = float(token)
    if not math.isfinite(value):
        raise _BadNumber(token, f"{token[:40]} is out of range")
    return value


def parse_estate_text(text: str, origin: str) -> Estate:
    """The :class:`Estate` in the JSON ``text``; :class:`InputError` names ``origin``, the line
    and the field."""
    try:
        raw = json.loads(text, parse_constant=_refuse_constant, parse_int=_parse_int,
                         parse_float=_parse_float)
    except json.JSONDecodeError as exc:
        raise InputError(origin, exc.lineno, None, f"not valid JSON: {exc.msg}") from None
    except _BadNumber as exc:
        raise InputError(origin, _bare_token_line(text, exc.token), None,
                         f"not valid JSON: {exc.message}") from None
    except RecursionError:
        raise InputError(origin, _too_deep_line(text, ESTATE_MAX_DEPTH), None,
                         f"not valid JSON: nested deeper than {ESTATE_MAX_DEPTH} levels") from None
    except ValueError as exc:  # e.g. a number json cannot convert
        raise InputError(origin, None, None, f"not valid JSON: {exc}") from None
    if not isinstance(raw, dict):
        _refuse_too_deep(text, origin)
        raise InputError(origin, 1, None, f"an estate file holds a JSON object, not {_kind_of(raw)}")
    try:
        return _parse_estate(raw)
    except _Malformed as exc:
        # Some Pythons (3.13) parse nesting that others refuse: the depth is the most useful error.
        _refuse_too_deep(text, origin)
        raise InputError(origin, json_line(text, exc.path), _field_name(exc.path) or None,
                         exc.message) from None
    except RecursionError:
        raise InputError(origin, _too_deep_line(text, ESTATE_MAX_DEPTH), None,
                         f"not valid JSON: nested deeper than {ESTATE_MAX_DEPTH} levels") from None


def write_private_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` atomically, owner-only (see :func:`residency_audit.safefile.write_text`)."""
    from residency_audit.safefile import write_text

    write_text(path, text)


def write_estate(estate: Estate, path: str | os.PathLike[str], *,
                 inputs: Iterable[str | os.PathLike[str]] = ()) -> None:
    """Write ``estate`` as sorted JSON to ``path``: atomically, owner-readable only, and never
    through a link, onto a device or over one of ``inputs`` (:mod:`residency_audit.safefile`)."""
    from residency_audit.safefile import write_text

    write_text(path, json.dumps(estate_to_dict(estate), indent=2, sort_keys=True) + "\n",
               inputs=inputs)


def read_estate(path: str | os.PathLike[str]) -> Estate:
    """Read an estate JSON file written by :func:`write_estate` (UTF-8, a byte order mark
    allowed; at most :data:`ESTATE_MAX_BYTES`). Errors name the file, the line and the field."""
    from residency_audit.graph import gc_paused

    text = read_user_text(path, max_bytes=ESTATE_MAX_BYTES, what="estate")
    with gc_paused():  # the parse only allocates (the JSON tree, then the model): see graph.gc_paused
        return parse_estate_text(text, str(path))
