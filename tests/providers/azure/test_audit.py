"""From a scan of the fake tenant to findings: the Netherlands/Ireland case is caught, gaps are reported."""

from __future__ import annotations

import datetime as dt
from typing import Any

from residency_audit.pipeline import audit


def test_sweden_only_policy_on_a_scanned_tenant(scan_once: Any) -> None:
    result = audit(scan_once, policy="sweden-only", today=dt.date(2026, 11, 24))
    by_node: dict[str, list[Any]] = {}
    for f in result.findings:
        for h in f.all_holders or (f.node,):
            by_node.setdefault(h, []).append(f)
    journal = [f for f in by_node.get("resource:azure:" + next(
        r.id for r in scan_once.resources if r.name == "journalnl"), []) if f.rule == "sweden-only"]
    assert journal, sorted(by_node)
    assert {"NL", "IE"} <= set(journal[0].countries)
    grs = next(r.id for r in scan_once.resources if r.name == "grsacct")
    assert not [f for f in by_node.get(f"resource:azure:{grs}", []) if f.rule == "sweden-only"]
    coverage = [f for f in result.findings if f.rule == "coverage"]
    assert any("marscentral" in f.message or "marsacct" in f.node for f in coverage)
