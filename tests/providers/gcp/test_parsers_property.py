"""Every GCP parser against records generated from the GCP shapes, with members dropped,
nulled and mistyped: a bad record becomes one RECORD gap naming the field, never a traceback.

Shapes: the protobuf descriptors of Cloud Asset ``ResourceSearchResult`` and Resource Manager v3
``Project`` / ``Folder`` (from the installed client libraries), and for the resources' own REST
representations (``versionedResources[].resource``: a Cloud Storage bucket, a Cloud SQL
instance, …) JSON shapes written from Google's public REST references (no discovery documents
are installed). Bounded and derandomised; each test counts the examples it ran.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest
from google.cloud.asset_v1 import ResourceSearchResult
from google.cloud.resourcemanager_v3 import Folder, Project
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from residency_audit.model import GapLevel
from residency_audit.providers.gcp import assets, hierarchy, storage
from residency_audit.providers.gcp.hierarchy import build_hierarchy, parse_folder, parse_project
from residency_audit.providers.gcp.records import Context
from residency_audit.providers.service import RecordError, parse_records

Shape = Any
"""A type token (``"str"``, ``"bool"``, ``"int"``, ``"float"``, ``"json"``), ``("list", shape)``,
``("map", shape)`` or a dict of member name → shape."""

# ---------------------------------------------------------------- shapes

_SCALARS = {
    FieldDescriptor.TYPE_STRING: "str", FieldDescriptor.TYPE_ENUM: "str",
    FieldDescriptor.TYPE_BOOL: "bool", FieldDescriptor.TYPE_BYTES: "str",
    FieldDescriptor.TYPE_DOUBLE: "float", FieldDescriptor.TYPE_FLOAT: "float",
}
_WELL_KNOWN = {"google.protobuf.Timestamp": "str", "google.protobuf.Struct": "json",
               "google.protobuf.Value": "json", "google.protobuf.Duration": "str"}


def shape_of(descriptor: Descriptor, depth: int = 0) -> dict[str, Shape]:
    """The REST JSON shape of a protobuf message (camelCase members, as the REST transport)."""
    out: dict[str, Shape] = {}
    for f in descriptor.fields:
        if f.message_type is not None:
            full = f.message_type.full_name
            if f.message_type.GetOptions().map_entry:
                out[f.json_name] = ("map", "str")
                continue
            if full in _WELL_KNOWN:
                inner: Shape = _WELL_KNOWN[full]
            elif depth >= 1:
                inner = "json"
            else:
                inner = shape_of(f.message_type, depth + 1)
        else:
            inner = _SCALARS.get(f.type, "int")
        repeated = f.is_repeated
        out[f.json_name] = ("list", inner) if repeated else inner
    return out


SEARCH_RESULT = shape_of(ResourceSearchResult.pb().DESCRIPTOR)
PROJECT = shape_of(Project.pb().DESCRIPTOR)
FOLDER = shape_of(Folder.pb().DESCRIPTOR)

# Cloud Storage JSON API v1, Bucket resource (storage/docs/json_api/v1/buckets#resource)
BUCKET: dict[str, Shape] = {
    "kind": "str", "id": "str", "selfLink": "str", "projectNumber": "str", "name": "str",
    "timeCreated": "str", "updated": "str", "metageneration": "str", "location": "str",
    "locationType": "str", "storageClass": "str", "etag": "str", "rpo": "str",
    "defaultEventBasedHold": "bool", "satisfiesPZS": "bool", "labels": ("map", "str"),
    "customPlacementConfig": {"dataLocations": ("list", "str")},
    "versioning": {"enabled": "bool"}, "encryption": {"defaultKmsKeyName": "str"},
    "softDeletePolicy": {"retentionDurationSeconds": "str", "effectiveTime": "str"},
    "iamConfiguration": {"uniformBucketLevelAccess": {"enabled": "bool", "lockedTime": "str"},
                         "publicAccessPrevention": "str"},
    "autoclass": {"enabled": "bool", "toggleTime": "str"},
    "hierarchicalNamespace": {"enabled": "bool"},
}
# Cloud SQL Admin v1, DatabaseInstance (sql/docs/mysql/admin-api/rest/v1/instances)
SQL_INSTANCE: dict[str, Shape] = {
    "kind": "str", "state": "str", "databaseVersion": "str", "name": "str", "project": "str",
    "region": "str", "gceZone": "str", "secondaryGceZone": "str", "instanceType": "str",
    "masterInstanceName": "str", "replicaNames": ("list", "str"), "connectionName": "str",
    "settings": {"tier": "str", "availabilityType": "str", "userLabels": ("map", "str"),
                 "backupConfiguration": {"enabled": "bool", "location": "str",
                                         "startTime": "str", "pointInTimeRecoveryEnabled": "bool",
                                         "transactionLogRetentionDays": "int"}},
    "replicaConfiguration": {"failoverTarget": "bool"},
}
# Spanner v1 Instance (spanner/docs/reference/rest/v1/projects.instances)
SPANNER_INSTANCE: dict[str, Shape] = {
    "name": "str", "config": "str", "displayName": "str", "nodeCount": "int",
    "processingUnits": "int", "state": "str", "labels": ("map", "str"), "createTime": "str",
}
# BigQuery v2 Dataset (bigquery/docs/reference/rest/v2/datasets)
BQ_DATASET: dict[str, Shape] = {
    "kind": "str", "id": "str", "datasetReference": {"datasetId": "str", "projectId": "str"},
    "location": "str", "labels": ("map", "str"), "creationTime": "str",
    "defaultTableExpirationMs": "str", "storageBillingModel": "str",
}
# Firestore v1 Database (firestore/docs/reference/rest/v1/projects.databases)
FIRESTORE_DB: dict[str, Shape] = {
    "name": "str", "uid": "str", "locationId": "str", "type": "str", "concurrencyMode": "str",
    "createTime": "str", "etag": "str",
}
# Bigtable Admin v2 Cluster (bigtable/docs/reference/admin/rest/v2/projects.instances.clusters)
BT_CLUSTER: dict[str, Shape] = {
    "name": "str", "location": "str", "state": "str", "serveNodes": "int",
    "defaultStorageType": "str", "encryptionConfig": {"kmsKeyName": "str"},
}
# Filestore v1 Instance and Backup (filestore/docs/reference/rest/v1/projects.locations.*)
FS_INSTANCE: dict[str, Shape] = {
    "name": "str", "tier": "str", "state": "str", "labels": ("map", "str"),
    "fileShares": ("list", {"name": "str", "capacityGb": "str"}),
    "networks": ("list", {"network": "str", "modes": ("list", "str")}),
}
FS_BACKUP: dict[str, Shape] = {
    "name": "str", "state": "str", "sourceInstance": "str", "sourceFileShare": "str",
    "sourceInstanceTier": "str", "capacityGb": "str", "storageBytes": "str",
    "labels": ("map", "str"),
}
# Compute v1 Disk and Snapshot (compute/docs/reference/rest/v1/disks, snapshots)
DISK: dict[str, Shape] = {
    "kind": "str", "id": "str", "name": "str", "sizeGb": "str", "zone": "str", "region": "str",
    "replicaZones": ("list", "str"), "type": "str", "labels": ("map", "str"), "selfLink": "str",
}
SNAPSHOT: dict[str, Shape] = {
    "kind": "str", "id": "str", "name": "str", "sourceDisk": "str", "diskSizeGb": "str",
    "storageLocations": ("list", "str"), "status": "str", "labels": ("map", "str"),
}

RESOURCES: dict[str, dict[str, Shape]] = {
    "storage.googleapis.com/Bucket": BUCKET,
    "sqladmin.googleapis.com/Instance": SQL_INSTANCE,
    "spanner.googleapis.com/Instance": SPANNER_INSTANCE,
    "bigquery.googleapis.com/Dataset": BQ_DATASET,
    "firestore.googleapis.com/Database": FIRESTORE_DB,
    "bigtableadmin.googleapis.com/Cluster": BT_CLUSTER,
    "file.googleapis.com/Instance": FS_INSTANCE,
    "file.googleapis.com/Backup": FS_BACKUP,
    "compute.googleapis.com/Disk": DISK,
    "compute.googleapis.com/Snapshot": SNAPSHOT,
}


def test_every_asset_type_asked_for_has_a_resource_shape() -> None:
    assert set(RESOURCES) == set(assets.ASSET_TYPES)
    assert {"name", "assetType", "project", "location", "labels", "versionedResources"} <= set(
        SEARCH_RESULT)
    assert {"name", "projectId", "parent", "labels"} <= set(PROJECT)
    assert {"name", "parent", "displayName"} <= set(FOLDER)


# ---------------------------------------------------------------- generating records

_TEXT = st.text(alphabet="abcdefghijklmnopqrstuvwxyzEU0123456789-/_:.", min_size=1, max_size=24)
_LOCATIONS = st.sampled_from(["europe-north1", "EUROPE-NORTH1", "europe-north1-a", "EU", "eu",
                              "US", "EUR4", "eur3", "nam5", "asia1", "regional-europe-west4",
                              "projects/p/instanceConfigs/eur3", "me-west1", "mars-1", ""])
_JSON: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.floats(allow_nan=False) | _TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=3)
_WRONG = st.one_of(st.integers(-3, 3), st.booleans(), st.floats(allow_nan=False), _TEXT,
                   st.lists(_TEXT, max_size=2), st.dictionaries(_TEXT, _TEXT, max_size=2),
                   st.just({"nested": {"deep": [1, None]}}))

_LOCATION_MEMBERS = {"location", "locationId", "region", "config", "storageLocations",
                     "dataLocations", "replicaZones", "zone"}


def _value(draw: st.DrawFn, shape: Shape, name: str = "") -> Any:
    if isinstance(shape, dict):
        keys = list(shape)
        kept = draw(st.integers(0, 2 ** len(keys) - 1))  # one draw: which members are present
        return {k: _value(draw, shape[k], k) for i, k in enumerate(keys) if kept >> i & 1}
    if isinstance(shape, tuple):
        kind, inner = shape
        if kind == "map":
            return draw(st.dictionaries(_TEXT, _TEXT, max_size=3))
        return [_value(draw, inner, name) for _ in range(draw(st.integers(0, 3)))]
    if shape == "str":
        return draw(_LOCATIONS if name in _LOCATION_MEMBERS else _TEXT)
    if shape == "bool":
        return draw(st.booleans())
    if shape == "int":
        return draw(st.integers(0, 10**6))
    if shape == "float":
        return draw(st.floats(allow_nan=False, allow_infinity=False))
    return draw(_JSON)


def _mutate(draw: st.DrawFn, value: Any, shape: Shape, rate: int) -> Any:
    """Drop, null or mistype members at random (``rate`` in 100), recursively."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            inner = shape.get(key, "json") if isinstance(shape, dict) else (
                shape[1] if isinstance(shape, tuple) else "json")
            roll = draw(st.integers(0, 99))
            if roll < rate // 3:
                continue                                   # dropped
            if roll < 2 * rate // 3:
                out[key] = None                            # nulled
            elif roll < rate:
                out[key] = draw(_WRONG)                    # mistyped
            else:
                out[key] = _mutate(draw, item, inner, rate)
        return out
    if isinstance(value, list):
        inner = shape[1] if isinstance(shape, tuple) else "json"
        return [draw(_WRONG) if draw(st.integers(0, 99)) < rate // 2
                else _mutate(draw, v, inner, rate) for v in value]
    return value


@st.composite
def search_results(draw: st.DrawFn) -> tuple[dict[str, Any], bool]:
    """A ``ResourceSearchResult`` in REST JSON shape, and whether it was mutated."""
    asset_type = draw(st.sampled_from(sorted(RESOURCES)))
    result = _value(draw, SEARCH_RESULT)
    result["assetType"] = asset_type
    result["name"] = "//x.googleapis.com/projects/p/items/" + draw(_TEXT)
    result["project"] = draw(st.sampled_from(["projects/1001", "projects/9999", ""]))
    result["versionedResources"] = [{"version": "v1",
                                     "resource": _value(draw, RESOURCES[asset_type])}
                                    for _ in range(draw(st.integers(0, 2)))]
    rate = draw(st.sampled_from([0, 0, 10, 30, 60]))
    if rate:
        shape = {**SEARCH_RESULT,
                 "versionedResources": ("list", {"version": "str",
                                                 "resource": RESOURCES[asset_type]})}
        result = _mutate(draw, result, shape, rate)
    return result, bool(rate)


def _hierarchy() -> Any:
    from residency_audit.providers.gcp.hierarchy import Project as P

    return build_hierarchy([], [P(name="projects/1001", project_id="ehr", display_name="",
                                  parent="organizations/1", labels={"env": "prod"})])


_QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large]

EXAMPLES = {"search results": 500, "projects": 150, "folders": 150, "buckets": 200}
RUN: dict[str, int] = {}


def test_search_results_never_raise_and_bad_ones_are_record_gaps() -> None:
    hier = _hierarchy()
    counts = {"examples": 0, "resources": 0, "gaps": 0}

    @settings(derandomize=True, max_examples=EXAMPLES["search results"], deadline=None,
              database=None, suppress_health_check=_QUIET)
    @given(search_results())
    def check(case: tuple[dict[str, Any], bool]) -> None:
        result, mutated = case
        counts["examples"] += 1
        resources, gaps = assets.parse_result(result, hier)
        again = assets.parse_result(result, hier)
        assert (resources, gaps) == again                      # pure and deterministic
        assert len(resources) + len(gaps) >= 1                  # never silent
        counts["resources"] += len(resources)
        counts["gaps"] += len(gaps)
        for g in gaps:
            assert g.level is GapLevel.RECORD and g.provider == "gcp"
            assert g.error == "UnparseableRecord" and g.field and g.resource
            assert g.service in {s.name for s in assets.BY_ASSET_TYPE.values()} | {"cloudasset"}
            assert g.operation == "cloudasset.searchAllResources"
            assert "Traceback" not in g.message
            assert g.message.startswith("RecordError:"), g.message   # a named field, not a crash
        if not mutated:
            assert gaps == [] and len(resources) == 1
        for r in resources:
            assert r.provider == "gcp" and r.id

    check()
    RUN["search results"] = counts["examples"]
    assert counts["examples"] == EXAMPLES["search results"]
    assert counts["resources"] > 100 and counts["gaps"] > 50, counts


@pytest.mark.parametrize(("label", "descriptor_shape", "parse", "required"), [
    ("projects", PROJECT, parse_project, ("name", "projectId")),
    ("folders", FOLDER, parse_folder, ("name",)),
])
def test_hierarchy_records_never_raise(label: str, descriptor_shape: dict[str, Shape],
                                       parse: Callable[[Mapping[str, Any]], Any],
                                       required: tuple[str, ...]) -> None:
    seen = {"examples": 0, "gaps": 0}

    @st.composite
    def records(draw: st.DrawFn) -> dict[str, Any]:
        record = _value(draw, descriptor_shape)
        for key in required:
            record.setdefault(key, draw(_TEXT))
        return _mutate(draw, record, descriptor_shape, draw(st.sampled_from([0, 20, 50])))

    @settings(derandomize=True, max_examples=EXAMPLES[label], deadline=None, database=None,
              suppress_health_check=_QUIET)
    @given(st.lists(records(), min_size=1, max_size=4))
    def check(batch: list[dict[str, Any]]) -> None:
        seen["examples"] += 1
        parsed, gaps = hierarchy.parse_each(batch, parse, "cloudresourcemanager.projects.list")
        assert len(parsed) + len(gaps) == len(batch)
        seen["gaps"] += len(gaps)
        for g in gaps:
            assert g.level is GapLevel.RECORD and g.field and g.resource
        build_hierarchy([p for p in parsed if isinstance(p, hierarchy.Folder)],
                        [p for p in parsed if isinstance(p, hierarchy.Project)])

    check()
    RUN[label] = seen["examples"]
    assert seen["examples"] == EXAMPLES[label] and seen["gaps"] > 0


def test_bucket_representations_never_raise() -> None:
    seen = {"examples": 0, "gaps": 0}
    ctx = Context(project_ref="projects/1001")

    @st.composite
    def buckets(draw: st.DrawFn) -> dict[str, Any]:
        record = _value(draw, BUCKET)
        record.setdefault("name", draw(_TEXT))
        return _mutate(draw, record, BUCKET, draw(st.sampled_from([0, 15, 40])))

    def one(payload: Any) -> list[Any]:
        try:
            return [storage.parse_bucket(payload, ctx)]
        except RecordError:
            raise
        except Exception as exc:  # the property: nothing but a RecordError naming the field
            raise AssertionError(f"{type(exc).__name__}: {exc}") from exc

    @settings(derandomize=True, max_examples=EXAMPLES["buckets"], deadline=None,
              database=None, suppress_health_check=_QUIET)
    @given(st.lists(buckets(), min_size=1, max_size=3))
    def check(batch: list[dict[str, Any]]) -> None:
        seen["examples"] += 1
        resources, gaps = parse_records(batch, one, provider="gcp", service="storage",
                                        scope="1001", operation="storage.buckets.list",
                                        id_fields=("name", "id"))
        assert len(resources) + len(gaps) == len(batch)
        seen["gaps"] += len(gaps)
        assert all(g.level is GapLevel.RECORD and g.field for g in gaps)

    check()
    RUN["buckets"] = seen["examples"]
    assert seen["examples"] == EXAMPLES["buckets"] and seen["gaps"] > 0


def test_example_count(capsys: pytest.CaptureFixture[str]) -> None:
    """How many generated records the parsers above took (all, when run together)."""
    total = sum(RUN.values())
    with capsys.disabled():
        print(f"\ngcp parser examples run: {total} {dict(sorted(RUN.items()))}")
    assert total in (0, sum(EXAMPLES.values())) or set(RUN) < set(EXAMPLES)


# ---------------------------------------------------------------- the quick member readers

class _Text(str):
    pass


class _Frozen(Mapping[str, Any]):
    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Any:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.floats(allow_nan=False),
                    st.text(max_size=3), st.builds(_Text, st.text(max_size=3)),
                    st.lists(st.integers(0, 2), max_size=2),
                    st.dictionaries(st.text(max_size=2), st.integers(0, 2), max_size=2))
_RECORDS = st.one_of(
    st.dictionaries(st.sampled_from(["a", "b"]), _VALUES, max_size=2),
    st.builds(_Frozen, st.dictionaries(st.sampled_from(["a", "b"]), _VALUES, max_size=2)),
    st.sampled_from([None, [], "a", 3]))


def _outcome(read: Callable[[], Any]) -> tuple[str, Any]:
    try:
        value = read()
    except RecordError as exc:
        return "error", (exc.field, str(exc))
    return "value", (type(value), value)


@settings(max_examples=400, derandomize=True, deadline=None)
@given(record=_RECORDS, kind=st.sampled_from([str, bool, int, float, list, dict]),
       path=st.sampled_from(["", "versionedResources.resource."]))
def test_the_quick_member_readers_answer_as_the_checked_ones(record: Any, kind: type,
                                                              path: str) -> None:
    from residency_audit.providers import service

    assert _outcome(lambda: service.member(record, "a", kind, path=path)) == _outcome(
        lambda: service.checked_member(record, "a", kind, path=path))
    default = kind()
    assert _outcome(lambda: service.optional_member(record, "a", kind, default, path=path)
                    ) == _outcome(lambda: service.checked_optional_member(record, "a", kind, default,
                                                                          path=path))
