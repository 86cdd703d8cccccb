"""Reports of an audit: JSON (versioned schema), Markdown, HTML, CSV, SARIF and JUnit XML,
byte-identical for the same estate.

Each writer is a pure function ``render_<format>(audit) -> str``; :func:`render` picks one by name.
"""

from __future__ import annotations

from collections.abc import Callable

from residency_audit.pipeline import Audit

__all__ = ["FORMATS", "render"]


def _json(a: Audit) -> str:
    from residency_audit.report.json_report import render_json

    return render_json(a)


def _markdown(a: Audit) -> str:
    from residency_audit.report.markdown import render_markdown

    return render_markdown(a)


def _html(a: Audit) -> str:
    from residency_audit.report.html import render_html

    return render_html(a)


def _csv(a: Audit) -> str:
    from residency_audit.report.csv_report import render_csv

    return render_csv(a)


def _csv_placements(a: Audit) -> str:
    from residency_audit.report.csv_report import render_csv_placements

    return render_csv_placements(a)


def _sarif(a: Audit) -> str:
    from residency_audit.report.sarif import render_sarif

    return render_sarif(a)


def _junit(a: Audit) -> str:
    from residency_audit.report.junit import render_junit

    return render_junit(a)


FORMATS: dict[str, Callable[[Audit], str]] = {
    "json": _json, "md": _markdown, "html": _html, "csv": _csv, "csv-placements": _csv_placements,
    "sarif": _sarif, "junit": _junit,
}


def render(audit: Audit, fmt: str) -> str:
    """The report of ``audit`` in format ``fmt`` (one of :data:`FORMATS`)."""
    try:
        return FORMATS[fmt](audit)
    except KeyError:
        raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(sorted(FORMATS))}") from None
