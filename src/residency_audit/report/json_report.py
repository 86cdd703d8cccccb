"""The JSON report: a versioned, documented schema (``report-schema.json`` beside this file).

The content is the audit's typed view (:mod:`residency_audit.view`) in its JSON form. Everything
is sorted and no clock is read: the same estate, catalog, policy and evaluation date give the
same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib import resources
from typing import Any

from residency_audit.pipeline import Audit
from residency_audit.textsafe import json_safe
from residency_audit.view import REPORT_SCHEMA_VERSION, AuditView, build_view, view_dict

__all__ = ["REPORT_SCHEMA_VERSION", "as_view", "json_chunks", "render_json", "report_dict", "report_schema"]

_CHUNK_CHARS = 1 << 20


def report_schema() -> dict[str, Any]:
    """The JSON Schema of the report."""
    text = resources.files("residency_audit.report").joinpath("report-schema.json").read_text(
        encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def as_view(a: Audit | AuditView) -> AuditView:
    """``a`` itself when it is a view; else its view, built now (build it once and pass it on
    when several writers read the same audit)."""
    return a if isinstance(a, AuditView) else build_view(a)


def report_dict(a: Audit | AuditView) -> dict[str, Any]:
    """The report as a JSON-ready dict (:func:`~residency_audit.view.view_dict` of the view)."""
    return view_dict(as_view(a))


def render_json(a: Audit | AuditView) -> str:
    """The report as sorted, indented JSON text ending in a newline."""
    return json_safe(json.dumps(report_dict(a), indent=2, sort_keys=True, ensure_ascii=False)) + "\n"


def json_chunks(a: Audit | AuditView) -> Iterator[str]:
    """The text of :func:`render_json` in pieces of about a mebibyte, made as they are written
    (the same characters in the same order; a report is never held whole)."""
    encoder = json.JSONEncoder(indent=2, sort_keys=True, ensure_ascii=False)
    parts: list[str] = []
    size = 0
    for part in encoder.iterencode(report_dict(a)):
        parts.append(part)
        size += len(part)
        if size >= _CHUNK_CHARS:
            yield json_safe("".join(parts))
            parts, size = [], 0
    parts.append("\n")
    yield json_safe("".join(parts))
