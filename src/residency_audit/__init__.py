"""residency-audit: where an organisation's cloud data lives, and which foreign laws reach it.

The pipeline is ``scan → graph → audit → findings``; each stage is a plain function:

>>> import datetime as dt
>>> import residency_audit as ra
>>> result = ra.audit(ra.demo_estate(), policy="esam", today=dt.date(2026, 11, 24))
>>> result.failed("high")
True

Provider SDKs are imported only when a scan needs them.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "AgreedLocations",
    "Audit",
    "Catalog",
    "CoverageGap",
    "DataCategory",
    "Entity",
    "Estate",
    "Evidence",
    "Finding",
    "GapLevel",
    "InputError",
    "Link",
    "LinkRelation",
    "Mitigation",
    "Placement",
    "Policy",
    "Resource",
    "Role",
    "ScanMetadata",
    "Severity",
    "Subprocessor",
    "__version__",
    "audit",
    "build_graph",
    "default_catalog",
    "demo_estate",
    "exposure",
    "load_catalog",
    "load_inventory",
    "load_policy",
    "read_estate",
    "write_estate",
]

_LAZY = {
    "Audit": ("residency_audit.pipeline", "Audit"),
    "audit": ("residency_audit.pipeline", "audit"),
    "Catalog": ("residency_audit.catalog", "Catalog"),
    "default_catalog": ("residency_audit.catalog", "default_catalog"),
    "load_catalog": ("residency_audit.catalog", "load_catalog"),
    "InputError": ("residency_audit.errors", "InputError"),
    "build_graph": ("residency_audit.graph", "build"),
    "exposure": ("residency_audit.jurisdiction", "exposure"),
    "Policy": ("residency_audit.policy", "Policy"),
    "load_policy": ("residency_audit.policy", "load_policy"),
    "load_inventory": ("residency_audit.providers.inventory", "load_inventory"),
    "demo_estate": ("residency_audit.demo", "demo_estate"),
    "read_estate": ("residency_audit.estate_io", "read_estate"),
    "write_estate": ("residency_audit.estate_io", "write_estate"),
}
_MODEL = {"AgreedLocations", "CoverageGap", "DataCategory", "Entity", "Estate", "Evidence", "Finding",
          "GapLevel", "Link", "LinkRelation", "Mitigation", "Placement", "Resource", "Role", "ScanMetadata",
          "Severity", "Subprocessor"}

if TYPE_CHECKING:
    from residency_audit.catalog import Catalog, default_catalog, load_catalog
    from residency_audit.demo import demo_estate
    from residency_audit.errors import InputError
    from residency_audit.estate_io import read_estate, write_estate
    from residency_audit.graph import build as build_graph
    from residency_audit.jurisdiction import exposure
    from residency_audit.model import (
        AgreedLocations,
        CoverageGap,
        DataCategory,
        Entity,
        Estate,
        Evidence,
        Finding,
        GapLevel,
        Link,
        LinkRelation,
        Mitigation,
        Placement,
        Resource,
        Role,
        ScanMetadata,
        Severity,
        Subprocessor,
    )
    from residency_audit.pipeline import Audit, audit
    from residency_audit.policy import Policy, load_policy
    from residency_audit.providers.inventory import load_inventory


def __getattr__(name: str) -> Any:
    if name in _MODEL:
        return getattr(import_module("residency_audit.model"), name)
    if name in _LAZY:
        module, attr = _LAZY[name]
        return getattr(import_module(module), attr)
    raise AttributeError(f"module 'residency_audit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
