"""pandas DataFrames of an audit (extra ``[notebook]``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from residency_audit.pipeline import Audit

__all__ = ["audit_frame"]


def audit_frame(a: Audit, what: str = "findings") -> Any:
    """``findings``, ``resources`` or ``placements`` of ``a`` as a sorted DataFrame."""
    import pandas as pd

    from residency_audit.report.json_report import report_dict

    r = report_dict(a)
    if what == "findings":
        rows = [{k: (", ".join(v) if isinstance(v, list) and k != "path" else v) for k, v in f.items()
                 if k != "path"} for f in r["findings"]]
    elif what == "resources":
        rows = [{"node": h["node"], "label": h["label"], "kind": h["kind"], "provider": h["provider"],
                 "service": h["service"], "operators": ", ".join(h["operators"]),
                 "reached_by": ", ".join(h["reached_by"]), "seen": h["seen"]} for h in r["holders"]]
    elif what == "placements":
        rows = [{"node": h["node"], "location": p["location"], "role": p["role"],
                 "countries": ", ".join(p["countries"]), "known": p["known"]}
                for h in r["holders"] for p in h["placements"]]
    else:
        raise ValueError("what is one of: findings, resources, placements")
    return pd.DataFrame(rows)
