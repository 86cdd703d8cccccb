"""The Resource Manager hierarchy: organisation → folders → projects, with project labels.

``fetch_*`` functions call Resource Manager v3 and return plain JSON-shaped dicts (camelCase, as
in the REST reference); ``parse_*`` and ``build_hierarchy`` are pure. A listing that fails
becomes a coverage gap and the walk goes on with what it could see.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from residency_audit.model import CoverageGap
from residency_audit.providers.base import ReadOperation
from residency_audit.providers.gcp.faults import api_errors, error_code, error_message

__all__ = ["OPERATIONS", "ROUTES", "Folder", "Hierarchy", "Project", "build_hierarchy",
           "fetch_hierarchy", "parse_folder", "parse_project"]

_SERVICE = "resourcemanager"

OPERATIONS = (
    ReadOperation(provider="gcp", service=_SERVICE, operation="cloudresourcemanager.folders.list",
                  permission="resourcemanager.folders.list"),
    ReadOperation(provider="gcp", service=_SERVICE, operation="cloudresourcemanager.folders.get",
                  permission="resourcemanager.folders.get"),
    ReadOperation(provider="gcp", service=_SERVICE, operation="cloudresourcemanager.projects.list",
                  permission="resourcemanager.projects.list"),
    ReadOperation(provider="gcp", service=_SERVICE, operation="cloudresourcemanager.projects.get",
                  permission="resourcemanager.projects.get"),
)
"""The Resource Manager v3 methods this adapter calls."""

ROUTES = {
    "cloudresourcemanager.folders.list": ("GET", r"^/v3/folders$"),
    "cloudresourcemanager.folders.get": ("GET", r"^/v3/folders/[^/:]+$"),
    "cloudresourcemanager.projects.list": ("GET", r"^/v3/projects$"),
    "cloudresourcemanager.projects.get": ("GET", r"^/v3/projects/[^/:]+$"),
}
"""Each operation's REST method and path (for the read-only proof over the REST transport)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Folder:
    """A folder: ``folders/123``, its display name and parent (a folder or an organisation)."""

    name: str
    display_name: str
    parent: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Project:
    """A project, with its place in the hierarchy.

    ``folder_path`` is the display names from the top folder down (``Clinical/Stockholm``);
    ``folder_ids`` the folder resource names in the same order.
    """

    name: str
    project_id: str
    display_name: str
    parent: str
    labels: Mapping[str, str]
    organization: str = ""
    folder_path: str = ""
    folder_ids: tuple[str, ...] = ()

    @property
    def number(self) -> str:
        return self.name.removeprefix("projects/")


@dataclass(frozen=True, kw_only=True)
class Hierarchy:
    """What the walk saw: folders by name, projects by number, and what it could not see."""

    folders: Mapping[str, Folder] = field(default_factory=dict)
    projects: tuple[Project, ...] = ()
    gaps: tuple[CoverageGap, ...] = ()

    def project(self, key: str) -> Project | None:
        """A project by ``projects/NUMBER``, number or project id."""
        return self._index.get(key.removeprefix("projects/"))

    @functools.cached_property
    def _index(self) -> dict[str, Project]:
        out = {p.project_id: p for p in self.projects}
        out.update({p.number: p for p in self.projects})
        return out


def parse_folder(payload: Mapping[str, Any]) -> Folder:
    """A folder from its v3 JSON (``name``, ``displayName``, ``parent``)."""
    return Folder(name=payload["name"], display_name=payload.get("displayName") or "",
                  parent=payload.get("parent") or "")


def parse_project(payload: Mapping[str, Any]) -> Project:
    """A project from its v3 JSON (``name``, ``projectId``, ``parent``, ``labels``)."""
    return Project(name=payload["name"], project_id=payload["projectId"],
                   display_name=payload.get("displayName") or "",
                   parent=payload.get("parent") or "",
                   labels=dict(sorted((payload.get("labels") or {}).items())))


def _ancestry(parent: str, folders: Mapping[str, Folder]) -> tuple[list[Folder], str]:
    """The folders from the top down to ``parent``, and the organisation at the top (if seen)."""
    chain: list[Folder] = []
    current = parent
    seen: set[str] = set()
    while current.startswith("folders/") and current not in seen:
        seen.add(current)
        folder = folders.get(current)
        if folder is None:
            break
        chain.append(folder)
        current = folder.parent
    chain.reverse()
    return chain, current if current.startswith("organizations/") else ""


def build_hierarchy(folders: Iterable[Folder], projects: Iterable[Project],
                    gaps: Iterable[CoverageGap] = ()) -> Hierarchy:
    """Place every project in its folder path. Pure.

    >>> f = Folder(name="folders/1", display_name="Clinical", parent="organizations/9")
    >>> p = Project(name="projects/5", project_id="ehr", display_name="", parent="folders/1", labels={})
    >>> build_hierarchy([f], [p]).projects[0].folder_path
    'Clinical'
    """
    by_name = {f.name: f for f in folders}
    placed: dict[str, Project] = {}
    for p in projects:
        chain, org = _ancestry(p.parent, by_name)
        if p.parent.startswith("organizations/"):
            org = p.parent
        placed[p.name] = Project(
            name=p.name, project_id=p.project_id, display_name=p.display_name, parent=p.parent,
            labels=p.labels, organization=org,
            folder_path="/".join(f.display_name or f.name for f in chain),
            folder_ids=tuple(f.name for f in chain))
    return Hierarchy(folders=dict(sorted(by_name.items())),
                     projects=tuple(placed[k] for k in sorted(placed)),
                     gaps=tuple(sorted(set(gaps), key=lambda g: g.key)))


def _gap(scope: str, operation: str, exc: BaseException) -> CoverageGap:
    return CoverageGap(provider="gcp", scope=scope, service=_SERVICE, operation=operation,
                       error=error_code(exc), message=error_message(exc))


def _to_dict(message: Any) -> dict[str, Any]:
    return dict(type(message).to_dict(message, preserving_proto_field_name=False,
                                      use_integers_for_enums=False))


def fetch_children(clients: Any, parent: str, *, retry: Any = None
                   ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[CoverageGap]]:
    """The folders and projects directly under ``parent`` (paged), and gaps for what failed."""
    folders: list[dict[str, Any]] = []
    projects: list[dict[str, Any]] = []
    gaps: list[CoverageGap] = []
    try:
        for f in clients.folders.list_folders(parent=parent, retry=retry):
            folders.append(_to_dict(f))
    except api_errors() as exc:
        gaps.append(_gap(parent, "cloudresourcemanager.folders.list", exc))
    try:
        for p in clients.projects.list_projects(parent=parent, retry=retry):
            projects.append(_to_dict(p))
    except api_errors() as exc:
        gaps.append(_gap(parent, "cloudresourcemanager.projects.list", exc))
    return folders, projects, gaps


def fetch_folder_ancestry(clients: Any, name: str, *, retry: Any = None
                          ) -> tuple[list[dict[str, Any]], list[CoverageGap]]:
    """``name`` (a folder) and its parent folders up to the organisation."""
    out: list[dict[str, Any]] = []
    current = name
    while current.startswith("folders/") and all(f["name"] != current for f in out):
        try:
            payload = _to_dict(clients.folders.get_folder(name=current, retry=retry))
        except api_errors() as exc:
            return out, [_gap(current, "cloudresourcemanager.folders.get", exc)]
        out.append(payload)
        current = payload.get("parent") or ""
    return out, []


def fetch_hierarchy(clients: Any, *, organization: str | None = None,
                    folders: Sequence[str] = (), projects: Sequence[str] = (),
                    retry: Any = None) -> Hierarchy:
    """Walk the hierarchy under the organisation or folders, or get the listed projects."""
    folder_payloads: list[dict[str, Any]] = []
    project_payloads: list[dict[str, Any]] = []
    gaps: list[CoverageGap] = []
    roots: list[str] = []
    if organization:
        roots.append(f"organizations/{organization.removeprefix('organizations/')}")
    for folder in folders:
        name = f"folders/{folder.removeprefix('folders/')}"
        ancestry, more = fetch_folder_ancestry(clients, name, retry=retry)
        folder_payloads.extend(ancestry)
        gaps.extend(more)
        roots.append(name)
    queue = list(roots)
    visited: set[str] = set()
    while queue:
        parent = queue.pop(0)
        if parent in visited:
            continue
        visited.add(parent)
        found_folders, found_projects, more = fetch_children(clients, parent, retry=retry)
        folder_payloads.extend(found_folders)
        project_payloads.extend(found_projects)
        gaps.extend(more)
        queue.extend(f["name"] for f in found_folders)
    for project in projects:
        key = project.removeprefix("projects/")
        try:
            payload = _to_dict(clients.projects.get_project(name=f"projects/{key}", retry=retry))
        except api_errors() as exc:
            gaps.append(_gap(f"projects/{key}", "cloudresourcemanager.projects.get", exc))
            project_payloads.append({"name": f"projects/{key}", "projectId": key})
            continue
        project_payloads.append(payload)
        parent = payload.get("parent") or ""
        if parent.startswith("folders/") and all(f["name"] != parent for f in folder_payloads):
            ancestry, more = fetch_folder_ancestry(clients, parent, retry=retry)
            folder_payloads.extend(ancestry)
            gaps.extend(more)
    return build_hierarchy((parse_folder(f) for f in folder_payloads),
                           (parse_project(p) for p in project_payloads), gaps)
