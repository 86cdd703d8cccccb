"""AWS Backup: vaults, and the plans whose rules store recovery points and copy them elsewhere.

- ``ListBackupVaults``: each vault, placed in its region (a vault holds backups: role ``backup``).
- ``ListBackupPlans`` + ``GetBackupPlan``: each rule's target vault, and its ``CopyActions``
  whose ``DestinationBackupVaultArn`` may be in another region or account. The target vault
  gets a ``backs_up_to`` link to each copy destination; a destination outside the scan is
  emitted too, placed by the region in its ARN.
- ``ListBackupSelections`` + ``GetBackupSelection``: the resources a plan backs up, each linked
  to the plan's target vaults. Wildcard and tag-based selections cannot be resolved to resources
  here; they are kept on the vault's ``attributes`` (``selections``) so a reviewer sees them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from residency_audit.model import CoverageGap, LinkRelation, Resource, Role, freeze_tags
from residency_audit.providers.aws.faults import Attempt, Scope
from residency_audit.providers.aws.records import (
    arn_account,
    arn_member,
    arn_region,
    checked_arn,
    link,
    placement,
    records,
    referenced,
    strings,
)
from residency_audit.providers.base import ReadOperation
from residency_audit.providers.service import ServiceSpec, member, optional_member, parse_records

__all__ = ["OPERATIONS", "SPEC", "fetch_backup", "parse_backup"]

OPERATIONS: tuple[ReadOperation, ...] = tuple(
    ReadOperation(provider="aws", service="backup", operation=op, permission=f"backup:{op}")
    for op in ("ListBackupVaults", "ListBackupPlans", "GetBackupPlan", "ListBackupSelections",
               "GetBackupSelection"))


def fetch_backup(client: Any, attempt: Attempt) -> dict[str, Any]:
    """Raw ``vaults`` and ``plans`` (each GetBackupPlan answer with its ``Selections``)."""
    out: dict[str, Any] = {}
    vault_pages = attempt.pages(client, "list_backup_vaults", "ListBackupVaults")
    if vault_pages is not None:
        out["vaults"] = attempt.items("ListBackupVaults", vault_pages, "BackupVaultList")
    plan_pages = attempt.pages(client, "list_backup_plans", "ListBackupPlans")
    plans: list[dict[str, Any]] = []
    for entry in attempt.items("ListBackupPlans", plan_pages, "BackupPlansList"):
        arn = entry.get("BackupPlanArn") if isinstance(entry, Mapping) else None
        plan_id = attempt.member("ListBackupPlans", entry, "BackupPlanId", str,
                                 resource=arn if isinstance(arn, str) else "")
        if not plan_id:
            continue
        arn = arn if isinstance(arn, str) and arn else plan_id
        plan = attempt.call("GetBackupPlan", client.get_backup_plan, resource=arn, BackupPlanId=plan_id)
        if plan is None:
            continue
        selections: list[Any] = []
        sel_pages = attempt.pages(client, "list_backup_selections", "ListBackupSelections",
                                  resource=arn, BackupPlanId=plan_id)
        for sel in attempt.items("ListBackupSelections", sel_pages, "BackupSelectionsList"):
            selection_id = attempt.member("ListBackupSelections", sel, "SelectionId", str, resource=arn)
            if not selection_id:
                continue
            got = attempt.call("GetBackupSelection", client.get_backup_selection, resource=arn,
                               BackupPlanId=plan_id, SelectionId=selection_id)
            if got is not None:
                body = attempt.member("GetBackupSelection", got, "BackupSelection", dict, resource=arn)
                if body is not None:
                    selections.append(body)
        plans.append({**plan, "Selections": selections})
    if plan_pages is not None:
        out["plans"] = plans
    return out


def _vault_arn(name: str, *, region: str, account: str, partition: str) -> str:
    return f"arn:{partition}:backup:{region}:{account}:backup-vault:{name}"


def _vault(vault: Mapping[str, Any], *, account: str, region: str) -> list[Resource]:
    arn = arn_member(vault, "BackupVaultArn")
    return [Resource(
        id=arn, provider="aws", service="backup", kind="backup-vault", name=member(vault, "BackupVaultName", str),
        account=account,
        placements=(placement(arn_region(arn) or region, Role.BACKUP,
                              "ListBackupVaults BackupVaultList[].BackupVaultArn"),),
        attributes=freeze_tags({"locked": str(optional_member(vault, "Locked", bool, False)).lower()}))]


def _plan(plan: Mapping[str, Any], *, account: str, region: str, partition: str) -> list[Resource]:
    out: list[Resource] = []
    body = member(plan, "BackupPlan", dict)
    plan_name = optional_member(body, "BackupPlanName", str, "", path="BackupPlan.")
    targets: set[str] = set()
    for i, rule in enumerate(records(body, "Rules", path="BackupPlan.")):
        path = f"BackupPlan.Rules[{i}]."
        vault_name = member(rule, "TargetBackupVaultName", str, path=path)
        vault = _vault_arn(vault_name, region=region, account=account, partition=partition)
        targets.add(vault)
        ref = "GetBackupPlan BackupPlan.Rules[].TargetBackupVaultName"
        detail = f"plan {plan_name}, rule {optional_member(rule, 'RuleName', str, '', path=path)}"
        copy_links = []
        for j, action in enumerate(records(rule, "CopyActions", path=path)):
            dest = arn_member(action, "DestinationBackupVaultArn", path=f"{path}CopyActions[{j}].", regional=True)
            copy_ref = "GetBackupPlan BackupPlan.Rules[].CopyActions[].DestinationBackupVaultArn"
            copy_links.append(link(LinkRelation.BACKS_UP_TO, dest, copy_ref, detail=detail))
            out.append(referenced(id=dest, service="backup", kind="backup-vault",
                                  name=dest.rsplit(":", 1)[-1], account=arn_account(dest),
                                  placements=(placement(arn_region(dest), Role.BACKUP, copy_ref),)))
        out.append(referenced(id=vault, service="backup", kind="backup-vault", name=vault_name,
                              account=account, placements=(placement(region, Role.BACKUP, ref),),
                              links=copy_links))
    unresolved: list[str] = []
    for i, sel in enumerate(records(plan, "Selections")):
        sel_name = optional_member(sel, "SelectionName", str, "", path=f"Selections[{i}].")
        for res in strings(sel, "Resources", path=f"Selections[{i}]."):
            if "*" in res or not res.startswith("arn:"):
                unresolved.append(res)
                continue
            res = checked_arn(res, f"Selections[{i}].Resources[]")
            res_region = arn_region(res)
            sel_ref = "GetBackupSelection BackupSelection.Resources[]"
            out.append(referenced(
                id=res, service=res.split(":")[2], kind="resource", name=res.rsplit(":", 1)[-1].rsplit("/", 1)[-1],
                account=arn_account(res) or account,
                placements=(placement(res_region, Role.PRIMARY, sel_ref),) if res_region else (),
                links=tuple(link(LinkRelation.BACKS_UP_TO, t, sel_ref, detail=f"plan {plan_name}, selection {sel_name}")
                            for t in sorted(targets))))
        conditions = sel.get("Conditions")
        if sel.get("ListOfTags") or (isinstance(conditions, Mapping) and any(conditions.values())):
            unresolved.append(f"selection {sel_name} by tags/conditions")
    if unresolved:
        for t in sorted(targets):
            out.append(Resource(id=t, provider="aws", service="backup", kind="backup-vault",
                                name=t.rsplit(":", 1)[-1], account=account,
                                attributes=freeze_tags({"observed": "referenced",
                                                        "selections": "; ".join(sorted(set(unresolved)))})))
    return out


def parse_backup(payload: Mapping[str, Any], scope: Scope) -> tuple[list[Resource], list[CoverageGap]]:
    """Vaults, copy-destination vaults and the links a plan's rules and selections make.

    >>> plan = {"BackupPlanArn": "arn:aws:backup:eu-north-1:1:backup-plan:p",
    ...   "BackupPlan": {"BackupPlanName": "p", "Rules": [{"RuleName": "daily",
    ...     "TargetBackupVaultName": "main", "CopyActions": [
    ...       {"DestinationBackupVaultArn": "arn:aws:backup:us-east-1:2:backup-vault:dr"}]}]},
    ...   "Selections": []}
    >>> rs, gaps = parse_backup({"plans": [plan]}, Scope(account="1", region="eu-north-1", service="backup"))
    >>> [(r.name, [p.location for p in r.placements], [x.target for x in r.links]) for r in rs]
    [('dr', ['aws:us-east-1'], []), ('main', ['aws:eu-north-1'], ['arn:aws:backup:us-east-1:2:backup-vault:dr'])]
    """
    where = {"provider": "aws", "service": "backup", "scope": scope.account, "region": scope.region}
    vaults, gaps = parse_records(
        payload.get("vaults", ()), lambda v: _vault(v, account=scope.account, region=scope.region),
        operation="ListBackupVaults", id_fields=("BackupVaultArn", "BackupVaultName"), **where)
    plans, plan_gaps = parse_records(
        payload.get("plans", ()),
        lambda p: _plan(p, account=scope.account, region=scope.region, partition=scope.partition),
        operation="GetBackupPlan", id_fields=("BackupPlanArn", "BackupPlanId"), **where)
    return vaults + plans, gaps + plan_gaps


SPEC = ServiceSpec(provider="aws", name="backup", operations=OPERATIONS, fetch=fetch_backup,
                   parse=parse_backup, scope_kind="region",
                   finds="backup vaults, plans' copy actions to other regions and accounts, selections")
