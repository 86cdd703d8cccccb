"""Reports of an audit: JSON (versioned schema), Markdown, HTML, CSV, SARIF, JUnit XML and OCSF
(Compliance Findings), byte-identical for the same estate.

Each writer is a pure function ``render_<format>(audit) -> str``; :func:`render` picks one by name.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module

from residency_audit.pipeline import Audit

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


def _lazy(module: str, function: str) -> Callable[[Audit], str]:
    def write(a: Audit) -> str:
        writer: Callable[[Audit], str] = getattr(
            import_module(f"residency_audit.report.{module}"), function)
        return writer(a)

    write.__name__ = function
    return write


FORMATS: dict[str, Callable[[Audit], str]] = {
    name: _lazy(module, function) for name, (module, function) in _WRITERS.items()}


def render(audit: Audit, fmt: str) -> str:
    """The report of ``audit`` in format ``fmt`` (one of :data:`FORMATS`)."""
    writer = FORMATS.get(fmt)
    if writer is None:
        raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(sorted(FORMATS))}")
    return writer(audit)
