"""Command-line hooks of the Azure adapter (``residency-audit scan --azure …``).

No Azure SDK is imported until a scan runs.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
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
    worst_case_seconds,
)

__all__ = ["ScanOptions", "add_arguments", "is_requested", "options_from_args", "options_from_config",
           "permissions_text", "scan_from_args", "scan_with_options"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``--azure…`` options in their own group."""
    g = parser.add_argument_group("Azure", "read subscriptions, regions, storage, SQL, Cosmos DB, vaults and "
                                  "key vaults (read-only; see `residency-audit permissions azure`)")
    g.add_argument("--azure", action="store_true", help="scan Azure (every subscription the credential can read)")
    g.add_argument("--azure-subscription", metavar="ID", action="append", default=[],
                   help="scan this subscription only (repeatable)")
    g.add_argument("--azure-management-group", metavar="MG", action="append", default=[],
                   help="scan the subscriptions under this management group (repeatable; Resource Graph)")
    g.add_argument("--azure-endpoint", metavar="URL", default=None,
                   help="Resource Manager endpoint: a sovereign cloud (https://management.chinacloudapi.cn, "
                        "https://management.usgovcloudapi.net) or a private endpoint "
                        "(default https://management.azure.com)")
    g.add_argument("--azure-no-resource-graph", action="store_true",
                   help="list per subscription over Resource Manager instead of one Resource Graph query")
    g.add_argument("--azure-ca-bundle", metavar="FILE", default=None,
                   help="trust this CA bundle for the endpoint (a private endpoint behind an inspecting proxy)")
    g.add_argument("--azure-access-token-file", metavar="FILE", default=None,
                   help="use the bearer token in FILE (e.g. from `az account get-access-token`) "
                        "instead of DefaultAzureCredential")
    g.add_argument("--azure-connect-timeout", metavar="SECONDS", type=float, default=CONNECT_TIMEOUT,
                   help=f"seconds to wait for a connection (default {CONNECT_TIMEOUT:g})")
    g.add_argument("--azure-read-timeout", metavar="SECONDS", type=float, default=READ_TIMEOUT,
                   help=f"seconds to wait for an answer (default {READ_TIMEOUT:g})")
    g.add_argument("--azure-max-attempts", metavar="N", type=int, default=MAX_ATTEMPTS,
                   help=f"attempts per call, first included, for throttling, 5xx and timeouts (default {MAX_ATTEMPTS})")
    g.add_argument("--azure-backoff-cap", metavar="SECONDS", type=float, default=BACKOFF_CAP,
                   help=f"longest pause between two attempts (default {BACKOFF_CAP:g})")
    g.add_argument("--azure-give-up-after", metavar="N", type=int, default=GIVE_UP_AFTER,
                   help="calls left unanswered after which the endpoint (or a subscription's service answering "
                        f"5xx) is given up (default {GIVE_UP_AFTER}; with the defaults a dead endpoint costs at "
                        f"most {worst_case_seconds():g} s)")


def is_requested(args: argparse.Namespace) -> bool:
    """True when ``--azure`` or an Azure scope was given."""
    return bool(getattr(args, "azure", False) or getattr(args, "azure_subscription", None)
                or getattr(args, "azure_management_group", None))


def scan_from_args(args: argparse.Namespace, *, progress: ProgressCallback | None) -> Estate:
    """Run :func:`~residency_audit.providers.azure.scanner.scan_azure` with the parsed options."""
    return scan_with_options(options_from_args(args), progress=progress)


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanOptions:
    """The typed options of an Azure scan, built from ``--azure…`` options or from a config's
    ``[sources.azure]``."""

    subscriptions: tuple[str, ...] = ()
    management_groups: tuple[str, ...] = ()
    endpoint: str | None = None
    use_resource_graph: bool = True
    ca_bundle: str | None = None
    access_token_file: str | None = None
    connect_timeout: float = CONNECT_TIMEOUT
    read_timeout: float = READ_TIMEOUT
    max_attempts: int = MAX_ATTEMPTS
    backoff_cap: float = BACKOFF_CAP
    give_up_after: int = GIVE_UP_AFTER


def options_from_args(args: argparse.Namespace) -> ScanOptions:
    """The options that the parsed ``--azure…`` command-line options ask for."""
    return ScanOptions(subscriptions=tuple(args.azure_subscription or ()),
                       management_groups=tuple(args.azure_management_group or ()),
                       endpoint=args.azure_endpoint, use_resource_graph=not args.azure_no_resource_graph,
                       ca_bundle=args.azure_ca_bundle, access_token_file=args.azure_access_token_file,
                       connect_timeout=args.azure_connect_timeout, read_timeout=args.azure_read_timeout,
                       max_attempts=args.azure_max_attempts, backoff_cap=args.azure_backoff_cap,
                       give_up_after=args.azure_give_up_after)


def options_from_config(section: Mapping[str, Any]) -> ScanOptions:
    """The options of a config's ``[sources.azure]`` section (its keys as in docs/config.md).

    >>> options_from_config({"management_group": ["mg-health"]}).management_groups
    ('mg-health',)
    """
    return ScanOptions(subscriptions=tuple(section.get("subscriptions") or ()),
                       management_groups=tuple(section.get("management_group") or ()),
                       endpoint=section.get("endpoint"))


def scan_with_options(options: ScanOptions, *, progress: ProgressCallback | None) -> Estate:
    """Run :func:`~residency_audit.providers.azure.scanner.scan_azure` with ``options``."""
    from residency_audit.providers.azure.arm import PUBLIC_ARM, StaticTokenCredential
    from residency_audit.providers.azure.scanner import scan_azure

    endpoint = options.endpoint or PUBLIC_ARM
    if not endpoint.startswith("https://"):
        raise InputError("<command line>", None, "--azure-endpoint",
                         f"{endpoint!r} is not an https:// URL (Resource Manager requires TLS)")
    if options.subscriptions and options.management_groups:
        raise InputError("<command line>", None, "--azure-subscription",
                         "give --azure-subscription or --azure-management-group, not both")
    client_kwargs: dict[str, object] = {}
    if options.ca_bundle:
        if not Path(options.ca_bundle).is_file():
            raise InputError(options.ca_bundle, None, "--azure-ca-bundle", "no such file")
        client_kwargs["connection_verify"] = options.ca_bundle
    for flag, value, least in (("--azure-connect-timeout", options.connect_timeout, 0.0),
                               ("--azure-read-timeout", options.read_timeout, 0.0),
                               ("--azure-max-attempts", options.max_attempts, 0),
                               ("--azure-give-up-after", options.give_up_after, 0),
                               ("--azure-backoff-cap", options.backoff_cap, -1e-9)):
        if not value > least or value != value or value == float("inf"):
            raise InputError("<command line>", None, flag, f"{value!r} is out of range (must be positive)")
    credential = None
    if options.access_token_file:
        credential = StaticTokenCredential.from_file(options.access_token_file)
    return scan_azure(credential=credential, subscriptions=list(options.subscriptions) or None,
                      management_groups=list(options.management_groups), base_url=endpoint,
                      use_resource_graph=options.use_resource_graph, client_kwargs=client_kwargs,
                      connect_timeout=options.connect_timeout, read_timeout=options.read_timeout,
                      max_attempts=options.max_attempts, backoff_cap=options.backoff_cap,
                      give_up_after=options.give_up_after, progress=progress)


def permissions_text() -> str:
    """The shipped least-privilege custom role definition (JSON), for ``residency-audit permissions azure``."""
    from residency_audit.providers.azure.operations import shipped_role_definition

    return json.dumps(shipped_role_definition(), indent=2) + "\n"
