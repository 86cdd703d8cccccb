"""Block Volume: volumes, boot volumes and volume groups, their backups and replicas.

Per compartment and region: ``ListVolumes``, ``ListBootVolumes``, ``ListVolumeGroups``. For each
volume and boot volume, ``GetVolumeBackupPolicyAssetAssignment`` names its backup policy, read
once per policy with ``GetVolumeBackupPolicy``: a policy with schedules keeps BACKUP copies in the
volume's region, and its ``destinationRegion`` copies them to another region (a BACKUP placement
there). Cross-region replicas (``blockVolumeReplicas``, ``bootVolumeReplicas``,
``volumeGroupReplicas``) are REPLICA copies in the region their OCID (or availability domain)
names, linked ``replicates_to``.

>>> ad_region("Uocm:EU-FRANKFURT-1-AD-1")
'eu-frankfurt-1'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from residency_audit.model import CoverageGap, Link, LinkRelation, Placement, Resource, Role
from residency_audit.providers.base import ReadOperation
from residency_audit.providers.oci.clients import Calls
from residency_audit.providers.oci.records import (
    Where,
    build_resource,
    link,
    oci_tags,
    ocid_region,
    placement,
    referenced,
)
from residency_audit.providers.service import ServiceSpec, member, optional_member, parse_records

__all__ = ["OPERATIONS", "ROUTES", "SPEC", "ad_region", "fetch_block", "parse_block", "parse_volume"]

SERVICE = "blockstorage"
ASSIGNMENT = "BlockstorageClient.get_volume_backup_policy_asset_assignment"
POLICY = "BlockstorageClient.get_volume_backup_policy"

OPERATIONS = (
    ReadOperation(provider="oci", service=SERVICE, operation="list_volumes",
                  permission="inspect volumes"),
    ReadOperation(provider="oci", service=SERVICE, operation="list_boot_volumes",
                  permission="inspect volumes"),
    ReadOperation(provider="oci", service=SERVICE, operation="list_volume_groups",
                  permission="inspect volume-groups"),
    ReadOperation(provider="oci", service=SERVICE, operation="get_volume_backup_policy_asset_assignment",
                  permission="inspect backup-policy-assignments"),
    ReadOperation(provider="oci", service=SERVICE, operation="get_volume_backup_policy",
                  permission="inspect backup-policies"),
)
"""The Block Volume API methods this adapter calls."""

ROUTES = {
    (SERVICE, "list_volumes"): ("GET", "/20160918/volumes"),
    (SERVICE, "list_boot_volumes"): ("GET", "/20160918/bootVolumes"),
    (SERVICE, "list_volume_groups"): ("GET", "/20160918/volumeGroups"),
    (SERVICE, "get_volume_backup_policy_asset_assignment"): ("GET", "/20160918/volumeBackupPolicyAssignments"),
    (SERVICE, "get_volume_backup_policy"): ("GET", "/20160918/volumeBackupPolicies/{policyId}"),
}

SEARCH_TYPES = ("volume", "bootvolume", "volumegroup")

_KINDS = {
    "list_volumes": ("volume", "block_volume_replicas", "block_volume_replica_id"),
    "list_boot_volumes": ("boot-volume", "boot_volume_replicas", "boot_volume_replica_id"),
    "list_volume_groups": ("volume-group", "volume_group_replicas", "volume_group_replica_id"),
}
_AD = re.compile(r"(?:^|:)([A-Za-z]+(?:-[A-Za-z]+)+-\d+)-AD-\d+$")


def ad_region(availability_domain: str) -> str:
    """The region an availability domain name ends with (``…:EU-FRANKFURT-1-AD-1``), or ''."""
    m = _AD.search(availability_domain)
    return m.group(1).lower() if m else ""


# ---------------------------------------------------------------- fetch (I/O)

def _policy(calls: Calls, where: Where, asset: str) -> Any:
    assignments = calls.call(SERVICE, where.region, "get_volume_backup_policy_asset_assignment",
                             asset, scope=where.scope, resource=asset, paged=True)
    if not isinstance(assignments, list):
        return None  # not read: the gap names the volume
    ids = [a["policy_id"] for a in assignments
           if isinstance(a, Mapping) and isinstance(a.get("policy_id"), str)]
    if ids:
        policy_id: str = ids[0]

        def read() -> Any:
            return calls.call(SERVICE, where.region, "get_volume_backup_policy", policy_id,
                              scope=where.scope, resource=policy_id)

        return calls.remember(("backup-policy", where.region, policy_id), read)
    return {}


def fetch_block(calls: Calls, where: Where) -> list[dict[str, Any]] | None:
    """Volumes, boot volumes and volume groups of one compartment in one region, each with its
    backup policy; None when none of the three listings could be read."""
    out: list[dict[str, Any]] = []
    read_any = False
    for method in _KINDS:
        rows = calls.call(SERVICE, where.region, method, scope=where.scope, paged=True,
                          compartment_id=where.scope)
        if not isinstance(rows, list):
            continue
        read_any = True
        for row in rows:
            rid = row.get("id") if isinstance(row, Mapping) else None
            record: dict[str, Any] = {"id": rid, "listing": method, "volume": row}
            if isinstance(rid, str) and method != "list_volume_groups":
                record["policy"] = _policy(calls, where, rid)
            out.append(record)
    return out if read_any else None


# ---------------------------------------------------------------- parse (pure)

def _replicas(volume: Mapping[str, Any], field: str, id_field: str, kind: str, where: Where,
              operation: str) -> tuple[list[Link], list[Resource]]:
    links: list[Link] = []
    out: list[Resource] = []
    for i, rep in enumerate(optional_member(volume, field, list, [], path="volume.")):
        at = f"volume.{field}[{i}]."
        rep_id = member(rep, id_field, str, path=at)
        region = ocid_region(rep_id, where.region_keys) or ad_region(
            optional_member(rep, "availability_domain", str, "", path=at))
        if not region:
            raise ValueError(f"{at}{id_field}: no region in the replica's OCID or availability domain")
        links.append(link(LinkRelation.REPLICATES_TO, rep_id, operation, f"items[].{field}[]"))
        out.append(referenced(id=rep_id, service=SERVICE, kind=f"{kind}-replica",
                              name=optional_member(rep, "display_name", str, rep_id, path=at),
                              where=where, placements=[placement(region, Role.REPLICA, operation,
                                                                 f"items[].{field}[].{id_field}")]))
    return links, out


def _backups(policy: Mapping[str, Any], where: Where) -> list[Placement]:
    if not policy:
        return []
    name = optional_member(policy, "display_name", str, "", path="policy.")
    out = []
    if optional_member(policy, "schedules", list, [], path="policy."):
        out.append(placement(where.region, Role.BACKUP, POLICY, "schedules", f"policy {name}"))
    destination = optional_member(policy, "destination_region", str, "", path="policy.")
    if destination:
        out.append(placement(destination, Role.BACKUP, POLICY, "destinationRegion",
                             f"policy {name} copies backups"))
    return out


def parse_volume(record: Mapping[str, Any], where: Where) -> list[Resource]:
    """A volume, boot volume or volume group: PRIMARY in its region, its backup copies (BACKUP)
    and its cross-region replicas (REPLICA, linked).

    >>> from residency_audit.providers.oci.records import Compartment
    >>> w = Where(tenancy="t", realm="oc1", region="uk-london-1",
    ...           compartment=Compartment(id="c", name="tip", path="acme/tip"))
    >>> rs = parse_volume({"listing": "list_volumes", "volume": {"id": "ocid1.volume.oc1.uk-london-1.v",
    ...     "display_name": "v"}, "policy": {"display_name": "dr", "schedules": [{}],
    ...     "destination_region": "eu-frankfurt-1"}}, w)
    >>> [(p.code, p.role.value) for p in rs[0].placements]
    [('eu-frankfurt-1', 'backup'), ('uk-london-1', 'backup'), ('uk-london-1', 'primary')]
    """
    listing = member(record, "listing", str)
    if listing not in _KINDS:
        raise ValueError(f"listing: unknown {listing!r}")
    kind, field, id_field = _KINDS[listing]
    operation = f"BlockstorageClient.{listing}"
    volume = member(record, "volume", dict)
    rid = member(volume, "id", str, path="volume.")
    name = optional_member(volume, "display_name", str, rid, path="volume.")
    policy = optional_member(record, "policy", dict, {})
    placements = [placement(where.region, Role.PRIMARY, operation, "items[].id (regional endpoint)"),
                  *_backups(policy, where)]
    links, replicas = _replicas(volume, field, id_field, kind, where, operation)
    attributes = {"availability_domain": optional_member(volume, "availability_domain", str, "", path="volume."),
                  "kms_key_id": optional_member(volume, "kms_key_id", str, "", path="volume."),
                  "volume_group_id": optional_member(volume, "volume_group_id", str, "", path="volume."),
                  "backup_policy": optional_member(policy, "display_name", str, "", path="policy."),
                  "backup_policy_unread": "true" if record.get("policy", {}) is None
                  and listing != "list_volume_groups" else ""}
    tags = oci_tags(optional_member(volume, "freeform_tags", dict, {}, path="volume."),
                    optional_member(volume, "defined_tags", dict, {}, path="volume."))
    return [build_resource(id=rid, service=SERVICE, kind=kind, name=name, where=where,
                           placements=placements, tags=tags, links=links,
                           attributes={k: v for k, v in attributes.items() if v}), *replicas]


def parse_block(payload: list[Any], where: Where) -> tuple[list[Resource], list[CoverageGap]]:
    """Every volume record of one compartment and region; a bad record is a gap."""
    return parse_records(payload, lambda r: parse_volume(r, where), provider="oci",
                         service=SERVICE, scope=where.scope, region=where.region,
                         operation="BlockstorageClient.list_volumes", id_fields=("id",))


SPEC = ServiceSpec(
    provider="oci", name=SERVICE, operations=OPERATIONS, fetch=fetch_block, parse=parse_block,
    scope_kind="compartment",
    finds="block and boot volumes and volume groups (region), backup policies with a cross-region "
          "copy (destinationRegion), cross-region volume and volume group replicas, tags")
