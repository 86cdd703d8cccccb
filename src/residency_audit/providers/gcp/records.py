"""Turning a found GCP resource into a :class:`~residency_audit.model.Resource`. Pure.

Every resource carries its project's place in the hierarchy in ``attributes``
(``project_number``, ``organization``, ``folder_path``, ``folder_ids``) so that findings can be
grouped by folder, and its project's labels as tags, overridden by the resource's own labels.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from residency_audit.model import Evidence, Link, Placement, Resource, Role, freeze_tags
from residency_audit.providers.gcp.hierarchy import Project

__all__ = ["Context", "api_evidence", "build_resource", "link_key", "placement"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Context:
    """Where a resource sits: its project (when known) or at least the project's resource name."""

    project: Project | None = None
    project_ref: str = ""
    folders: tuple[str, ...] = field(default=())

    @property
    def account(self) -> str:
        if self.project is not None:
            return self.project.project_id
        return self.project_ref.removeprefix("projects/")


def api_evidence(operation: str, path: str, detail: str = "") -> Evidence:
    """Evidence from an API field: ``ref`` is ``"<operation> <field path>"``."""
    return Evidence(source="api", ref=f"{operation} {path}", detail=detail)


def link_key(link: Link) -> tuple[str, str, str, str, str, str]:
    """How links are ordered: relation and target, then the evidence. Two links to one
    target (a replica named by the primary's ``replicaNames`` and by its own
    ``masterInstanceName``) keep one order, whatever the order of the set they came from.

    >>> a = Link(relation="replicates_to", target="t", evidence=api_evidence("op", "b"))
    >>> b = Link(relation="replicates_to", target="t", evidence=api_evidence("op", "a"))
    >>> [x.evidence.ref for x in sorted({a, b}, key=link_key)]
    ['op a', 'op b']
    """
    e = link.evidence
    return (str(link.relation), link.target, e.source, e.ref, e.detail,
            ",".join(link.categories))


@functools.lru_cache(maxsize=4096)
def placement(location: str, role: Role, operation: str, path: str) -> Placement:
    """A placement backed by the API field ``path`` of ``operation`` (immutable: one object
    for each recurring combination)."""
    return Placement(location=location, role=role, evidence=api_evidence(operation, path))


def _hierarchy_attributes(ctx: Context) -> dict[str, str]:
    p = ctx.project
    if p is None:
        out = {"project_number": ctx.project_ref.removeprefix("projects/")} if ctx.project_ref else {}
        if ctx.folders:
            out["folder_ids"] = "/".join(ctx.folders)
        return out
    out = {"project_number": p.number, "project_id": p.project_id}
    if p.organization:
        out["organization"] = p.organization
    if p.folder_ids:
        out["folder_ids"] = "/".join(p.folder_ids)
        out["folder_path"] = p.folder_path
    return out


def build_resource(*, id: str, service: str, kind: str, name: str, ctx: Context,
                   placements: Iterable[Placement], labels: Mapping[str, str] | None = None,
                   attributes: Mapping[str, str] | None = None,
                   links: Iterable[Link] = ()) -> Resource:
    """A Resource with the project's hierarchy attributes and labels merged in, sorted."""
    tags = dict(ctx.project.labels) if ctx.project is not None else {}
    tags.update(labels or {})
    attrs = _hierarchy_attributes(ctx)
    attrs.update({k: v for k, v in (attributes or {}).items() if v != ""})
    unique = {(p.location, p.role): p for p in placements}
    return Resource(
        id=id, provider="gcp", service=service, kind=kind, name=name, account=ctx.account,
        placements=tuple(unique[k] for k in sorted(unique)),
        tags=freeze_tags(tags), attributes=freeze_tags(attrs),
        links=tuple(sorted(set(links), key=link_key)))
