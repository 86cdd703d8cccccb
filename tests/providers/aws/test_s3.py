"""S3 against moto: bucket regions (legacy answers too), replication, destinations, tags, gaps."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from residency_audit.model import LinkRelation, Role
from residency_audit.providers.aws.scanner import scan_aws
from tests.providers.aws.conftest import canned, request_params
from tests.providers.aws.estates import REGIONS8, build_s3_estate

DENIED = (403, "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>")


def _buckets(estate):
    return {r.name: r for r in estate.resources if r.kind == "bucket"}


def _regions(resource):
    return sorted((p.code, p.role.value) for p in resource.placements)


def _deny_partner(session: boto3.Session) -> None:
    canned(session, "s3", "GetBucketLocation",
           lambda region, p: DENIED if "partner-dr-copy" in p["url_path"] else None)


def test_every_bucket_is_placed_in_its_region(session: boto3.Session) -> None:
    key = build_s3_estate(session)
    _deny_partner(session)
    estate = scan_aws(session=session, regions=list(REGIONS8), services=["s3"])
    buckets = _buckets(estate)
    for name, region in key.items():
        assert _regions(buckets[name]) == [(region, "primary")], name
    assert buckets["data-us-east-1"].account == "123456789012"
    assert buckets["data-eu-north-1"].id == "arn:aws:s3:::data-eu-north-1"


def test_legacy_location_answers_are_normalised(session: boto3.Session) -> None:
    """Scanning one region leaves the other buckets to GetBucketLocation: None and EU."""
    build_s3_estate(session)
    _deny_partner(session)
    estate = scan_aws(session=session, regions=["eu-north-1"], services=["s3"])
    buckets = _buckets(estate)
    assert _regions(buckets["data-us-east-1"]) == [("us-east-1", "primary")]
    assert _regions(buckets["legacy-eu"]) == [("eu-west-1", "primary")]
    assert buckets["legacy-eu"].placements[0].evidence.ref == "GetBucketLocation LocationConstraint"
    assert buckets["data-eu-north-1"].placements[0].evidence.ref.startswith("ListBuckets(BucketRegion=eu-north-1)")


def test_replication_links_and_the_unreadable_destination_is_a_gap(session: boto3.Session) -> None:
    build_s3_estate(session)
    _deny_partner(session)
    estate = scan_aws(session=session, regions=list(REGIONS8), services=["s3"])
    buckets = _buckets(estate)
    src = buckets["data-eu-north-1"]
    assert [(x.relation, x.target) for x in src.links] == [
        (LinkRelation.REPLICATES_TO, "arn:aws:s3:::data-eu-west-1"),
        (LinkRelation.REPLICATES_TO, "arn:aws:s3:::partner-dr-copy")]
    partner = buckets["partner-dr-copy"]
    assert partner.placements == ()
    assert partner.account == "210987654321"
    assert partner.attributes["observed"] == "referenced"
    gaps = [g for g in estate.gaps if g.resource == "arn:aws:s3:::partner-dr-copy"]
    assert [(g.operation, g.error, g.service) for g in gaps] == [("GetBucketLocation", "AccessDenied", "s3")]
    assert [x.target for x in buckets["data-eu-central-1"].links] == ["arn:aws:s3:::data-us-east-1"]
    assert not buckets["data-us-west-2"].links
    # only the partner is a gap: buckets without replication are not gaps
    assert len(estate.gaps) == 1


def test_readable_destination_outside_the_scan_is_placed_as_replica(session: boto3.Session) -> None:
    build_s3_estate(session)
    estate = scan_aws(session=session, regions=list(REGIONS8), services=["s3"])
    # moto answers for the partner bucket as NoSuchBucket: still a gap that names it
    gaps = [g for g in estate.gaps if g.resource == "arn:aws:s3:::partner-dr-copy"]
    assert gaps and gaps[0].error == "NoSuchBucket"


def test_destination_in_another_region_found_by_location(session: boto3.Session) -> None:
    from tests.providers.aws.estates import make_bucket, replicate

    make_bucket(session, "src", "eu-north-1", versioned=True)
    make_bucket(session, "dst", "ap-southeast-2", versioned=True)
    replicate(session, "src", "eu-north-1", [("dst", None)])
    # scan only eu-north-1: dst is still listed by ListBuckets and located by GetBucketLocation
    estate = scan_aws(session=session, regions=["eu-north-1"], services=["s3"])
    b = _buckets(estate)
    assert _regions(b["dst"]) == [("ap-southeast-2", "primary")]
    assert estate.gaps == ()


def test_tags_come_along(session: boto3.Session) -> None:
    build_s3_estate(session)
    _deny_partner(session)
    estate = scan_aws(session=session, regions=list(REGIONS8), services=["s3"])
    assert dict(_buckets(estate)["data-eu-north-1"].tags) == {"data-class": "patient"}


@pytest.mark.parametrize("operation", ["GetBucketReplication", "ListBuckets", "GetResources"])
def test_access_denied_becomes_a_gap(session: boto3.Session, operation: str) -> None:
    build_s3_estate(session)
    _deny_partner(session)
    service = "resource-groups-tagging-api" if operation == "GetResources" else "s3"
    body = ('{"__type": "AccessDeniedException", "message": "denied"}' if operation == "GetResources"
            else DENIED[1])
    canned(session, service, operation, lambda region, p: (403 if operation != "GetResources" else 400, body))
    estate = scan_aws(session=session, regions=["eu-north-1", "eu-west-1"], services=["s3"])
    ops = {(g.operation, g.error) for g in estate.gaps}
    error = "AccessDeniedException" if operation == "GetResources" else "AccessDenied"
    assert (operation, error) in ops
    buckets = _buckets(estate)
    if operation == "ListBuckets":
        assert buckets == {}  # nothing listed, and the gap says so: not "no buckets"
    else:
        assert _regions(buckets["data-eu-north-1"]) == [("eu-north-1", "primary")]


MRAP_XML = """<?xml version="1.0" encoding="UTF-8"?>
<ListMultiRegionAccessPointsResult>
  <AccessPoints>
    <AccessPoint>
      <Name>patients</Name>
      <Alias>mfzwi23gnjvgw.mrap</Alias>
      <CreatedAt>2026-01-10T09:00:00Z</CreatedAt>
      <Status>READY</Status>
      <Regions>
        <Region><Bucket>mr-a</Bucket><Region>eu-north-1</Region><BucketAccountId>123456789012</BucketAccountId></Region>
        <Region><Bucket>mr-b</Bucket><Region>eu-west-1</Region><BucketAccountId>123456789012</BucketAccountId></Region>
      </Regions>
    </AccessPoint>
  </AccessPoints>
</ListMultiRegionAccessPointsResult>"""


def test_multi_region_access_point(session: boto3.Session) -> None:
    """moto answers us-east-1 for every MRAP region: the answer is AWS's documented shape instead."""
    from tests.providers.aws.estates import make_bucket

    make_bucket(session, "mr-a", "eu-north-1")
    make_bucket(session, "mr-b", "eu-west-1")
    seen: list[str] = []

    def answer(region: str, params: dict) -> str:
        seen.append(region)
        return MRAP_XML

    canned(session, "s3-control", "ListMultiRegionAccessPoints", answer)
    estate = scan_aws(session=session, regions=["eu-north-1", "eu-west-1"], services=["s3"])
    assert seen == ["us-west-2"]
    [mrap] = [r for r in estate.resources if r.kind == "multi-region-access-point"]
    assert mrap.name == "patients"
    assert mrap.id == "arn:aws:s3::123456789012:accesspoint/mfzwi23gnjvgw.mrap"
    assert [p.code for p in mrap.placements] == ["eu-north-1", "eu-west-1"]
    assert mrap.placements[0].role is Role.PRIMARY
    assert mrap.attributes["buckets"] == "mr-a,mr-b"


LIST_WITH_REGIONS = """<?xml version="1.0" encoding="UTF-8"?>
<ListAllMyBucketsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Owner><ID>owner</ID></Owner>
  <Buckets>
    <Bucket><Name>aws-style-a</Name><CreationDate>2026-01-01T00:00:00.000Z</CreationDate><BucketRegion>eu-north-1</BucketRegion></Bucket>
    <Bucket><Name>aws-style-b</Name><CreationDate>2026-01-01T00:00:00.000Z</CreationDate><BucketRegion>sa-east-1</BucketRegion></Bucket>
  </Buckets>
</ListAllMyBucketsResult>"""


def test_bucket_region_from_the_plain_listing(session: boto3.Session) -> None:
    """AWS lists each bucket's BucketRegion: no GetBucketLocation, and the evidence says so."""
    from tests.providers.aws.estates import make_bucket

    make_bucket(session, "aws-style-a", "eu-north-1")
    make_bucket(session, "aws-style-b", "sa-east-1")
    locations: list[str] = []
    canned(session, "s3", "ListBuckets", lambda region, p: None if "bucket-region" in str(p["query"]) else LIST_WITH_REGIONS)
    canned(session, "s3", "GetBucketLocation", lambda region, p: locations.append(p["url_path"]))
    estate = scan_aws(session=session, regions=["eu-north-1"], services=["s3"])
    b = _buckets(estate)
    assert _regions(b["aws-style-b"]) == [("sa-east-1", "primary")]
    assert {r.placements[0].evidence.ref for r in b.values()} == {"ListBuckets Buckets[].BucketRegion"}
    assert locations == []


def _record(session: boto3.Session, service_id: str, operation: str) -> list[tuple[str, dict[str, Any]]]:
    """Every ``operation`` call's (client region, request parameters); the calls go through."""
    calls: list[tuple[str, dict[str, Any]]] = []

    def handler(model: Any, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        calls.append((context.get("client_region", ""), request_params(model, params)))

    session.events.register(f"before-call.{service_id}.{operation}", handler)
    return calls


def test_tags_are_read_by_arn_lists_of_one_region(session: boto3.Session) -> None:
    """Up to 100 ARNs a call, each sent to its buckets' region; every bucket's tags arrive."""
    from tests.providers.aws.estates import make_bucket

    key = build_s3_estate(session)
    _deny_partner(session)
    for i in range(130):
        make_bucket(session, f"bulk-{i:03d}", "eu-west-1", tags={"owner": f"team-{i % 3}"})
        key[f"bulk-{i:03d}"] = "eu-west-1"
    calls = _record(session, "resource-groups-tagging-api", "GetResources")
    estate = scan_aws(session=session, regions=list(REGIONS8), services=["s3"])
    asked: dict[str, str] = {}
    for region, params in calls:
        arns = params["ResourceARNList"]
        assert 0 < len(arns) <= 100
        assert "ResourceTypeFilters" not in params
        for arn in arns:
            assert arn not in asked or asked[arn] == region
            asked[arn] = region
    assert asked == {f"arn:aws:s3:::{name}": region for name, region in key.items()}
    buckets = _buckets(estate)
    assert {n: dict(buckets[n].tags) for n in buckets if n.startswith("bulk-")} == {
        f"bulk-{i:03d}": {"owner": f"team-{i % 3}"} for i in range(130)}
    assert dict(buckets["data-eu-north-1"].tags) == {"data-class": "patient"}


def test_no_tags_reads_no_tags(session: boto3.Session) -> None:
    build_s3_estate(session)
    _deny_partner(session)
    calls = _record(session, "resource-groups-tagging-api", "GetResources")
    estate = scan_aws(session=session, regions=list(REGIONS8), services=["s3"], tags=False)
    assert calls == []
    assert dict(_buckets(estate)["data-eu-north-1"].tags) == {}
    # Not read on request is said, once per account, and reads as such in the audit.
    not_read = [g for g in estate.gaps if g.field == "tags"]
    assert [(g.service, g.operation, g.error, g.level.value) for g in not_read] == [
        ("s3", "tag:GetResources", "NotRequested", "service")]
    from dataclasses import replace

    from residency_audit.model import DataCategory, Evidence, freeze_tags
    from residency_audit.pipeline import audit

    by_tag = DataCategory(id="patient", name="Patient", selectors=(freeze_tags({"data-class": "patient"}),),
                          evidence=Evidence(source="inventory", ref="data.yaml:1"))
    found = [f for f in audit(replace(estate, data=(by_tag,))).findings if f.title == "Tags not read"]
    assert len(found) == 1 and "not called" in found[0].message and "failed" not in found[0].message
    # Nothing selects by tag: the gap stays in the estate, no finding is made of it.
    assert not [f for f in audit(estate).findings if f.title == "Tags not read"]


def test_a_listing_that_places_every_bucket_is_the_only_listing(session: boto3.Session) -> None:
    """With ``BucketRegion`` on every listed bucket, no region is listed again, and regions
    that hold no bucket get no call."""
    key = build_s3_estate(session)
    _deny_partner(session)
    items = "".join(f"<Bucket><Name>{n}</Name><CreationDate>2026-01-01T00:00:00Z</CreationDate>"
                    f"<BucketRegion>{r}</BucketRegion></Bucket>" for n, r in sorted(key.items()))
    listing = (f'<?xml version="1.0" encoding="UTF-8"?><ListAllMyBucketsResult><Buckets>{items}</Buckets>'
               "<Owner><ID>o</ID></Owner></ListAllMyBucketsResult>")
    listings: list[dict[str, Any]] = []

    def answer(region: str, params: dict[str, Any]) -> str:
        listings.append(params["query"])
        return listing

    canned(session, "s3", "ListBuckets", answer)
    replication = _record(session, "s3", "GetBucketReplication")
    estate = scan_aws(session=session, regions=[*REGIONS8, "eu-south-2"], services=["s3"])
    # the listing and its one-bucket sample, neither filtered by region
    assert sorted(q.get("max-buckets") for q in listings) == [1, 10000]
    assert not any("bucket-region" in q for q in listings)
    buckets = _buckets(estate)
    for name, region in key.items():
        assert _regions(buckets[name]) == [(region, "primary")], name
        assert buckets[name].placements[0].evidence.ref == "ListBuckets Buckets[].BucketRegion"
    assert sorted(r for r, _ in replication) == sorted(key.values())
    assert "eu-south-2" not in {r for r, _ in replication}
