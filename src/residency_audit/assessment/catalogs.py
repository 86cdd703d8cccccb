"""Write the message catalogs: ``python -m residency_audit.assessment.catalogs SRC.po…`` compiles
each ``.po`` source to the ``.mo`` beside it (a test checks that the checked-in files are current)."""

from __future__ import annotations

import sys
from pathlib import Path

from residency_audit.assessment.i18n import compile_po


def main(argv: list[str]) -> int:
    for name in argv:
        po = Path(name)
        po.with_suffix(".mo").write_bytes(compile_po(po.read_text(encoding="utf-8")))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
