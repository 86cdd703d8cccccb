"""Vault (Key Management): vaults and their replicas in other regions.

``ListVaults`` (per compartment and region) gives each vault; for a virtual private vault (the
kind that can be replicated) ``ListVaultReplicas`` gives the regions of its replicas: REPLICA
placements of the vault, kept in ``attributes["replica_regions"]`` too. Where keys are held
matters for the customer-held-keys mitigation: a key replicated to another region is held there.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from residency_audit.model import CoverageGap, Resource, Role
from residency_audit.providers.base import ReadOperation
from residency_audit.providers.oci.clients import Calls
from residency_audit.providers.oci.records import Where, build_resource, oci_tags, placement
from residency_audit.providers.service import ServiceSpec, member, optional_member, parse_records

__all__ = ["OPERATIONS", "ROUTES", "SPEC", "fetch_vaults", "parse_vault", "parse_vaults"]

SERVICE = "kms"
LIST = "KmsVaultClient.list_vaults"
REPLICAS = "KmsVaultClient.list_vault_replicas"

OPERATIONS = (
    ReadOperation(provider="oci", service=SERVICE, operation="list_vaults",
                  permission="inspect vaults"),
    ReadOperation(provider="oci", service=SERVICE, operation="list_vault_replicas",
                  permission="read vaults"),
)
"""The Key Management (vault) API methods this adapter calls."""

ROUTES = {
    (SERVICE, "list_vaults"): ("GET", "/20180608/vaults"),
    (SERVICE, "list_vault_replicas"): ("GET", "/20180608/vaults/{vaultId}/actions/listReplicas"),
}

SEARCH_TYPES = ("vault",)
REPLICABLE = frozenset({"VIRTUAL_PRIVATE"})


def fetch_vaults(calls: Calls, where: Where) -> list[dict[str, Any]] | None:
    """The vaults of one compartment in one region, with the replicas of replicable ones."""
    rows = calls.call(SERVICE, where.region, "list_vaults", where.scope, scope=where.scope,
                      paged=True)
    if not isinstance(rows, list):
        return None
    out: list[dict[str, Any]] = []
    for row in rows:
        rid = row.get("id") if isinstance(row, Mapping) else None
        record: dict[str, Any] = {"id": rid, "vault": row}
        if isinstance(rid, str) and isinstance(row, Mapping) and row.get("vault_type") in REPLICABLE:
            record["replicas"] = calls.call(SERVICE, where.region, "list_vault_replicas", rid,
                                            scope=where.scope, resource=rid, paged=True)
        out.append(record)
    return out


def parse_vault(record: Mapping[str, Any], where: Where) -> list[Resource]:
    """A vault: PRIMARY where listed, REPLICA in each replica region.

    >>> from residency_audit.providers.oci.records import Compartment
    >>> w = Where(tenancy="t", realm="oc1", region="uk-london-1",
    ...           compartment=Compartment(id="c", name="tip", path="acme/tip"))
    >>> r = parse_vault({"vault": {"id": "ocid1.vault.oc1.uk-london-1.v", "display_name": "keys",
    ...     "vault_type": "VIRTUAL_PRIVATE"}, "replicas": [{"region": "uk-cardiff-1",
    ...     "status": "CREATED"}]}, w)[0]
    >>> [(p.code, p.role.value) for p in r.placements], r.attributes["replica_regions"]
    ([('uk-cardiff-1', 'replica'), ('uk-london-1', 'primary')], 'uk-cardiff-1')
    """
    vault = member(record, "vault", dict)
    rid = member(vault, "id", str, path="vault.")
    name = optional_member(vault, "display_name", str, rid, path="vault.")
    placements = [placement(where.region, Role.PRIMARY, LIST, "items[].id (regional endpoint)")]
    regions = []
    for i, rep in enumerate(optional_member(record, "replicas", list, [])):
        at = f"replicas[{i}]."
        region = member(rep, "region", str, path=at)
        if optional_member(rep, "status", str, "", path=at).upper() in ("DELETED", "DELETING"):
            continue
        regions.append(region)
        placements.append(placement(region, Role.REPLICA, REPLICAS, "items[].region"))
    attributes = {"vault_type": optional_member(vault, "vault_type", str, "", path="vault."),
                  "replica_regions": ",".join(sorted(set(regions)))}
    tags = oci_tags(optional_member(vault, "freeform_tags", dict, {}, path="vault."),
                    optional_member(vault, "defined_tags", dict, {}, path="vault."))
    return [build_resource(id=rid, service=SERVICE, kind="vault", name=name, where=where,
                           placements=placements, tags=tags,
                           attributes={k: v for k, v in attributes.items() if v})]


def parse_vaults(payload: list[Any], where: Where) -> tuple[list[Resource], list[CoverageGap]]:
    """Every vault record of one compartment and region; a bad record is a gap."""
    return parse_records(payload, lambda r: parse_vault(r, where), provider="oci", service=SERVICE,
                         scope=where.scope, region=where.region, operation=LIST, id_fields=("id",))


SPEC = ServiceSpec(
    provider="oci", name=SERVICE, operations=OPERATIONS, fetch=fetch_vaults, parse=parse_vaults,
    scope_kind="compartment", finds="vaults (region) and their replicas in other regions")
