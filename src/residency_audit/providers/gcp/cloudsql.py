"""Cloud SQL instances and their cross-region read replicas, via Cloud Asset search.

The Cloud SQL Admin representation (``versionedResources``) gives ``region``, ``instanceType``,
``masterInstanceName`` (``project:instance``), ``replicaNames`` and
``settings.backupConfiguration.location``. A replica is its own Resource (placement role
REPLICA); the primary gets a REPLICATES_TO link to it when either side names the other. A
custom backup location becomes a BACKUP placement. When no backup location is set, Cloud SQL
keeps backups in the multi-region nearest the instance: that is recorded as
``attributes["backup_location"] = "default"`` and, for Europe/US/Asia regions, as a BACKUP
placement with ``derived`` evidence; elsewhere as a coverage gap.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from residency_audit.model import (
    CoverageGap,
    Evidence,
    Link,
    LinkRelation,
    Placement,
    Resource,
    Role,
    freeze_tags,
)
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
from residency_audit.providers.gcp.locations import gcp_location
from residency_audit.providers.gcp.records import (
    Context,
    api_evidence,
    build_resource,
    link_key,
    placement,
)
from residency_audit.providers.service import ServiceSpec, optional_member

__all__ = ["ASSET_TYPES", "SPEC", "default_backup_multiregion", "instance_id", "link_replicas",
           "parse_asset"]

ASSET_TYPES = ("sqladmin.googleapis.com/Instance",)

_DEFAULT_BACKUP = {"europe-": "EU", "us-": "US", "northamerica-": "US", "asia-": "ASIA"}


def instance_id(project: str, name: str) -> str:
    """The full resource name of a Cloud SQL instance.

    >>> instance_id("ehr-prod", "pg-main")
    '//cloudsql.googleapis.com/projects/ehr-prod/instances/pg-main'
    """
    return f"//cloudsql.googleapis.com/projects/{project}/instances/{name}"


def default_backup_multiregion(region: str) -> str | None:
    """The multi-region where default backups of an instance in ``region`` go, when known.

    >>> default_backup_multiregion("europe-north1"), default_backup_multiregion("me-west1")
    ('EU', None)
    """
    for prefix, multi in _DEFAULT_BACKUP.items():
        if region.lower().startswith(prefix):
            return multi
    return None


def _project_of(name: str) -> str:
    parts = name.split("/")
    return parts[parts.index("projects") + 1] if "projects" in parts else ""


def parse_asset(result: Mapping[str, Any], ctx: Context) -> list[Resource]:
    """An instance's Resource; replica links are added by :func:`link_replicas`."""
    name = result_name(result)
    data = versioned(result)
    region, path = optional_member(data, "region", str, "", path=RESOURCE), f"{RESOURCE}region"
    if not region:
        region, path = optional_member(result, "location", str, ""), "location"
    instance_type = optional_member(data, "instanceType", str, "", path=RESOURCE)
    master = optional_member(data, "masterInstanceName", str, "", path=RESOURCE)
    role = Role.REPLICA if instance_type == "READ_REPLICA_INSTANCE" or master else Role.PRIMARY
    places: list[Placement] = []
    if region:
        places.append(placement(gcp_location(region), role, SEARCH, path))
    settings = optional_member(data, "settings", dict, {}, path=RESOURCE)
    backup_path = f"{RESOURCE}settings.backupConfiguration."
    backup = optional_member(settings, "backupConfiguration", dict, {}, path=f"{RESOURCE}settings.")
    backup_location = optional_member(backup, "location", str, "", path=backup_path)
    enabled = optional_member(backup, "enabled", bool, False, path=backup_path)
    default_multi = default_backup_multiregion(region) if region else None
    if backup_location:
        places.append(placement(gcp_location(backup_location), Role.BACKUP, SEARCH,
                                f"{backup_path}location"))
    elif enabled and default_multi:
        places.append(Placement(
            location=gcp_location(default_multi), role=Role.BACKUP,
            evidence=Evidence(source="derived", ref="gcp.cloudsql.default-backup-location",
                              detail="no backupConfiguration.location: Cloud SQL stores backups "
                                     "in the multi-region nearest the instance")))
    replicas = ",".join(sorted(string_list(data, "replicaNames", path=RESOURCE)))
    return [build_resource(
        id=name, service="cloudsql", kind="instance", name=last_segment(name), ctx=ctx,
        placements=places, labels=labels(result),
        attributes={"region": region.lower(), "instance_type": instance_type,
                    "database_version": optional_member(data, "databaseVersion", str, "",
                                                        path=RESOURCE),
                    "master_instance": master, "replica_names": replicas,
                    "backup_enabled": str(enabled).lower() if backup else "",
                    "backup_location": backup_location or ("default" if enabled else "")})]


def _master_id(resource: Resource) -> str | None:
    master = resource.attributes.get("master_instance", "")
    if not master:
        return None
    project, sep, inst = master.partition(":")
    return instance_id(project, inst) if sep else instance_id(_project_of(resource.id), master)


def link_replicas(resources: Iterable[Resource]
                  ) -> tuple[list[Resource], list[CoverageGap]]:
    """Add REPLICATES_TO links from each primary to its replicas. Pure.

    A replica named by a primary but not found becomes a Resource without placements plus a
    coverage gap, so that its location reads "unknown", never "compliant".
    """
    by_id = {r.id: r for r in resources}
    links: dict[str, set[Link]] = {}
    gaps: list[CoverageGap] = []
    for r in list(by_id.values()):
        if r.service != "cloudsql":
            continue
        master = _master_id(r)
        if master and master in by_id:
            links.setdefault(master, set()).add(Link(
                relation=LinkRelation.REPLICATES_TO, target=r.id,
                evidence=api_evidence(SEARCH, "versionedResources.resource.masterInstanceName")))
        for replica in filter(None, r.attributes.get("replica_names", "").split(",")):
            target = instance_id(_project_of(r.id), replica)
            links.setdefault(r.id, set()).add(Link(
                relation=LinkRelation.REPLICATES_TO, target=target,
                evidence=api_evidence(SEARCH, "versionedResources.resource.replicaNames")))
            if target not in by_id:
                by_id[target] = Resource(id=target, provider="gcp", service="cloudsql",
                                         kind="instance", name=replica, account=r.account,
                                         attributes=freeze_tags(
                                             {"master_instance": last_segment(r.id)}))
                gaps.append(CoverageGap(
                    provider="gcp", scope=r.account, service="cloudsql", operation=SEARCH,
                    error="NOT_FOUND", resource=target,
                    message="replica named by the primary's replicaNames was not found in the "
                            "search results; its location is unknown"))
    out = []
    for rid in sorted(by_id):
        r = by_id[rid]
        if rid in links:
            merged = set(r.links) | links[rid]
            r = replace(r, links=tuple(sorted(merged, key=link_key)))
        out.append(r)
    return out, gaps


SPEC = ServiceSpec(provider="gcp", name="cloudsql", operations=search.OPERATIONS,
                   fetch=search.fetch_search, parse=parse_asset, scope_kind="project",
                   finds="Cloud SQL instances (region), read replicas and backup locations")
