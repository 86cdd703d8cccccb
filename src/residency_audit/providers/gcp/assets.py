"""The services Cloud Asset search finds, and the pure parse of one search result.

Each service module declares its ``SPEC`` (:class:`~residency_audit.providers.service.ServiceSpec`)
and the ``ASSET_TYPES`` it parses; the table below is built from those, and so are the asset
types the search asks for. :func:`parse_result` turns one result into Resources, or into one
RECORD-level gap naming the service, the project, the resource and the field when it cannot.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import ModuleType
from typing import Any

from residency_audit.model import CoverageGap, Resource
from residency_audit.providers.gcp import (
    bigquery,
    bigtable,
    cloudsql,
    compute,
    filestore,
    firestore,
    spanner,
    storage,
)
from residency_audit.providers.gcp.assetdata import SEARCH, optional_member
from residency_audit.providers.gcp.hierarchy import Hierarchy
from residency_audit.providers.gcp.records import Context
from residency_audit.providers.service import (
    RecordError,
    ServiceSpec,
    parse_records,
    server_reason,
)

__all__ = ["ASSET_TYPES", "BY_ASSET_TYPE", "MODULES", "SEARCH_ONLY", "context_of",
           "parse_result"]

MODULES: tuple[ModuleType, ...] = (storage, bigquery, cloudsql, spanner, firestore, bigtable,
                                   filestore, compute)
"""Every service module the search finds resources of (each has ``SPEC`` and ``ASSET_TYPES``)."""

BY_ASSET_TYPE: dict[str, ServiceSpec] = {t: m.SPEC for m in MODULES for t in m.ASSET_TYPES}
"""Asset type → the declaration of the service that parses it."""

ASSET_TYPES = tuple(sorted(BY_ASSET_TYPE))
"""Every asset type the search asks for."""

SEARCH_ONLY = tuple(m.SPEC for m in MODULES if m is not storage)
"""The services only the search finds (no per-project listing of them here)."""


def context_of(result: Mapping[str, Any], hier: Hierarchy) -> Context:
    """Where a result sits: its project (from the hierarchy when the walk saw it). Pure."""
    ref = optional_member(result, "project", str, "")
    folders = tuple(optional_member(result, "folders", list, []))
    return Context(project=hier.project(ref) if ref else None, project_ref=ref,
                   folders=tuple(str(f) for f in folders if isinstance(f, str)))


def _scope(result: Any, hier: Hierarchy) -> str:
    if not isinstance(result, Mapping):
        return ""
    ref = result.get("project")
    if not isinstance(ref, str):
        return ""
    project = hier.project(ref) if ref else None
    return project.project_id if project is not None else ref.removeprefix("projects/")


def _parse_one(result: Any, hier: Hierarchy) -> list[Resource]:
    if not isinstance(result, Mapping):
        raise RecordError("result", f"expected an object, got {type(result).__name__}")
    asset_type = optional_member(result, "assetType", str, "")
    spec = BY_ASSET_TYPE.get(asset_type)
    if spec is None:
        raise RecordError("assetType", f"not asked for: {server_reason(asset_type, limit=100)!r}")
    ctx = context_of(result, hier)
    parse = storage.parse_search_result if spec is storage.SPEC else spec.parse
    return list(parse(result, ctx))


def parse_result(result: Any, hier: Hierarchy) -> tuple[list[Resource], list[CoverageGap]]:
    """The Resources of one search result, or one RECORD gap. Pure; never raises for a bad
    result. (A result that parses costs one parse; one that does not is parsed again through
    :func:`~residency_audit.providers.service.parse_records`, which names the record and the
    field, and lets through what is not a record fault.)

    >>> from residency_audit.providers.gcp.hierarchy import build_hierarchy
    >>> rs, gaps = parse_result({"name": 7, "assetType": "bigquery.googleapis.com/Dataset",
    ...                          "project": "projects/1"}, build_hierarchy([], []))
    >>> rs, [(g.service, g.scope, g.field, g.level.value) for g in gaps]
    ([], [('bigquery', '1', 'name', 'record')])
    """
    try:
        return _parse_one(result, hier), []
    except Exception:  # parsed again below, where a record fault is one gap
        pass
    asset_type = result.get("assetType") if isinstance(result, Mapping) else None
    spec = BY_ASSET_TYPE.get(asset_type) if isinstance(asset_type, str) else None
    resources, gaps = parse_records(
        [result], lambda r: _parse_one(r, hier), provider="gcp",
        service=spec.name if spec is not None else "cloudasset", scope=_scope(result, hier),
        operation=SEARCH, id_fields=("name", "displayName"))
    return resources, gaps
