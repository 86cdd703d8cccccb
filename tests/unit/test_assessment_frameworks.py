"""Criteria as data: every packaged framework on estates that meet its criteria, fail them, or
cannot be judged; "not evaluated" is never counted as met."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import pytest

from residency_audit.assessment.frameworks import (
    STATUSES,
    builtin_frameworks,
    evaluate_framework,
    load_framework,
)
from residency_audit.assessment.register import build_register
from residency_audit.errors import InputError
from residency_audit.pipeline import Audit, audit
from residency_audit.providers.inventory import parse_inventory
from residency_audit.yamlfile import load_yaml_text

TODAY = dt.date(2026, 11, 24)

GOOD = textwrap.dedent("""\
    version: 1
    entities:
      - {id: host, name: Drift AB, country: SE}
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
        operator: BACKUP_OPERATOR
        locations: [{BACKUP_PLACE, role: backup}]
    data:
      - {id: records, name: Records, classification: confidential, stored_in: [{resource: db}]}
    """)
FOREIGN = """  - {id: us-parent, name: Parent Inc., country: US}
  - {id: backup-ie, name: Backup Ltd, country: IE, parent: us-parent}
"""


def _audit(*, operator: str = "host", place: str = "country: SE") -> Audit:
    text = GOOD.replace("BACKUP_OPERATOR", operator).replace("BACKUP_PLACE", place)
    if operator == "backup-ie":
        text = text.replace("  - {id: host, name: Drift AB, country: SE}\n",
                            "  - {id: host, name: Drift AB, country: SE}\n" + FOREIGN)
    return audit(parse_inventory(load_yaml_text(text, "inv.yaml"), "inv.yaml"), today=TODAY)


GOOD_AUDIT = _audit()
BAD_AUDIT = _audit(operator="backup-ie", place="country: US")
UNKNOWN_AUDIT = _audit(place='region: "aws:xx-nowhere-9"')


def _results(a: Audit, fw: str, kind: str = "data") -> dict[str, str]:
    r = evaluate_framework(load_framework(fw), a, build_register(a))
    return {x.criterion: x.status for x in r.results if x.subject_kind == kind and
            (kind == "data" or x.subject == "resource:onprem:db-backup")}


EXPECTED = {
    "bsi-c5-2026": {"PSS-12": ("met", "not-met", "cannot-be-judged"),
                    "PSS-12-known": ("met", "met", "cannot-be-judged"),
                    "INQ-01-04": ("not-evaluated",) * 3,
                    "INQ-exposure": ("met", "not-met", "cannot-be-judged")},
    "finos-ccc": {"CCC.Core.CN10": ("met", "not-met", "cannot-be-judged")},
    "eu-cloud-sovereignty": {"SOV-1": ("met", "not-met", "cannot-be-judged"),
                             "SOV-2": ("met", "not-met", "cannot-be-judged"),
                             "SOV-3": ("met", "not-met", "cannot-be-judged"),
                             **{f"SOV-{i}": ("not-evaluated",) * 3 for i in range(4, 9)}},
    "secnumcloud-3.2": {"19.6.a-b": ("met", "not-met", "cannot-be-judged"),
                        "19.6-immunity": ("met", "not-met", "cannot-be-judged"),
                        "19.6.c-f": ("not-evaluated",) * 3},
    "cada-proposal": {"CADA-EU-location": ("met", "not-met", "cannot-be-judged"),
                      "CADA-control": ("met", "not-met", "cannot-be-judged")},
    "osl-10-2a": {"OSL-10-2a": ("not-evaluated",) * 3,
                  "eSam-rojd": ("met", "not-met", "cannot-be-judged")},
}


def test_every_packaged_framework_is_tested() -> None:
    assert sorted(EXPECTED) == builtin_frameworks()


@pytest.mark.parametrize("fw", sorted(EXPECTED))
def test_criteria_on_estates_that_meet_fail_and_cannot_be_judged(fw: str) -> None:
    for i, a in enumerate((GOOD_AUDIT, BAD_AUDIT, UNKNOWN_AUDIT)):
        assert _results(a, fw) == {c: v[i] for c, v in EXPECTED[fw].items()}, (fw, i)
        # The failing copy is the backup: its own result per holder says the same.
        assert _results(a, fw, "holder") == {c: v[i] for c, v in EXPECTED[fw].items()}, (fw, i)


@pytest.mark.parametrize("fw", sorted(EXPECTED))
def test_not_evaluated_is_never_counted_as_met(fw: str) -> None:
    framework = load_framework(fw)
    r = evaluate_framework(framework, GOOD_AUDIT, build_register(GOOD_AUDIT))
    blind = {c.id for c in framework.criteria if c.check.type in ("not-evaluated", "register")}
    for c in framework.criteria:
        counts = r.counts(c.id)
        assert set(counts) == set(STATUSES) and sum(counts.values()) == 1
        if c.id in blind:
            assert counts["met"] == 0 and counts["not-evaluated"] == 1


def test_a_framework_without_agreements_is_not_evaluated_for_promised_against_actual() -> None:
    a = audit(parse_inventory(load_yaml_text(GOOD.replace(
        '    agreed_locations: {places: [SE], clause: "contract 1 section 2: Sweden only"}\n', "")
        .replace("BACKUP_OPERATOR", "host").replace("BACKUP_PLACE", "country: SE"), "inv.yaml"), "inv.yaml"),
        today=TODAY)
    assert _results(a, "bsi-c5-2026")["PSS-12"] == "not-evaluated"


def test_the_sovereignty_framework_never_gives_an_overall_level() -> None:
    fw = load_framework("eu-cloud-sovereignty")
    assert fw.overall is not None and "not evaluated" in fw.overall.en
    assert not any("SEAL-" in c.how.en for c in fw.criteria)


def test_the_proposal_is_marked_as_one() -> None:
    assert load_framework("cada-proposal").status == "proposal"


def test_every_criterion_names_where_and_when_its_text_was_checked() -> None:
    for name in builtin_frameworks():
        fw = load_framework(name)
        for c in fw.criteria:
            assert c.source.url.startswith("https://") and c.source.checked >= dt.date(2026, 1, 1)
            assert c.source.verified in ("yes", "partly", "no")


def test_a_bad_framework_file_is_an_error_naming_the_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "fw.yaml"
    text = (Path(__file__).parents[2] / "src/residency_audit/assessment/frameworks/finos-ccc.yaml").read_text(
        encoding="utf-8").replace("check: {type: copies-in", "check: {type: guess")
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as exc:
        load_framework(path)
    assert "criteria[0].check.type" in str(exc.value) and exc.value.line is not None
    with pytest.raises(InputError):
        load_framework("no-such-framework")
