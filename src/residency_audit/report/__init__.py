"""Reports of an audit: JSON (versioned schema), Markdown, HTML, CSV, SARIF, JUnit XML and OCSF
(Compliance Findings), byte-identical for the same estate.

Each writer is a pure function ``render_<format>(audit_or_view) -> str`` that reads the audit's
typed view (:class:`~residency_audit.view.AuditView`; given an :class:`~residency_audit.pipeline.Audit`
it builds the view first). :func:`render` picks one by name; build the view once
(:func:`~residency_audit.view.build_view`) and pass it when writing several formats.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from importlib import import_module
from typing import TYPE_CHECKING

from residency_audit.pipeline import Audit
from residency_audit.view import AuditView

if TYPE_CHECKING:
    from residency_audit.report.sarif import EstateText

__all__ = ["FORMATS", "render"]


_WRITERS = {
    "json": ("json_report", "render_json"),
    "md": ("markdown", "render_markdown"),
    "html": ("html", "render_html"),
    "csv": ("csv_report", "render_csv"),
    "csv-placements": ("csv_report", "render_csv_placements"),
    "sarif": ("sarif", "render_sarif"),
    "junit": ("junit", "render_junit"),
    "ocsf": ("ocsf", "render_ocsf"),
}
"""Format name → (module in this package, writer function); imported only when used."""


def _lazy(module: str, function: str) -> Callable[[Audit | AuditView], str]:
    def write(a: Audit | AuditView) -> str:
        writer: Callable[[Audit | AuditView], str] = getattr(
            import_module(f"residency_audit.report.{module}"), function)
        return writer(a)

    write.__name__ = function
    return write


FORMATS: dict[str, Callable[[Audit | AuditView], str]] = {
    name: _lazy(module, function) for name, (module, function) in _WRITERS.items()}


def render(audit: Audit | AuditView, fmt: str, *, fail_on: str | None = None,
           estates: Sequence[EstateText] = (), lang: str = "en") -> str:
    """The report of ``audit`` (or its view) in format ``fmt`` (one of :data:`FORMATS`).

    ``fail_on`` (a severity or ``"none"``) is the JUnit failure threshold (the CLI's
    ``--fail-on``; default: every active finding fails); ``estates`` are the estate files the
    audit read, for SARIF's physical locations of what an API showed; ``lang`` (``en`` or ``sv``)
    is the language of the Markdown and HTML reports' own words (the other formats are data).
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(sorted(FORMATS))}")
    if fmt == "junit" and fail_on is not None:
        from residency_audit.report.junit import render_junit

        return render_junit(audit, fail_on=fail_on)
    if fmt == "sarif" and estates:
        from residency_audit.report.sarif import render_sarif

        return render_sarif(audit, estates=estates)
    if fmt in ("md", "html") and lang != "en":
        from residency_audit.report.html import render_html
        from residency_audit.report.markdown import render_markdown

        return (render_markdown if fmt == "md" else render_html)(audit, lang=lang)
    return FORMATS[fmt](audit)
