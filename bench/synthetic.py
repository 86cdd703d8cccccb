"""A deterministic synthetic estate for benchmarks: N resources with the shape of a real one.

:func:`synthetic_estate` builds an :class:`~residency_audit.model.Estate` of ``n`` resources
spread over the AWS, Azure and GCP regions of the packaged catalog (mostly European ones, as in
a Swedish public-sector estate, and a few region codes the catalog does not know), about a fifth
of them replicated or backed up to another resource (some in chains of two or three), tagged for
about ``n / 1000`` data categories that select them by tag (and a few by id), declared entities
with parent chains of depth 1 to 5 incorporated in the US, CN, SE, DE and elsewhere, on-premises
systems with declared operators, and subprocessors that subcontract to depth 4 (with cycles).

The same ``n`` and ``seed`` give the same estate.

>>> e = synthetic_estate(200, seed=1)
>>> len(e.resources), len(e.data) > 0, len(e.subprocessors) > 0
(200, True, True)
>>> synthetic_estate(200, seed=1) == e
True
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from residency_audit.catalog import Catalog, default_catalog
from residency_audit.model import (
    CoverageGap,
    DataCategory,
    Entity,
    Estate,
    Evidence,
    Link,
    LinkRelation,
    Mitigation,
    Placement,
    Resource,
    Role,
    ScanMetadata,
    Subprocessor,
    freeze_tags,
)

__all__ = ["EstateShape", "synthetic_estate"]

_CLOUDS = ("aws", "azure", "gcp")
_UNKNOWN_REGIONS = ("aws:mars-central-1", "azure:atlantisnorth", "gcp:moon-base1")
_ENTITY_COUNTRIES = ("US", "CN", "SE", "DE", "SE", "DE", "FR", "GB", "IN", "NO")
_SERVICES = {
    "aws": (("s3", "bucket"), ("rds", "db-instance"), ("dynamodb", "table"), ("efs", "file-system")),
    "azure": (("storage", "storage-account"), ("sql", "database"), ("cosmosdb", "account")),
    "gcp": (("storage", "bucket"), ("bigquery", "dataset"), ("sql", "instance")),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class EstateShape:
    """The proportions of a synthetic estate (fractions of the resources unless said)."""

    eu_share: float = 0.7
    unknown_region_share: float = 0.002
    link_share: float = 0.2
    chain_share: float = 0.3
    onprem_share: float = 0.01
    untagged_share: float = 0.02
    secondary_share: float = 0.1
    resources_per_category: int = 1000
    resources_per_subprocessor: int = 2000


def _ev(ref: str) -> Evidence:
    return Evidence(source="inventory", ref=ref)


def _regions(catalog: Catalog) -> tuple[list[str], list[str]]:
    """Locations of the three clouds in the catalog, split into EEA-only and the rest."""
    eea, rest = [], []
    for key in sorted(catalog.regions, key=str):
        region = catalog.regions[key]
        if region.provider not in _CLOUDS or region.service:
            continue
        location = f"{region.provider}:{region.code}"
        countries = catalog.region_countries(region)
        if countries and all(catalog.is_eea(c) for c in countries):
            eea.append(location)
        else:
            rest.append(location)
    return eea, rest


def _entities(rng: random.Random, count: int, catalog: Catalog) -> list[Entity]:
    """Groups of declared entities, each a parent chain of depth 1–5; some tops are catalog entities."""
    catalog_tops = sorted(catalog.entities)
    out: list[Entity] = []
    i = 0
    while len(out) < count:
        depth = rng.randint(1, 5)
        country = rng.choice(_ENTITY_COUNTRIES)
        parent: str | None = rng.choice(catalog_tops) if rng.random() < 0.2 else None
        for level in range(depth):
            eid = f"bench-entity-{i}-{level}"
            out.append(Entity(id=eid, name=f"Bench Entity {i}.{level}", country=country,
                              parent=parent, evidence=_ev(f"entities.yaml:{i}")))
            parent = eid
            # Subsidiaries are often incorporated where they operate, not where the parent is.
            country = rng.choice(_ENTITY_COUNTRIES) if rng.random() < 0.3 else country
        i += 1
    return out


def _resource(rng: random.Random, i: int, location: str, shape: EstateShape,
              catalog: Catalog) -> tuple[str, str, str, str, tuple[Placement, ...]]:
    provider = location.partition(":")[0]
    service, kind = rng.choice(_SERVICES[provider])
    if provider == "aws":
        rid = f"arn:aws:{service}:::bench-{i}"
    elif provider == "azure":
        rid = f"/subscriptions/sub-{i % 97}/resourceGroups/rg/providers/{service}/bench-{i}"
    else:
        rid = f"//{service}.googleapis.com/projects/p-{i % 89}/bench-{i}"
    placements = [Placement(location=location, role=Role.PRIMARY, evidence=Evidence(source="api", ref="location"))]
    if provider == "azure" and rng.random() < shape.secondary_share:
        region = catalog.region(location)
        if region is not None and region.pair:
            placements.append(Placement(location=f"azure:{region.pair}", role=Role.SECONDARY,
                                        evidence=Evidence(source="api", ref="secondaryLocation")))
    return provider, service, kind, rid, tuple(placements)


def synthetic_estate(n: int, *, seed: int = 0, shape: EstateShape | None = None,
                     catalog: Catalog | None = None) -> Estate:
    """An estate of ``n`` resources, the same for the same ``n`` and ``seed``."""
    rng = random.Random(seed)
    shape = shape or EstateShape()
    cat = catalog or default_catalog()
    eea, rest = _regions(cat)
    n_categories = max(2, n // shape.resources_per_category)
    n_subprocessors = max(6, n // shape.resources_per_subprocessor)
    entities = _entities(rng, max(20, n // 2000), cat)
    entity_ids = [e.id for e in entities]

    # resources: place, name, tag ------------------------------------------------------------
    rows: list[dict[str, object]] = []
    for i in range(n):
        x = rng.random()
        tags = {"env": rng.choice(("prod", "test", "dev"))}
        if rng.random() >= shape.untagged_share:
            tags["dataset"] = f"ds-{rng.randrange(n_categories)}"
        if x < shape.onprem_share:
            rows.append({"id": f"onprem-{i}", "provider": "onprem", "service": "datacenter",
                         "kind": "system", "placements": (Placement(
                             location=f"country:{rng.choice(('SE', 'SE', 'DE', 'NO'))}",
                             evidence=_ev(f"onprem.yaml:{i}")),),
                         "operator": rng.choice(entity_ids), "tags": tags})
            continue
        if x < shape.onprem_share + shape.unknown_region_share:
            location = rng.choice(_UNKNOWN_REGIONS)
        elif rng.random() < shape.eu_share:
            location = rng.choice(eea)
        else:
            location = rng.choice(rest)
        provider, service, kind, rid, placements = _resource(rng, i, location, shape, cat)
        rows.append({"id": rid, "provider": provider, "service": service, "kind": kind,
                     "placements": placements, "operator": None, "tags": tags})

    # links: about link_share of the resources send a copy on; some form chains of 2–3 --------
    links: dict[int, list[Link]] = {}
    n_links = int(n * shape.link_share)
    sources = rng.sample(range(n), n_links) if n > 1 else []
    for j, src in enumerate(sources):
        relation = LinkRelation.REPLICATES_TO if j % 2 else LinkRelation.BACKS_UP_TO
        if j > 0 and rng.random() < shape.chain_share:
            # Point at an earlier link's source, so that copies go on: src → prev → prev's target.
            dst = sources[rng.randrange(j)]
        else:
            dst = rng.randrange(n)
        if dst == src:
            dst = (src + 1) % n
        target = str(rows[dst]["id"])
        if j % 997 == 0:
            target = f"arn:aws:s3:::bench-unseen-{j}"  # a copy no scan saw: a stub node
        cats = (f"ds-{rng.randrange(n_categories)}",) if j % 50 == 0 else ()
        links.setdefault(src, []).append(Link(relation=relation, target=target, categories=cats,
                                              evidence=Evidence(source="api", ref="replication")))

    resources = tuple(
        Resource(id=str(r["id"]), provider=str(r["provider"]), service=str(r["service"]),
                 kind=str(r["kind"]), name=str(r["id"]).rsplit("/", 1)[-1], account="bench",
                 placements=r["placements"], tags=freeze_tags(r["tags"]),  # type: ignore[arg-type]
                 links=tuple(links.get(i, ())), operator=r["operator"],  # type: ignore[arg-type]
                 operator_evidence=_ev(f"onprem.yaml:{i}") if r["operator"] else None)
        for i, r in enumerate(rows))

    # subprocessors: chains of subcontracting up to depth 4, with a cycle or two -------------
    subprocessors: list[Subprocessor] = []
    for k in range(n_subprocessors):
        depth_pos = k % 4
        sub_links: list[Link] = []
        if depth_pos < 3 and k + 1 < n_subprocessors:
            sub_links.append(Link(relation=LinkRelation.SUBCONTRACTS, target=f"sub-{k + 1}",
                                  evidence=_ev(f"subprocessors.yaml:{k}")))
        if depth_pos == 3 and k % 8 == 3:
            sub_links.append(Link(relation=LinkRelation.SUBCONTRACTS, target=f"sub-{k - 3}",
                                  evidence=_ev(f"subprocessors.yaml:{k}")))  # a cycle
        where = rng.choice(("country:SE", "country:US", rng.choice(eea), rng.choice(rest)))
        subprocessors.append(Subprocessor(
            id=f"sub-{k}", name=f"Bench SaaS {k}", entity=rng.choice(entity_ids),
            placements=(Placement(location=where, role=Role.PROCESSING, evidence=_ev(f"subprocessors.yaml:{k}")),),
            links=tuple(sub_links), evidence=_ev(f"subprocessors.yaml:{k}"),
            attributes=freeze_tags({"transfer_tool": "SCC"} if k % 5 == 0 else {})))

    # data categories: by tag, plus a few by id and some processed by subprocessors ----------
    data: list[DataCategory] = []
    mitigations: list[Mitigation] = []
    for c in range(n_categories):
        by_id = tuple(sorted({resources[rng.randrange(n)].id for _ in range(3)})) if n else ()
        subs = tuple(sorted({f"sub-{rng.randrange(n_subprocessors)}" for _ in range(rng.randint(0, 2))}))
        data.append(DataCategory(
            id=f"cat-{c}", name=f"Category {c}", classification=rng.choice(("confidential", "internal")),
            resources=by_id, selectors=(freeze_tags({"dataset": f"ds-{c}"}),), subprocessors=subs,
            evidence=_ev(f"data.yaml:{c}")))
        if c % 50 == 0 and by_id:
            provider = _provider_of(by_id[0])
            mitigations.append(Mitigation(
                kind="client-side-encryption", source=f"data:cat-{c}",
                target=f"resource:{provider}:{by_id[0]}",
                description="keys held by the controller outside the provider",
                evidence=_ev(f"mitigations.yaml:{c}")))
    gaps = (CoverageGap(provider="aws", scope="111111111111", service="s3",
                        operation="GetBucketReplication", error="AccessDenied", region="eu-north-1"),
            CoverageGap(provider="azure", scope="sub-1", service="storage",
                        operation="StorageAccounts_List", error="AuthorizationFailed"))
    return Estate(resources=resources, subprocessors=tuple(subprocessors), entities=tuple(entities),
                  data=tuple(data), mitigations=tuple(mitigations), gaps=gaps,
                  metadata=ScanMetadata(sources=("bench",)))


def _provider_of(rid: str) -> str:
    if rid.startswith("arn:aws:"):
        return "aws"
    if rid.startswith("/subscriptions/"):
        return "azure"
    if rid.startswith("//"):
        return "gcp"
    return "onprem"
