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

from residency_audit.model import CoverageGap, GapLevel
from residency_audit.providers.aws.faults import Attempt, Scope
from residency_audit.providers.aws.records import region_member
from residency_audit.providers.base import ReadOperation
from residency_audit.providers.service import RecordError, member, optional_member, parse_records

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
    """Regions to scan, regions left out because they are not enabled (or unknown), and the
    records of the answer that could not be read."""

    enabled: tuple[str, ...]
    disabled: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()
    gaps: tuple[CoverageGap, ...] = ()


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


def parse_accounts(pages: Iterable[Mapping[str, Any]], scope: Scope | None = None,
                   ) -> tuple[list[tuple[str, str]], list[CoverageGap]]:
    """``(account id, name)`` of the active accounts, sorted; an unreadable record is a gap
    at scope level (an account of the organisation that will not be scanned).

    >>> parse_accounts([{"Accounts": [{"Id": "2", "Name": "b", "Status": "ACTIVE"},
    ...                               {"Id": "1", "Name": "a", "Status": "SUSPENDED"}]}])
    ([('2', 'b')], [])
    """
    scope = scope or Scope(account="", region="", service="organizations")
    accounts: set[tuple[str, str]] = set()

    def one(a: Any) -> list[Any]:
        account = member(a, "Id", str)
        if not account.isdigit():
            raise RecordError("Id", "not an account id")
        if optional_member(a, "Status", str, "ACTIVE") == "ACTIVE":
            accounts.add((account, optional_member(a, "Name", str, "")))
        return []

    items: list[Any] = []
    for page in pages:
        value = page.get("Accounts") if isinstance(page, Mapping) else None
        items += value if isinstance(value, list) else []
    _, gaps = parse_records(items, one, provider="aws", service="organizations", scope=scope.account,
                            region=scope.region, operation="ListAccounts", id_fields=("Id", "Arn", "Name"))
    return sorted(accounts), [_scope_level(g) for g in gaps]


def _scope_level(gap: CoverageGap) -> CoverageGap:
    from dataclasses import replace

    return replace(gap, level=GapLevel.SCOPE)


def fetch_assumed_credentials(client: Any, attempt: Attempt, *, arn: str, external_id: str | None,
                              session_name: str = "residency-audit") -> Mapping[str, str] | None:
    """Temporary credentials for ``arn``; ``None`` (and a gap) when the role cannot be assumed."""
    params: dict[str, Any] = {"RoleArn": arn, "RoleSessionName": session_name}
    if external_id:
        params["ExternalId"] = external_id
    answer = attempt.call("AssumeRole", client.assume_role, resource=arn, **params)
    if answer is None:
        return None
    try:
        c = member(answer, "Credentials", dict)
        return {"aws_access_key_id": member(c, "AccessKeyId", str, path="Credentials."),
                "aws_secret_access_key": member(c, "SecretAccessKey", str, path="Credentials."),
                "aws_session_token": member(c, "SessionToken", str, path="Credentials.")}
    except RecordError as exc:
        attempt.unparseable("AssumeRole", exc, resource=arn, level=GapLevel.SCOPE)
        return None


def fetch_regions(client: Any, attempt: Attempt) -> dict[str, Any] | None:
    """``DescribeRegions`` with every region and its opt-in status."""
    return attempt.call("DescribeRegions", client.describe_regions, AllRegions=True)


def parse_regions(answer: Mapping[str, Any], *, requested: Sequence[str] | None = None,
                  scope: Scope | None = None) -> RegionPlan:
    """Which regions to scan: the enabled ones (of ``requested``, when given).

    >>> ans = {"Regions": [{"RegionName": "eu-north-1", "OptInStatus": "opt-in-not-required"},
    ...                    {"RegionName": "eu-south-2", "OptInStatus": "not-opted-in"}]}
    >>> parse_regions(ans)
    RegionPlan(enabled=('eu-north-1',), disabled=('eu-south-2',), unknown=(), gaps=())
    >>> parse_regions(ans, requested=["eu-north-1", "xx-east-9"])
    RegionPlan(enabled=('eu-north-1',), disabled=(), unknown=('xx-east-9',), gaps=())
    """
    scope = scope or Scope(account="", region="", service="ec2")
    status: dict[str, str] = {}

    def one(r: Any) -> list[Any]:
        name = region_member(r, "RegionName")
        status[name] = optional_member(r, "OptInStatus", str, "opt-in-not-required")
        return []

    items = answer.get("Regions")
    _, gaps = parse_records(items if isinstance(items, list) else [], one, provider="aws", service="ec2",
                            scope=scope.account, region=scope.region, operation="DescribeRegions",
                            id_fields=("RegionName",))
    if items is not None and not isinstance(items, list):
        gaps.append(CoverageGap(provider="aws", service="ec2", scope=scope.account, region=scope.region,
                                operation="DescribeRegions", error="UnparseableRecord", level=GapLevel.RECORD,
                                field="Regions", message=f"Regions: expected list, got {type(items).__name__}"))
    wanted = sorted(set(requested)) if requested else sorted(status)
    return RegionPlan(
        enabled=tuple(r for r in wanted if status.get(r) in _ENABLED),
        disabled=tuple(r for r in wanted if r in status and status[r] not in _ENABLED),
        unknown=tuple(r for r in wanted if r not in status), gaps=tuple(gaps))
