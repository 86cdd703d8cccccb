"""The allow-list: every AWS operation the adapter may call, read from the service modules' SPECs.

:data:`SPECS` lists the one :class:`~residency_audit.providers.service.ServiceSpec` of each
service module, in scan order; the scanner's service table and the allow-list are both read
from it, with the discovery operations (STS, Organizations, EC2 regions) beside them.

Importing this module imports botocore's exceptions (not boto3). :func:`iam_policy` builds the least-privilege IAM
policy from the list; the shipped ``iam-policy.json`` is tested equal to it.

>>> "s3:GetReplicationConfiguration" in iam_actions()
True
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from residency_audit.providers.aws import backup, discovery, dynamodb, efs, kms, rds, s3
from residency_audit.providers.aws import config as aws_config
from residency_audit.providers.base import ReadOperation
from residency_audit.providers.service import ServiceSpec

__all__ = ["ALL_OPERATIONS", "SPECS", "allowed_calls", "iam_actions", "iam_policy", "policy_text"]

SPECS: tuple[ServiceSpec, ...] = (s3.SPEC, dynamodb.SPEC, rds.SPEC, backup.SPEC, efs.SPEC, kms.SPEC)
"""Every service the adapter scans, one declaration each."""


def _gather() -> tuple[ReadOperation, ...]:
    ops = {(o.service, o.operation): o for o in (*discovery.OPERATIONS, *aws_config.OPERATIONS, *(o for spec in SPECS for o in spec.operations))}
    return tuple(ops[k] for k in sorted(ops))


ALL_OPERATIONS: tuple[ReadOperation, ...] = _gather()


def allowed_calls() -> frozenset[tuple[str, str]]:
    """``(boto3 service name, operation name)`` pairs the adapter may call."""
    return frozenset((o.service, o.operation) for o in ALL_OPERATIONS)


def iam_actions() -> list[str]:
    """The IAM actions the allow-list needs, sorted and unique."""
    return sorted({o.permission for o in ALL_OPERATIONS})


def iam_policy() -> dict[str, Any]:
    """A least-privilege IAM policy document for the scan."""
    return {"Version": "2012-10-17",
            "Statement": [{"Sid": "ResidencyAuditRead", "Effect": "Allow", "Action": iam_actions(),
                           "Resource": "*"}]}


def policy_text() -> str:
    """The shipped ``iam-policy.json``, as text."""
    return resources.files("residency_audit.providers.aws").joinpath("iam-policy.json").read_text(encoding="utf-8")


if __name__ == "__main__":  # regenerate the shipped file: python -m residency_audit.providers.aws.operations
    print(json.dumps(iam_policy(), indent=2))
