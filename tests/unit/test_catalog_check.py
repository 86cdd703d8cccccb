"""``residency-audit catalog check``: facts past a review age and regions the SDKs disagree on."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest

from residency_audit.catalog import default_catalog
from residency_audit.catalogcheck import check_catalog, fetch_sdk_regions, region_drift, stale_facts
from residency_audit.cli import main


def test_region_drift_both_ways_and_an_sdk_not_installed() -> None:
    cat = default_catalog()
    items = region_drift(cat, {"aws": {"aws:eu-north-1": "aws", "aws:xx-new-1": "aws"}, "oci": None})
    kinds = {(i.kind, i.subject) for i in items}
    assert ("missing", "aws:xx-new-1") in kinds
    assert ("not-checked", "oci") in kinds
    assert ("not-in-sdk", "aws:us-east-1") in kinds and ("not-in-sdk", "aws:eu-north-1") not in kinds
    assert all(i.where.startswith("catalog/data/regions_aws.csv:") for i in items if i.kind == "not-in-sdk")


def test_the_catalog_agrees_with_the_installed_sdks() -> None:
    pytest.importorskip("botocore")
    pytest.importorskip("oci")
    sdk = fetch_sdk_regions()
    assert sdk["aws"] and sdk["oci"]
    assert region_drift(default_catalog(), sdk) == []


def test_stale_facts_are_listed_in_file_order() -> None:
    cat = default_catalog()
    assert stale_facts(cat, today=dt.date(2026, 12, 1), max_age_days=365) == []
    items = stale_facts(cat, today=dt.date(2028, 1, 1), max_age_days=365)
    assert items and all(i.kind == "stale" for i in items)
    assert {i.subject for i in items} >= {"us-fisa-702", "country:US", "holding:thales-sa->s3ns"}
    keys = [(i.where.rpartition(":")[0], int(i.where.rpartition(":")[2])) for i in items]
    assert keys == sorted(keys)


def test_the_command_exits_1_when_something_is_found_and_is_deterministic() -> None:
    quiet = io.StringIO()
    assert main(["catalog", "check", "--today", "2026-12-01"], stdout=quiet) == 0
    assert "agrees" in quiet.getvalue()
    runs = []
    for _ in range(2):
        buf = io.StringIO()
        assert main(["catalog", "check", "--today", "2026-12-02", "--max-age-days", "0",
                     "--format", "json"], stdout=buf) == 1
        runs.append(buf.getvalue())
    assert runs[0] == runs[1]
    assert len(json.loads(runs[0])) == len(check_catalog(default_catalog(), today=dt.date(2026, 12, 2),
                                                         max_age_days=0))
