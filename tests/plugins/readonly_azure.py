"""Records every azure operation called during the whole test run; fails the run on any outside the allow-list.

The loopback fake of Azure Resource Manager (``tests/providers/azure/fake_arm.py``) calls
:func:`record` for every request it receives, whichever test started it. Each request is mapped
to an operation through the adapter's declared routes
(``residency_audit.providers.azure.operations.ROUTES``); a request that maps to none (a write, a
key listing, an unknown path) fails the run at the end, with the offenders printed.
"""

from __future__ import annotations

import threading

import pytest

RECORD: list[tuple[str, str]] = []
"""(HTTP method, path) of every request the Azure fake received during the run."""

_LOCK = threading.Lock()


def record(method: str, path: str) -> None:
    """Note one request the fake received (thread-safe)."""
    with _LOCK:
        RECORD.append((method.upper(), path.split("?", 1)[0]))


def offenders(records: list[tuple[str, str]]) -> list[str]:
    """The requests in ``records`` that are not allow-listed read operations, sorted, unique."""
    from residency_audit.providers.azure.operations import OPERATIONS, operation_for_request

    allowed = {op.operation for op in OPERATIONS}
    bad: set[str] = set()
    for method, path in records:
        op = operation_for_request(method, path)
        if op is None or op not in allowed:
            bad.add(f"{method} {path} -> {op or 'no allow-listed operation'}")
    return sorted(bad)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    with _LOCK:
        records = list(RECORD)
    if not records:
        return
    bad = offenders(records)
    if bad:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        lines = ["azure read-only guard: calls outside the allow-list:", *(f"  {b}" for b in bad)]
        if reporter is not None:
            reporter.write_line("\n".join(lines), red=True)
        else:
            print("\n".join(lines))
        session.exitstatus = 1
