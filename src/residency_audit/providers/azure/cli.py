"""Command-line hooks of the Azure adapter (``residency-audit scan --azure …``).

No Azure SDK is imported until a scan runs.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

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

__all__ = ["add_arguments", "is_requested", "permissions_text", "scan_from_args"]


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
    from residency_audit.providers.azure.arm import PUBLIC_ARM, StaticTokenCredential
    from residency_audit.providers.azure.scanner import scan_azure

    endpoint = args.azure_endpoint or PUBLIC_ARM
    if not endpoint.startswith("https://"):
        raise InputError("<command line>", None, "--azure-endpoint",
                         f"{endpoint!r} is not an https:// URL (Resource Manager requires TLS)")
    if args.azure_subscription and args.azure_management_group:
        raise InputError("<command line>", None, "--azure-subscription",
                         "give --azure-subscription or --azure-management-group, not both")
    client_kwargs: dict[str, object] = {}
    if args.azure_ca_bundle:
        if not Path(args.azure_ca_bundle).is_file():
            raise InputError(args.azure_ca_bundle, None, "--azure-ca-bundle", "no such file")
        client_kwargs["connection_verify"] = args.azure_ca_bundle
    for flag, value, least in (("--azure-connect-timeout", args.azure_connect_timeout, 0.0),
                               ("--azure-read-timeout", args.azure_read_timeout, 0.0),
                               ("--azure-max-attempts", args.azure_max_attempts, 0),
                               ("--azure-give-up-after", args.azure_give_up_after, 0),
                               ("--azure-backoff-cap", args.azure_backoff_cap, -1e-9)):
        if not value > least or value != value or value == float("inf"):
            raise InputError("<command line>", None, flag, f"{value!r} is out of range (must be positive)")
    credential = None
    if args.azure_access_token_file:
        credential = StaticTokenCredential.from_file(args.azure_access_token_file)
    return scan_azure(credential=credential, subscriptions=list(args.azure_subscription or ()) or None,
                      management_groups=list(args.azure_management_group or ()), base_url=endpoint,
                      use_resource_graph=not args.azure_no_resource_graph, client_kwargs=client_kwargs,
                      connect_timeout=args.azure_connect_timeout, read_timeout=args.azure_read_timeout,
                      max_attempts=args.azure_max_attempts, backoff_cap=args.azure_backoff_cap,
                      give_up_after=args.azure_give_up_after, progress=progress)


def permissions_text() -> str:
    """The shipped least-privilege custom role definition (JSON), for ``residency-audit permissions azure``."""
    from residency_audit.providers.azure.operations import shipped_role_definition

    return json.dumps(shipped_role_definition(), indent=2) + "\n"
