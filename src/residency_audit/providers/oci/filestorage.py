"""File Storage: replications of a file system to another region.

``ListReplications`` runs per compartment and availability domain of the source region;
``GetReplication`` gives the source file system (``sourceId``) and the target file system
(``targetId``). The source file system is PRIMARY where it is listed; the target is a REPLICA
in the region its OCID names, linked ``replicates_to``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from residency_audit.model import CoverageGap, LinkRelation, Resource, Role
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

__all__ = ["OPERATIONS", "ROUTES", "SPEC", "fetch_replications", "parse_replication",
           "parse_replications"]

SERVICE = "filestorage"
LIST = "FileStorageClient.list_replications"
GET = "FileStorageClient.get_replication"

OPERATIONS = (
    ReadOperation(provider="oci", service=SERVICE, operation="list_replications",
                  permission="inspect replications"),
    ReadOperation(provider="oci", service=SERVICE, operation="get_replication",
                  permission="read replications"),
)
"""The File Storage API methods this adapter calls."""

ROUTES = {
    (SERVICE, "list_replications"): ("GET", "/20171215/replications"),
    (SERVICE, "get_replication"): ("GET", "/20171215/replications/{replicationId}"),
}

SEARCH_TYPES = ("filesystem",)


def fetch_replications(calls: Calls, where: Where) -> list[dict[str, Any]] | None:
    """The replications of one compartment in one region (every availability domain), each
    with its details; None when no availability domain could be listed."""
    out: list[dict[str, Any]] = []
    read_any = False
    for ad in where.availability_domains:
        rows = calls.call(SERVICE, where.region, "list_replications", where.scope, ad,
                          scope=where.scope, paged=True)
        if not isinstance(rows, list):
            continue
        read_any = True
        for row in rows:
            rid = row.get("id") if isinstance(row, Mapping) else None
            detail = calls.call(SERVICE, where.region, "get_replication", rid, scope=where.scope,
                                resource=rid) if isinstance(rid, str) else None
            out.append({"id": rid, "summary": row, "replication": detail})
    return out if read_any else None


def parse_replication(record: Mapping[str, Any], where: Where) -> list[Resource]:
    """The source file system (PRIMARY, linked) and the target file system (REPLICA).

    >>> from residency_audit.providers.oci.records import Compartment
    >>> w = Where(tenancy="t", realm="oc1", region="uk-london-1",
    ...           compartment=Compartment(id="c", name="tip", path="acme/tip"))
    >>> rs = parse_replication({"replication": {"id": "ocid1.replication.oc1.uk-london-1.r",
    ...     "source_id": "ocid1.filesystem.oc1.uk-london-1.s",
    ...     "target_id": "ocid1.filesystem.oc1.eu-frankfurt-1.t"}}, w)
    >>> [[(p.code, p.role.value) for p in r.placements] for r in rs]
    [[('uk-london-1', 'primary')], [('eu-frankfurt-1', 'replica')]]
    """
    rep = member(record, "replication", dict)
    rid = member(rep, "id", str, path="replication.")
    source = member(rep, "source_id", str, path="replication.")
    target = member(rep, "target_id", str, path="replication.")
    region = ocid_region(target, where.region_keys)
    if not region:
        raise ValueError("replication.target_id: no region in the OCID")
    name = optional_member(rep, "display_name", str, rid, path="replication.")
    tags = oci_tags(optional_member(rep, "freeform_tags", dict, {}, path="replication."),
                    optional_member(rep, "defined_tags", dict, {}, path="replication."))
    return [
        build_resource(id=source, service=SERVICE, kind="file-system", name=name, where=where,
                       placements=[placement(where.region, Role.PRIMARY, GET, "sourceId")],
                       links=[link(LinkRelation.REPLICATES_TO, target, GET, "targetId",
                                   f"replication {name}")],
                       tags=tags, attributes={"replication_id": rid}),
        referenced(id=target, service=SERVICE, kind="file-system", name=f"{name} (target)",
                   where=where, placements=[placement(region, Role.REPLICA, GET,
                                                      "targetId (region of the OCID)")]),
    ]


def parse_replications(payload: list[Any], where: Where) -> tuple[list[Resource], list[CoverageGap]]:
    """Every replication record of one compartment and region; a bad record is a gap."""
    return parse_records(payload, lambda r: parse_replication(r, where), provider="oci",
                         service=SERVICE, scope=where.scope, region=where.region, operation=GET,
                         id_fields=("id",))


SPEC = ServiceSpec(
    provider="oci", name=SERVICE, operations=OPERATIONS, fetch=fetch_replications,
    parse=parse_replications, scope_kind="compartment",
    finds="file systems replicated to another region (source and target file systems)")
