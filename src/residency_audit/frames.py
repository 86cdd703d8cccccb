"""pandas DataFrames of an audit (extra ``[notebook]``).

The CLI and the reports never need pandas; only :func:`audit_frame` (``Audit.to_frame``) and
the plots do. Without the extra installed they raise :class:`MissingExtraError`, an
``ImportError`` whose one-line message names the extra to install.

In the ``findings`` frame ``severity`` is an ordered categorical (info < low < medium < high <
critical), so that sorting, ``max()`` and comparisons follow severity, not the alphabet.
"""

from __future__ import annotations

from importlib import import_module
from types import ModuleType
from typing import TYPE_CHECKING, Any

from residency_audit.model import Severity

if TYPE_CHECKING:
    from residency_audit.pipeline import Audit
    from residency_audit.view import AuditView

__all__ = ["FRAMES", "SEVERITY_ORDER", "MissingExtraError", "audit_frame", "require_notebook"]

SEVERITY_ORDER: tuple[str, ...] = tuple(
    str(s) for s in sorted(Severity, key=lambda s: s.rank))
"""Severities from least to most severe: the categories of the ``severity`` column."""

FRAMES: tuple[str, ...] = ("findings", "placements", "resources")
"""What :func:`audit_frame` can build."""


class MissingExtraError(ImportError):
    """A feature needs an optional dependency that is not installed; says which extra has it.

    >>> str(MissingExtraError("pandas", "DataFrames"))
    "DataFrames need pandas, which is not installed: pip install 'residency-audit[notebook]'"
    """

    def __init__(self, module: str, feature: str, extra: str = "notebook") -> None:
        self.module = module
        self.feature = feature
        self.extra = extra
        super().__init__(
            f"{feature} need {module}, which is not installed: "
            f"pip install 'residency-audit[{extra}]'", name=module)


def require_notebook(module: str, feature: str) -> ModuleType:
    """Import ``module`` (pandas, matplotlib, …) or raise :class:`MissingExtraError`.

    >>> require_notebook("json", "Examples").__name__
    'json'
    """
    try:
        return import_module(module)
    except ImportError as e:
        top = module.partition(".")[0]
        if e.name is not None and e.name.partition(".")[0] != top:
            raise  # the module is there but one of its own imports failed: show that
        raise MissingExtraError(top, feature) from e


def _finding_rows(v: AuditView) -> list[dict[str, Any]]:
    return [{"id": f.id, "rule": f.rule, "severity": str(f.severity), "node": f.node,
             "label": f.label, "title": f.title, "message": f.message, "remedy": f.remedy,
             "data": ", ".join(f.data), "laws": ", ".join(f.laws), "route": f.route,
             "holders": ", ".join(f.holders), "locations": ", ".join(f.locations),
             "countries": ", ".join(f.countries), "path": " → ".join(s.node for s in f.path),
             "path_evidence": " | ".join(f.path_evidence),
             "mitigations": ", ".join(f.mitigations), "exception": f.exception or None}
            for f in v.findings]


def _resource_rows(v: AuditView) -> list[dict[str, Any]]:
    return [{"node": h.node, "label": h.label, "kind": h.kind, "provider": h.provider,
             "service": h.service, "operators": ", ".join(h.operators),
             "reached_by": ", ".join(h.reached_by), "seen": h.seen} for h in v.holders]


def _placement_rows(v: AuditView) -> list[dict[str, Any]]:
    return [{"node": h.node, "location": p.location, "role": p.role,
             "countries": ", ".join(p.countries), "known": p.known}
            for h in v.holders for p in h.placements]


_COLUMNS = {
    "findings": ("id", "rule", "severity", "node", "label", "title", "message", "remedy", "data",
                 "laws", "route", "holders", "locations", "countries", "path", "path_evidence",
                 "mitigations", "exception"),
    "resources": ("node", "label", "kind", "provider", "service", "operators", "reached_by",
                  "seen"),
    "placements": ("node", "location", "role", "countries", "known"),
}


def audit_frame(a: Audit, what: str = "findings") -> Any:
    """``findings``, ``resources`` or ``placements`` of ``a`` as a DataFrame, in report order.

    Findings come most severe first; ``severity`` is an ordered categorical, so
    ``frame.sort_values("severity")`` puts info before low and ``frame.severity >= "high"``
    selects high and critical. Lists are joined into text: ``path`` is the witness path's node
    ids joined by ``→``, ``path_evidence`` the evidence of its links joined by ``|``, the others
    (``laws``, ``holders``, …) by commas. Needs pandas (extra ``[notebook]``).

    >>> import datetime as dt, residency_audit as ra
    >>> frame = audit_frame(ra.audit(ra.demo_estate(), today=dt.date(2026, 11, 24)))
    >>> list(frame.severity.cat.categories)
    ['info', 'low', 'medium', 'high', 'critical']
    >>> frame.sort_values("severity").severity.iloc[0]
    'info'
    """
    if what not in FRAMES:
        raise ValueError(f"what is one of: {', '.join(FRAMES)}; got {what!r}")
    pd = require_notebook("pandas", "DataFrames")
    from residency_audit.view import build_view

    v = build_view(a)
    rows = {"findings": _finding_rows, "resources": _resource_rows,
            "placements": _placement_rows}[what](v)
    frame = pd.DataFrame(rows, columns=list(_COLUMNS[what]))
    if what == "findings":
        frame["severity"] = pd.Categorical(frame["severity"], categories=list(SEVERITY_ORDER),
                                           ordered=True)
    return frame
