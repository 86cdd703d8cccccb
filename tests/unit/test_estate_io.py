"""The estate JSON file: lossless, deterministic, private, and refused clearly when malformed."""

from __future__ import annotations

import datetime as dt
import json
import stat
from pathlib import Path
from typing import Any

import pytest

from residency_audit.demo import demo_estate
from residency_audit.errors import InputError
from residency_audit.estate_io import (
    ESTATE_SCHEMA_VERSION,
    estate_from_dict,
    estate_to_dict,
    read_estate,
    write_estate,
)
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

API = Evidence(source="api", ref="s3:GetBucketLocation LocationConstraint")
DECLARED = Evidence(source="inventory", ref="inventory.yaml:12", detail="contract 2025-114 §2")


def full_estate() -> Estate:
    """An estate with every record type and every optional field filled in, already sorted."""
    bucket = "arn:aws:s3:::lab-results"
    return Estate(
        resources=(
            Resource(id=bucket, provider="aws", service="s3", kind="bucket", name="lab-results",
                     account="111122223333",
                     placements=(Placement(location="aws:eu-north-1", role=Role.PRIMARY, evidence=API),
                                 Placement(location="aws:eu-west-1", role=Role.REPLICA, evidence=API)),
                     tags=freeze_tags({"data-class": "lab", "owner": "Region Örebro"}),
                     links=(Link(relation=LinkRelation.BACKS_UP_TO, target="vault", evidence=API),
                            Link(relation=LinkRelation.REPLICATES_TO, target=bucket + "-dr",
                                 evidence=API, categories=("lab-results",))),
                     operator="amazon-web-services-emea", operator_evidence=DECLARED,
                     attributes=freeze_tags({"versioning": "Enabled"})),
            Resource(id="vault", provider="onprem", service="backup", kind="tape", name="Vault",
                     placements=(Placement(location="country:SE", role=Role.BACKUP, evidence=DECLARED),)),
        ),
        subprocessors=(
            Subprocessor(id="sms", name="SMS AB", entity="sms-ab",
                         placements=(Placement(location="country:SE", role=Role.PROCESSING,
                                               evidence=DECLARED),),
                         evidence=DECLARED,
                         links=(Link(relation=LinkRelation.SUBCONTRACTS, target="gateway",
                                     evidence=DECLARED, categories=("reminders",)),),
                         tags=freeze_tags({"tier": "1"}),
                         attributes=freeze_tags({"transfer_tool": "SCC 2021/914"})),
        ),
        entities=(
            Entity(id="holding", name="Holding Ltd", country="KY", evidence=DECLARED,
                   notes="registered office only", controlled_from="CN"),
            Entity(id="sms-ab", name="SMS AB", country="SE", parent="holding", evidence=DECLARED,
                   parent_evidence=DECLARED, certifications=("iso-27001", "soc2")),
        ),
        data=(
            DataCategory(id="lab-results", name="Lab results", classification="confidential",
                         resources=(bucket,), selectors=(freeze_tags({"data-class": "lab"}),),
                         subprocessors=("sms",), evidence=DECLARED, description="Results"),
        ),
        mitigations=(
            Mitigation(kind="customer-held-keys", source=bucket, target="*",
                       description="client-side encryption", evidence=DECLARED,
                       expires=dt.date(2027, 6, 30)),
            Mitigation(kind="contract", source="entity:sms-ab", target="entity:holding",
                       description="no access", evidence=DECLARED),
        ),
        gaps=(
            CoverageGap(provider="aws", scope="111122223333", service="s3",
                        operation="GetBucketReplication", error="AccessDenied",
                        message="not authorised", region="eu-north-1", resource=bucket),
            CoverageGap(provider="gcp", scope="projects/p", service="storage",
                        operation="ListBuckets", error="PERMISSION_DENIED"),
        ),
        metadata=ScanMetadata(sources=("aws", "inventory:inventory.yaml"),
                              started="2026-11-24T10:00:00Z", finished="2026-11-24T10:05:00Z",
                              tool_version="0.1.0", scopes=("111122223333",)),
    )


def test_every_record_type_survives_a_round_trip(tmp_path: Path) -> None:
    estate = full_estate()
    path = tmp_path / "estate.json"
    write_estate(estate, path)
    again = read_estate(path)
    assert again == estate
    assert estate_to_dict(again) == estate_to_dict(estate)


def test_the_dict_form_round_trips_and_is_versioned() -> None:
    d = estate_to_dict(full_estate())
    assert d["schema_version"] == ESTATE_SCHEMA_VERSION
    assert estate_from_dict(json.loads(json.dumps(d))) == full_estate()


def test_the_demo_estate_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "demo.json"
    write_estate(demo_estate(), path)
    assert estate_to_dict(read_estate(path)) == estate_to_dict(demo_estate())


def test_writing_twice_gives_the_same_bytes(tmp_path: Path) -> None:
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    write_estate(full_estate(), first)
    write_estate(full_estate(), second)
    assert first.read_bytes() == second.read_bytes()
    assert first.read_bytes().endswith(b"}\n")


def test_records_given_in_any_order_give_the_same_bytes(tmp_path: Path) -> None:
    estate = full_estate()
    shuffled = Estate(resources=estate.resources[::-1], subprocessors=estate.subprocessors,
                      entities=estate.entities[::-1], data=estate.data,
                      mitigations=estate.mitigations[::-1], gaps=estate.gaps[::-1],
                      metadata=estate.metadata)
    write_estate(estate, tmp_path / "a.json")
    write_estate(shuffled, tmp_path / "b.json")
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()


def test_the_file_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "estate.json"
    write_estate(full_estate(), path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_an_existing_open_file_is_narrowed_to_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "estate.json"
    path.write_text("old")
    path.chmod(0o644)
    write_estate(full_estate(), path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_estate(path) == full_estate()


# malformed files -------------------------------------------------------------------------------

def malformed(tmp_path: Path, content: str | bytes) -> InputError:
    path = tmp_path / "estate.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    with pytest.raises(InputError) as info:
        read_estate(path)
    assert info.value.file == str(path)
    assert str(info.value).startswith(str(path))
    assert "\n" not in str(info.value)
    return info.value


def mutated(change: Any) -> str:
    d = estate_to_dict(full_estate())
    change(d)
    return json.dumps(d)


@pytest.mark.parametrize(("content", "line"), [
    ('{"schema_version": 1,\n "resources": [,]}', 2),
    ("", 1),
    ("[]", 1),
])
def test_json_that_is_not_an_estate_object_names_the_line(tmp_path: Path, content: str,
                                                          line: int) -> None:
    assert malformed(tmp_path, content).line == line


@pytest.mark.parametrize("content", [
    b"{\"schema_version\": 1, \"x\": \"\xe5\"}",
    "[" * 100_000,
    '{"schema_version": 1, "n": ' + "1" * 5_000 + "}",
])
def test_unreadable_json_is_an_input_error(tmp_path: Path, content: str | bytes) -> None:
    malformed(tmp_path, content)


def test_a_missing_file_and_a_directory_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        read_estate(tmp_path / "nope.json")
    with pytest.raises(InputError, match="is a directory, not an estate file"):
        read_estate(tmp_path)


@pytest.mark.parametrize(("change", "field"), [
    (lambda d: d.update(schema_version=99), "schema_version"),
    (lambda d: d.pop("schema_version"), "schema_version"),
    (lambda d: d["resources"][0].pop("id"), "resources[0].id"),
    (lambda d: d["resources"][0].update(id=5), "resources[0].id"),
    (lambda d: d["resources"][1].update(name=None), "resources[1].name"),
    (lambda d: d["entities"][0].update(country=None), "entities[0].country"),
    (lambda d: d["gaps"][0].update(scope=1), "gaps[0].scope"),
    (lambda d: d["resources"][0]["placements"][0].update(location="eu-north-1"),
     "resources[0].placements[0].location"),
    (lambda d: d["subprocessors"][0]["links"][0].update(categories=[1]),
     "subprocessors[0].links[0].categories[0]"),
])
def test_malformed_records_name_the_field(tmp_path: Path, change: Any, field: str) -> None:
    err = malformed(tmp_path, mutated(change))
    assert err.field == field


@pytest.mark.parametrize("change", [
    lambda d: d.update(resources="abc"),
    lambda d: d.update(metadata=[]),
    lambda d: d["metadata"].update(sources=5),
    lambda d: d["resources"][0]["placements"][0].update(role="tertiary"),
    lambda d: d["resources"][0]["links"][0].update(relation="teleports_to"),
    lambda d: d["resources"][0].update(tags=["a"]),
    lambda d: d["resources"][0].update(placements=[None]),
    lambda d: d["mitigations"][0].update(expires="2027-02-30"),
    lambda d: d["entities"][0].update(evidence=None),
    lambda d: d["data"][0].update(evidence="inventory.yaml:1"),
])
def test_malformed_estates_are_input_errors(tmp_path: Path, change: Any) -> None:
    err = malformed(tmp_path, mutated(change))
    assert "estate" in err.message or err.field


# hostile estates: lines, BOM, booleans, typos, numbers -------------------------------------------

def _indented(change: Any) -> str:
    d = estate_to_dict(full_estate())
    change(d)
    return json.dumps(d, indent=2, sort_keys=True)


def _line_of_text(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


@pytest.mark.parametrize(("change", "field", "needle"), [
    (lambda d: d["resources"][1].update(name=None), "resources[1].name", '"name": null'),
    (lambda d: d["gaps"][0].update(scope=1), "gaps[0].scope", '"scope": 1'),
    (lambda d: d["resources"][0]["placements"][0].update(location="eu-north-1"),
     "resources[0].placements[0].location", '"location": "eu-north-1"'),
    (lambda d: d["entities"][0].update(country=["SE"]), "entities[0].country", '"country": ['),
    (lambda d: d["resources"][0].update(regoin="x"), "resources[0].regoin", '"regoin"'),
])
def test_an_estate_error_names_the_line_of_the_field(tmp_path: Path, change: Any, field: str,
                                                     needle: str) -> None:
    text = _indented(change)
    err = malformed(tmp_path, text)
    assert (err.field, err.line) == (field, _line_of_text(text, needle))


def test_a_typo_is_reported_as_an_unknown_field_with_the_closest_name(tmp_path: Path) -> None:
    def typo(d: dict[str, Any]) -> None:
        d["entities"][0]["contry"] = d["entities"][0].pop("country")

    err = malformed(tmp_path, _indented(typo))
    assert err.field == "entities[0].contry"
    assert err.message == "unknown field 'contry' (did you mean 'country'?)"


def test_a_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "estate.json"
    write_estate(full_estate(), path)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert read_estate(path) == full_estate()


@pytest.mark.parametrize("version", ["true", "1.0", '"1"', "null", "[1]"])
def test_a_schema_version_that_is_not_the_integer_1_is_refused(tmp_path: Path, version: str) -> None:
    err = malformed(tmp_path, '{\n"schema_version": ' + version + "\n}")
    assert (err.field, err.line) == ("schema_version", 2)
    assert "unsupported estate schema version" in err.message


@pytest.mark.parametrize(("value", "words"), [
    ("NaN", "NaN is not a JSON number"),
    ("-Infinity", "-Infinity is not a JSON number"),
    ("1e999", "out of range"),
    ("1" * 5000, "a number of 5000 digits"),
])
def test_numbers_json_should_not_carry_are_refused_at_their_line(tmp_path: Path, value: str,
                                                                 words: str) -> None:
    err = malformed(tmp_path, '{"schema_version": 1,\n "metadata": {"started": ' + value + "}}")
    assert err.line == 2
    assert words in err.message


def test_deep_nesting_names_the_line_where_it_gets_too_deep(tmp_path: Path) -> None:
    err = malformed(tmp_path, '{"schema_version": 1,\n"resources":\n' + "[" * 5000 + "]" * 5000 + "}")
    assert err.line == 3
    assert "nested deeper than" in err.message


def test_json_line_follows_keys_and_indexes() -> None:
    from residency_audit.estate_io import json_line

    text = '{"a": [\n {"b": "x,y]"},\n {"b": "\\"}\\"",\n  "c": [1,\n 2]}\n]}'
    assert json_line(text, ["a", 0, "b"]) == 2
    assert json_line(text, ["a", 1, "b"]) == 3
    assert json_line(text, ["a", 1, "c", 1]) == 5
    assert json_line(text, ["a", 1, "zzz"]) == 3  # the deepest ancestor that exists
    assert json_line(text, ["nope"]) == 1
