"""Facts drift: catalog rows past a review age, and regions the installed SDKs disagree on.

The ``residency-audit catalog check`` command is a thin wrapper over :func:`check_catalog`.
``fetch_sdk_regions`` reads the installed SDKs' own region tables (botocore's endpoint data, the
``oci`` SDK's region definitions); :func:`stale_facts` and :func:`region_drift` are pure.

>>> import datetime as dt
>>> from residency_audit.catalog import default_catalog
>>> items = stale_facts(default_catalog(), today=dt.date(2030, 1, 1), max_age_days=365)
>>> items[0].kind, len(items) > 100
('stale', True)
>>> region_drift(default_catalog(), {"aws": {"aws:xx-new-1": "aws"}})[0].subject
'aws:xx-new-1'
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from importlib import resources
from typing import Any, TextIO

from residency_audit.catalog import Catalog, CatalogSource

__all__ = ["CheckItem", "check_catalog", "fetch_sdk_regions", "region_drift", "stale_facts",
           "write_check"]


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckItem:
    """One thing to look at: ``stale`` (read too long ago), ``missing`` (an SDK region without a
    row), ``not-in-sdk`` (a row the installed SDK does not list) or ``not-checked`` (no SDK)."""

    kind: str
    subject: str
    where: str
    detail: str


def _sources(cat: Catalog) -> Iterable[tuple[str, CatalogSource]]:
    for r in cat.regions.values():
        yield r.key, r.source
    for group in (cat.entities, cat.laws):
        for key, item in group.items():
            yield str(key), item.source
    for code, c in cat.countries.items():
        yield f"country:{code}", c.source
    for subject, periods in cat.law_statuses.items():
        for p in periods:
            yield f"law_status:{subject}@{p.valid_from or '…'}", p.source
    for subject, periods in cat.adequacy.items():
        for p in periods:
            yield f"adequacy:{subject}@{p.valid_from or '…'}", p.source
    for entity, holdings in cat.holdings.items():
        for h in holdings:
            yield f"holding:{h.parent}->{entity}", h.source


def stale_facts(cat: Catalog, *, today: dt.date, max_age_days: int) -> list[CheckItem]:
    """Every row whose source was read more than ``max_age_days`` before ``today`` (or on a date
    that cannot be read), sorted by file and line."""
    out = []
    for subject, src in _sources(cat):
        try:
            read = dt.date.fromisoformat(src.retrieved)
        except ValueError:
            out.append(CheckItem(kind="stale", subject=subject, where=src.ref,
                                 detail=f"retrieved {src.retrieved!r} is not a date"))
            continue
        age = (today - read).days
        if age > max_age_days:
            out.append(CheckItem(kind="stale", subject=subject, where=src.ref,
                                 detail=f"read {read} ({age} days ago, more than {max_age_days}): "
                                 f"review {src.url}"))
    return sorted(out, key=lambda i: (i.where.rpartition(":")[0], int(i.where.rpartition(":")[2] or 0),
                                      i.subject))


def fetch_sdk_regions() -> dict[str, dict[str, str] | None]:
    """The region codes the installed SDKs know, as ``provider:code`` → partition or realm, by
    provider; None for a provider whose SDK is not installed."""
    out: dict[str, dict[str, str] | None] = {}
    try:
        text = resources.files("botocore").joinpath("data", "endpoints.json").read_text("utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        out["aws"] = None
    else:
        data: Any = json.loads(text)
        out["aws"] = {f"aws:{code}": str(p["partition"]) for p in data["partitions"]
                      for code in p["regions"]}
    try:
        from oci import regions_definitions
    except ImportError:
        out["oci"] = None
    else:
        out["oci"] = {f"oci:{code}": str(realm) for code, realm in regions_definitions.REGION_REALMS.items()}
    return out


def region_drift(cat: Catalog, sdk: Mapping[str, Mapping[str, str] | None]) -> list[CheckItem]:
    """Regions an SDK lists without a catalog row, rows of plain regions an SDK does not list,
    and providers that could not be checked."""
    out = []
    for provider in sorted(sdk):
        known = sdk[provider]
        if known is None:
            out.append(CheckItem(kind="not-checked", subject=provider, where="",
                                 detail=f"the {provider} SDK is not installed: its regions were not compared"))
            continue
        for key in sorted(known):
            if cat.region(key) is None:
                out.append(CheckItem(kind="missing", subject=key, where="",
                                     detail=f"listed by the installed SDK ({known[key]}) but not in the catalog: "
                                     "it reads as an unknown location"))
        listed = {k.lower() for k in known}
        for r in sorted(cat.regions.values(), key=lambda r: r.key):
            if r.provider == provider and not r.service and r.kind == "region" and r.key.lower() not in listed:
                out.append(CheckItem(kind="not-in-sdk", subject=r.key, where=r.source.ref,
                                     detail="not listed by the installed SDK: retired, renamed or newer than the SDK?"))
    return out


def check_catalog(cat: Catalog, *, today: dt.date, max_age_days: int,
                  sdk: Mapping[str, Mapping[str, str] | None] | None = None) -> list[CheckItem]:
    """Stale facts and region drift together (``sdk`` defaults to the installed SDKs')."""
    return [*region_drift(cat, fetch_sdk_regions() if sdk is None else sdk),
            *stale_facts(cat, today=today, max_age_days=max_age_days)]


def write_check(items: list[CheckItem], *, fmt: str, out: TextIO) -> None:
    """Write ``items`` as a table or JSON, deterministically."""
    if fmt == "json":
        from residency_audit.textsafe import json_safe

        out.write(json_safe(json.dumps([asdict(i) for i in items], indent=2, ensure_ascii=False,
                                       sort_keys=True)) + "\n")
        return
    if not items:
        out.write("The catalog agrees with the installed SDKs and no fact is past its review age.\n")
        return
    from residency_audit.display import print_table

    print_table(out, ["kind", "fact", "where", "detail"],
                [[i.kind, i.subject, i.where, i.detail] for i in items], width=160)
