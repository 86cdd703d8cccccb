"""The AWS adapter: S3, DynamoDB, RDS/Aurora, AWS Backup, EFS and KMS, per account and region.

Install with the ``aws`` extra (``pip install residency-audit[aws]``). The entry point is
:func:`residency_audit.providers.aws.scanner.scan_aws`, re-exported here lazily so that importing
this package (or its ``cli`` module) does not import boto3.
"""

from __future__ import annotations

from typing import Any

__all__ = ["scan_aws"]


def __getattr__(name: str) -> Any:
    if name == "scan_aws":
        from residency_audit.providers.aws.scanner import scan_aws

        return scan_aws
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
