"""Write the golden reports that ``tests/unit/test_golden_reports.py`` compares against.

Run ``python bench/golden.py`` from the checkout only when a report's content changes on
purpose: the golden files pin the bytes of the JSON and Markdown reports of the demo estate and
of a small synthetic estate, so that a change made for speed cannot change what is reported.
"""

from __future__ import annotations

import datetime as dt
import io
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
GOLDEN = HERE.parent / "tests" / "data" / "golden"
TODAY = dt.date(2026, 11, 24)
SYNTHETIC_SIZE = 300
SYNTHETIC_SEED = 7
CASES = (("demo", "swedish-public-sector"), ("demo", "esam"),
         ("synthetic", "swedish-public-sector"), ("synthetic", "esam"))
FORMATS = (("json", "json"), ("md", "md"), ("html", "html"), ("csv", "csv"), ("sarif", "sarif"), ("junit", "xml"))


def golden_name(estate: str, policy: str, ext: str) -> str:
    """The golden file of one estate, policy and format."""
    return f"{estate}-{policy}.{ext}"


def write_synthetic_estate() -> Path:
    """The synthetic estate as an estate file (the tests read it, never regenerate it)."""
    sys.path.insert(0, str(HERE))
    from synthetic import synthetic_estate

    from residency_audit.estate_io import write_estate

    path = GOLDEN / "synthetic-estate.json"
    if path.exists():
        path.unlink()
    write_estate(synthetic_estate(SYNTHETIC_SIZE, seed=SYNTHETIC_SEED), path)
    return path


def main() -> int:
    import os

    from residency_audit.cli import main as cli

    os.chdir(HERE.parent)  # the estate is named relative to the checkout
    GOLDEN.mkdir(parents=True, exist_ok=True)
    estate = write_synthetic_estate()
    for name, policy in CASES:
        for fmt, ext in FORMATS:
            out = GOLDEN / golden_name(name, policy, ext)
            if out.exists():
                out.unlink()
            # The estate named relative to the checkout (SARIF keeps the path as given).
            source = ["demo"] if name == "demo" else ["audit", "--estate",
                                                      estate.relative_to(HERE.parent).as_posix()]
            code = cli(["-q", *source, "--policy", policy, "--format", fmt, "-o", str(out),
                        "--today", TODAY.isoformat(), "--fail-on", "none"], stdout=io.StringIO())
            if code != 0:
                print(f"{out.name}: exit {code}", file=sys.stderr)
                return 1
            print(f"{out.name}: {out.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
