"""DataFrames of an audit: severity is ordered, and a missing notebook extra says what to install.

The missing-extra cases run in a subprocess that blocks the third-party import
(``sys.modules["pandas"] = None``) before anything imports it; our own code runs unchanged.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from residency_audit.demo import demo_estate
from residency_audit.frames import SEVERITY_ORDER, MissingExtraError, audit_frame, require_notebook
from residency_audit.pipeline import Audit, audit

TODAY = dt.date(2026, 11, 24)


@pytest.fixture(scope="module")
def demo() -> Audit:
    return audit(demo_estate(), today=TODAY)


def test_severity_is_an_ordered_categorical(demo: Audit) -> None:
    frame = demo.to_frame("findings")
    assert isinstance(frame.severity.dtype, pd.CategoricalDtype)
    assert frame.severity.cat.ordered
    assert list(frame.severity.cat.categories) == ["info", "low", "medium", "high", "critical"]
    assert list(SEVERITY_ORDER) == ["info", "low", "medium", "high", "critical"]
    ranks = {s: i for i, s in enumerate(SEVERITY_ORDER)}
    ascending = list(frame.sort_values("severity").severity)
    assert ascending == sorted(ascending, key=ranks.__getitem__)
    assert ascending[0] == "info" and ascending[-1] == "critical"
    assert set(frame.loc[frame.severity >= "high", "severity"]) <= {"high", "critical"}
    assert frame.severity.max() == "critical"


def test_the_findings_frame_keeps_the_report_order_and_columns(demo: Audit) -> None:
    frame = demo.to_frame("findings")
    assert list(frame["id"]) == [f.id for f in demo.findings]
    assert {"rule", "node", "laws", "holders", "title", "path", "path_evidence"} <= set(frame.columns)
    reach = frame.loc[frame.path != ""].iloc[0]
    assert reach.path.startswith("law:") and " → " in reach.path


def test_each_frame_builds_and_unknown_names_are_refused(demo: Audit) -> None:
    assert len(audit_frame(demo, "placements")) >= len(audit_frame(demo, "resources")) > 0
    empty = audit_frame(audit(demo_estate().__class__(), today=TODAY), "findings")
    assert list(empty.columns) == list(demo.to_frame().columns)
    with pytest.raises(ValueError, match="findings, placements, resources"):
        audit_frame(demo, "nodes")


def test_missing_extra_error_is_an_import_error_with_one_line() -> None:
    error = MissingExtraError("pandas", "DataFrames")
    assert isinstance(error, ImportError) and error.name == "pandas"
    assert str(error) == ("DataFrames need pandas, which is not installed: "
                          "pip install 'residency-audit[notebook]'")
    assert require_notebook("json", "x").__name__ == "json"


BLOCKED = """\
import sys
sys.modules["pandas"] = None
sys.modules["matplotlib"] = None
import datetime as dt
import residency_audit as ra
from residency_audit.cli import main
from residency_audit.frames import MissingExtraError
a = ra.audit(ra.demo_estate(), today=dt.date(2026, 11, 24))
for call in (lambda: a.to_frame("findings"), a.plot, a.plot_countries):
    try:
        call()
    except MissingExtraError as e:
        print(type(e).__name__, isinstance(e, ImportError), e.name)
        print(e)
code = main(["demo", "--today", "2026-11-24", "--format", "json", "-o", sys.argv[1]])
print("cli", code, "pandas" in sys.modules and sys.modules["pandas"] is not None)
"""


def test_a_missing_notebook_extra_is_named_and_the_cli_needs_neither(tmp_path: Path) -> None:
    out = tmp_path / "demo.json"
    done = subprocess.run([sys.executable, "-c", BLOCKED, str(out)], capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    hint = "which is not installed: pip install 'residency-audit[notebook]'"
    assert done.stdout.splitlines() == [
        "MissingExtraError True pandas", f"DataFrames need pandas, {hint}",
        "MissingExtraError True matplotlib", f"Plots need matplotlib, {hint}",
        "MissingExtraError True matplotlib", f"Plots need matplotlib, {hint}",
        "cli 0 False",
    ]
    assert "Traceback" not in done.stderr
    assert '"findings"' in out.read_text(encoding="utf-8")
