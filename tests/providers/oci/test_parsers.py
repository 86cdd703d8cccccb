"""Parsers against records generated from the SDK models' ``swagger_types``: members dropped,
nulled or mistyped never raise; a bad record is a record-level gap and the rest is parsed."""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from residency_audit.model import GapLevel, Resource
from residency_audit.providers.oci import (
    autonomous,
    blockstorage,
    dbsystems,
    filestorage,
    identity,
    objectstorage,
    search,
    vault,
)
from residency_audit.providers.oci.records import Compartment, Where

SETTINGS = settings(derandomize=True, max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

WHERE = Where(tenancy="ocid1.tenancy.oc1..t", realm="oc1", region="uk-london-1", namespace="ns",
              compartment=Compartment(id="ocid1.compartment.oc1..c", name="c", path="t/c"),
              region_keys={"fra": "eu-frankfurt-1"})

_TEXT = st.sampled_from(["", "uk-london-1", "eu-frankfurt-1", "xx-mars-1", "VIRTUAL_PRIVATE",
                         "STANDBY", "PRIMARY", "BACKUP_BASED", "ADG", "Uocm:EU-FRANKFURT-1-AD-1",
                         "ocid1.volume.oc1.eu-frankfurt-1.abc", "ocid1.dbsystem.oc1.fra.x",
                         "ocid1.bad", "naïve ✓", "a" * 300])
_WRONG = st.one_of(st.integers(-3, 3), st.booleans(), st.lists(st.integers(0, 2), max_size=2),
                   st.dictionaries(st.sampled_from(["a", "b"]), st.integers(0, 1), max_size=2),
                   st.floats(allow_nan=False, allow_infinity=False), _TEXT)

_LIST = re.compile(r"^list\[(.+)\]$")
_DICT = re.compile(r"^dict\(str, (.+)\)$")


def _typed(kind: str, module: str, depth: int) -> st.SearchStrategy[Any]:
    """A value of the declared swagger type (nested models recursively, bounded)."""
    if kind == "str":
        return _TEXT
    if kind == "bool":
        return st.booleans()
    if kind in ("int", "float"):
        return st.integers(-1, 10**6)
    if kind == "datetime":
        return st.just("2026-01-15T10:00:00+00:00")
    if kind == "object":
        return st.one_of(_TEXT, st.integers(0, 3))
    m = _LIST.match(kind)
    if m:
        return st.lists(_typed(m.group(1), module, depth + 1), max_size=2)
    m = _DICT.match(kind)
    if m:
        return st.dictionaries(_TEXT, _typed(m.group(1), module, depth + 1), max_size=2)
    if depth > 2:
        return st.none()
    return record(module, kind, depth + 1)


def _mutate(base: dict[str, Any], changes: list[tuple[str, str, Any]]) -> dict[str, Any]:
    out = dict(base)
    for attr, how, wrong in changes:
        if how == "drop":
            out.pop(attr, None)
        else:
            out[attr] = None if how == "null" else wrong
    return out


def record(module: str, name: str, depth: int = 0) -> st.SearchStrategy[dict[str, Any]]:
    """A complete, well-typed record with the model's attribute names, then up to three of its
    members dropped, nulled or mistyped."""
    types = getattr(importlib.import_module(f"{module}.models"), name)().swagger_types
    base = st.fixed_dictionaries({attr: _typed(kind, module, depth)
                                  for attr, kind in sorted(types.items())})
    changes = st.lists(st.tuples(st.sampled_from(sorted(types)),
                                 st.sampled_from(["drop", "null", "wrong"]), _WRONG), max_size=3)
    return st.builds(_mutate, base, changes)


def _always(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A record that is most often well formed, sometimes not an object at all."""
    return st.one_of(strategy, strategy, strategy, _WRONG, st.none())


def check(parse: Callable[[list[Any], Where], tuple[list[Resource], list[Any]]],
          records: list[Any]) -> None:
    resources, gaps = parse(records, WHERE)
    for r in resources:
        assert r.provider == "oci" and isinstance(r.id, str)
        for p in r.placements:
            assert p.location.startswith("oci:") and p.code
    assert all(g.level is GapLevel.RECORD and g.error == "UnparseableRecord" for g in gaps)


OS, DB, CORE, FS, KMS = ("oci.object_storage", "oci.database", "oci.core", "oci.file_storage",
                         "oci.key_management")


@SETTINGS
@given(st.lists(_always(st.fixed_dictionaries(
    {"summary": record(OS, "BucketSummary")},
    optional={"bucket": record(OS, "Bucket"), "policies": st.lists(record(OS, "ReplicationPolicySummary"), max_size=2),
              "sources": st.lists(record(OS, "ReplicationSource"), max_size=2)})), max_size=3))
def test_buckets(records: list[Any]) -> None:
    check(objectstorage.parse_buckets, records)


@SETTINGS
@given(st.lists(_always(st.fixed_dictionaries(
    {"db": record(DB, "AutonomousDatabaseSummary")},
    optional={"peers": st.lists(record(DB, "AutonomousDatabasePeerSummary"), max_size=2)})), max_size=3))
def test_autonomous_databases(records: list[Any]) -> None:
    check(autonomous.parse_autonomous, records)


@SETTINGS
@given(st.lists(_always(st.fixed_dictionaries(
    {"system": record(DB, "DbSystemSummary")},
    optional={"associations": st.lists(record(DB, "DataGuardAssociationSummary"), max_size=2),
              "databases": st.lists(record(DB, "DatabaseSummary"), max_size=2)})), max_size=3))
def test_db_systems(records: list[Any]) -> None:
    check(dbsystems.parse_db_systems, records)


@SETTINGS
@given(st.lists(_always(st.one_of(*(
    st.fixed_dictionaries({"listing": st.just(listing), "volume": record(CORE, model)},
                          optional={"policy": st.one_of(st.none(), record(CORE, "VolumeBackupPolicy"))})
    for listing, model in (("list_volumes", "Volume"), ("list_boot_volumes", "BootVolume"),
                           ("list_volume_groups", "VolumeGroup"))))), max_size=3))
def test_volumes(records: list[Any]) -> None:
    check(blockstorage.parse_block, records)


@SETTINGS
@given(st.lists(_always(st.fixed_dictionaries({"replication": record(FS, "Replication")})), max_size=3))
def test_file_system_replications(records: list[Any]) -> None:
    check(filestorage.parse_replications, records)


@SETTINGS
@given(st.lists(_always(st.fixed_dictionaries(
    {"vault": record(KMS, "VaultSummary")},
    optional={"replicas": st.lists(record(KMS, "VaultReplicaSummary"), max_size=2)})), max_size=3))
def test_vaults(records: list[Any]) -> None:
    check(vault.parse_vaults, records)


@SETTINGS
@given(st.lists(_always(record("oci.identity", "Compartment")), max_size=4),
       st.lists(_always(record("oci.identity", "RegionSubscription")), max_size=3),
       st.lists(_always(record("oci.resource_search", "ResourceSummary")), max_size=3))
def test_identity_and_search(compartments: list[Any], subscriptions: list[Any], results: list[Any]) -> None:
    tree, gaps = identity.parse_compartments(compartments, root=WHERE.compartment)
    assert tree[0] == WHERE.compartment
    assert all(g.level is GapLevel.SCOPE for g in gaps)
    regions, _, _ = identity.parse_region_subscriptions(subscriptions)
    assert regions == sorted(regions)
    _, unread = search.parse_search(results, search.QUERY_TYPES)
    assert unread <= len(results)


def test_a_well_formed_record_still_parses_beside_a_bad_one() -> None:
    good = {"vault": {"id": "ocid1.vault.oc1.uk-london-1.v", "display_name": "k"}}
    resources, gaps = vault.parse_vaults([{"vault": {"id": 7}}, good], WHERE)
    assert [r.id for r in resources] == ["ocid1.vault.oc1.uk-london-1.v"]
    assert [(g.field, g.resource) for g in gaps] == [("vault.id", "record #0")]


def test_a_search_answer_at_the_cap_is_not_trusted() -> None:
    rows = [{"resource_type": "Bucket", "compartment_id": "c"}] * search.RESULT_CAP
    pairs, unread = search.parse_search(rows, search.QUERY_TYPES)
    assert (pairs, unread) == (set(), search.RESULT_CAP)
