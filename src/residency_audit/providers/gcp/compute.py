"""Persistent disks and their snapshots' storage locations, via Cloud Asset search.

A disk is in a zone (or, for a regional disk, its two ``replicaZones``); a snapshot is its own
Resource with one BACKUP placement per ``storageLocations`` entry (a region or a multi-region
such as ``eu``), and a BACKS_UP_TO link from its source disk when ``sourceDisk`` names it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from residency_audit.model import Link, LinkRelation, Placement, Resource, Role
from residency_audit.providers.gcp import search
from residency_audit.providers.gcp.assetdata import (
    RESOURCE,
    SEARCH,
    labels,
    last_segment,
    result_name,
    string_list,
    versioned,
)
from residency_audit.providers.gcp.locations import gcp_location, is_zone
from residency_audit.providers.gcp.records import Context, api_evidence, build_resource, placement
from residency_audit.providers.service import ServiceSpec, optional_member

__all__ = ["ASSET_TYPES", "SPEC", "disk_id_from_url", "parse_asset", "snapshot_links"]

ASSET_TYPES = ("compute.googleapis.com/Disk", "compute.googleapis.com/Snapshot")


def disk_id_from_url(url: str) -> str:
    """A disk's full resource name from a Compute API self-link.

    >>> disk_id_from_url("https://www.googleapis.com/compute/v1/projects/p/zones/europe-north1-a/disks/d")
    '//compute.googleapis.com/projects/p/zones/europe-north1-a/disks/d'
    """
    _, sep, tail = url.partition("/projects/")
    return f"//compute.googleapis.com/projects/{tail}" if sep else url


def parse_asset(result: Mapping[str, Any], ctx: Context) -> list[Resource]:
    """A disk's or a snapshot's Resource. Pure."""
    name = result_name(result)
    data = versioned(result)
    code = optional_member(result, "location", str, "")
    if optional_member(result, "assetType", str, "") == "compute.googleapis.com/Snapshot":
        locations = string_list(data, "storageLocations", path=RESOURCE)
        places: list[Placement] = [
            placement(gcp_location(loc), Role.BACKUP, SEARCH,
                      f"{RESOURCE}storageLocations[{loc}]") for loc in locations]
        if not places and code:
            places = [placement(gcp_location(code), Role.BACKUP, SEARCH, "location")]
        source = optional_member(data, "sourceDisk", str, "", path=RESOURCE)
        return [build_resource(id=name, service="compute", kind="snapshot", name=last_segment(name),
                               ctx=ctx, placements=places, labels=labels(result),
                               attributes={"storage_locations": ",".join(sorted(locations)),
                                           "source_disk": disk_id_from_url(source) if source
                                           else ""})]
    zones = [z.rsplit("/", 1)[-1] for z in string_list(data, "replicaZones", path=RESOURCE)]
    if zones:
        places = [placement(gcp_location(z), Role.PRIMARY, SEARCH,
                            f"{RESOURCE}replicaZones[{z}]") for z in zones]
    else:
        places = [placement(gcp_location(code), Role.PRIMARY, SEARCH, "location")] if code else []
    return [build_resource(id=name, service="compute", kind="disk", name=last_segment(name),
                           ctx=ctx, placements=places, labels=labels(result),
                           attributes={"zone": code.lower() if is_zone(code) else "",
                                       "replica_zones": ",".join(sorted(zones))})]


def snapshot_links(resources: list[Resource]) -> dict[str, set[Link]]:
    """Links source disk → snapshot for every snapshot that names its disk. Pure."""
    out: dict[str, set[Link]] = {}
    for r in resources:
        if r.service == "compute" and r.kind == "snapshot" and r.attributes.get("source_disk"):
            out.setdefault(r.attributes["source_disk"], set()).add(Link(
                relation=LinkRelation.BACKS_UP_TO, target=r.id,
                evidence=api_evidence(SEARCH, "versionedResources.resource.sourceDisk")))
    return out


SPEC = ServiceSpec(provider="gcp", name="compute", operations=search.OPERATIONS,
                   fetch=search.fetch_search, parse=parse_asset, scope_kind="project",
                   finds="Compute Engine persistent disks (zone, replica zones) and snapshots "
                         "(storage locations)")
