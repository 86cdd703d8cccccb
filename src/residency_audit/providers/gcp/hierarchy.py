"""The Resource Manager hierarchy: organisation → folders → projects, with project labels.

``fetch_*`` functions call Resource Manager v3 and return plain JSON-shaped dicts (camelCase, as
in the REST reference); ``parse_*`` and ``build_hierarchy`` are pure. A listing that fails
becomes a coverage gap and the walk goes on with what it could see.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import AbstractContextManager as ContextManager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from residency_audit.model import CoverageGap, GapLevel
from residency_audit.providers.base import ReadOperation
from residency_audit.providers.gcp.faults import Guard, api_errors
from residency_audit.providers.service import (
    RecordError,
    ServiceSpec,
    member,
    optional_member,
    server_reason,
)

__all__ = ["OPERATIONS", "ROUTES", "SEARCH_PERMISSIONS", "SPEC", "WORKERS", "FirstCallAlone",
           "Folder", "Hierarchy", "Project", "build_hierarchy", "fetch_hierarchy", "fetch_search_visibility",
           "parse_each", "parse_folder", "parse_project"]

R = TypeVar("R")

_SERVICE = "resourcemanager"
FOLDERS_LIST = "cloudresourcemanager.folders.list"
FOLDERS_GET = "cloudresourcemanager.folders.get"
PROJECTS_LIST = "cloudresourcemanager.projects.list"
PROJECTS_GET = "cloudresourcemanager.projects.get"
TEST_PERMISSIONS = "cloudresourcemanager.projects.testIamPermissions"

SEARCH_PERMISSIONS = ("cloudasset.assets.searchAllResources",)
"""What ``projects.testIamPermissions`` checks on every project of an organisation or folder
search: without it Google's search leaves the project's resources out, with no error."""

OPERATIONS = (
    ReadOperation(provider="gcp", service=_SERVICE, operation=FOLDERS_LIST,
                  permission="resourcemanager.folders.list"),
    ReadOperation(provider="gcp", service=_SERVICE, operation=FOLDERS_GET,
                  permission="resourcemanager.folders.get"),
    ReadOperation(provider="gcp", service=_SERVICE, operation=PROJECTS_LIST,
                  permission="resourcemanager.projects.list"),
    ReadOperation(provider="gcp", service=_SERVICE, operation=PROJECTS_GET,
                  permission="resourcemanager.projects.get"),
    # "There are no permissions required for making this API call" (REST reference): it only
    # answers which of the asked permissions the caller holds, so it adds none to the role.
    ReadOperation(provider="gcp", service=_SERVICE, operation=TEST_PERMISSIONS, permission=""),
)
"""The Resource Manager v3 methods this adapter calls."""

ROUTES = {
    FOLDERS_LIST: ("GET", r"^/v3/folders$"),
    FOLDERS_GET: ("GET", r"^/v3/folders/[^/:]+$"),
    PROJECTS_LIST: ("GET", r"^/v3/projects$"),
    PROJECTS_GET: ("GET", r"^/v3/projects/[^/:]+$"),
    TEST_PERMISSIONS: ("POST", r"^/v3/projects/[^/:]+:testIamPermissions$"),
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
    """A folder from its v3 JSON (``name``, ``displayName``, ``parent``); :class:`RecordError`
    names the member at fault.

    >>> parse_folder({"name": "folders/1", "parent": "organizations/9"}).parent
    'organizations/9'
    """
    return Folder(name=member(payload, "name", str),
                  display_name=optional_member(payload, "displayName", str, ""),
                  parent=optional_member(payload, "parent", str, ""))


def parse_project(payload: Mapping[str, Any]) -> Project:
    """A project from its v3 JSON (``name``, ``projectId``, ``parent``, ``labels``).

    >>> parse_project({"name": "projects/5", "projectId": "ehr", "labels": {"env": "prod"}}).labels
    {'env': 'prod'}
    """
    labels = optional_member(payload, "labels", dict, {})
    return Project(name=member(payload, "name", str), project_id=member(payload, "projectId", str),
                   display_name=optional_member(payload, "displayName", str, ""),
                   parent=optional_member(payload, "parent", str, ""),
                   labels={str(k): str(member(labels, str(k), str, path="labels."))
                           for k in sorted(labels, key=str)})


def parse_each(payloads: Iterable[Mapping[str, Any]], parse: Callable[[Mapping[str, Any]], R],
                operation: str) -> tuple[list[R], list[CoverageGap]]:
    """Parse record by record; a record that fails is a RECORD gap naming it and the field.

    >>> folders, gaps = parse_each([{"name": "folders/1"}, {"displayName": "x"}], parse_folder,
    ...                            "cloudresourcemanager.folders.list")
    >>> [f.name for f in folders], [(g.resource, g.field) for g in gaps]
    (['folders/1'], [('record #1', 'name')])
    """
    out: list[R] = []
    gaps: list[CoverageGap] = []
    for index, payload in enumerate(payloads):
        try:
            out.append(parse(payload))
        except RecordError as exc:
            name = payload.get("name") if isinstance(payload, Mapping) else None
            rid = name if isinstance(name, str) and name else f"record #{index}"
            parent = payload.get("parent") if isinstance(payload, Mapping) else None
            scope = parent if isinstance(parent, str) and parent else rid
            gaps.append(CoverageGap(provider="gcp", scope=scope, service=_SERVICE,
                                    operation=operation, error="UnparseableRecord",
                                    level=GapLevel.RECORD, resource=server_reason(rid, limit=300),
                                    field=exc.field, message=server_reason(str(exc))))
    return out, gaps


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


def _to_dict(message: Any) -> dict[str, Any]:
    return dict(type(message).to_dict(message, preserving_proto_field_name=False,
                                      use_integers_for_enums=False))


class FirstCallAlone:
    """Holds the calls of a walk made in parallel until the first of them has ended.

    Used as ``with gate():`` around each call, before its give-up check. The first call runs
    alone; the others wait until it has ended (answered or not: a call is bounded by the
    scan's :class:`~residency_audit.providers.gcp.faults.Limits`), then run side by side. So
    an endpoint that never answers costs one call, as in a walk made one call at a time: its
    fault gives the endpoint up, and the calls that waited find it given up. ``on_end`` is
    called once, when the first call has ended.
    """

    def __init__(self, on_end: Callable[[], None] | None = None) -> None:
        self._lock = threading.Lock()
        self._taken = False
        self._ended = threading.Event()
        self._on_end = on_end

    @contextlib.contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            first, self._taken = not self._taken, True
        if not first:
            self._ended.wait()
            yield
            return
        try:
            yield
        finally:
            self.end()

    def end(self) -> None:
        """The first call has ended, or there will be none: let the others run."""
        with self._lock:
            if self._ended.is_set():
                return
            self._taken = True
            self._ended.set()
        if self._on_end is not None:
            self._on_end()


_ALONE = contextlib.nullcontext
"""The gate of a call made on its own (no other call waits for it)."""


def _list(call: Callable[..., Any], guard: Guard, parent: str, operation: str,
          out: list[dict[str, Any]], gate: Callable[[], ContextManager[None]] = _ALONE
          ) -> list[CoverageGap]:
    with gate():
        skipped = guard.skipped(_SERVICE, parent, operation)
        if skipped is not None:
            return [skipped]
        try:
            for item in call(parent=parent, **guard.call_options()):
                out.append(_to_dict(item))
        except api_errors() as exc:
            return [guard.fault(_SERVICE, parent, operation, exc)]
        guard.answered(_SERVICE, parent)
        return []


def _listing(call: Callable[..., Any], guard: Guard, parent: str, operation: str,
             gate: Callable[[], ContextManager[None]]
             ) -> tuple[list[dict[str, Any]], list[CoverageGap]]:
    out: list[dict[str, Any]] = []
    gaps = _list(call, guard, parent, operation, out, gate)
    return out, gaps


def fetch_children(clients: Any, parent: str, *, guard: Guard
                   ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[CoverageGap]]:
    """The folders and projects directly under ``parent`` (paged, as v3 JSON dicts), and gaps
    for what failed."""
    folders: list[dict[str, Any]] = []
    projects: list[dict[str, Any]] = []
    gaps = _list(clients.folders.list_folders, guard, parent, FOLDERS_LIST, folders)
    gaps += _list(clients.projects.list_projects, guard, parent, PROJECTS_LIST, projects)
    return folders, projects, gaps


def _get(call: Callable[..., Any], guard: Guard, name: str, operation: str,
         gate: Callable[[], ContextManager[None]] = _ALONE
         ) -> tuple[dict[str, Any] | None, CoverageGap | None]:
    with gate():
        skipped = guard.skipped(_SERVICE, name, operation)
        if skipped is not None:
            return None, skipped
        try:
            payload = _to_dict(call(name=name, **guard.call_options()))
        except api_errors() as exc:
            return None, guard.fault(_SERVICE, name, operation, exc)
        guard.answered(_SERVICE, name)
        return payload, None


def fetch_folder_ancestry(clients: Any, name: str, *, guard: Guard,
                          gate: Callable[[], ContextManager[None]] = _ALONE
                          ) -> tuple[list[dict[str, Any]], list[CoverageGap]]:
    """``name`` (a folder) and its parent folders up to the organisation."""
    out: list[dict[str, Any]] = []
    current = name
    get_folder = clients.folders.get_folder
    while current.startswith("folders/") and all(f.get("name") != current for f in out):
        payload, gap = _get(get_folder, guard, current, FOLDERS_GET, gate)
        if payload is None:
            return out, [gap] if gap is not None else []
        out.append(payload)
        parent = payload.get("parent")
        current = parent if isinstance(parent, str) else ""
    return out, []


def _child_folders(payloads: Iterable[Mapping[str, Any]]) -> list[str]:
    return [child for f in payloads
            if isinstance(child := f.get("name"), str) and child.startswith("folders/")]


_Listing = tuple[list[dict[str, Any]], list[CoverageGap]]


def _walk_down(clients: Any, roots: Sequence[str], guard: Guard, pool: ThreadPoolExecutor,
               gate: Callable[[], ContextManager[None]]
               ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[CoverageGap]]:
    """Every folder and project under ``roots``, in parallel: a folder's listings are asked for
    as soon as the listing that named it has answered, its projects after its folders (so that
    a parent given up after its first listing is not called again, as in a walk one call at a
    time). What they found is put together in breadth-first order from the roots, as that
    walk finds it."""
    if not roots:
        return [], [], []
    list_folders = clients.folders.list_folders
    list_projects = clients.projects.list_projects
    folder_listings: dict[str, Future[_Listing]] = {}
    project_listings: dict[str, Future[_Listing]] = {}
    waiting: dict[Future[_Listing], str] = {}

    def visit(parent: str) -> None:
        if parent not in folder_listings:
            future = pool.submit(_listing, list_folders, guard, parent, FOLDERS_LIST, gate)
            folder_listings[parent] = future
            waiting[future] = parent

    for root in roots:
        visit(root)
    while waiting:
        done, _ = wait(waiting, return_when=FIRST_COMPLETED)
        for future in sorted(done, key=lambda f: waiting[f]):
            parent = waiting.pop(future)
            if future is not folder_listings[parent]:
                continue
            then = pool.submit(_listing, list_projects, guard, parent, PROJECTS_LIST, gate)
            project_listings[parent] = then
            waiting[then] = parent
            for child in _child_folders(future.result()[0]):
                visit(child)

    folder_payloads: list[dict[str, Any]] = []
    project_payloads: list[dict[str, Any]] = []
    gaps: list[CoverageGap] = []
    queue = list(roots)
    visited: set[str] = set()
    while queue:
        parent = queue.pop(0)
        if parent in visited:
            continue
        visited.add(parent)
        found_folders, more = folder_listings[parent].result()
        found_projects, more_projects = project_listings[parent].result()
        folder_payloads.extend(found_folders)
        project_payloads.extend(found_projects)
        gaps.extend(more + more_projects)
        queue.extend(_child_folders(found_folders))
    return folder_payloads, project_payloads, gaps


@contextlib.contextmanager
def _ending(gate: FirstCallAlone) -> Iterator[None]:
    try:
        yield
    finally:
        gate.end()


WORKERS = 10
"""Resource Manager calls of the hierarchy walk in flight at a time (the connection pool of a
client holds ten)."""


def fetch_hierarchy(clients: Any, *, organization: str | None = None,
                    folders: Sequence[str] = (), projects: Sequence[str] = (),
                    guard: Guard | None = None, workers: int = WORKERS,
                    on_first_call: Callable[[], None] | None = None) -> Hierarchy:
    """Walk the hierarchy under the organisation or folders, or get the listed projects.

    The calls are made ``workers`` at a time (each folder's listings as soon as its parent's
    listing has named it), the first one alone (:class:`FirstCallAlone`; ``on_first_call`` is
    called when it has ended). What is found, and its order, is that of a walk made one call
    at a time.
    """
    guard = guard or Guard()
    gate = FirstCallAlone(on_first_call)
    folder_payloads: list[dict[str, Any]] = []
    project_payloads: list[dict[str, Any]] = []
    gaps: list[CoverageGap] = []
    roots: list[str] = []
    if organization:
        roots.append(f"organizations/{organization.removeprefix('organizations/')}")
    names = [f"folders/{folder.removeprefix('folders/')}" for folder in folders]
    roots.extend(names)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool, _ending(gate):
        if roots:  # the clients are built here, before any worker reads them
            _built = (clients.folders, clients.projects)
        # the folders asked for, each with its parents up to the organisation, while the walk
        # goes down from them
        ancestries = [pool.submit(fetch_folder_ancestry, clients, name, guard=guard, gate=gate)
                      for name in names]
        found_folders, found_projects, more = _walk_down(clients, roots, guard, pool, gate)
        for chain in ancestries:
            ancestry, more_up = chain.result()
            folder_payloads.extend(ancestry)
            gaps.extend(more_up)
        folder_payloads.extend(found_folders)
        project_payloads.extend(found_projects)
        gaps.extend(more)
        keys = [project.removeprefix("projects/") for project in projects]
        answers = [pool.submit(_get, clients.projects.get_project, guard, f"projects/{key}",
                               PROJECTS_GET, gate) for key in keys]
        for key, answer in zip(keys, answers, strict=True):
            payload, gap = answer.result()
            if payload is None:
                gaps.extend([gap] if gap is not None else [])
                project_payloads.append({"name": f"projects/{key}", "projectId": key})
                continue
            project_payloads.append(payload)
            up = payload.get("parent")
            if isinstance(up, str) and up.startswith("folders/") and all(
                    f.get("name") != up for f in folder_payloads):
                ancestry, more = fetch_folder_ancestry(clients, up, guard=guard, gate=gate)
                folder_payloads.extend(ancestry)
                gaps.extend(more)
    parsed_folders, more = parse_each(folder_payloads, parse_folder, FOLDERS_LIST)
    gaps.extend(more)
    parsed_projects, more = parse_each(project_payloads, parse_project, PROJECTS_LIST)
    gaps.extend(more)
    return build_hierarchy(parsed_folders, parsed_projects, gaps)


def _can_search(clients: Any, guard: Guard, project: Project
                ) -> tuple[str, bool, CoverageGap | None]:
    skipped = guard.skipped(_SERVICE, project.project_id, TEST_PERMISSIONS, level=GapLevel.SCOPE)
    if skipped is not None:
        return project.name, False, skipped
    try:
        answer = clients.projects.test_iam_permissions(
            request={"resource": project.name, "permissions": list(SEARCH_PERMISSIONS)},
            **guard.call_options())
    except api_errors() as exc:
        return project.name, False, guard.fault(
            _SERVICE, project.project_id, TEST_PERMISSIONS, exc, level=GapLevel.SCOPE,
            prefix="could not check whether Cloud Asset search sees this project: ")
    guard.answered(_SERVICE, project.project_id)
    held = {str(p) for p in getattr(answer, "permissions", ()) or ()}
    missing = sorted(set(SEARCH_PERMISSIONS) - held)
    if not missing:
        return project.name, True, None
    return project.name, False, CoverageGap(
        provider="gcp", scope=project.project_id, service="cloudasset", operation=TEST_PERMISSIONS,
        error="PERMISSION_DENIED", level=GapLevel.SCOPE,
        message=server_reason(
            f"the caller lacks {', '.join(missing)} on {project.name} (projects.testIamPermissions "
            "answered without it): an organisation or folder search leaves this project's "
            "resources out without an error, so nothing in it was read"))


def fetch_search_visibility(clients: Any, projects: Sequence[Project], *, guard: Guard,
                            workers: int = 16) -> tuple[dict[str, bool], list[CoverageGap]]:
    """Whether Cloud Asset search can see each project: one ``projects.testIamPermissions``
    per project (no permission needed to call it), ``workers`` at a time.

    Returns ``{project name: searchable}`` and a SCOPE gap for each project it cannot see or
    could not check.
    """
    unique = sorted({p.name: p for p in projects}.values(), key=lambda p: p.name)
    if not unique:
        return {}, []
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(unique)))) as pool:
        answers = list(pool.map(lambda p: _can_search(clients, guard, p), unique))
    visible = {name: ok for name, ok, _ in answers}
    gaps = [gap for _, _, gap in answers if gap is not None]
    return visible, gaps


SPEC = ServiceSpec(
    provider="gcp", name=_SERVICE, operations=OPERATIONS, fetch=fetch_hierarchy,
    parse=build_hierarchy, scope_kind="organization",
    finds="the organisation, folder and project hierarchy, project labels, and whether Cloud "
          "Asset search can see each project")
"""The Resource Manager declaration."""
