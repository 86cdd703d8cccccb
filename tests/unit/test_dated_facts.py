"""Facts with time: laws, adequacy decisions and holdings evaluated at the audit's date.

One estate is audited at several dates and gets the findings that held at each; the catalog's
dated rows are checked for shape, and the sources the issue named are checked for honesty.
"""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path

import pytest

from residency_audit.catalog import HOLDING_STATUSES, Catalog, default_catalog, load_catalog
from residency_audit.errors import InputError
from residency_audit.graph import build
from residency_audit.pipeline import audit

from .estates import Estate, data, resource

D = dt.date


@pytest.fixture(scope="module")
def cat() -> Catalog:
    return default_catalog()


def _us_estate() -> Estate:
    return Estate(resources=(resource("journal", "aws:us-east-1", provider="aws",
                                      operator="amazon-web-services-inc"),),
                  data=(data("patients", resources=("journal",)),))


def _london_estate() -> Estate:
    return Estate(resources=(resource("journal", "aws:eu-west-2", provider="aws",
                                      operator="amazon-web-services-emea-sarl"),),
                  data=(data("patients", resources=("journal",)),))


def _reaching_laws(day: dt.date) -> set[str]:
    result = audit(_us_estate(), policy="esam", today=day)
    return {law for f in result.findings if f.rule == "esam-foreign-reach"
            for law in (f.laws or (f.law,))}


@pytest.mark.parametrize(("day", "laws"), [
    (D(2007, 6, 1), set()),                                  # neither law existed
    (D(2017, 6, 1), {"law:us-fisa-702"}),                    # FISA 702, no CLOUD Act yet
    (D(2024, 1, 1), {"law:us-cloud-act", "law:us-fisa-702"}),
    (D(2026, 11, 24), {"law:us-cloud-act", "law:us-fisa-702"}),  # 702 in its transition
])
def test_one_estate_at_several_dates_gets_the_reach_that_held_then(day: dt.date, laws: set[str]) -> None:
    reached = _reaching_laws(day)
    assert {law for law in reached if law.startswith("law:us-")} == laws


@pytest.mark.parametrize(("day", "decision"), [
    (D(2021, 3, 1), None),                      # before the 2021 UK adequacy decision
    (D(2022, 1, 1), "(EU) 2021/1772"),
    (D(2025, 9, 1), "technically extended"),    # the six-month extension
    (D(2030, 1, 1), "19 December 2025"),        # renewed until 27 December 2031
    (D(2032, 6, 1), None),                      # no decision known after that: covers nothing
])
def test_an_adequacy_decision_covers_a_transfer_only_while_in_force(day: dt.date, decision: str | None) -> None:
    result = audit(_london_estate(), policy="gdpr-transfers", today=day)
    transfers = [f for f in result.findings if f.rule == "gdpr-transfers"]
    assert len(transfers) == 1
    covered = transfers[0].title.endswith(", covered")
    assert covered is (decision is not None), transfers[0].title
    if decision:
        assert decision in transfers[0].message


@pytest.mark.parametrize(("day", "status", "decision"), [
    (D(2010, 1, 1), "in-force", "2000/520/EC"),
    (D(2016, 1, 1), "invalidated", ""),
    (D(2018, 1, 1), "in-force", "(EU) 2016/1250"),
    (D(2021, 1, 1), "invalidated", ""),
    (D(2024, 1, 1), "challenged", "(EU) 2023/1795"),
    (D(2025, 10, 1), "in-force", "(EU) 2023/1795"),
    (D(2026, 11, 24), "under-appeal", "(EU) 2023/1795"),
])
def test_us_adequacy_history(day: dt.date, status: str, decision: str, cat: Catalog) -> None:
    us = cat.at(day).countries["US"]
    assert us.adequacy_status is not None and us.adequacy_status.status == status
    assert (decision in us.adequacy) if decision else us.adequacy == ""
    if decision:
        assert us.adequacy_scope == "certified-only"


def test_the_dpf_appeal_names_its_case_and_the_judgment(cat: Catalog) -> None:
    now = cat.adequacy_status("US", D(2026, 11, 24))
    assert now is not None and "C-703/25 P" in now.case and now.source.verified
    upheld = cat.adequacy_status("US", D(2025, 9, 3))
    assert upheld is not None and "T-553/23" in upheld.case and "3 September 2025" in upheld.case


@pytest.mark.parametrize(("day", "status"), [
    (D(2008, 7, 9), "not-in-force"),
    (D(2020, 1, 1), "in-force"),
    (D(2024, 4, 20), "renewed"),
    (D(2026, 4, 25), "extended"),
    (D(2026, 6, 12), "extended"),
    (D(2026, 6, 13), "sunset-transition"),
])
def test_fisa_702_status_over_time(day: dt.date, status: str, cat: Catalog) -> None:
    st = cat.law_status("us-fisa-702", day)
    assert st is not None and st.status == status


def test_the_fisa_702_transition_still_reaches_and_says_why(cat: Catalog) -> None:
    law = cat.at(D(2026, 12, 1)).laws["us-fisa-702"]
    assert law.in_force and law.status is not None
    assert "404(b)" in law.status.note and not law.status.source.verified


def test_a_law_not_in_force_is_in_the_graph_without_reach(cat: Catalog) -> None:
    g = build(_us_estate(), cat, today=D(2017, 6, 1))
    attrs = g.nodes["law:us-cloud-act"]
    assert attrs["in_force"] is False and attrs["status"] == "not-in-force"
    assert not [v for v in g.successors("law:us-cloud-act")]
    assert g.nodes["law:us-fisa-702"]["in_force"] is True


def test_an_undated_law_reads_as_in_force(cat: Catalog) -> None:
    assert "us-eo-12333" not in cat.law_statuses
    assert cat.at(D(1990, 1, 1)).laws["us-eo-12333"].in_force


def test_every_dated_row_is_well_formed(cat: Catalog) -> None:
    for group in (cat.law_statuses, cat.adequacy):
        for subject, periods in group.items():
            assert subject in cat.laws or subject in cat.countries, subject
            for a, b in itertools.pairwise(periods):  # ordered, not overlapping
                assert a.valid_to is not None and b.valid_from is not None and a.valid_to < b.valid_from
            for p in periods:
                assert p.source.kind in ("primary", "secondary")
                if p.source.kind == "secondary":
                    assert not p.source.verified
                if p.status in HOLDING_STATUSES and group is cat.adequacy:
                    assert p.decision


def test_today_s_dated_adequacy_matches_the_country_row(cat: Catalog) -> None:
    today = cat.at(D(2026, 11, 24))
    for code in cat.adequacy:
        assert today.countries[code].adequacy == cat.countries[code].adequacy, code
        assert today.countries[code].adequacy_scope == cat.countries[code].adequacy_scope, code


# honest sources --------------------------------------------------------------------------------

def test_verified_means_a_primary_source(cat: Catalog) -> None:
    for group in (cat.laws, cat.entities, cat.countries):
        for key, item in group.items():
            if item.source.verified:
                assert item.source.kind != "secondary", key


def test_the_sources_the_issue_named_are_fixed(cat: Catalog) -> None:
    fisa = cat.laws["us-fisa-702"].source
    assert "uscode.house.gov" in fisa.url and "1881a" in fisa.url and fisa.kind == "primary"
    ipa = cat.laws["gb-investigatory-powers-act"].source
    assert ipa.url == "https://www.legislation.gov.uk/ukpga/2016/25/contents"
    for eid in ("microsoft-ireland-operations", "microsoft-ireland-research"):
        src = cat.entities[eid].source
        assert src.kind == "secondary" and not src.verified
        assert "secondary source" in cat.entities[eid].notes


def test_caveats_reach_the_graph(cat: Catalog) -> None:
    estate = Estate(resources=(resource("r", "azure:westeurope", provider="azure",
                                        operator="microsoft-ireland-operations"),),
                    data=(data("d", resources=("r",)),))
    g = build(estate, cat, today=D(2026, 11, 24))
    edge = g.edges["entity:microsoft-ireland-operations", "entity:microsoft-ireland-research", "controlled_by"]
    assert edge["caveat"].startswith("unverified, secondary source: ")
    assert "secondary source" in edge["evidence_detail"]


# the loader refuses what cannot be true -----------------------------------------------------------

def _user(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "mine.yaml"
    p.write_text(text, encoding="utf-8")
    return p


@pytest.mark.parametrize(("text", "field"), [
    ("law_status:\n  - {law: x, status: in-force, source: https://a.example, source_kind: secondary,"
     " retrieved: '2026-01-01', verified: yes}\n", "verified"),
    ("law_status:\n  - {law: x, status: dormant, source: https://a.example, retrieved: '2026-01-01'}\n",
     "status"),
    ("law_status:\n  - {law: x, status: lapsed, valid_from: '2026-02-01', valid_to: '2026-01-01',"
     " source: https://a.example, retrieved: '2026-01-01'}\n", "valid_to"),
    ("holdings:\n  - {entity: a, parent: b, share: '140', control: 'no', source: https://a.example,"
     " retrieved: '2026-01-01'}\n", "share"),
    ("holdings:\n  - {entity: a, parent: b, control: maybe, source: https://a.example,"
     " retrieved: '2026-01-01'}\n", "control"),
    ("adequacy:\n  - {country: US, status: in-force, source: https://a.example, retrieved: '2026-01-01'}\n",
     "decision"),
])
def test_bad_dated_rows_name_their_field(tmp_path: Path, text: str, field: str) -> None:
    with pytest.raises(InputError) as err:
        load_catalog(extra=[_user(tmp_path, text)])
    assert err.value.field == field


def test_a_user_file_can_date_a_law(tmp_path: Path) -> None:
    p = _user(tmp_path, "law_status:\n  - {law: us-eo-12333, status: repealed, valid_from: 2030-01-01,"
                        " source: https://a.example, retrieved: '2026-01-01'}\n")
    cat = load_catalog(extra=[p])
    assert cat.at(D(2031, 1, 1)).laws["us-eo-12333"].in_force is False
    before = cat.at(D(2020, 1, 1)).laws["us-eo-12333"]
    assert before.in_force and before.status is not None and before.status.status == "unknown"


# the laws command --------------------------------------------------------------------------------

def test_the_laws_command_lists_status_scope_and_citation_at_a_date() -> None:
    import io
    import json

    from residency_audit.cli import main

    runs = []
    for _ in range(2):
        buf = io.StringIO()
        assert main(["laws", "--today", "2017-06-01", "--format", "json"], stdout=buf) == 0
        runs.append(buf.getvalue())
    assert runs[0] == runs[1]  # deterministic
    doc = json.loads(runs[0])
    laws = {row["id"]: row for row in doc["laws"]}
    assert doc["date"] == "2017-06-01"
    assert laws["us-cloud-act"]["in_force"] is False and laws["us-cloud-act"]["status"] == "not-in-force"
    assert laws["us-fisa-702"]["in_force"] is True and laws["us-fisa-702"]["scope"] == "territory and control"
    assert "1881a" in laws["us-fisa-702"]["citation"]
    table = io.StringIO()
    assert main(["laws", "--today", "2026-06-20"], stdout=table) == 0
    assert "sunset-transition" in table.getvalue() and "2026-06-20" in table.getvalue()


def test_the_laws_command_refuses_a_bad_date() -> None:
    from residency_audit.cli import main

    assert main(["laws", "--today", "2026-13-01"]) == 2


def test_an_unverified_region_carries_its_caveat(cat: Catalog) -> None:
    estate = Estate(resources=(resource("r", "oci:eu-dcc-rating-1", provider="oci",
                                        operator="oracle-corporation"),),
                    data=(data("d", resources=("r",)),))
    g = build(estate, cat, today=D(2026, 11, 24))
    caveat = g.nodes["location:oci:eu-dcc-rating-1"]["caveat"]
    assert caveat.startswith("unverified: ") and "OC14" in caveat
