"""Reports of an audit: JSON (versioned schema) and Markdown, byte-identical for the same estate.

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


FORMATS: dict[str, Callable[[Audit], str]] = {"json": _json, "md": _markdown}


def render(audit: Audit, fmt: str) -> str:
    """The report of ``audit`` in format ``fmt`` (one of :data:`FORMATS`)."""
    try:
        return FORMATS[fmt](audit)
    except KeyError:
        raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(sorted(FORMATS))}") from None
