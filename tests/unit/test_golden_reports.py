"""The JSON and Markdown reports keep their bytes: the demo and a small synthetic estate.

The golden files under ``tests/data/golden/`` were written by ``bench/golden.py`` before the
audit and the report writers were made faster; a change that alters a report on purpose
regenerates them with that script (and says why in its commit).
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from residency_audit.cli import main

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden"
TODAY = "2026-11-24"
CASES = [(estate, policy, fmt)
         for estate in ("demo", "synthetic")
         for policy in ("swedish-public-sector", "esam")
         for fmt in ("json", "md")]


@pytest.mark.parametrize(("estate", "policy", "fmt"), CASES)
def test_report_bytes_match_golden(tmp_path: Path, estate: str, policy: str, fmt: str) -> None:
    out = tmp_path / f"report.{fmt}"
    source = ["demo"] if estate == "demo" else ["audit", "--estate", str(GOLDEN / "synthetic-estate.json")]
    code = main(["-q", *source, "--policy", policy, "--format", fmt, "-o", str(out), "--today", TODAY,
                 "--fail-on", "none"], stdout=io.StringIO())
    assert code == 0
    expected = (GOLDEN / f"{estate}-{policy}.{fmt}").read_bytes()
    assert out.read_bytes() == expected


@pytest.mark.parametrize("fmt", ["json", "md"])
def test_standard_output_matches_golden(fmt: str) -> None:
    buf = io.StringIO()
    code = main(["-q", "demo", "--format", fmt, "--today", TODAY, "--fail-on", "none"], stdout=buf)
    assert code == 0
    expected = (GOLDEN / f"demo-swedish-public-sector.{fmt}").read_bytes()
    assert buf.getvalue().encode("utf-8") == expected
