"""Every AWS parser against answers generated from botocore's own service models.

The answers are built from each operation's ``output_shape`` (any member may be left out: the
models mark nearly every member optional), then altered: members dropped, set to null, given a
value of another type, and ARNs replaced by text that is not an ARN. Whatever the answer, a scan
step ends with resources and record-level gaps, never an exception.

The regional services run their real ``fetch`` through real botocore clients whose calls are
answered on the ``before-call`` event with the generated answer (no request is sent); the S3 and
discovery parsers are fed the generated answers directly. Each test counts the examples it ran.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.awsrequest import AWSResponse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from residency_audit.model import CoverageGap, GapLevel, Resource
from residency_audit.providers.aws import discovery, s3
from residency_audit.providers.aws.faults import Attempt, Ledger, Scope
from residency_audit.providers.aws.operations import SPECS
from tests.providers.aws.conftest import CREDS

EXAMPLES = 40
"""Examples per test (bounded and derandomised: the same examples on every run)."""

MAX_DEPTH = 4
_MODELS = botocore.session.get_session()
_TOKENS = frozenset({"Marker", "NextToken", "NextMarker", "ContinuationToken", "LastEvaluatedTableName",
                     "LastEvaluatedGlobalTableName", "PaginationToken"})
_ARNS = ("arn:aws:rds:eu-north-1:111122223333:db:patients", "arn:aws:rds:us-east-1:111122223333:db:dr",
         "arn:aws:dynamodb:eu-north-1:111122223333:table/journal", "arn:aws:s3:::ehr-journal",
         "arn:aws:backup:eu-west-1:444455556666:backup-vault:dr",
         "arn:aws:elasticfilesystem:eu-north-1:111122223333:file-system/fs-1",
         "arn:aws:kms:eu-north-1:111122223333:key/mrk-1", "arn:aws:rds::111122223333:global-cluster:g",
         "arn:aws:rds:eu-west-1:111122223333:auto-backup:ab-1")
_NOT_ARNS = ("", "patients", "arn:aws", "arn:::::", "arn:aws:rds::", "db:patients", "arn:aws:s3:::", " ")
_REGIONS = ("eu-north-1", "eu-west-1", "us-east-1", "ap-southeast-2")
_NOT_REGIONS = ("", "Europe (Stockholm)", "eu north 1", "aws:eu-north-1")
_WORDS = ("patients", "journal", "dr", "fs-1", "mrk-1", "ab-1", "ENABLED", "Enabled", "ACTIVE", "CUSTOMER")

SETTINGS = settings(derandomize=True, max_examples=EXAMPLES, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])


# ---------------------------------------------------------------- answers from the models

def _string(name: str, shape: Any) -> st.SearchStrategy[Any]:
    if shape.enum:
        return st.sampled_from(list(shape.enum))
    lowered = name.lower()
    if lowered.endswith("arn") or lowered.endswith("arns"):
        return st.sampled_from(_ARNS)
    if "region" in lowered:
        return st.sampled_from(_REGIONS)
    return st.sampled_from(_WORDS + _ARNS[:2])


def _strategy(shape: Any, name: str, depth: int, memo: dict[tuple[str, str, int], Any]) -> st.SearchStrategy[Any]:
    key = (shape.name, name, depth)
    if key in memo:
        return memo[key]  # type: ignore[no-any-return]
    kind = shape.type_name
    out: st.SearchStrategy[Any]
    if kind == "structure":
        if depth >= MAX_DEPTH:
            out = st.just({})
        else:
            members = {m: _strategy(s, m, depth + 1, memo) for m, s in shape.members.items()
                       if not (depth == 0 and m in _TOKENS)}
            required = {m: s for m, s in members.items() if m in shape.required_members}
            optional = {m: s for m, s in members.items() if m not in required}
            # every member, or the required ones and any of the others (then altered alike)
            out = st.one_of(st.fixed_dictionaries(members), st.fixed_dictionaries(required, optional=optional))
    elif kind == "list":
        out = st.just([]) if depth >= MAX_DEPTH else st.lists(_strategy(shape.member, name, depth + 1, memo), max_size=2)
    elif kind == "map":
        out = st.just({}) if depth >= MAX_DEPTH else st.dictionaries(
            st.sampled_from(_WORDS), _strategy(shape.value, name, depth + 1, memo), max_size=2)
    elif kind == "string":
        out = _string(name, shape)
    elif kind in ("integer", "long"):
        out = st.integers(0, 100)
    elif kind == "boolean":
        out = st.booleans()
    elif kind in ("float", "double"):
        out = st.floats(0, 10)
    elif kind == "timestamp":
        out = st.datetimes(min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2027, 1, 1),
                           timezones=st.just(dt.UTC))
    elif kind == "blob":
        out = st.binary(max_size=4)
    else:
        out = st.none()
    memo[key] = out
    return out


_MEMO: dict[tuple[str, str, int], Any] = {}


def answers(service: str, operation: str) -> st.SearchStrategy[dict[str, Any]]:
    """Answers of ``operation``, shaped by botocore's model and then altered."""
    shape = _MODELS.get_service_model(service).operation_model(operation).output_shape
    clean = _strategy(shape, operation, 0, _MEMO)
    return st.tuples(clean, st.randoms(use_true_random=False), st.sampled_from([0.0, 0.05, 0.15, 0.3])).map(
        lambda t: _alter(t[0], t[1], t[2]))


def _wrong(value: Any, name: str, rng: random.Random) -> Any:
    lowered = name.lower()
    if isinstance(value, str) and lowered.endswith("arn"):
        return rng.choice(_NOT_ARNS)
    if isinstance(value, str) and "region" in lowered:
        return rng.choice(_NOT_REGIONS)
    others: list[Any] = [7, "text", ["x"], {"x": 1}, True, 1.5]
    return rng.choice([o for o in others if type(o) is not type(value)])


def _alter(value: Any, rng: random.Random, rate: float, name: str = "") -> Any:
    """Drop, null or mistype members (and break ARNs) at ``rate``, at every depth."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            roll = rng.random()
            if roll < rate / 3:
                continue  # dropped
            if roll < rate * 2 / 3:
                out[k] = None
            elif roll < rate:
                out[k] = _wrong(v, k, rng)
            else:
                out[k] = _alter(v, rng, rate, k)
        return out
    if isinstance(value, list):
        return [_wrong(v, name, rng) if rng.random() < rate / 2 else _alter(v, rng, rate, name) for v in value]
    return value


# ---------------------------------------------------------------- what every outcome must be

def _check(resources: Any, gaps: Any) -> None:
    assert all(isinstance(r, Resource) for r in resources)
    assert all(isinstance(g, CoverageGap) for g in gaps)
    for r in resources:
        for p in r.placements:
            assert p.namespace == "aws" and p.code  # a real location, never "aws:"
    for g in gaps:
        assert g.provider == "aws" and g.service and g.operation
        # no call was refused for bad parameters: only the answers' records are at fault
        assert g.error in ("UnparseableRecord", "PaginationError"), g
        if g.error == "UnparseableRecord":  # a record named by id or field, or a listing not paged
            assert g.field or g.resource or g.level is GapLevel.SERVICE, g


# ---------------------------------------------------------------- regional services, fetch and parse

REGIONAL = [spec for spec in SPECS if spec.scope_kind == "region"]


@pytest.fixture(scope="module")
def session() -> Iterator[boto3.Session]:
    yield boto3.Session(region_name="eu-north-1", **CREDS)


def _answering(session: boto3.Session, service: str, current: dict[str, Any]) -> Any:
    client = session.client(service, region_name="eu-north-1")

    def handler(model: Any, **_: Any) -> Any:
        return AWSResponse("https://generated.invalid/", 200, {}, None), current[model.name]

    client.meta.events.register(f"before-call.{client.meta.service_model.service_id.hyphenize()}", handler)
    return client


@pytest.mark.parametrize("spec", REGIONAL, ids=[s.name for s in REGIONAL])
def test_fetch_and_parse_never_raise(spec: Any, session: boto3.Session) -> None:
    operations = [o.operation for o in spec.operations]
    current: dict[str, Any] = {}
    client = _answering(session, spec.name, current)
    ran = {"examples": 0, "resources": 0, "gaps": 0}

    @SETTINGS
    @given(st.fixed_dictionaries({op: answers(spec.name, op) for op in operations}))
    def run(generated: dict[str, dict[str, Any]]) -> None:
        current.clear()
        current.update(generated)
        attempt = Attempt(scope=Scope(account="111122223333", region="eu-north-1", service=spec.name),
                          ledger=Ledger())
        payload = spec.fetch(client, attempt)
        resources, gaps = spec.parse(payload, attempt.scope)
        _check(resources, [*attempt.gaps, *gaps])
        ran["examples"] += 1
        ran["resources"] += len(resources)
        ran["gaps"] += len(gaps) + len(attempt.gaps)

    run()
    print(f"{spec.name}: {ran}")
    assert ran["examples"] >= EXAMPLES


# ---------------------------------------------------------------- S3 and discovery, parse alone

SCOPE = Scope(account="111122223333", region="eu-north-1", service="s3")


def _s3_list(answer: dict[str, Any]) -> tuple[list[Any], list[CoverageGap]]:
    _, gaps = s3.parse_bucket_list([answer], SCOPE)
    return [], gaps


def _s3_tags(answer: dict[str, Any]) -> tuple[list[Any], list[CoverageGap]]:
    _, gaps = s3.parse_tag_mappings([answer], SCOPE)
    return [], gaps


def _s3_replication(answer: dict[str, Any]) -> tuple[list[Any], list[CoverageGap]]:
    fetched = s3.FetchedBucket(name="ehr-journal", account="111122223333", region="eu-north-1",
                               ref="ListBuckets Buckets[].BucketRegion", replication=answer)
    resources, gaps, _ = s3.parse_buckets([fetched], partition="aws", tags={})
    return resources, gaps


def _s3_mraps(answer: dict[str, Any]) -> tuple[list[Any], list[CoverageGap]]:
    attempt = Attempt(scope=Scope(account="111122223333", region="us-west-2", service="s3control"))
    points = attempt.items("ListMultiRegionAccessPoints", [answer], "AccessPoints")
    resources, gaps = s3.parse_multi_region_access_points(points, attempt.scope)
    return resources, [*attempt.gaps, *gaps]


def _accounts(answer: dict[str, Any]) -> tuple[list[Any], list[CoverageGap]]:
    _, gaps = discovery.parse_accounts([answer])
    return [], gaps


def _regions(answer: dict[str, Any]) -> tuple[list[Any], list[CoverageGap]]:
    plan = discovery.parse_regions(answer, requested=["eu-north-1", "eu-west-1"])
    assert set(plan.enabled) | set(plan.disabled) | set(plan.unknown) == {"eu-north-1", "eu-west-1"}
    return [], list(plan.gaps)


PURE: list[tuple[str, str, Callable[[dict[str, Any]], tuple[list[Any], list[CoverageGap]]]]] = [
    ("s3", "ListBuckets", _s3_list),
    ("resourcegroupstaggingapi", "GetResources", _s3_tags),
    ("s3", "GetBucketReplication", _s3_replication),
    ("s3control", "ListMultiRegionAccessPoints", _s3_mraps),
    ("organizations", "ListAccounts", _accounts),
    ("ec2", "DescribeRegions", _regions),
]


@pytest.mark.parametrize(("service", "operation", "parse"), PURE, ids=[f"{s}.{o}" for s, o, _ in PURE])
def test_parsers_never_raise(service: str, operation: str,
                             parse: Callable[[dict[str, Any]], tuple[list[Any], list[CoverageGap]]]) -> None:
    ran = {"examples": 0, "gaps": 0}

    @SETTINGS
    @given(answers(service, operation))
    def run(answer: dict[str, Any]) -> None:
        resources, gaps = parse(answer)
        _check(resources, gaps)
        ran["examples"] += 1
        ran["gaps"] += len(gaps)

    run()
    print(f"{service}.{operation}: {ran}")
    assert ran["examples"] >= EXAMPLES


def test_bucket_location_and_assumed_credentials_never_raise(session: boto3.Session) -> None:
    """The two answers a fetch reads itself: GetBucketLocation and AssumeRole."""
    current: dict[str, Any] = {}
    s3_client = _answering(session, "s3", current)
    sts_client = _answering(session, "sts", current)
    ran = {"examples": 0}

    @SETTINGS
    @given(answers("s3", "GetBucketLocation"), answers("sts", "AssumeRole"))
    def run(location: dict[str, Any], assumed: dict[str, Any]) -> None:
        current.update({"GetBucketLocation": location, "AssumeRole": assumed})
        attempt = Attempt(scope=Scope(account="111122223333", region="", service="s3"))
        region = s3.fetch_bucket_region(s3_client, attempt, "ehr-journal")
        assert region is None or region.replace("-", "").isalnum()
        creds = discovery.fetch_assumed_credentials(
            sts_client, attempt, arn="arn:aws:iam::111122223333:role/Audit", external_id=None)
        assert creds is None or set(creds) == {"aws_access_key_id", "aws_secret_access_key", "aws_session_token"}
        _check([], attempt.gaps)
        ran["examples"] += 1

    run()
    print(f"GetBucketLocation+AssumeRole: {ran}")
    assert ran["examples"] >= EXAMPLES
