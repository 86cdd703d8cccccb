"""Command-line hooks of the GCP adapter (``residency-audit scan --gcp …``).

No Google SDK is imported until a scan runs.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from residency_audit.model import Estate
from residency_audit.providers import service as shared
from residency_audit.providers.base import ProgressCallback

__all__ = ["ScanOptions", "add_arguments", "is_requested", "options_from_args", "options_from_config",
           "permissions_text", "scan_from_args", "scan_with_options"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``--gcp…`` options in their own group."""
    g = parser.add_argument_group("Google Cloud", "read the hierarchy, Cloud Storage and Cloud "
                                  "Asset Inventory (read-only; see `residency-audit permissions gcp`)")
    g.add_argument("--gcp", action="store_true", help="scan Google Cloud")
    g.add_argument("--gcp-organization", metavar="ID", default=None,
                   help="scan the whole organisation (numeric id)")
    g.add_argument("--gcp-folder", metavar="ID", action="append", default=[],
                   help="scan a folder and everything under it (repeatable)")
    g.add_argument("--gcp-project", metavar="ID", action="append", default=[],
                   help="scan a project (repeatable)")
    g.add_argument("--gcp-endpoint", metavar="URL", action="append", default=[],
                   help="send API calls to URL (Private Service Connect, a local fake); "
                        "SERVICE=URL for one API (storage, resourcemanager, cloudasset); "
                        "repeatable")
    g.add_argument("--gcp-transport", choices=("grpc", "rest"), default="grpc",
                   help="transport of the Resource Manager and Cloud Asset clients (default grpc)")
    g.add_argument("--gcp-no-asset-search", action="store_true",
                   help="do not use Cloud Asset search; list Cloud Storage per project "
                        "(other services become coverage gaps)")
    g.add_argument("--gcp-anonymous", action="store_true",
                   help="send no credentials (local emulators and fakes only)")
    g.add_argument("--gcp-connect-timeout", metavar="SECONDS", type=float,
                   default=shared.CONNECT_TIMEOUT,
                   help="wait at most SECONDS for a connection, per attempt "
                        f"(default {shared.CONNECT_TIMEOUT:g})")
    g.add_argument("--gcp-read-timeout", metavar="SECONDS", type=float,
                   default=shared.READ_TIMEOUT,
                   help="wait at most SECONDS for an answer, per attempt "
                        f"(default {shared.READ_TIMEOUT:g})")
    g.add_argument("--gcp-attempts", metavar="N", type=int, default=shared.MAX_ATTEMPTS,
                   help="attempts per call for timeouts, refused connections and 5xx "
                        f"(default {shared.MAX_ATTEMPTS}); quota errors back off until the "
                        "call's deadline")
    g.add_argument("--gcp-backoff-cap", metavar="SECONDS", type=float,
                   default=shared.BACKOFF_CAP,
                   help=f"longest pause between attempts (default {shared.BACKOFF_CAP:g})")
    g.add_argument("--gcp-give-up-after", metavar="N", type=int, default=shared.GIVE_UP_AFTER,
                   help="give up an endpoint (or a service in a project) after N calls that "
                        f"got no answer (default {shared.GIVE_UP_AFTER}); its other calls "
                        "become gaps at once")
    g.add_argument("--gcp-no-visibility-check", action="store_true",
                   help="do not check with projects.testIamPermissions which projects an "
                        "organisation or folder search can see")


def is_requested(args: argparse.Namespace) -> bool:
    """True when ``--gcp`` or a GCP scope was given."""
    return bool(getattr(args, "gcp", False) or getattr(args, "gcp_organization", None)
                or getattr(args, "gcp_folder", None) or getattr(args, "gcp_project", None))


def scan_from_args(args: argparse.Namespace, *, progress: ProgressCallback | None) -> Estate:
    """Run :func:`~residency_audit.providers.gcp.scanner.scan_gcp` with the parsed options."""
    return scan_with_options(options_from_args(args), progress=progress)


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanOptions:
    """The typed options of a Google Cloud scan, built from ``--gcp…`` options or from a config's
    ``[sources.gcp]``."""

    organization: str | None = None
    folders: tuple[str, ...] = ()
    projects: tuple[str, ...] = ()
    endpoints: tuple[str, ...] = ()
    transport: str = "grpc"
    use_asset_search: bool = True
    anonymous: bool = False
    connect_timeout: float = shared.CONNECT_TIMEOUT
    read_timeout: float = shared.READ_TIMEOUT
    max_attempts: int = shared.MAX_ATTEMPTS
    backoff_cap: float = shared.BACKOFF_CAP
    give_up_after: int = shared.GIVE_UP_AFTER
    check_search_visibility: bool = True


def options_from_args(args: argparse.Namespace) -> ScanOptions:
    """The options that the parsed ``--gcp…`` command-line options ask for."""
    return ScanOptions(organization=args.gcp_organization, folders=tuple(args.gcp_folder or ()),
                       projects=tuple(args.gcp_project or ()), endpoints=tuple(args.gcp_endpoint or ()),
                       transport=args.gcp_transport, use_asset_search=not args.gcp_no_asset_search,
                       anonymous=args.gcp_anonymous, connect_timeout=args.gcp_connect_timeout,
                       read_timeout=args.gcp_read_timeout, max_attempts=args.gcp_attempts,
                       backoff_cap=args.gcp_backoff_cap, give_up_after=args.gcp_give_up_after,
                       check_search_visibility=not args.gcp_no_visibility_check)


def options_from_config(section: Mapping[str, Any]) -> ScanOptions:
    """The options of a config's ``[sources.gcp]`` section (its keys as in docs/config.md).

    >>> options_from_config({"organization": "123", "projects": ["lab"]}).projects
    ('lab',)
    """
    return ScanOptions(organization=section.get("organization"),
                       folders=tuple(section.get("folders") or ()),
                       projects=tuple(section.get("projects") or ()),
                       endpoints=tuple(section.get("endpoint") or ()))


def scan_with_options(options: ScanOptions, *, progress: ProgressCallback | None) -> Estate:
    """Run :func:`~residency_audit.providers.gcp.scanner.scan_gcp` with ``options``."""
    from residency_audit.providers.gcp.clients import parse_endpoints
    from residency_audit.providers.gcp.faults import Limits
    from residency_audit.providers.gcp.scanner import scan_gcp

    endpoints = parse_endpoints(list(options.endpoints))
    limits = Limits(connect_timeout=options.connect_timeout, read_timeout=options.read_timeout,
                    max_attempts=options.max_attempts, backoff_cap=options.backoff_cap,
                    give_up_after=options.give_up_after,
                    initial_backoff=min(1.0, options.backoff_cap))
    credentials = None
    if options.anonymous:
        from google.auth.credentials import AnonymousCredentials

        credentials = AnonymousCredentials()  # type: ignore[no-untyped-call]
    return scan_gcp(organization=options.organization, folders=list(options.folders),
                    projects=list(options.projects), credentials=credentials,
                    transport=options.transport, endpoints=endpoints,
                    use_asset_search=options.use_asset_search, limits=limits,
                    check_search_visibility=options.check_search_visibility,
                    progress=progress)


def permissions_text() -> str:
    """The shipped least-privilege custom role (JSON), for ``residency-audit permissions gcp``."""
    from residency_audit.providers.gcp.operations import permissions_text as text

    return text()
