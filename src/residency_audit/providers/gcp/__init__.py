"""Google Cloud adapter: the Resource Manager hierarchy, Cloud Storage and Cloud Asset search.

Nothing here imports a Google SDK until :func:`scan_gcp` is called (``import residency_audit``
stays light). Install with the ``[gcp]`` extra.

>>> import residency_audit.providers.gcp as gcp
>>> callable(gcp.scan_gcp)
True
"""

from __future__ import annotations

from typing import Any

__all__ = ["scan_gcp"]


def __getattr__(name: str) -> Any:
    if name == "scan_gcp":
        from residency_audit.providers.gcp.scanner import scan_gcp

        return scan_gcp
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
