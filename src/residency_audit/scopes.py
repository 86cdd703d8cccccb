"""What became of each scope a scan was asked to read: read, read in part, or not read.

A scope is an account, a subscription, a management group, a project, a folder, an
organisation or a compartment, written ``"<provider>:<id>"`` as in
:attr:`~residency_audit.model.ScanMetadata.scopes`. Gaps name their scope by id
(:attr:`~residency_audit.model.CoverageGap.scope`) and resources by
:attr:`~residency_audit.model.Resource.account`. The verdict is pure arithmetic over the estate:

* **not read**: a gap at :attr:`~residency_audit.model.GapLevel.SCOPE` level, or gaps and not a
  single resource (a scan in which every call was denied saw nothing: that is not a pass);
* **read in part**: resources were seen, and some calls or records were not;
* **read**: no gap.

>>> from residency_audit.model import CoverageGap, Estate, ScanMetadata
>>> e = Estate(gaps=(CoverageGap(provider="aws", scope="1", service="s3", operation="ListBuckets",
...                              error="AccessDenied"),),
...            metadata=ScanMetadata(scopes=("aws:1", "aws:2")))
>>> [(s.scope, str(s.status)) for s in scope_statuses(e)]
[('aws:1', 'not read'), ('aws:2', 'read')]
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from enum import StrEnum

from residency_audit.model import CoverageGap, Estate, GapLevel

__all__ = ["ScopeState", "ScopeStatus", "scope_statuses"]


class ScopeState(StrEnum):
    """The three ends a requested scope can come to."""

    READ = "read"
    PARTIAL = "read in part"
    NOT_READ = "not read"


@dataclass(frozen=True, slots=True, kw_only=True)
class ScopeStatus:
    """One scope, what was seen in it and what was not."""

    scope: str
    provider: str
    status: ScopeState
    resources: int
    gaps: tuple[CoverageGap, ...]

    @property
    def reasons(self) -> tuple[str, ...]:
        """The distinct errors and server reasons of the scope's gaps, sorted."""
        return tuple(sorted({f"{g.service} {g.operation}: {g.error}" + (f" ({g.message})" if g.message else "")
                             for g in self.gaps}))


def _split(scope: str) -> tuple[str, str] | None:
    provider, sep, rest = scope.partition(":")
    return (provider, rest) if sep and provider and rest else None


def scope_statuses(estate: Estate) -> list[ScopeStatus]:
    """Every scope of the estate (declared in its metadata, or named by a gap), sorted.

    A scope-level gap that names a region (a region denied or never answering) makes that
    region a scope of its own, ``"<provider>:<id>/<region>"``, not read; its account is then
    read in part.
    """
    providers = {r.provider for r in estate.resources} | {g.provider for g in estate.gaps}
    seen: Counter[tuple[str, str]] = Counter((r.provider, r.account.casefold()) for r in estate.resources)
    names: dict[tuple[str, str], str] = {}
    gaps: defaultdict[tuple[str, str], list[CoverageGap]] = defaultdict(list)
    regional: defaultdict[tuple[str, str, str], list[CoverageGap]] = defaultdict(list)
    for s in estate.metadata.scopes:
        parts = _split(s)
        if parts is not None and (parts[0] in providers or parts[0] in estate.metadata.sources):
            names.setdefault((parts[0], parts[1].casefold()), parts[1])
    for g in estate.gaps:
        if not g.scope:
            continue
        key = (g.provider, g.scope.casefold())
        names.setdefault(key, g.scope)
        gaps[key].append(g)
        if g.level is GapLevel.SCOPE and g.region:
            regional[(g.provider, g.scope.casefold(), g.region)].append(g)
    out = []
    for key in sorted(names):
        provider = key[0]
        own = tuple(sorted(gaps.get(key, ()), key=lambda g: g.key))
        count = seen.get(key, 0)
        whole = any(g.level is GapLevel.SCOPE and not g.region for g in own)
        if whole or (own and count == 0):
            status = ScopeState.NOT_READ
        elif own:
            status = ScopeState.PARTIAL
        else:
            status = ScopeState.READ
        out.append(ScopeStatus(scope=f"{provider}:{names[key]}", provider=provider, status=status,
                               resources=count, gaps=own))
        for (p, f, region), lost in sorted(regional.items()):
            if (p, f) == key:
                out.append(ScopeStatus(scope=f"{provider}:{names[key]}/{region}", provider=provider,
                                       status=ScopeState.NOT_READ, resources=0,
                                       gaps=tuple(sorted(lost, key=lambda g: g.key))))
    return out
