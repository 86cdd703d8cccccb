"""OCI realms, and what an unknown region or realm becomes. Pure.

A realm is a set of regions with its own domain and, for some realms, its own operating entity:
the commercial realm ``oc1``, the US government realms ``oc2`` and ``oc3``, the UK government
realm ``oc4`` and the Oracle EU Sovereign Cloud ``oc19``. The realm of a tenancy is the third
segment of its OCID, and every region it subscribes to is in that realm. The catalog's row for
each region names its operator; this table says which operator the realm implies, so that a
region whose catalog row disagrees with its realm, a region the catalog does not know, and a
realm this table does not know are coverage gaps, never a silent default.

>>> REALMS["oc19"].kind, REALMS["oc19"].operator
('eu-sovereign', 'oracle-eu-sovereign-cloud')
>>> [g.error for g in realm_gaps("oc77", tenancy="ocid1.tenancy.oc77..a")]
['UnknownRealm']
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from residency_audit.catalog import Catalog
from residency_audit.model import CoverageGap, GapLevel, Resource

__all__ = ["REALMS", "Realm", "realm_gaps", "region_gaps"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Realm:
    """A realm: its kind, domain and the catalog entity that operates its regions."""

    id: str
    kind: str
    domain: str
    operator: str
    source: str


_REGIONS = "https://docs.oracle.com/en-us/iaas/Content/General/Concepts/regions.htm"
_SOVEREIGN = ("https://docs.oracle.com/en/engineered-systems/exadata-database-exascale/exdxs/"
              "exaxs-regional-availability.html")

REALMS: dict[str, Realm] = {r.id: r for r in (
    Realm(id="oc1", kind="commercial", domain="oraclecloud.com", operator="oracle-corporation",
          source=_REGIONS),
    Realm(id="oc2", kind="government", domain="oraclegovcloud.com", operator="oracle-corporation",
          source=_REGIONS),
    Realm(id="oc3", kind="government", domain="oraclegovcloud.com", operator="oracle-corporation",
          source=_REGIONS),
    Realm(id="oc4", kind="government", domain="oraclegovcloud.uk", operator="oracle-corporation",
          source=_REGIONS),
    Realm(id="oc19", kind="eu-sovereign", domain="oraclecloud.eu",
          operator="oracle-eu-sovereign-cloud", source=_SOVEREIGN),
)}
"""Realms whose operator is established. Dedicated and national realms (``oc8``, ``oc20``, …)
are left out on purpose: their operating entity is not documented, so they are gaps."""


def realm_gaps(realm: str, *, tenancy: str) -> list[CoverageGap]:
    """One gap when ``realm`` is not one whose operator is established."""
    if realm in REALMS:
        return []
    return [CoverageGap(
        provider="oci", scope=tenancy, service="identity", operation="realm", error="UnknownRealm",
        level=GapLevel.SERVICE, field="id",
        message=f"realm {realm!r} of the tenancy is not one whose operating entity is known "
                "(commercial oc1, government oc2/oc3/oc4, EU Sovereign Cloud oc19); the operator "
                "of its regions is taken from the catalog's default, not established")]


def region_gaps(resources: Iterable[Resource], catalog: Catalog, *, realm: str) -> list[CoverageGap]:
    """A gap for each placement in a region the catalog does not know, or whose catalog
    operator is not the one its realm implies."""
    expected = REALMS.get(realm)
    out: dict[tuple[str, str], CoverageGap] = {}
    for r in resources:
        for p in r.placements:
            region = catalog.region(p.location)
            if region is None:
                out[(r.id, p.code)] = CoverageGap(
                    provider="oci", scope=r.account, service=r.service, operation="catalog",
                    error="UnknownRegion", region=p.code, resource=r.id, level=GapLevel.RECORD,
                    field="region",
                    message=f"{p.role} copy in region {p.code!r}, which the catalog does not know "
                            "(no country, no operator)")
            elif expected is not None and region.operator and region.operator != expected.operator:
                out[(r.id, p.code)] = CoverageGap(
                    provider="oci", scope=r.account, service=r.service, operation="catalog",
                    error="RealmOperatorMismatch", region=p.code, resource=r.id,
                    level=GapLevel.RECORD, field="operator",
                    message=f"the catalog says {region.operator} operates {p.code!r}, but the "
                            f"realm {realm} ({expected.kind}) is operated by {expected.operator}")
    return [out[k] for k in sorted(out)]
