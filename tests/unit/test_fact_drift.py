"""Facts drift: the history keeps the catalog facts each run relied on, and diff names those that
changed (a law's status, an adequacy decision's validity, a new parent) with the findings they
changed, even when the infrastructure did not move; an old history without facts still works."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from residency_audit.catalog import load_catalog
from residency_audit.cli import main
from residency_audit.factset import Fact, build_facts, diff_facts
from residency_audit.history import (
    MIGRATIONS,
    History,
    RunRecord,
    diff_runs,
    drift_dict,
    record_from_audit,
    render_drift_markdown,
)
from residency_audit.pipeline import audit
from residency_audit.providers.inventory import load_inventory

INVENTORY = """\
version: 1
organisation: Region Test
resources:
  - id: tipoff
    name: Tip-off service
    provider: oci
    service: database
    kind: autonomous-database
    operator: oracle-corporation-uk
    locations:
      - region: oci:uk-london-1
        role: primary
    tags: {data-class: whistleblower}
  - id: lab-dr
    name: Lab results replica
    provider: aws
    service: s3
    kind: bucket
    operator: amazon-web-services-inc
    locations:
      - region: aws:us-east-1
        role: replica
    tags: {data-class: lab}
data:
  - id: whistleblower-reports
    name: Whistleblower reports
    stored_in:
      - resource: tipoff
  - id: lab-results
    name: Laboratory results
    stored_in:
      - resource: lab-dr
"""

# FISA 702's transition certifications end (a dated fact a user catalog may add): the status
# from 2026-06-13 now has an end, and a lapse follows it.
FISA_LAPSE = """\
law_status:
  - law: us-fisa-702
    status: sunset-transition
    valid_from: 2026-06-13
    valid_to: 2027-03-31
    note: Transition certifications continue until they expire.
    source: https://example.org/fisa-702-transition
    retrieved: 2026-12-01
  - law: us-fisa-702
    status: lapsed
    valid_from: 2027-04-01
    note: The last certifications expired; no reauthorisation.
    source: https://example.org/fisa-702-lapse
    retrieved: 2026-12-01
"""

CONFIG = """\
policy = "{policy}"
fail_on = "none"
history = "history.sqlite"
catalog = {catalog}

[sources]
inventory = ["inventory.yaml"]

[[outputs]]
format = "json"
path = "report.json"
"""


def cli(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), stdout=out), out.getvalue()


def job(folder: Path, *, policy: str, catalog: str = "") -> Path:
    (folder / "inventory.yaml").write_text(INVENTORY, encoding="utf-8")
    extra = "[]"
    if catalog:
        (folder / "catalog.yaml").write_text(catalog, encoding="utf-8")
        extra = '["catalog.yaml"]'
    config = folder / "residency.toml"
    config.write_text(CONFIG.format(policy=policy, catalog=extra), encoding="utf-8")
    return config


def no_infrastructure_change(drift: dict[str, Any]) -> bool:
    """Nothing appeared, went or moved country (a holder whose reaching laws changed is listed
    as moved in jurisdiction, with the same countries and placements)."""
    return not any(drift[k] for k in ("new_countries", "gone_countries", "appeared", "disappeared",
                                      "relocated", "gaps_new", "gaps_resolved")) and not any(
        m[k] for m in drift["moved"] for k in ("countries_added", "countries_removed",
                                               "placements_added", "placements_removed"))


def test_uk_adequacy_coming_into_force_changes_the_transfer_finding(tmp_path: Path) -> None:
    config = job(tmp_path, policy="gdpr-transfers")
    for day in ("2021-03-01", "2021-07-01"):  # before and after Decision (EU) 2021/1772
        code, _ = cli("run", "--config", str(config), "--today", day)
        assert code == 0
    code, md = cli("diff", "--config", str(config))
    assert code == 1  # something changed, although nothing moved
    code, text = cli("diff", "--config", str(config), "--format", "json")
    drift = json.loads(text)
    assert no_infrastructure_change(drift)
    [uk] = [f for f in drift["facts_changed"] if f["key"] == "adequacy:GB"]
    assert uk["label"] == "United Kingdom adequacy decision"
    assert uk["summary"][0] == ("not in force until 2021-06-27 → "
                                "in force from 2021-06-28 until 2025-06-27 (full)")
    assert uk["findings_changed"] == ["gdpr-transfers|resource:oci:tipoff|"]
    [changed] = drift["findings_changed"]
    assert changed["a"]["severity"] == "high" and changed["b"]["severity"] == "info"
    section = md.split("## Changed facts\n\n")[1].split("\n## ")[0]
    assert "**United Kingdom adequacy decision** `adequacy:GB`: not in force until 2021-06-27 → in force" in section
    assert "(source: https://www.mondaq.com/" in section
    assert "  - changed finding: `resource:oci:tipoff` gdpr-transfers: severity high → info" in section
    assert "## Findings that changed" in md


def test_fisa_702_lapsing_changes_the_reach_findings_with_no_infrastructure_change(
        tmp_path: Path) -> None:
    config = job(tmp_path, policy="esam", catalog=FISA_LAPSE)
    for day in ("2026-11-24", "2027-04-15"):
        assert cli("run", "--config", str(config), "--today", day)[0] == 0
    code, text = cli("diff", "--config", str(config), "--format", "json")
    drift = json.loads(text)
    assert code == 1 and no_infrastructure_change(drift)
    facts = {f["key"]: f for f in drift["facts_changed"]}
    assert set(facts) == {"catalog", "law:us-fisa-702"} or set(facts) == {"law:us-fisa-702"}
    fisa = facts["law:us-fisa-702"]
    assert fisa["summary"][0] == ("sunset with transition from 2026-06-13 until 2027-03-31 → "
                                  "lapsed from 2027-04-01")
    assert fisa["b"]["source"].startswith("https://example.org/fisa-702-lapse")
    reach = [c for c in drift["findings_changed"] if c["id"] in fisa["findings_changed"]]
    assert reach and all("law:us-fisa-702" in c["a"]["law"] and "law:us-fisa-702" not in c["b"]["law"]
                         for c in reach)
    code, md = cli("diff", "--config", str(config))
    assert "**Foreign Intelligence Surveillance Act of 1978, section 702** `law:us-fisa-702`: " \
           "sunset with transition from 2026-06-13 until 2027-03-31 → lapsed from 2027-04-01" in md
    assert "laws −law:us-fisa-702" in md


def test_a_renewal_with_no_finding_changed_says_so(tmp_path: Path) -> None:
    estate = load_inventory(_write(tmp_path, INVENTORY))
    runs = []
    with History(tmp_path / "h.sqlite") as h:
        for day in (dt.date(2025, 11, 1), dt.date(2026, 11, 24)):
            rec = record_from_audit(audit(estate, policy="gdpr-transfers", today=day),
                                    started=f"{day}T02:00:00Z", finished=f"{day}T02:00:01Z",
                                    timings={}, fail_on="high", exit_code=0)
            runs.append(h.load(h.record(rec)))
    d = diff_runs(*runs)
    assert d.changed and not d.moved and not d.findings_new and not d.findings_resolved
    [uk] = [f for f in d.facts_changed if f.change.key == "adequacy:GB"]
    assert uk.change.summary[0] == ("extended from 2025-06-28 until 2025-12-18 (full) → "
                                    "renewed from 2025-12-19 until 2031-12-27 (full)")
    md = render_drift_markdown(d)
    block = md.split("`adequacy:GB`")[1].split("\n- ")[0]
    assert "  - no finding changed because of it" in block
    assert drift_dict(d)["facts_not_recorded"] == []


def test_a_new_parent_is_a_changed_fact(tmp_path: Path) -> None:
    estate = load_inventory(_write(tmp_path, INVENTORY))
    parent = tmp_path / "parent.yaml"
    parent.write_text("holdings:\n  - entity: oracle-corporation-uk\n    parent: example-holding\n"
                      "    share: 100\n    control: 'yes'\n    valid_from: 2027-01-01\n"
                      "    source: https://example.org/register\n    retrieved: 2026-12-01\n"
                      "entities:\n  - id: example-holding\n    name: Example Holding Ltd\n"
                      "    country: GB\n    source: https://example.org/register\n"
                      "    retrieved: 2026-12-01\n", encoding="utf-8")
    cat = load_catalog(extra=[parent])
    a, b = (build_facts(audit(estate, policy="esam", catalog=cat, today=day))
            for day in (dt.date(2026, 12, 1), dt.date(2027, 2, 1)))
    [change] = [c for c in diff_facts(a, b) if c.key == "entity:oracle-corporation-uk"]
    assert "new parent example-holding" in change.summary
    assert "no longer parent oracle-corporation" in change.summary
    assert "holding: example-holding (100%, control yes)" in change.b.parts
    assert change.findings  # the reach findings through Oracle's chain rest on it


def test_facts_are_deterministic_and_sorted(tmp_path: Path) -> None:
    estate = load_inventory(_write(tmp_path, INVENTORY))
    one, two = (build_facts(audit(estate, today=dt.date(2026, 11, 24))) for _ in range(2))
    assert one == two and diff_facts(one, two) == ()
    kinds = [f.kind for f in one]
    assert kinds == sorted(kinds, key=("catalog", "law", "adequacy", "entity").index)
    assert {f.key for f in one} >= {"catalog", "law:us-fisa-702", "adequacy:GB", "adequacy:US",
                                    "entity:oracle-corporation"}
    assert all(list(f.findings) == sorted(f.findings) for f in one)


def _write(folder: Path, text: str) -> Path:
    path = folder / "inventory.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _old_history(path: Path) -> None:
    """A history file as the version before facts wrote it: schema 1, two runs."""
    with History(path, migrations={1: MIGRATIONS[1]}) as h:
        assert h.schema_version == 1
        for i in (1, 2):
            h.conn.execute(
                "INSERT INTO runs (started, finished, tool_version, catalog_version, policy, "
                "evaluated_on, fail_on, exit_code, sources, summary, estate, n_findings, n_gaps, "
                "n_holders, n_placements, n_reach, n_timings) VALUES (?, ?, '0.1', 'c1', 'esam', ?, "
                "'high', 0, '[]', ?, '{}', 0, 0, 1, 1, 0, 0)",
                (f"2026-11-2{i}T02:00:00Z", f"2026-11-2{i}T02:00:01Z", f"2026-11-2{i}",
                 json.dumps({"resources": 1, "countries": ["SE"], "findings": {}})))
            h.conn.execute("INSERT INTO holders VALUES (?, 'resource:x', 'x', 'resource')", (i,))
            h.conn.execute("INSERT INTO placements VALUES (?, 0, 'resource:x', "
                           "'location:aws:eu-north-1', 'primary', '[\"SE\"]')", (i,))


def test_an_old_history_without_facts_still_lists_and_diffs(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    _old_history(path)
    code, listing = cli("history", "--history", str(path))
    assert code == 0 and "2026-11-21" in listing and "2026-11-22" in listing
    code, md = cli("diff", "--history", str(path))
    assert code == 0 and "No change." in md
    assert "- Facts not recorded for run 1: its changed facts cannot be told" in md
    assert "- Facts not recorded for run 2: its changed facts cannot be told" in md
    with History(path) as h:  # opened once by the commands above: migrated, old runs kept
        assert h.schema_version == 2 and h.load(1).facts is None
        new = h.record(dataclasses.replace(h.load(2), id=None, facts=(
            Fact(key="law:us-fisa-702", kind="law", label="FISA 702", value="in force"),)))
    code, text = cli("diff", "--history", str(path), "--format", "json")
    drift = json.loads(text)
    assert code == 0 and drift["facts_not_recorded"] == [2] and drift["b"]["id"] == new
    assert drift["facts_changed"] == []


@pytest.mark.parametrize(("sql", "message"), [
    ("UPDATE facts SET value = X'07' WHERE run_id = 1",
     "run 1: facts.value: damaged: expected text, found bytes"),
    ("UPDATE facts SET parts = '{oops' WHERE run_id = 1", "run 1: facts.parts: damaged: not valid JSON"),
    ("UPDATE facts SET findings = '[1]' WHERE run_id = 1",
     "run 1: facts.findings: damaged: expected a JSON list of strings"),
    ("DELETE FROM facts WHERE run_id = 1", "run 1: facts: damaged: 0 stored, the run says 1"),
    ("UPDATE runs SET n_facts = 'many' WHERE id = 1", "run 1: n_facts: damaged: expected a count, found str"),
])
def test_damaged_facts_are_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                           sql: str, message: str) -> None:
    path = tmp_path / "h.sqlite"
    fact = Fact(key="law:us-fisa-702", kind="law", label="FISA 702", value="in force")
    with History(path) as h:
        for day in ("2026-11-24", "2026-11-25"):
            h.record(RunRecord(started=f"{day}T02:00:00Z", finished=f"{day}T02:00:01Z",
                               policy="esam", evaluated_on=day, facts=(fact,)))
    conn = sqlite3.connect(path)
    conn.execute(sql)
    conn.commit()
    conn.close()
    code, _ = cli("diff", "--history", str(path))
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err and "Traceback" not in err
    assert message in err and str(path) in err


DPF_LISTING = """\
certifications:
  - entity: amazon-web-services-inc
    certification: dpf
    valid_from: 2023-07-17
    valid_to: 2026-12-31
    note: Listed on the Data Privacy Framework List until its annual re-certification date.
    source: https://example.org/dpf-list/amazon-web-services
    retrieved: 2026-12-01
"""


def test_an_expired_dpf_listing_no_longer_counts_for_the_dpf_adequacy(tmp_path: Path) -> None:
    config = job(tmp_path, policy="gdpr-transfers", catalog=DPF_LISTING)
    for day in ("2026-11-24", "2027-02-01"):  # listed, then the listing has expired
        assert cli("run", "--config", str(config), "--today", day)[0] == 0
    code, text = cli("diff", "--config", str(config), "--format", "json")
    drift = json.loads(text)
    assert code == 1 and no_infrastructure_change(drift)
    [aws] = [f for f in drift["facts_changed"] if f["key"] == "entity:amazon-web-services-inc"]
    assert aws["summary"] == ["certification no longer listed dpf"]
    assert "certified: dpf" in aws["a"]["parts"] and "certified: dpf" not in aws["b"]["parts"]
    [changed] = [c for c in drift["findings_changed"] if c["id"] in aws["findings_changed"]]
    assert changed["id"] == "gdpr-transfers|resource:aws:lab-dr|"
    assert (changed["a"]["severity"], changed["b"]["severity"]) == ("info", "high")


def test_a_bad_certification_row_names_its_file_line_and_field(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "catalog.yaml"
    bad.write_text(DPF_LISTING.replace("valid_to: 2026-12-31", "valid_to: 2020-01-01"), encoding="utf-8")
    code, _ = cli("laws", "--catalog", str(bad))
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err
    assert err.endswith(f"{bad}:2: valid_to: 2020-01-01 is before valid_from 2023-07-17")
