"""Every report format keeps its bytes (JSON, Markdown, HTML, CSV, SARIF, JUnit): the demo and a
small synthetic estate.

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
FORMATS = {"json": "json", "md": "md", "html": "html", "csv": "csv", "sarif": "sarif", "junit": "xml"}
CASES = [(estate, policy, fmt)
         for estate in ("demo", "synthetic")
         for policy in ("swedish-public-sector", "esam")
         for fmt in FORMATS]
CHECKOUT = GOLDEN.parents[2]


@pytest.mark.parametrize(("estate", "policy", "fmt"), CASES)
def test_report_bytes_match_golden(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, estate: str, policy: str,
                                   fmt: str) -> None:
    # From the checkout, with the estate named relative to it, as the golden files were written
    # (SARIF keeps the estate's path as given).
    monkeypatch.chdir(CHECKOUT)
    out = tmp_path / f"report.{FORMATS[fmt]}"
    estate_file = (GOLDEN / "synthetic-estate.json").relative_to(CHECKOUT).as_posix()
    source = ["demo"] if estate == "demo" else ["audit", "--estate", estate_file]
    code = main(["-q", *source, "--policy", policy, "--format", fmt, "-o", str(out), "--today", TODAY,
                 "--fail-on", "none"], stdout=io.StringIO())
    assert code == 0
    expected = (GOLDEN / f"{estate}-{policy}.{FORMATS[fmt]}").read_bytes()
    assert out.read_bytes() == expected


@pytest.mark.parametrize("fmt", ["json", "md"])
def test_standard_output_matches_golden(fmt: str) -> None:
    buf = io.StringIO()
    code = main(["-q", "demo", "--format", fmt, "--today", TODAY, "--fail-on", "none"], stdout=buf)
    assert code == 0
    expected = (GOLDEN / f"demo-swedish-public-sector.{fmt}").read_bytes()
    assert buf.getvalue().encode("utf-8") == expected
