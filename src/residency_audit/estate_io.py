"""Read and write an :class:`~residency_audit.model.Estate` as JSON.

The file is what ``residency-audit scan`` writes and ``audit --estate`` reads. It is sorted
and versioned, so the same estate gives the same bytes, and it is written readable by its
owner only: an estate describes an organisation's infrastructure.

>>> from residency_audit.model import Estate
>>> estate_from_dict(estate_to_dict(Estate())) == Estate()
True
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from residency_audit.errors import InputError
from residency_audit.model import (
    CoverageGap,
    GapLevel,
    DataCategory,
    Entity,
    Estate,
    Evidence,
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

__all__ = ["ESTATE_SCHEMA_VERSION", "estate_from_dict", "estate_to_dict", "read_estate",
           "write_estate", "write_private_text"]

ESTATE_SCHEMA_VERSION = 1


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
             "attributes": dict(r.attributes)}
            for r in sorted(estate.resources, key=lambda r: r.id)
        ],
        "subprocessors": [
            {"id": s.id, "name": s.name, "entity": s.entity, "placements": _placements(s.placements),
             "evidence": _evidence(s.evidence), "links": _links(s.links), "tags": dict(s.tags),
             "attributes": dict(s.attributes)}
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


def _ev(d: Mapping[str, Any] | None) -> Evidence | None:
    if d is None:
        return None
    return Evidence(source=str(d["source"]), ref=str(d["ref"]), detail=str(d.get("detail", "")))


def _req_ev(d: Mapping[str, Any]) -> Evidence:
    ev = _ev(d)
    if ev is None:
        raise KeyError("evidence")
    return ev


def _pl(d: Mapping[str, Any]) -> Placement:
    return Placement(location=str(d["location"]), role=Role(d["role"]),
                     evidence=_req_ev(d["evidence"]))


def _ln(d: Mapping[str, Any]) -> Link:
    return Link(relation=LinkRelation(d["relation"]), target=str(d["target"]),
                evidence=_req_ev(d["evidence"]), categories=tuple(d.get("categories", ())))


def estate_from_dict(d: Mapping[str, Any], *, origin: str = "<estate>") -> Estate:
    """The :class:`Estate` that :func:`estate_to_dict` wrote; :class:`InputError` if malformed."""
    try:
        version = d.get("schema_version")
        if version != ESTATE_SCHEMA_VERSION:
            raise InputError(origin, None, "schema_version",
                             f"unsupported estate schema version {version!r}")
        m = d.get("metadata", {})
        estate = Estate(
            metadata=ScanMetadata(sources=tuple(m.get("sources", ())), started=m.get("started", ""),
                                  finished=m.get("finished", ""),
                                  tool_version=m.get("tool_version", ""),
                                  scopes=tuple(m.get("scopes", ()))),
            resources=tuple(
                Resource(id=r["id"], provider=r["provider"], service=r["service"], kind=r["kind"],
                         name=r["name"], account=r.get("account", ""),
                         placements=tuple(_pl(p) for p in r.get("placements", ())),
                         tags=freeze_tags(r.get("tags")),
                         links=tuple(_ln(x) for x in r.get("links", ())),
                         operator=r.get("operator"), operator_evidence=_ev(r.get("operator_evidence")),
                         attributes=freeze_tags(r.get("attributes")))
                for r in d.get("resources", ())),
            subprocessors=tuple(
                Subprocessor(id=s["id"], name=s["name"], entity=s["entity"],
                             placements=tuple(_pl(p) for p in s.get("placements", ())),
                             evidence=_req_ev(s["evidence"]),
                             links=tuple(_ln(x) for x in s.get("links", ())),
                             tags=freeze_tags(s.get("tags")),
                             attributes=freeze_tags(s.get("attributes")))
                for s in d.get("subprocessors", ())),
            entities=tuple(
                Entity(id=e["id"], name=e["name"], country=e["country"], parent=e.get("parent"),
                       evidence=_req_ev(e["evidence"]), parent_evidence=_ev(e.get("parent_evidence")),
                       notes=e.get("notes", ""),
                       certifications=tuple(e.get("certifications", ())),
                       controlled_from=e.get("controlled_from"))
                for e in d.get("entities", ())),
            data=tuple(
                DataCategory(id=x["id"], name=x["name"], classification=x.get("classification", ""),
                             resources=tuple(x.get("resources", ())),
                             selectors=tuple(freeze_tags(s) for s in x.get("selectors", ())),
                             subprocessors=tuple(x.get("subprocessors", ())),
                             evidence=_req_ev(x["evidence"]), description=x.get("description", ""))
                for x in d.get("data", ())),
            mitigations=tuple(
                Mitigation(kind=x["kind"], source=x["source"], target=x["target"],
                           description=x["description"], evidence=_req_ev(x["evidence"]),
                           expires=dt.date.fromisoformat(x["expires"]) if x.get("expires") else None)
                for x in d.get("mitigations", ())),
            gaps=tuple(
                CoverageGap(provider=g["provider"], scope=g["scope"], region=g.get("region", ""),
                            service=g["service"], operation=g["operation"],
                            resource=g.get("resource", ""), error=g["error"],
                            message=g.get("message", ""),
                            level=GapLevel(g.get("level", GapLevel.SERVICE.value)),
                            field=g.get("field", ""))
                for g in d.get("gaps", ())),
        )
    except InputError:
        raise
    except KeyError as exc:
        raise InputError(origin, None, str(exc.args[0]), "malformed estate: missing field") from None
    except (TypeError, ValueError, AttributeError) as exc:
        raise InputError(origin, None, None, f"malformed estate: {exc}") from None
    _check_types(estate, origin)
    return estate


def _check_value(value: Any, hint: str, origin: str, where: str) -> None:
    """Refuse a field whose value is not of its declared ``str`` type (or a tuple of them)."""
    if hint == "str | None" and value is None:
        return
    if hint in ("str", "str | None"):
        ok = isinstance(value, str)
    elif hint == "tuple[str, ...]":
        ok = all(isinstance(x, str) for x in value)
    else:
        return
    if not ok:
        raise InputError(origin, None, where, f"malformed estate: expected {hint}, got {value!r:.80}")


def _check_types(estate: Estate, origin: str) -> None:
    """Every text field of every record is text, and every location is ``namespace:code``."""
    for group in ("resources", "subprocessors", "entities", "data", "mitigations", "gaps"):
        for i, record in enumerate(getattr(estate, group)):
            for f in dataclasses.fields(record):
                _check_value(getattr(record, f.name), str(f.type), origin, f"{group}[{i}].{f.name}")
            for j, placement in enumerate(getattr(record, "placements", ())):
                where = f"{group}[{i}].placements[{j}].location"
                _check_value(placement.location, "str", origin, where)
                try:
                    split_location(placement.location)
                except ValueError as exc:
                    raise InputError(origin, None, where, f"malformed estate: {exc}") from None
            for j, link in enumerate(getattr(record, "links", ())):
                _check_value(link.target, "str", origin, f"{group}[{i}].links[{j}].target")
                _check_value(link.categories, "tuple[str, ...]", origin,
                             f"{group}[{i}].links[{j}].categories")


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
    """Read an estate JSON file written by :func:`write_estate`."""
    p = Path(path)
    try:
        raw = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(str(p), None, None, "file not found") from None
    except json.JSONDecodeError as exc:
        raise InputError(str(p), exc.lineno, None, f"not valid JSON: {exc.msg}") from None
    except (UnicodeDecodeError, OSError) as exc:
        raise InputError(str(p), None, None, f"cannot read: {exc}") from None
    except RecursionError:
        raise InputError(str(p), None, None, "not valid JSON: nested too deeply") from None
    except ValueError as exc:  # e.g. an integer literal longer than Python converts
        raise InputError(str(p), None, None, f"not valid JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise InputError(str(p), 1, None, "an estate file holds a JSON object")
    return estate_from_dict(raw, origin=str(p))
