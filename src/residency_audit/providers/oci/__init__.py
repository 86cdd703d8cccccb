"""Oracle Cloud adapter: tenancy, regions, compartments, and where every copy of the data is.

Nothing here imports the ``oci`` SDK until :func:`scan_oci` is called (``import
residency_audit`` stays light). Install with the ``[oci]`` extra.

>>> import residency_audit.providers.oci as oci_adapter
>>> callable(oci_adapter.scan_oci)
True
"""

from __future__ import annotations

from typing import Any

__all__ = ["scan_oci"]


def __getattr__(name: str) -> Any:
    if name == "scan_oci":
        from residency_audit.providers.oci.scanner import scan_oci

        return scan_oci
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
