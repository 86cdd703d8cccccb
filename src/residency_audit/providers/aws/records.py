"""Pure helpers that shape AWS answers into :mod:`residency_audit.model` records.

>>> arn_region("arn:aws:rds:eu-north-1:111122223333:db:patients")
'eu-north-1'
>>> arn_account("arn:aws:backup:eu-west-1:444455556666:backup-vault:dr")
'444455556666'
>>> placement("eu-north-1", Role.BACKUP, "ListBackupVaults BackupVaultList[].BackupVaultArn").location
'aws:eu-north-1'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from residency_audit.model import (
    Evidence,
    Link,
    LinkRelation,
    Placement,
    Resource,
    Role,
    freeze_tags,
)

__all__ = [
    "REFERENCED",
    "arn_account",
    "arn_region",
    "link",
    "merge_resources",
    "placement",
    "referenced",
    "tags_from_pairs",
]

REFERENCED = "referenced"
"""Value of the ``observed`` attribute on a resource known only because another one names it."""

PROVIDER = "aws"


def _arn_parts(arn: str) -> list[str]:
    parts = arn.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn":
        raise ValueError(f"not an ARN: {arn!r}")
    return parts


def arn_region(arn: str) -> str:
    """The region field of ``arn`` (empty for global resources such as S3 buckets)."""
    return _arn_parts(arn)[3]


def arn_account(arn: str) -> str:
    """The account field of ``arn`` (empty for S3 buckets)."""
    return _arn_parts(arn)[4]


def placement(region: str, role: Role, ref: str, detail: str = "") -> Placement:
    """A placement at ``aws:<region>`` whose evidence is the API field ``ref``."""
    return Placement(location=f"{PROVIDER}:{region}", role=role,
                     evidence=Evidence(source="api", ref=ref, detail=detail))


def link(relation: LinkRelation, target: str, ref: str, detail: str = "") -> Link:
    """A link to ``target`` whose evidence is the API field ``ref``."""
    return Link(relation=relation, target=target, evidence=Evidence(source="api", ref=ref, detail=detail))


def tags_from_pairs(pairs: Iterable[Mapping[str, Any]] | None, key: str = "Key",
                    value: str = "Value") -> Mapping[str, str]:
    """``[{"Key": k, "Value": v}, ...]`` as a frozen mapping.

    >>> dict(tags_from_pairs([{"Key": "data-class", "Value": "patient"}]))
    {'data-class': 'patient'}
    """
    return freeze_tags({str(p[key]): str(p.get(value, "")) for p in pairs or ()})


def referenced(*, id: str, service: str, kind: str, name: str, account: str = "",
               placements: Iterable[Placement] = (), links: Iterable[Link] = ()) -> Resource:
    """A resource known only because another one names it (a replica, a copy destination)."""
    return Resource(id=id, provider=PROVIDER, service=service, kind=kind, name=name, account=account,
                    placements=tuple(placements), links=tuple(links),
                    attributes=freeze_tags({"observed": REFERENCED}))


def _is_referenced(r: Resource) -> bool:
    return r.attributes.get("observed") == REFERENCED


def merge_resources(resources: Iterable[Resource]) -> tuple[Resource, ...]:
    """One resource per id, sorted by id.

    A resource seen by a scan wins over records that only reference it: its own placements,
    name, account and tags stand, and the links of all records are joined. Records that only
    reference a resource are joined with each other (placements and links united).
    """
    groups: dict[str, list[Resource]] = {}
    for r in resources:
        groups.setdefault(r.id, []).append(r)
    out: list[Resource] = []
    for rid in sorted(groups):
        group = groups[rid]
        seen = [r for r in group if not _is_referenced(r)]
        base = seen[0] if seen else group[0]
        placement_sources = seen or group
        placements = {(p.location, p.role): p for r in placement_sources for p in r.placements}
        links = {(x.relation, x.target): x for r in group for x in r.links}
        tags: dict[str, str] = {}
        for r in placement_sources:
            tags.update(r.tags)
        attributes: dict[str, str] = {}
        for r in group:
            attributes.update(r.attributes)
        if seen:
            attributes.pop("observed", None)
        account = base.account or next((r.account for r in group if r.account), "")
        out.append(replace(
            base, account=account,
            placements=tuple(placements[k] for k in sorted(placements)),
            links=tuple(links[k] for k in sorted(links)),
            tags=freeze_tags(tags), attributes=freeze_tags(attributes)))
    return tuple(out)
