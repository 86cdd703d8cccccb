"""Command-line hooks of the OCI adapter (``residency-audit scan --oci …``).

No ``oci`` SDK is imported until a scan runs.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from residency_audit.errors import InputError
from residency_audit.model import Estate
from residency_audit.providers.base import ProgressCallback
from residency_audit.providers.service import (
    BACKOFF_CAP,
    CONNECT_TIMEOUT,
    GIVE_UP_AFTER,
    MAX_ATTEMPTS,
    READ_TIMEOUT,
)

__all__ = ["ScanOptions", "add_arguments", "is_requested", "options_from_args", "options_from_config",
           "permissions_text", "scan_from_args", "scan_with_options"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``--oci…`` options in their own group."""
    g = parser.add_argument_group("Oracle Cloud", "read the tenancy, its regions and compartments "
                                  "(read-only; see `residency-audit permissions oci`)")
    g.add_argument("--oci", action="store_true", help="scan Oracle Cloud (OCI)")
    g.add_argument("--oci-config-file", metavar="FILE", default=None,
                   help="the SDK config file (default ~/.oci/config)")
    g.add_argument("--oci-profile", metavar="P", default=None,
                   help="the profile of the config file (default DEFAULT)")
    g.add_argument("--oci-auth", choices=("api_key", "instance_principal", "resource_principal"),
                   default="api_key",
                   help="sign with the config's API key (default), or as the instance or resource "
                        "principal the scan runs as")
    g.add_argument("--oci-regions", metavar="R1,R2", action="append", default=[],
                   help="regions to scan, comma-separated or repeated (default: every "
                        "subscribed region)")
    g.add_argument("--oci-compartment", metavar="OCID", default=None,
                   help="scan this compartment and everything under it (default: the tenancy)")
    g.add_argument("--oci-endpoint", metavar="[REGION=]URL", action="append", default=[],
                   help="send every service's requests for the scanned regions to URL (a private "
                        "endpoint, a proxy); REGION=URL for one region; repeatable")
    g.add_argument("--oci-no-search", action="store_true",
                   help="do not ask OCI Search which compartments hold resources; list every "
                        "service in every compartment")
    g.add_argument("--oci-connect-timeout", metavar="SECONDS", type=float, default=CONNECT_TIMEOUT,
                   help="seconds to wait for a connection, per attempt (default 5)")
    g.add_argument("--oci-read-timeout", metavar="SECONDS", type=float, default=READ_TIMEOUT,
                   help="seconds to wait for an answer, per attempt (default 20)")
    g.add_argument("--oci-max-attempts", metavar="N", type=int, default=MAX_ATTEMPTS,
                   help="attempts per call, first included, for throttling, 5xx and no answer "
                        "(default 3)")
    g.add_argument("--oci-backoff-cap", metavar="SECONDS", type=float, default=BACKOFF_CAP,
                   help="longest pause between two attempts (default 5)")
    g.add_argument("--oci-give-up-after", metavar="N", type=int, default=GIVE_UP_AFTER,
                   help="calls left unanswered after which a region (or a service answering 5xx "
                        "there) is given up (default 1; with the defaults a dead endpoint costs at "
                        "most 85 s)")


def is_requested(args: argparse.Namespace) -> bool:
    """True when ``--oci`` or an OCI scope was given."""
    return bool(getattr(args, "oci", False) or getattr(args, "oci_compartment", None)
                or getattr(args, "oci_profile", None) or getattr(args, "oci_config_file", None))


def _split(values: list[str] | None) -> list[str] | None:
    items = sorted({v.strip() for value in values or () for v in value.split(",") if v.strip()})
    return items or None


def scan_from_args(args: argparse.Namespace, *, progress: ProgressCallback | None) -> Estate:
    """Run :func:`~residency_audit.providers.oci.scanner.scan_oci` with the parsed options."""
    return scan_with_options(options_from_args(args), progress=progress)


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanOptions:
    """The typed options of an OCI scan, built from ``--oci…`` options or from a config's
    ``[sources.oci]``."""

    config_file: str | None = None
    profile: str | None = None
    auth: str = "api_key"
    regions: tuple[str, ...] | None = None
    compartment: str | None = None
    endpoints: tuple[str, ...] = ()
    use_search: bool = True
    connect_timeout: float = CONNECT_TIMEOUT
    read_timeout: float = READ_TIMEOUT
    max_attempts: int = MAX_ATTEMPTS
    backoff_cap: float = BACKOFF_CAP
    give_up_after: int = GIVE_UP_AFTER


def _regions(values: Sequence[str] | None) -> tuple[str, ...] | None:
    items = _split(list(values or ()))
    return tuple(items) if items else None


def options_from_args(args: argparse.Namespace) -> ScanOptions:
    """The options that the parsed ``--oci…`` command-line options ask for."""
    return ScanOptions(config_file=args.oci_config_file, profile=args.oci_profile, auth=args.oci_auth,
                       regions=_regions(args.oci_regions), compartment=args.oci_compartment,
                       endpoints=tuple(args.oci_endpoint or ()), use_search=not args.oci_no_search,
                       connect_timeout=args.oci_connect_timeout, read_timeout=args.oci_read_timeout,
                       max_attempts=args.oci_max_attempts, backoff_cap=args.oci_backoff_cap,
                       give_up_after=args.oci_give_up_after)


def options_from_config(section: Mapping[str, Any]) -> ScanOptions:
    """The options of a config's ``[sources.oci]`` section (its keys as in docs/config.md).

    >>> options_from_config({"regions": ["eu-stockholm-1"], "search": False}).use_search
    False
    """
    return ScanOptions(config_file=section.get("config_file"), profile=section.get("profile"),
                       auth=section.get("auth") or "api_key", regions=_regions(section.get("regions")),
                       compartment=section.get("compartment"),
                       endpoints=tuple(section.get("endpoint") or ()),
                       use_search=bool(section.get("search", True)))


def scan_with_options(options: ScanOptions, *, progress: ProgressCallback | None) -> Estate:
    """Run :func:`~residency_audit.providers.oci.scanner.scan_oci` with ``options``."""
    try:
        from residency_audit.providers.oci.clients import parse_endpoints
        from residency_audit.providers.oci.scanner import scan_oci
    except ImportError as exc:
        raise InputError("<command line>", None, "--oci",
                         f"the OCI adapter needs the oci SDK: pip install 'residency-audit[oci]' "
                         f"({exc.name})") from None
    for name in ("connect_timeout", "read_timeout", "max_attempts", "give_up_after"):
        if getattr(options, name) <= 0:
            raise InputError("--oci-" + name.replace("_", "-"), None, None, "must be more than 0")
    if options.backoff_cap < 0:
        raise InputError("--oci-backoff-cap", None, None, "must not be negative")
    return scan_oci(config_file=options.config_file, profile=options.profile, auth=options.auth,
                    regions=list(options.regions) if options.regions else None,
                    compartment=options.compartment,
                    endpoints=parse_endpoints(list(options.endpoints)),
                    use_search=options.use_search, connect_timeout=options.connect_timeout,
                    read_timeout=options.read_timeout, max_attempts=options.max_attempts,
                    backoff_cap=options.backoff_cap, give_up_after=options.give_up_after,
                    progress=progress)


def permissions_text() -> str:
    """The shipped least-privilege IAM policy (JSON), for ``residency-audit permissions oci``."""
    from residency_audit.providers.oci.operations import permissions_text as text

    return text()
