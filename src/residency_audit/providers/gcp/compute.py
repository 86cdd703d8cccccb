"""Persistent disks and their snapshots' storage locations, via Cloud Asset search.

A disk is in a zone (or, for a regional disk, its two ``replicaZones``); a snapshot is its own
Resource with one BACKUP placement per ``storageLocations`` entry (a region or a multi-region
such as ``eu``), and a BACKS_UP_TO link from its source disk when ``sourceDisk`` names it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from residency_audit.model import Link, LinkRelation, Placement, Resource, Role
from residency_audit.providers.gcp.assetdata import SEARCH, labels, last_segment, versioned
from residency_audit.providers.gcp.locations import gcp_location, is_zone
from residency_audit.providers.gcp.records import Context, api_evidence, build_resource, placement

__all__ = ["ASSET_TYPES", "disk_id_from_url", "parse_asset", "snapshot_links"]

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
    data = versioned(result)
    name = result["name"]
    if result.get("assetType") == "compute.googleapis.com/Snapshot":
        locations = [str(x) for x in data.get("storageLocations") or ()]
        places: list[Placement] = [
            placement(gcp_location(code), Role.BACKUP, SEARCH,
                      f"versionedResources.resource.storageLocations[{code}]") for code in locations]
        if not places and result.get("location"):
            places = [placement(gcp_location(str(result["location"])), Role.BACKUP, SEARCH,
                                "location")]
        source = str(data.get("sourceDisk") or "")
        return [build_resource(id=name, service="compute", kind="snapshot", name=last_segment(name),
                               ctx=ctx, placements=places, labels=labels(result),
                               attributes={"storage_locations": ",".join(sorted(locations)),
                                           "source_disk": disk_id_from_url(source) if source
                                           else ""})]
    zones = [str(z).rsplit("/", 1)[-1] for z in data.get("replicaZones") or ()]
    code = str(result.get("location") or "")
    if zones:
        places = [placement(gcp_location(z), Role.PRIMARY, SEARCH,
                            f"versionedResources.resource.replicaZones[{z}]") for z in zones]
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
