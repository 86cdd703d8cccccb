"""A run-wide record of the requests our loopback fakes receive, checked against an allow-list.

The Azure and GCP fakes call ``record`` for every request they receive, whichever test started
it. At the end of the run each request is mapped to an operation through the adapter's declared
routes (``operation_for_request`` in ``residency_audit.providers.<p>.operations``); a request that
maps to none (a write, an unknown path) or to an operation outside ``OPERATIONS`` fails the run,
with the offenders printed.
"""

from __future__ import annotations

import importlib
import threading

import pytest


class RequestGuard:
    """The record and the check for one provider's fakes."""

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.records: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def record(self, method: str, path: str) -> None:
        """Note one request a fake received (thread-safe)."""
        with self._lock:
            self.records.append((method.upper(), path.split("?", 1)[0]))

    def offenders(self, records: list[tuple[str, str]]) -> list[str]:
        """The requests in ``records`` that are not allow-listed read operations, sorted, unique."""
        ops = importlib.import_module(f"residency_audit.providers.{self.provider}.operations")
        allowed = {op.operation for op in ops.OPERATIONS}
        bad: set[str] = set()
        for method, path in records:
            op = ops.operation_for_request(method, path)
            if op is None or op not in allowed:
                bad.add(f"{method} {path} -> {op or 'no allow-listed operation'}")
        return sorted(bad)

    def finish(self, session: pytest.Session) -> None:
        """Fail the run if any recorded request was outside the allow-list."""
        with self._lock:
            records = list(self.records)
        if not records:
            return
        bad = self.offenders(records)
        if not bad:
            return
        lines = [f"{self.provider} read-only guard: calls outside the allow-list:",
                 *(f"  {b}" for b in bad)]
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line("\n".join(lines), red=True)
        else:
            print("\n".join(lines))
        session.exitstatus = 1
