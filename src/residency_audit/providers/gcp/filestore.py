"""Filestore instances and backups, via Cloud Asset search.

An instance's location is a zone or a region; a backup is its own Resource (role BACKUP) in its
region, with a BACKS_UP_TO link from the source instance when ``sourceInstance`` says which.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from residency_audit.model import Link, LinkRelation, Resource, Role
from residency_audit.providers.gcp import search
from residency_audit.providers.gcp.assetdata import (
    RESOURCE,
    SEARCH,
    labels,
    last_segment,
    result_name,
    versioned,
)
from residency_audit.providers.gcp.locations import gcp_location, is_zone
from residency_audit.providers.gcp.records import Context, api_evidence, build_resource, placement
from residency_audit.providers.service import ServiceSpec, optional_member

__all__ = ["ASSET_TYPES", "SPEC", "backup_links", "parse_asset"]

ASSET_TYPES = ("file.googleapis.com/Instance", "file.googleapis.com/Backup")


def parse_asset(result: Mapping[str, Any], ctx: Context) -> list[Resource]:
    """An instance's or a backup's Resource. Pure."""
    name = result_name(result)
    data = versioned(result)
    is_backup = optional_member(result, "assetType", str, "") == "file.googleapis.com/Backup"
    code = optional_member(result, "location", str, "")
    role = Role.BACKUP if is_backup else Role.PRIMARY
    places = [placement(gcp_location(code), role, SEARCH, "location")] if code else []
    source = optional_member(data, "sourceInstance", str, "", path=RESOURCE)
    return [build_resource(id=name, service="filestore",
                           kind="backup" if is_backup else "instance",
                           name=last_segment(name), ctx=ctx, placements=places,
                           labels=labels(result),
                           attributes={"zone": code.lower() if is_zone(code) else "",
                                       "source_instance": f"//file.googleapis.com/{source}"
                                       if source else ""})]


def backup_links(resources: list[Resource]) -> dict[str, set[Link]]:
    """Links source instance → backup for every backup that names its source. Pure."""
    out: dict[str, set[Link]] = {}
    for r in resources:
        if r.service == "filestore" and r.kind == "backup" and r.attributes.get("source_instance"):
            out.setdefault(r.attributes["source_instance"], set()).add(Link(
                relation=LinkRelation.BACKS_UP_TO, target=r.id,
                evidence=api_evidence(SEARCH, "versionedResources.resource.sourceInstance")))
    return out


SPEC = ServiceSpec(provider="gcp", name="filestore", operations=search.OPERATIONS,
                   fetch=search.fetch_search, parse=parse_asset, scope_kind="project",
                   finds="Filestore instances (zone or region) and backups (region)")
