"""Pure helpers that shape AWS answers into :mod:`residency_audit.model` records.

>>> arn_region("arn:aws:rds:eu-north-1:111122223333:db:patients")
'eu-north-1'
>>> arn_account("arn:aws:backup:eu-west-1:444455556666:backup-vault:dr")
'444455556666'
>>> placement("eu-north-1", Role.BACKUP, "ListBackupVaults BackupVaultList[].BackupVaultArn").location
'aws:eu-north-1'
>>> arn_member({"Arn": "db:patients"}, "Arn")
Traceback (most recent call last):
...
residency_audit.providers.service.RecordError: Arn: not an ARN: 'db:patients'
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
from residency_audit.providers.service import RecordError, member, optional_member, server_reason

__all__ = [
    "REFERENCED",
    "arn_account",
    "arn_member",
    "arn_region",
    "checked_arn",
    "link",
    "merge_resources",
    "placement",
    "records",
    "referenced",
    "region_member",
    "strings",
    "tags_from_pairs",
]

REFERENCED = "referenced"
"""Value of the ``observed`` attribute on a resource known only because another one names it."""

PROVIDER = "aws"


def _arn_parts(arn: str) -> list[str]:
    parts = arn.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn":
        raise RecordError("ARN", f"not an ARN: {server_reason(str(arn), limit=200)!r}")
    return parts


def arn_region(arn: str) -> str:
    """The region field of ``arn`` (empty for global resources such as S3 buckets)."""
    return _arn_parts(arn)[3]


def arn_account(arn: str) -> str:
    """The account field of ``arn`` (empty for S3 buckets)."""
    return _arn_parts(arn)[4]


def checked_arn(value: Any, field: str, *, regional: bool = False) -> str:
    """``value`` when it is an ARN (with a region when ``regional``); else :class:`RecordError`.

    >>> checked_arn("arn:aws:s3:::b", "Bucket")
    'arn:aws:s3:::b'
    """
    if not isinstance(value, str):
        raise RecordError(field, f"expected an ARN, got {type(value).__name__}")
    parts = value.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn" or not parts[1] or not parts[2] or not parts[5]:
        raise RecordError(field, f"not an ARN: {server_reason(value, limit=200)!r}")
    if regional and not _region_ok(parts[3]):
        raise RecordError(field, f"ARN without a region: {server_reason(value, limit=200)!r}")
    return value


def arn_member(record: Mapping[str, Any], name: str, *, path: str = "", regional: bool = False) -> str:
    """``record[name]``, which must be an ARN (see :func:`checked_arn`)."""
    return checked_arn(member(record, name, str, path=path), f"{path}{name}", regional=regional)


def _region_ok(region: str) -> bool:
    return bool(region) and region == region.strip() and ":" not in region and len(region) <= 64 \
        and all(c.isalnum() or c == "-" for c in region)


def region_member(record: Mapping[str, Any], name: str, *, path: str = "") -> str:
    """``record[name]``, which must be a region code (letters, digits and dashes)."""
    value = member(record, name, str, path=path)
    if not _region_ok(value):
        raise RecordError(f"{path}{name}", f"not a region code: {server_reason(value, limit=100)!r}")
    return value


def strings(record: Mapping[str, Any], name: str, *, path: str = "") -> list[str]:
    """``record[name]``: a list of strings (empty when absent); else :class:`RecordError`.

    >>> strings({"Ids": ["a", "b"]}, "Ids"), strings({}, "Ids")
    (['a', 'b'], [])
    """
    values = optional_member(record, name, list, [], path=path)
    for i, v in enumerate(values):
        if not isinstance(v, str):
            raise RecordError(f"{path}{name}[{i}]", f"expected str, got {type(v).__name__}")
    return values


def records(record: Mapping[str, Any], name: str, *, path: str = "") -> list[Mapping[str, Any]]:
    """``record[name]``: a list of objects (empty when absent); else :class:`RecordError`."""
    values = optional_member(record, name, list, [], path=path)
    for i, v in enumerate(values):
        if not isinstance(v, Mapping):
            raise RecordError(f"{path}{name}[{i}]", f"expected an object, got {type(v).__name__}")
    return values


def placement(region: str, role: Role, ref: str, detail: str = "") -> Placement:
    """A placement at ``aws:<region>`` whose evidence is the API field ``ref``.

    A region that is not a region code is a :class:`RecordError` naming ``ref``'s field.
    """
    if not _region_ok(region):
        raise RecordError(ref.rsplit(" ", 1)[-1], f"not a region code: {server_reason(region, limit=100)!r}")
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

    A tag list that is not a list of ``{key: text}`` objects is a :class:`RecordError`.
    """
    if pairs is None:
        return freeze_tags(None)
    if not isinstance(pairs, list | tuple):
        raise RecordError("Tags", f"expected list, got {type(pairs).__name__}")
    out: dict[str, str] = {}
    for i, p in enumerate(pairs):
        k = member(p, key, str, path=f"Tags[{i}].")
        v = optional_member(p, value, str, "", path=f"Tags[{i}].")
        out[k] = v
    return freeze_tags(out)


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
