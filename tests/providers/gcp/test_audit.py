"""A GCP estate flows through the whole pipeline: placements resolve in the catalog, and what
leaves the EEA or cannot be located becomes a finding."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from residency_audit.model import Estate
from residency_audit.pipeline import audit
from tests.providers.gcp.conftest import add_services
from tests.providers.gcp.fakes import FakeGcp


def test_eea_only_findings(fake_org: FakeGcp, scan: Callable[..., Estate]) -> None:
    add_services(fake_org)
    estate = scan(organization="100")
    result = audit(estate, policy="eea-only", today=dt.date(2026, 11, 24))
    flagged = {h.removeprefix("resource:gcp:") for f in result.findings
               if f.rule == "eea-only" for h in f.all_holders}
    outside = {"//storage.googleapis.com/research-nam4", "//storage.googleapis.com/research-asia1",
               "//storage.googleapis.com/shared-us",
               "//bigquery.googleapis.com/projects/shared-infra/datasets/logs_us",
               "//compute.googleapis.com/projects/ehr-prod/global/snapshots/disk1-snap"}
    assert outside <= flagged
    inside = {"//storage.googleapis.com/ehr-records", "//storage.googleapis.com/ehr-dr",
              "//storage.googleapis.com/ehr-custom", "//storage.googleapis.com/research-eu",
              "//spanner.googleapis.com/projects/ehr-prod/instances/sp-eur3",
              "//cloudsql.googleapis.com/projects/ehr-prod/instances/pg-replica-nl"}
    assert not inside & flagged
    # a replica whose location could not be read is never compliant
    assert "//cloudsql.googleapis.com/projects/ehr-prod/instances/pg-replica-gone" in flagged
    assert any(f.rule == "coverage" for f in result.findings)
