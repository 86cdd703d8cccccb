"""A fake provider for your own tests: an estate declared in code, scanned with no cloud.

:class:`FakeProvider` satisfies :class:`residency_audit.providers.base.Adapter`: its
:meth:`~FakeProvider.scan` returns an :class:`~residency_audit.model.Estate` shaped as the real
adapters shape theirs (S3 buckets as ``arn:aws:s3:::<name>`` resources, Azure storage accounts
with their secondary region, coverage gaps for what could not be seen) and reports progress
through the same callback. Use it to test audit scripts, policies and scheduled jobs: declare a
small estate, scan it, audit it, assert on the findings.

>>> import datetime as dt
>>> from residency_audit import audit
>>> from residency_audit.testing import FakeProvider
>>> fake = (FakeProvider()
...         .bucket("lab", region="aws:eu-north-1", replicates_to=["lab-dr"])
...         .bucket("lab-dr", region="aws:us-east-1")
...         .data("lab-results", resources=["lab"]))
>>> result = audit(fake.scan(), policy="eea-only", today=dt.date(2026, 11, 24))
>>> sorted((f.rule, f.node) for f in result.active_findings)
[('eea-only', 'resource:aws:arn:aws:s3:::lab-dr')]

A region the scan may not read is a coverage gap, and what is in it is not seen:

>>> fake.deny("aws:us-east-1")  # doctest: +ELLIPSIS
<FakeProvider ...>
>>> result = audit(fake.scan(), policy="eea-only", today=dt.date(2026, 11, 24))
>>> sorted(f.title for f in result.active_findings)
['Copy not seen', 'Not seen', 'Unknown location']

Import it as ``residency_audit.testing``; nothing here talks to a network or needs an SDK.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from residency_audit.model import (
    CoverageGap,
    DataCategory,
    Entity,
    Estate,
    Evidence,
    Link,
    LinkRelation,
    Placement,
    Resource,
    Role,
    ScanMetadata,
    Subprocessor,
    freeze_tags,
    split_location,
)
from residency_audit.providers.base import ProgressCallback

if TYPE_CHECKING:
    from residency_audit.providers.base import Adapter

__all__ = ["DEFAULT_AWS_ACCOUNT", "DEFAULT_AZURE_SUBSCRIPTION", "FakeProvider"]

DEFAULT_AWS_ACCOUNT = "111122223333"
"""The AWS account of fake buckets unless ``account=`` says otherwise."""

DEFAULT_AZURE_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
"""The Azure subscription of fake storage accounts unless ``subscription=`` says otherwise."""

_DETAIL = "declared in residency_audit.testing.FakeProvider"

# The read that fails, per (provider, service), when a region is denied.
_READ_OPERATION = {
    ("aws", "s3"): "GetBucketLocation",
    ("azure", "storage"): "StorageAccounts_List",
    ("gcp", "storage"): "storage.buckets.list",
}


def _api(ref: str) -> Evidence:
    return Evidence(source="api", ref=ref, detail=_DETAIL)


def _location(value: str, namespace: str) -> str:
    """``value`` as ``namespace:code``; a bare code gets ``namespace``.

    >>> _location("eu-north-1", "aws"), _location("aws:eu-north-1", "aws")
    ('aws:eu-north-1', 'aws:eu-north-1')
    """
    if ":" not in value:
        return f"{namespace}:{value}"
    got, _ = split_location(value)
    if got != namespace:
        raise ValueError(f"{value!r} is not a location of {namespace} (give '{namespace}:<code>')")
    return value


def bucket_arn(name: str) -> str:
    """The ARN of S3 bucket ``name`` (an ARN stays as it is).

    >>> bucket_arn("lab"), bucket_arn("arn:aws:s3:::lab")
    ('arn:aws:s3:::lab', 'arn:aws:s3:::lab')
    """
    return name if name.startswith("arn:") else f"arn:aws:s3:::{name}"


@dataclass(frozen=True, slots=True)
class _Denial:
    location: str
    service: str | None
    operation: str | None
    error: str
    message: str


@dataclass(frozen=True, slots=True)
class _DataSpec:
    id: str
    name: str
    classification: str
    resources: tuple[str, ...]
    selectors: tuple[Mapping[str, str], ...]
    subprocessors: tuple[str, ...]


class FakeProvider:
    """An adapter over an estate declared in code (and optionally an inventory document).

    Builder methods (:meth:`bucket`, :meth:`storage_account`, :meth:`gcs_bucket`,
    :meth:`resource`, :meth:`entity`, :meth:`subprocessor`, :meth:`data`, :meth:`gap`,
    :meth:`deny`, :meth:`fail_with`) add to the fake and return it, so that calls chain. :meth:`scan` builds a
    fresh :class:`~residency_audit.model.Estate` each time, so a fake can change between two
    scans (to test a scheduled job's diff) and be scanned again.

    ``source`` names the fake in the estate's metadata (``ScanMetadata.sources``); ``base`` is
    an estate to start from (as :meth:`from_estate`). Scans are deterministic: records come out
    sorted and no clock is read.

    >>> fake = FakeProvider().storage_account("journal", region="azure:westeurope",
    ...                                       secondary="azure:northeurope")
    >>> [(p.location, str(p.role)) for p in fake.scan().resources[0].placements]
    [('azure:westeurope', 'primary'), ('azure:northeurope', 'secondary')]
    """

    def __init__(self, *, source: str = "fake", base: Estate | None = None) -> None:
        self.source = source
        self.scans = 0
        """How many times :meth:`scan` has run (a scheduled job's test can check it)."""
        self._base = base or Estate()
        self._resources: dict[str, Resource] = {}
        self._entities: dict[str, Entity] = {}
        self._subprocessors: dict[str, Subprocessor] = {}
        self._data: dict[str, _DataSpec] = {}
        self._gaps: list[CoverageGap] = []
        self._denials: list[_Denial] = []
        self._error: BaseException | None = None

    def __repr__(self) -> str:
        return (f"<FakeProvider {self.source!r}: {len(self._resources)} resources, "
                f"{len(self._denials)} denied, {len(self._gaps)} gaps>")

    # ------------------------------------------------------------------ constructors

    @classmethod
    def from_inventory(cls, inventory: str | Mapping[str, Any], *, origin: str = "fake-inventory.yaml",
                       source: str = "fake") -> FakeProvider:
        """A fake whose estate starts as ``inventory``: YAML text or a mapping in the inventory format.

        Errors name ``origin`` (and, for YAML text, the line), as ``load_inventory`` does.

        >>> fake = FakeProvider.from_inventory('''
        ... version: 1
        ... resources:
        ...   - id: archive
        ...     name: Archive
        ...     locations: [{country: SE}]
        ... ''')
        >>> [r.id for r in fake.bucket("lab", region="aws:eu-north-1").scan().resources]
        ['archive', 'arn:aws:s3:::lab']
        """
        from residency_audit.providers.inventory import parse_inventory
        from residency_audit.yamlfile import load_yaml_text

        doc = load_yaml_text(inventory, origin) if isinstance(inventory, str) else dict(inventory)
        return cls(source=source, base=parse_inventory(doc, origin))

    @classmethod
    def from_estate(cls, estate: Estate, *, source: str = "fake") -> FakeProvider:
        """A fake whose estate starts as ``estate`` (the demo estate, one read from a file, …).

        >>> from residency_audit.demo import demo_estate
        >>> len(FakeProvider.from_estate(demo_estate()).scan().data) >= 5
        True
        """
        return cls(source=source, base=estate)

    # ------------------------------------------------------------------ resources

    def resource(self, resource: Resource) -> FakeProvider:
        """Add any :class:`~residency_audit.model.Resource` record as it is (same id: replaced).

        >>> from residency_audit.model import Evidence, Placement, Resource
        >>> r = Resource(id="tipoff", provider="oci", service="database", kind="db", name="Tip-off",
        ...              placements=(Placement(location="oci:uk-london-1",
        ...                                    evidence=Evidence(source="api", ref="x")),))
        >>> [x.id for x in FakeProvider().resource(r).scan().resources]
        ['tipoff']
        """
        self._resources[resource.id] = resource
        return self

    def bucket(self, name: str, *, region: str, replicates_to: Iterable[str] = (),
               backs_up_to: Iterable[str] = (), tags: Mapping[str, str] | None = None,
               account: str = DEFAULT_AWS_ACCOUNT) -> FakeProvider:
        """An S3 bucket in ``region`` (``"aws:eu-north-1"`` or ``"eu-north-1"``).

        ``replicates_to`` and ``backs_up_to`` name other buckets (names or ARNs); a target that
        the fake does not declare becomes a copy that was not seen, as in a real scan.

        >>> r = FakeProvider().bucket("lab", region="eu-north-1", tags={"data-class": "lab"}).scan().resources[0]
        >>> r.id, r.placements[0].location, dict(r.tags)
        ('arn:aws:s3:::lab', 'aws:eu-north-1', {'data-class': 'lab'})
        """
        links = [Link(relation=LinkRelation.REPLICATES_TO, target=bucket_arn(t),
                      evidence=_api("GetBucketReplication ReplicationConfiguration.Rules[].Destination.Bucket"))
                 for t in replicates_to]
        links += [Link(relation=LinkRelation.BACKS_UP_TO, target=bucket_arn(t),
                       evidence=_api("ListBackupPlans CopyActions[].DestinationBackupVaultArn"))
                  for t in backs_up_to]
        return self.resource(Resource(
            id=bucket_arn(name), provider="aws", service="s3", kind="bucket",
            name=name.removeprefix("arn:aws:s3:::"), account=account,
            placements=(Placement(location=_location(region, "aws"), role=Role.PRIMARY,
                                  evidence=_api("GetBucketLocation LocationConstraint")),),
            links=tuple(sorted(links, key=lambda x: (x.relation, x.target))), tags=freeze_tags(tags)))

    def storage_account(self, name: str, *, region: str, secondary: str | None = None,
                        tags: Mapping[str, str] | None = None,
                        subscription: str = DEFAULT_AZURE_SUBSCRIPTION,
                        resource_group: str = "fake-rg") -> FakeProvider:
        """An Azure storage account in ``region``; ``secondary`` is its geo-redundant copy's region.

        >>> r = FakeProvider().storage_account("journal", region="westeurope").scan().resources[0]
        >>> r.id
        '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/fake-rg/providers/Microsoft.Storage/storageAccounts/journal'
        """
        placements = [Placement(location=_location(region, "azure"), role=Role.PRIMARY,
                                evidence=_api("StorageAccounts_List properties.primaryLocation"))]
        if secondary is not None:
            placements.append(Placement(location=_location(secondary, "azure"), role=Role.SECONDARY,
                                        evidence=_api("StorageAccounts_List properties.secondaryLocation")))
        rid = (f"/subscriptions/{subscription}/resourceGroups/{resource_group}"
               f"/providers/Microsoft.Storage/storageAccounts/{name}")
        redundancy = "Standard_GRS" if secondary else "Standard_LRS"
        return self.resource(Resource(
            id=rid, provider="azure", service="storage", kind="storage-account", name=name,
            account=subscription, placements=tuple(placements), tags=freeze_tags(tags),
            attributes=freeze_tags({"resource_group": resource_group, "sku": redundancy})))

    def gcs_bucket(self, name: str, *, location: str, data_locations: Iterable[str] = (),
                   tags: Mapping[str, str] | None = None, project: str = "fake-project") -> FakeProvider:
        """A Cloud Storage bucket in ``location``: a region, a dual- or multi-region (``"gcp:EUR4"``).

        ``data_locations`` are the regions of a configurable dual-region; each is a primary
        copy, as the adapter reads ``customPlacementConfig.dataLocations``.

        >>> r = FakeProvider().gcs_bucket("scans", location="eu",
        ...                              data_locations=["europe-north1", "europe-west1"]).scan().resources[0]
        >>> r.id, [p.location for p in r.placements]
        ('//storage.googleapis.com/scans', ['gcp:europe-north1', 'gcp:europe-west1'])
        """
        from residency_audit.providers.gcp.locations import gcp_location

        code = split_location(_location(location, "gcp"))[1]
        regions = sorted(x.removeprefix("gcp:") for x in data_locations)
        if regions:
            places = [Placement(location=gcp_location(c), role=Role.PRIMARY,
                                evidence=_api(f"storage.buckets.list customPlacementConfig.dataLocations[{c}]"))
                      for c in regions]
        else:
            places = [Placement(location=gcp_location(code), role=Role.PRIMARY,
                                evidence=_api("storage.buckets.list location"))]
        attributes = {"location": code.upper(), "data_locations": ",".join(c.lower() for c in regions)}
        return self.resource(Resource(
            id=f"//storage.googleapis.com/{name}", provider="gcp", service="storage", kind="bucket",
            name=name, account=project, placements=tuple(places), tags=freeze_tags(tags),
            attributes=freeze_tags({k: v for k, v in attributes.items() if v})))

    # ------------------------------------------------------------------ what no API shows

    def entity(self, id: str, *, country: str, parent: str | None = None,
               name: str | None = None) -> FakeProvider:
        """A legal entity incorporated in ``country``; ``parent`` is its controller's id.

        Entities of the packaged catalog (``microsoft-corporation``, ``oracle-corporation``, …)
        need no declaration.

        >>> e = FakeProvider().entity("gw-ab", country="se", parent="gw-inc").scan().entities[0]
        >>> e.country, e.parent
        ('SE', 'gw-inc')
        """
        self._entities[id] = Entity(
            id=id, name=name or id, country=country.upper(), parent=parent,
            evidence=_api(f"entity {id} country"),
            parent_evidence=_api(f"entity {id} parent") if parent else None)
        return self

    def subprocessor(self, id: str, *, entity: str, locations: Iterable[str],
                     subcontracts: Iterable[str] = (), name: str | None = None,
                     tags: Mapping[str, str] | None = None) -> FakeProvider:
        """A subprocessor run by ``entity`` that processes data at ``locations``.

        ``locations`` are ``"country:SE"`` or provider regions (``"aws:eu-north-1"``);
        ``subcontracts`` names the subprocessors it passes the data on to.

        >>> s = FakeProvider().subprocessor("sms", entity="exempel-sms", locations=["country:SE"])
        >>> s.scan().subprocessors[0].placements[0].location
        'country:SE'
        """
        places = tuple(Placement(location=loc, role=Role.PROCESSING, evidence=_api(f"subprocessor {id} location"))
                       for loc in locations)
        for p in places:
            split_location(p.location)
        if not places:
            raise ValueError(f"subprocessor {id!r} needs at least one location")
        links = tuple(Link(relation=LinkRelation.SUBCONTRACTS, target=t,
                           evidence=_api(f"subprocessor {id} subcontracts"))
                      for t in sorted(set(subcontracts)))
        self._subprocessors[id] = Subprocessor(
            id=id, name=name or id, entity=entity, placements=places, links=links,
            evidence=_api(f"subprocessor {id} entity"), tags=freeze_tags(tags))
        return self

    def data(self, id: str, *, resources: Iterable[str] = (), tags: Mapping[str, str] | None = None,
             subprocessors: Iterable[str] = (), classification: str = "",
             name: str | None = None) -> FakeProvider:
        """A data category stored in ``resources``, in resources tagged ``tags``, and processed by ``subprocessors``.

        A resource may be named by its id or, when no id matches, by the name of a fake
        resource (``"lab"`` for the bucket ``arn:aws:s3:::lab``).

        >>> fake = FakeProvider().bucket("lab", region="aws:eu-north-1").data("lab-results", resources=["lab"])
        >>> fake.scan().data[0].resources
        ('arn:aws:s3:::lab',)
        """
        self._data[id] = _DataSpec(id=id, name=name or id, classification=classification,
                                   resources=tuple(resources),
                                   selectors=(freeze_tags(tags),) if tags else (),
                                   subprocessors=tuple(sorted(set(subprocessors))))
        return self

    # ------------------------------------------------------------------ what goes wrong

    def gap(self, *, provider: str, service: str, operation: str, error: str = "AccessDenied",
            region: str = "", scope: str = "", resource: str = "", message: str = "") -> FakeProvider:
        """Report one coverage gap as it is: an operation that failed with ``error``.

        >>> g = FakeProvider().gap(provider="aws", service="dynamodb", operation="ListTables",
        ...                        region="eu-west-1", scope="111122223333").scan().gaps[0]
        >>> g.error, g.region
        ('AccessDenied', 'eu-west-1')
        """
        self._gaps.append(CoverageGap(provider=provider, scope=scope, service=service,
                                      operation=operation, error=error, message=message,
                                      region=region, resource=resource))
        return self

    def deny(self, location: str, *, service: str | None = None, operation: str | None = None,
             error: str = "AccessDenied",
             message: str = "access to the region was denied (simulated)") -> FakeProvider:
        """Simulate a region the scan may not read (``"aws:eu-west-1"``).

        Resources whose primary copy is there (of ``service`` only, when given) are left out of
        the scan, and a coverage gap is reported per account and service instead; links to them
        then point at copies that were not seen. A denied region with nothing declared in it
        still gives a gap: the scan cannot know that it is empty.

        >>> fake = FakeProvider().bucket("a", region="aws:eu-west-1").deny("aws:eu-west-1")
        >>> estate = fake.scan()
        >>> estate.resources, [(g.region, g.service, g.operation, g.error) for g in estate.gaps]
        ((), [('eu-west-1', 's3', 'GetBucketLocation', 'AccessDenied')])
        """
        split_location(location)
        self._denials.append(_Denial(location=location, service=service, operation=operation,
                                     error=error, message=message))
        return self

    def fail_with(self, error: BaseException) -> FakeProvider:
        """Make :meth:`scan` raise ``error`` (expired credentials, a network failure, …).

        >>> FakeProvider().fail_with(PermissionError("token expired")).scan()
        Traceback (most recent call last):
        ...
        PermissionError: token expired
        """
        self._error = error
        return self

    # ------------------------------------------------------------------ the adapter

    def scan(self, *, progress: ProgressCallback | None = None) -> Estate:
        """The declared estate as a scan would see it: denied regions left out, gaps reported.

        ``progress(label, done, total)`` is called once before the first resource and after
        each one.

        >>> calls = []
        >>> _ = FakeProvider().bucket("a", region="aws:eu-north-1").scan(progress=lambda *a: calls.append(a))
        >>> calls
        [('fake: resources', 0, 1), ('fake: resources', 1, 1)]
        """
        self.scans += 1
        if self._error is not None:
            raise self._error
        resources = [*self._base.resources, *self._resources.values()]
        by_id = {r.id: r for r in resources}
        visible, gaps = _apply_denials(sorted(by_id.values(), key=lambda r: r.id), self._denials)
        label = f"{self.source}: resources"
        if progress is not None:
            progress(label, 0, len(visible))
            for i in range(1, len(visible) + 1):
                progress(label, i, len(visible))
        names = _names(by_id.values(), ids=set(by_id))
        built = Estate(
            resources=tuple(visible),
            subprocessors=tuple(self._subprocessors[k] for k in sorted(self._subprocessors)),
            entities=tuple(self._entities[k] for k in sorted(self._entities)),
            data=tuple(_data_category(self._data[k], names) for k in sorted(self._data)),
            gaps=tuple(sorted({g.key: g for g in [*self._gaps, *gaps]}.values(), key=lambda g: g.key)),
            metadata=ScanMetadata(sources=(self.source,)))
        base = replace(self._base, resources=())
        return base.merge(built)


def _names(resources: Iterable[Resource], *, ids: set[str]) -> dict[str, str]:
    """Resource id → itself, and name → id for names that only one resource has."""
    seen: dict[str, list[str]] = {}
    for r in resources:
        seen.setdefault(r.name, []).append(r.id)
    by_name = {name: found[0] for name, found in seen.items() if len(found) == 1 and name not in ids}
    return {**by_name, **{i: i for i in ids}}


def _data_category(spec: _DataSpec, names: Mapping[str, str]) -> DataCategory:
    ids = {names.get(rid, rid) for rid in spec.resources}
    return DataCategory(id=spec.id, name=spec.name, classification=spec.classification,
                        resources=tuple(sorted(ids)), selectors=spec.selectors,
                        subprocessors=spec.subprocessors, evidence=_api(f"data {spec.id}"))


def _primary_location(r: Resource) -> str:
    primary = [p.location for p in r.placements if p.role == Role.PRIMARY]
    return primary[0] if primary else r.placements[0].location if r.placements else ""


def _apply_denials(resources: list[Resource], denials: Iterable[_Denial],
                   ) -> tuple[list[Resource], list[CoverageGap]]:
    """The resources a scan sees, and a gap per denied (region, account, service)."""
    visible = list(resources)
    gaps: list[CoverageGap] = []
    for d in denials:
        namespace, code = split_location(d.location)
        hidden = [r for r in visible if _primary_location(r) == d.location
                  and (d.service is None or r.service == d.service)]
        visible = [r for r in visible if r not in hidden]
        scopes = sorted({(r.provider, r.account, r.service) for r in hidden})
        if not scopes:
            scopes = [(namespace, "", d.service or "all")]
        for provider, account, service in scopes:
            operation = d.operation or _READ_OPERATION.get((provider, service), "all reads")
            gaps.append(CoverageGap(provider=provider, scope=account, region=code, service=service,
                                    operation=operation, error=d.error, message=d.message))
    return visible, gaps


if TYPE_CHECKING:
    def _is_an_adapter(fake: FakeProvider) -> Adapter:
        """Checked by mypy: a FakeProvider is an Adapter."""
        return fake
