"""Records every gcp request the loopback fakes of the GCP APIs (``tests/providers/gcp/fakes.py``) receive during the whole test run,
and fails the run on any outside the adapter's allow-list (see :mod:`tests.plugins.request_guard`).
"""

from __future__ import annotations

import pytest

from tests.plugins.request_guard import RequestGuard

GUARD = RequestGuard("gcp")
RECORD = GUARD.records
"""(HTTP method, path) of every request the gcp fakes received during the run."""
record = GUARD.record
offenders = GUARD.offenders


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    GUARD.finish(session)
