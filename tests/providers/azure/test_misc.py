"""Lazy SDK imports, progress reports, and an estate that survives its JSON file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from residency_audit.estate_io import read_estate, write_estate


def test_importing_the_adapter_and_its_cli_imports_no_sdk() -> None:
    code = ("import sys, residency_audit, residency_audit.providers.azure, residency_audit.providers.azure.cli, "
            "residency_audit.providers.azure.operations; "
            "print(sorted(m for m in sys.modules if m == 'azure' or m.startswith('azure.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_progress_is_reported(scan: Any) -> None:
    seen: list[tuple[str, int, int]] = []
    scan(progress=lambda label, done, total: seen.append((label, done, total)))
    labels = {label for label, _, _ in seen}
    assert {"azure: subscriptions", "azure: resource graph", "azure: sql details"} <= labels


def test_estate_round_trips_through_json(scan_once: Any, tmp_path: Path) -> None:
    path = tmp_path / "estate.json"
    write_estate(scan_once, path)
    again = read_estate(path)
    assert again.resources == scan_once.resources
    assert again.gaps == scan_once.gaps
