"""Who and where to scan: the caller's account, the organisation's accounts, enabled regions.

- ``sts:GetCallerIdentity`` names the account (and partition) of the credentials.
- Organisation mode: ``organizations:ListAccounts`` lists the accounts; ``sts:AssumeRole`` into
  ``arn:<partition>:iam::<account>:role/<role>`` (with the external id when given) reaches each.
  An account that cannot be entered is a coverage gap; the scan goes on with the others.
- ``ec2:DescribeRegions`` with ``AllRegions=True`` lists regions with their ``OptInStatus``:
  a region that is ``not-opted-in`` is a coverage gap (``RegionNotEnabled``), never skipped in
  silence.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from residency_audit.providers.aws.faults import Attempt, iter_items
from residency_audit.providers.base import ReadOperation

__all__ = [
    "OPERATIONS",
    "AccountAccess",
    "RegionPlan",
    "fetch_accounts",
    "fetch_assumed_credentials",
    "fetch_caller_identity",
    "fetch_regions",
    "parse_accounts",
    "parse_regions",
    "role_arn",
]

OPERATIONS: tuple[ReadOperation, ...] = (
    ReadOperation(provider="aws", service="sts", operation="GetCallerIdentity", permission="sts:GetCallerIdentity"),
    ReadOperation(provider="aws", service="sts", operation="AssumeRole", permission="sts:AssumeRole"),
    ReadOperation(provider="aws", service="organizations", operation="ListAccounts",
                  permission="organizations:ListAccounts"),
    ReadOperation(provider="aws", service="ec2", operation="DescribeRegions", permission="ec2:DescribeRegions"),
)

_ENABLED = {"opt-in-not-required", "opted-in"}


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountAccess:
    """An account to scan and the temporary credentials to use (none: the caller's own)."""

    account: str
    name: str = ""
    credentials: Mapping[str, str] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RegionPlan:
    """Regions to scan, and regions left out because they are not enabled (or unknown)."""

    enabled: tuple[str, ...]
    disabled: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()


def role_arn(account: str, role: str, partition: str = "aws") -> str:
    """The ARN of ``role`` in ``account`` (``role`` may already be an ARN or a path).

    >>> role_arn("111122223333", "AuditRead")
    'arn:aws:iam::111122223333:role/AuditRead'
    """
    if role.startswith("arn:"):
        return role
    return f"arn:{partition}:iam::{account}:role/{role.lstrip('/')}"


def fetch_caller_identity(client: Any) -> dict[str, Any]:
    """``GetCallerIdentity``. Failure propagates: without it nothing can be attributed."""
    answer: dict[str, Any] = client.get_caller_identity()
    return answer


def fetch_accounts(client: Any, attempt: Attempt) -> list[dict[str, Any]] | None:
    """``ListAccounts`` pages; ``None`` (and a gap) when unseen."""
    return attempt.pages(client, "list_accounts", "ListAccounts")


def parse_accounts(pages: Iterable[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """``(account id, name)`` of the active accounts, sorted.

    >>> parse_accounts([{"Accounts": [{"Id": "2", "Name": "b", "Status": "ACTIVE"},
    ...                               {"Id": "1", "Name": "a", "Status": "SUSPENDED"}]}])
    [('2', 'b')]
    """
    accounts = {(str(a["Id"]), str(a.get("Name", ""))) for a in iter_items([dict(p) for p in pages], "Accounts")
                if a.get("Status", "ACTIVE") == "ACTIVE"}
    return sorted(accounts)


def fetch_assumed_credentials(client: Any, attempt: Attempt, *, arn: str, external_id: str | None,
                              session_name: str = "residency-audit") -> Mapping[str, str] | None:
    """Temporary credentials for ``arn``; ``None`` (and a gap) when the role cannot be assumed."""
    params: dict[str, Any] = {"RoleArn": arn, "RoleSessionName": session_name}
    if external_id:
        params["ExternalId"] = external_id
    answer = attempt.call("AssumeRole", client.assume_role, resource=arn, **params)
    if answer is None:
        return None
    c = answer["Credentials"]
    return {"aws_access_key_id": c["AccessKeyId"], "aws_secret_access_key": c["SecretAccessKey"],
            "aws_session_token": c["SessionToken"]}


def fetch_regions(client: Any, attempt: Attempt) -> dict[str, Any] | None:
    """``DescribeRegions`` with every region and its opt-in status."""
    return attempt.call("DescribeRegions", client.describe_regions, AllRegions=True)


def parse_regions(answer: Mapping[str, Any], *, requested: Sequence[str] | None = None) -> RegionPlan:
    """Which regions to scan: the enabled ones (of ``requested``, when given).

    >>> ans = {"Regions": [{"RegionName": "eu-north-1", "OptInStatus": "opt-in-not-required"},
    ...                    {"RegionName": "eu-south-2", "OptInStatus": "not-opted-in"}]}
    >>> parse_regions(ans)
    RegionPlan(enabled=('eu-north-1',), disabled=('eu-south-2',), unknown=())
    >>> parse_regions(ans, requested=["eu-north-1", "xx-east-9"])
    RegionPlan(enabled=('eu-north-1',), disabled=(), unknown=('xx-east-9',))
    """
    status = {str(r["RegionName"]): str(r.get("OptInStatus", "opt-in-not-required"))
              for r in answer.get("Regions", ())}
    wanted = sorted(set(requested)) if requested else sorted(status)
    return RegionPlan(
        enabled=tuple(r for r in wanted if status.get(r) in _ENABLED),
        disabled=tuple(r for r in wanted if r in status and status[r] not in _ENABLED),
        unknown=tuple(r for r in wanted if r not in status))
