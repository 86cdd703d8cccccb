"""Fixtures for the GCP adapter tests: a fake organisation served on loopback, and a scanner."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.providers.gcp.fakes import ORG, FakeGcp


def build_org() -> FakeGcp:
    """A healthcare organisation: two folders (one nested), four projects, every bucket kind."""
    fake = FakeGcp()
    clinical = fake.add_folder("11", "Clinical")
    stockholm = fake.add_folder("12", "Stockholm", parent=clinical)
    shared = fake.add_folder("13", "Shared")
    fake.add_project("ehr-prod", "1001", parent=stockholm,
                     labels={"data-class": "patient", "env": "prod"})
    fake.add_project("research", "1002", parent=clinical, labels={"env": "test"})
    fake.add_project("shared-infra", "1003", parent=shared)
    fake.add_project("locked", "1004", parent=ORG)
    fake.add_bucket("ehr-prod", "ehr-records", "EUROPE-NORTH1", "region",
                    labels={"data-class": "restricted"})
    fake.add_bucket("ehr-prod", "ehr-dr", "EUR4", "dual-region", rpo="ASYNC_TURBO")
    fake.add_bucket("ehr-prod", "ehr-custom", "EU", "dual-region",
                    data_locations=["EUROPE-NORTH1", "EUROPE-WEST4"], rpo="DEFAULT")
    fake.add_bucket("research", "research-nam4", "NAM4", "dual-region", rpo="DEFAULT")
    fake.add_bucket("research", "research-asia1", "ASIA1", "dual-region")
    fake.add_bucket("research", "research-eu", "EU", "multi-region")
    fake.add_bucket("shared-infra", "shared-us", "US", "multi-region")
    fake.add_bucket("locked", "locked-bucket", "EUROPE-WEST1", "region")
    return fake


@pytest.fixture
def fake_org() -> FakeGcp:
    return build_org()


@pytest.fixture
def scan(fake_org: FakeGcp) -> Iterator[Callable[..., Any]]:
    """Run ``scan_gcp`` against ``fake_org`` over REST with anonymous credentials."""
    from google.api_core import retry as gretry
    from google.auth.credentials import AnonymousCredentials

    from residency_audit.providers.gcp import scan_gcp

    with fake_org.serve() as url:
        def run(**kwargs: Any) -> Any:
            kwargs.setdefault("credentials", AnonymousCredentials())
            kwargs.setdefault("transport", "rest")
            kwargs.setdefault("endpoints", {"*": url})
            kwargs.setdefault("retry", gretry.Retry(
                predicate=gretry.if_exception_type(Exception), initial=0.01, maximum=0.02,
                timeout=0.5))
            return scan_gcp(**kwargs)

        run.url = url  # type: ignore[attr-defined]
        yield run
