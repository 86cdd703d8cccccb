from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import residency_audit

ROOT = Path(__file__).resolve().parents[2]


def test_exported_members_are_pinned() -> None:
    assert sorted(residency_audit.__all__) == sorted([
        "AgreedLocations", "Audit", "Catalog", "CoverageGap", "DataCategory", "Entity", "Estate",
        "Evidence", "Finding", "GapLevel", "InputError", "Link", "LinkRelation", "Mitigation",
        "Placement", "Policy", "Resource", "Role", "ScanMetadata", "Severity", "Subprocessor", "__version__", "audit", "build_graph",
        "default_catalog", "demo_estate", "exposure", "load_catalog", "load_inventory",
        "load_policy", "read_estate", "write_estate"])
    for name in residency_audit.__all__:
        assert getattr(residency_audit, name) is not None


def test_import_loads_no_provider_sdk() -> None:
    code = ("import sys, residency_audit as ra; ra.audit(ra.demo_estate()); "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore', 'azure', 'google')]; "
            "print(bad); sys.exit(1 if bad else 0)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_readme_notebook_example_runs(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## In a notebook\n\n```python\n(.*?)```", readme, re.S)
    assert block is not None
    code = "import matplotlib\nmatplotlib.use('Agg')\n" + block.group(1)
    assert len(block.group(1).strip().splitlines()) <= 12
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Global Messaging" in proc.stdout


def test_py_typed_marker_ships() -> None:
    assert (Path(residency_audit.__file__).parent / "py.typed").exists()
