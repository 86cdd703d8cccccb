"""Identity: the tenancy, its subscribed regions, its compartment tree and availability domains.

The tenancy is the root compartment. The whole tree is one paged ``ListCompartments`` of the
tenancy with ``compartmentIdInSubtree=true`` (OCI allows it only on the root); one compartment's
subtree is listed level by level from that compartment. Every compartment gets its path from the
root (``tenancy/health/tip-off``). A compartment listed as not accessible is a scope-level gap.

>>> rows = [{"id": "ocid1.compartment.oc1..b", "compartment_id": "ocid1.compartment.oc1..a",
...          "name": "tip", "lifecycle_state": "ACTIVE"},
...         {"id": "ocid1.compartment.oc1..a", "compartment_id": "ocid1.tenancy.oc1..t",
...          "name": "health", "lifecycle_state": "ACTIVE"}]
>>> tree, gaps = parse_compartments(rows, root=Compartment(id="ocid1.tenancy.oc1..t",
...                                 name="acme", path="acme"))
>>> [c.path for c in tree]
['acme', 'acme/health', 'acme/health/tip']
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from residency_audit.model import CoverageGap, GapLevel
from residency_audit.providers.base import ReadOperation
from residency_audit.providers.oci.clients import Calls
from residency_audit.providers.oci.records import Compartment, oci_tags
from residency_audit.providers.service import RecordError, ServiceSpec, member, optional_member

__all__ = ["OPERATIONS", "ROUTES", "SPEC", "fetch_availability_domains", "fetch_compartments",
           "fetch_region_subscriptions", "fetch_tenancy", "parse_availability_domains",
           "parse_compartments", "parse_region_subscriptions"]

SERVICE = "identity"
_MAX_DEPTH = 10

OPERATIONS = (
    ReadOperation(provider="oci", service=SERVICE, operation="get_tenancy",
                  permission="inspect tenancies"),
    ReadOperation(provider="oci", service=SERVICE, operation="list_region_subscriptions",
                  permission="inspect tenancies"),
    ReadOperation(provider="oci", service=SERVICE, operation="get_compartment",
                  permission="inspect compartments"),
    ReadOperation(provider="oci", service=SERVICE, operation="list_compartments",
                  permission="inspect compartments"),
    ReadOperation(provider="oci", service=SERVICE, operation="list_availability_domains",
                  permission="inspect compartments"),
)
"""The Identity API methods this adapter calls."""

ROUTES = {
    (SERVICE, "get_tenancy"): ("GET", "/20160918/tenancies/{tenancyId}"),
    (SERVICE, "list_region_subscriptions"): ("GET", "/20160918/tenancies/{tenancyId}/regionSubscriptions"),
    (SERVICE, "get_compartment"): ("GET", "/20160918/compartments/{compartmentId}"),
    (SERVICE, "list_compartments"): ("GET", "/20160918/compartments"),
    (SERVICE, "list_availability_domains"): ("GET", "/20160918/availabilityDomains"),
}


# ---------------------------------------------------------------- fetch (I/O)

def fetch_tenancy(calls: Calls, region: str, tenancy: str) -> dict[str, Any] | None:
    """``GetTenancy``: the tenancy's name and home region key."""
    data = calls.call(SERVICE, region, "get_tenancy", tenancy, scope=tenancy, level=GapLevel.SCOPE)
    return data if isinstance(data, dict) else None


def fetch_region_subscriptions(calls: Calls, region: str, tenancy: str) -> list[dict[str, Any]] | None:
    """``ListRegionSubscriptions`` of the tenancy."""
    data = calls.call(SERVICE, region, "list_region_subscriptions", tenancy, scope=tenancy,
                      level=GapLevel.SCOPE)
    return data if isinstance(data, list) else None


def fetch_compartments(calls: Calls, region: str, *, tenancy: str, root: str
                       ) -> tuple[list[str], list[dict[str, Any]] | None]:
    """The names from the tenancy down to ``root`` (empty for the tenancy itself;
    ``GetCompartment`` up the parents) and every compartment under ``root``
    (``ListCompartments``, paged); None where the listing could not be read."""
    if root == tenancy:
        rows = calls.call(SERVICE, region, "list_compartments", tenancy, scope=tenancy, paged=True,
                          level=GapLevel.SCOPE, compartment_id_in_subtree=True, access_level="ANY",
                          lifecycle_state="ACTIVE")
        return [], rows if isinstance(rows, list) else None
    names: list[str] = []
    current = root
    for _ in range(_MAX_DEPTH):
        head = calls.call(SERVICE, region, "get_compartment", current, scope=root,
                          level=GapLevel.SCOPE)
        if not isinstance(head, dict):
            return names[::-1] or [root], None if current == root else _subtree(calls, region, root)
        names.append(str(head.get("name") or current))
        parent = head.get("compartment_id")
        if not isinstance(parent, str) or parent == tenancy:
            break
        current = parent
    return names[::-1], _subtree(calls, region, root)


def _subtree(calls: Calls, region: str, root: str) -> list[dict[str, Any]]:
    """Every compartment under ``root``, level by level (``compartmentIdInSubtree`` is for the
    tenancy only)."""
    found: list[dict[str, Any]] = []
    todo, seen = [root], {root}
    while todo:
        parent = todo.pop()
        rows = calls.call(SERVICE, region, "list_compartments", parent, scope=parent, paged=True,
                          level=GapLevel.SCOPE, access_level="ANY", lifecycle_state="ACTIVE")
        for row in rows if isinstance(rows, list) else ():
            cid = row.get("id") if isinstance(row, Mapping) else None
            found.append(row)
            if isinstance(cid, str) and cid not in seen:
                seen.add(cid)
                todo.append(cid)
    return found


def fetch_availability_domains(calls: Calls, region: str, tenancy: str) -> list[dict[str, Any]] | None:
    """``ListAvailabilityDomains`` of ``region`` (File Storage lists per availability domain)."""
    data = calls.call(SERVICE, region, "list_availability_domains", tenancy, scope=tenancy)
    return data if isinstance(data, list) else None


# ---------------------------------------------------------------- parse (pure)

def parse_region_subscriptions(rows: Iterable[Any]) -> tuple[list[str], str, dict[str, str]]:
    """The READY subscribed regions (sorted), the home region, and region key → region name.

    >>> parse_region_subscriptions([{"region_key": "LHR", "region_name": "uk-london-1",
    ...     "status": "READY", "is_home_region": True}])
    (['uk-london-1'], 'uk-london-1', {'lhr': 'uk-london-1'})
    """
    regions: set[str] = set()
    home = ""
    keys: dict[str, str] = {}
    for row in rows:
        if not isinstance(row, Mapping) or not isinstance(row.get("region_name"), str):
            continue
        name = row["region_name"]
        if isinstance(row.get("region_key"), str):
            keys[row["region_key"].lower()] = name
        if row.get("status") in (None, "READY"):
            regions.add(name)
        if row.get("is_home_region") is True:
            home = name
    return sorted(regions), home, keys


def parse_compartments(rows: Iterable[Any], *, root: Compartment
                       ) -> tuple[list[Compartment], list[CoverageGap]]:
    """The compartments under ``root`` (itself first), each with its path; gaps for the
    compartments that cannot be read (not accessible, unparseable)."""
    by_id: dict[str, tuple[str, str, Mapping[str, str]]] = {}
    gaps: list[CoverageGap] = []
    for index, row in enumerate(rows):
        try:
            cid = member(row, "id", str)
            name = member(row, "name", str)
            parent = member(row, "compartment_id", str)
            tags = oci_tags(optional_member(row, "freeform_tags", dict, {}),
                            optional_member(row, "defined_tags", dict, {}))
            accessible = optional_member(row, "is_accessible", bool, True)
        except RecordError as exc:
            rid = row.get("id") if isinstance(row, Mapping) else None
            gaps.append(CoverageGap(provider="oci", scope=root.id, service=SERVICE,
                                    operation="IdentityClient.list_compartments",
                                    error="UnparseableRecord", level=GapLevel.SCOPE,
                                    resource=rid if isinstance(rid, str) else f"record #{index}",
                                    field=exc.field, message=str(exc)))
            continue
        if not accessible:
            gaps.append(CoverageGap(provider="oci", scope=cid, service=SERVICE,
                                    operation="IdentityClient.list_compartments",
                                    error="CompartmentNotAccessible", level=GapLevel.SCOPE,
                                    resource=cid, field="is_accessible",
                                    message=f"compartment {name!r} is listed but the caller "
                                            "cannot read it (isAccessible false)"))
            continue
        by_id[cid] = (name, parent, tags)

    paths: dict[str, str] = {root.id: root.path or root.name}

    def path_of(cid: str, depth: int = 0) -> str | None:
        if cid in paths:
            return paths[cid]
        if cid not in by_id or depth > 100:
            return None
        name, parent, _ = by_id[cid]
        above = path_of(parent, depth + 1)
        if above is None:
            return None
        paths[cid] = f"{above}/{name}"
        return paths[cid]

    out = [root]
    for cid in sorted(by_id):
        path = path_of(cid)
        if path is None:
            continue  # outside the requested subtree
        name, parent, tags = by_id[cid]
        out.append(Compartment(id=cid, name=name, parent=parent, path=path, tags=tags))
    out.sort(key=lambda c: (c.path, c.id))
    return out, gaps


def parse_availability_domains(rows: Iterable[Any]) -> tuple[str, ...]:
    """The availability domain names, sorted."""
    return tuple(sorted(str(r["name"]) for r in rows
                        if isinstance(r, Mapping) and isinstance(r.get("name"), str)))


SPEC = ServiceSpec(
    provider="oci", name=SERVICE, operations=OPERATIONS, fetch=fetch_compartments,
    parse=parse_compartments, scope_kind="tenancy",
    finds="the tenancy, subscribed regions, compartment tree with paths, availability domains")
