"""Command-line hooks of the AWS adapter: ``residency-audit scan --aws ...``.

This module imports neither boto3 nor botocore at import time.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from residency_audit.errors import InputError
from residency_audit.model import Estate
from residency_audit.providers.base import ProgressCallback
from residency_audit.providers.service import CONNECT_TIMEOUT, MAX_ATTEMPTS, READ_TIMEOUT

__all__ = ["ScanOptions", "add_arguments", "is_requested", "options_from_args", "options_from_config",
           "permissions_text", "scan_from_args", "scan_with_options"]

_SERVICES = ("s3", "dynamodb", "rds", "backup", "efs", "kms")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``--aws*`` options in their own group."""
    g = parser.add_argument_group("AWS", "Scan AWS accounts (needs the 'aws' extra: boto3).")
    g.add_argument("--aws", action="store_true", help="scan AWS with boto3's credential chain")
    g.add_argument("--aws-profile", metavar="P", help="named profile to use (implies --aws)")
    g.add_argument("--aws-regions", metavar="R1,R2", action="append",
                   help="regions to scan, comma-separated or repeated (default: every enabled region)")
    g.add_argument("--aws-services", metavar="S1,S2", action="append",
                   help=f"services to scan (default: all of {','.join(_SERVICES)})")
    g.add_argument("--aws-org-role", metavar="ROLE",
                   help="scan every account of the organisation by assuming this role name or ARN")
    g.add_argument("--aws-external-id", metavar="ID", help="external id for --aws-org-role")
    g.add_argument("--aws-max-workers", metavar="N", type=int, default=16,
                   help="concurrent requests (default 16)")
    g.add_argument("--aws-connect-timeout", metavar="S", type=float, default=CONNECT_TIMEOUT,
                   help=f"seconds to wait for a connection (default {CONNECT_TIMEOUT:g})")
    g.add_argument("--aws-read-timeout", metavar="S", type=float, default=READ_TIMEOUT,
                   help=f"seconds to wait for an answer (default {READ_TIMEOUT:g})")
    g.add_argument("--aws-max-attempts", metavar="N", type=int, default=None,
                   help=f"attempts per call, the first included (default: AWS_MAX_ATTEMPTS or the "
                        f"profile's max_attempts, else {MAX_ATTEMPTS}); with the defaults an endpoint that "
                        "never answers is given up within 85 s")
    g.add_argument("--aws-no-tags", action="store_true",
                   help="read no bucket tags (one tag:GetResources call per 100 buckets of a region fewer; "
                        "data categories that select buckets by tag then select none)")
    g.add_argument("--aws-config-aggregator", metavar="NAME",
                   help="with --aws-org-role: the AWS Config aggregator to read (default: the first "
                        "with an organisation source, when there is one)")
    g.add_argument("--aws-no-config", action="store_true",
                   help="with --aws-org-role: do not read AWS Config aggregators; enter every account")


def is_requested(args: argparse.Namespace) -> bool:
    """True when any ``--aws*`` option selecting a scan was given."""
    return bool(getattr(args, "aws", False) or getattr(args, "aws_profile", None)
                or getattr(args, "aws_org_role", None))


def _split(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    items = sorted({v.strip() for value in values for v in value.split(",") if v.strip()})
    return items or None


def scan_from_args(args: argparse.Namespace, *, progress: ProgressCallback | None) -> Estate:
    """Run :func:`~residency_audit.providers.aws.scanner.scan_aws` with the parsed options."""
    return scan_with_options(options_from_args(args), progress=progress)


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanOptions:
    """The typed options of an AWS scan: :func:`~residency_audit.providers.aws.scanner.scan_aws`'s
    keywords, built from ``--aws*`` options or from a config's ``[sources.aws]``."""

    profile: str | None = None
    regions: tuple[str, ...] | None = None
    services: tuple[str, ...] | None = None
    org_role: str | None = None
    external_id: str | None = None
    max_workers: int = 16
    max_attempts: int | None = None
    connect_timeout: float = CONNECT_TIMEOUT
    read_timeout: float = READ_TIMEOUT
    tags: bool = True
    config_aggregator: str | bool = True


def _items(values: Sequence[str] | None) -> tuple[str, ...] | None:
    items = _split(list(values) if values else None)
    return tuple(items) if items else None


def options_from_args(args: argparse.Namespace) -> ScanOptions:
    """The options that the parsed ``--aws*`` command-line options ask for."""
    return ScanOptions(profile=args.aws_profile, regions=_items(args.aws_regions),
                       services=_items(args.aws_services), org_role=args.aws_org_role,
                       external_id=args.aws_external_id, max_workers=args.aws_max_workers,
                       max_attempts=args.aws_max_attempts, connect_timeout=args.aws_connect_timeout,
                       read_timeout=args.aws_read_timeout, tags=not getattr(args, "aws_no_tags", False),
                       config_aggregator=False if getattr(args, "aws_no_config", False)
                       else getattr(args, "aws_config_aggregator", None) or True)


def options_from_config(section: Mapping[str, Any]) -> ScanOptions:
    """The options of a config's ``[sources.aws]`` section (its keys as in docs/config.md).

    >>> options_from_config({"profile": "audit", "regions": ["eu-west-1", "eu-north-1"]}).regions
    ('eu-north-1', 'eu-west-1')
    """
    return ScanOptions(profile=section.get("profile"), regions=_items(section.get("regions")),
                       services=_items(section.get("services")), org_role=section.get("org_role"),
                       external_id=section.get("external_id"), tags=_flag(section, "tags"),
                       config_aggregator=_aggregator(section.get("config_aggregator", True)))


def _flag(section: Mapping[str, Any], key: str) -> bool:
    value = section.get(key, True)
    if not isinstance(value, bool):
        raise InputError("[sources.aws]", None, key, f"must be true or false, not {value!r}")
    return value


def _aggregator(value: Any) -> str | bool:
    if isinstance(value, bool) or (isinstance(value, str) and value):
        return value
    raise InputError("[sources.aws]", None, "config_aggregator",
                     f"must be true, false or an aggregator name, not {value!r}")


def scan_with_options(options: ScanOptions, *, progress: ProgressCallback | None) -> Estate:
    """Run :func:`~residency_audit.providers.aws.scanner.scan_aws` with ``options``."""
    if options.external_id and not options.org_role:
        raise InputError("<command line>", None, "--aws-external-id", "needs --aws-org-role")
    try:
        from residency_audit.providers.aws.scanner import scan_aws
    except ImportError as exc:
        raise InputError("<command line>", None, "--aws",
                         f"the AWS adapter needs boto3: pip install 'residency-audit[aws]' ({exc.name})") from None
    return scan_aws(profile=options.profile, regions=options.regions, services=options.services,
                    org_role=options.org_role, external_id=options.external_id,
                    max_workers=options.max_workers, max_attempts=options.max_attempts,
                    connect_timeout=options.connect_timeout, read_timeout=options.read_timeout,
                    tags=options.tags, config_aggregator=options.config_aggregator, progress=progress)


def permissions_text() -> str:
    """The least-privilege IAM policy (``iam-policy.json``) that a scan needs."""
    return resources.files("residency_audit.providers.aws").joinpath("iam-policy.json").read_text(encoding="utf-8")
