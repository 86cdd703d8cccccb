"""Promised against actual: agreed locations on resources and suppliers, checked on every copy."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import pytest

from residency_audit.assessment.agreed import agreed_findings, check_copies
from residency_audit.cli import main
from residency_audit.errors import InputError
from residency_audit.estate_io import parse_estate_text, write_estate
from residency_audit.pipeline import audit
from residency_audit.policy import Policy
from residency_audit.providers.inventory import parse_inventory
from residency_audit.yamlfile import load_yaml_text

TODAY = dt.date(2026, 11, 24)

CHAIN = textwrap.dedent("""\
    version: 1
    entities:
      - {id: host, name: Drift AB, country: SE}
      - {id: us-parent, name: Parent Inc., country: US}
      - {id: gateway-ie, name: Gateway Ltd, country: IE, parent: us-parent}
    resources:
      - id: db
        name: Database
        operator: host
        locations: [{country: SE}]
        replicates_to: [db-replica]
        agreed_locations: {places: [SE], clause: "contract 1 section 2: Sweden only"}
      - id: db-replica
        name: Replica
        operator: host
        locations: [{country: SE, role: replica}]
        backs_up_to: [db-backup]
      - id: db-backup
        name: Backup
        operator: host
        locations: [{country: SE, role: backup}]
        backs_up_to: [db-vault]
      - id: db-vault
        name: Offsite vault
        operator: host
        locations: [{region: "aws:us-east-1", role: backup}]
    subprocessors:
      - id: supplier
        name: SMS supplier
        entity: host
        locations: [{country: SE, role: processing}]
        agreed_locations: {places: [SE], clause: "agreement 7 section 4: Swedish data centres"}
        subprocessors:
          - id: router
            name: Router
            entity: host
            locations: [{country: SE, role: processing}]
            subprocessors:
              - id: gateway
                name: Gateway
                entity: gateway-ie
                locations: [{country: IE, role: processing}]
    data:
      - id: records
        name: Records
        stored_in: [{resource: db}]
      - id: messages
        name: Messages
        processed_by: [supplier]
    """)


def _estate(text: str = CHAIN):  # type: ignore[no-untyped-def]
    return parse_inventory(load_yaml_text(text, "inv.yaml"), "inv.yaml")


def test_a_copy_three_hops_away_is_outside_what_was_agreed_with_the_clause_and_the_chain() -> None:
    a = audit(_estate(), today=TODAY)
    found = {f.node: f for f in agreed_findings(a.graph, a.copies)}
    assert sorted(found) == ["resource:onprem:db-vault", "subprocessor:gateway"]
    vault = found["resource:onprem:db-vault"]
    assert vault.path == ("resource:onprem:db", "resource:onprem:db-replica", "resource:onprem:db-backup",
                          "resource:onprem:db-vault")
    assert "contract 1 section 2: Sweden only" in vault.message and vault.countries == ("US",)
    assert vault.data == ("data:records",) and vault.path_evidence[0].startswith("agreed: inv.yaml:")
    gateway = found["subprocessor:gateway"]
    assert gateway.path == ("subprocessor:supplier", "subprocessor:router", "subprocessor:gateway")
    assert gateway.countries == ("IE",) and "Swedish data centres" in gateway.message
    inside = {c.holder for c in check_copies(a.graph) if c.inside}
    assert inside == {"resource:onprem:db", "resource:onprem:db-replica", "resource:onprem:db-backup",
                      "subprocessor:supplier", "subprocessor:router"}


def test_a_region_agreed_by_name_and_an_unknown_region_that_cannot_be_checked() -> None:
    text = CHAIN.replace('places: [SE], clause: "contract 1', 'places: [SE, "aws:us-east-1"], clause: "contract 1')
    a = audit(_estate(text), today=TODAY)
    assert [f.node for f in agreed_findings(a.graph, a.copies)] == ["subprocessor:gateway"]
    text = CHAIN.replace('region: "aws:us-east-1"', 'region: "aws:xx-nowhere-9"')
    a = audit(_estate(text), today=TODAY)
    [vault] = [f for f in agreed_findings(a.graph, a.copies) if f.node == "resource:onprem:db-vault"]
    assert vault.title == "Agreed location cannot be checked"


def test_the_policy_rule_type_reports_copies_outside_the_agreement_within_its_scope() -> None:
    policy = Policy.model_validate({"name": "p", "home": "SE", "rules": [
        {"id": "promised", "type": "agreed-locations", "severity": "critical", "scope": {"data": ["messages"]}}]})
    a = audit(_estate(), policy=policy, today=TODAY)
    mine = [f for f in a.findings if f.rule == "promised"]
    assert [(f.node, str(f.severity)) for f in mine] == [("subprocessor:gateway", "critical")]


def test_agreed_locations_survive_an_estate_file(tmp_path: Path) -> None:
    estate = _estate()
    write_estate(estate, tmp_path / "e.json")
    back = parse_estate_text((tmp_path / "e.json").read_text(encoding="utf-8"), "e.json")
    assert back.resources == tuple(sorted(estate.resources, key=lambda r: r.id))
    assert back.subprocessors == tuple(sorted(estate.subprocessors, key=lambda s: s.id))
    assert any(r.agreed_locations for r in back.resources) and any(s.agreed_locations for s in back.subprocessors)


@pytest.mark.parametrize(("old", "new", "field"), [
    ("places: [SE], clause", "places: [Sweden], clause", "places"),
    ("places: [SE], clause", "places: [], clause", "places"),
    ('clause: "contract 1 section 2: Sweden only"', 'clause: ""', "clause"),
])
def test_a_bad_agreement_is_an_error_naming_the_line_and_field(old: str, new: str, field: str,
                                                               tmp_path: Path) -> None:
    text = CHAIN.replace(old, new, 1)
    with pytest.raises(InputError) as exc:
        _estate(text)
    assert exc.value.line == 12 and f"agreed_locations.{field}" in str(exc.value)
    path = tmp_path / "inv.yaml"
    path.write_text(text, encoding="utf-8")
    assert main(["audit", "--inventory", str(path), "-q"]) == 2


def test_a_copy_that_was_not_seen_cannot_be_shown_inside_the_agreement() -> None:
    text = CHAIN.replace("    backs_up_to: [db-vault]\n", "    backs_up_to: [db-vault, elsewhere]\n")
    a = audit(_estate(text), today=TODAY)
    [stub] = [f for f in agreed_findings(a.graph, a.copies) if "elsewhere" in f.node]
    assert stub.title == "Agreed location cannot be checked" and stub.path[-2] == "resource:onprem:db-backup"
