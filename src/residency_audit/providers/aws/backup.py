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

from residency_audit.model import LinkRelation, Resource, Role, freeze_tags
from residency_audit.providers.aws.faults import Attempt, iter_items
from residency_audit.providers.aws.records import (
    arn_account,
    arn_region,
    link,
    placement,
    referenced,
)
from residency_audit.providers.base import ReadOperation

__all__ = ["OPERATIONS", "fetch_backup", "parse_backup"]

OPERATIONS: tuple[ReadOperation, ...] = tuple(
    ReadOperation(provider="aws", service="backup", operation=op, permission=f"backup:{op}")
    for op in ("ListBackupVaults", "ListBackupPlans", "GetBackupPlan", "ListBackupSelections",
               "GetBackupSelection"))


def fetch_backup(client: Any, attempt: Attempt) -> dict[str, Any]:
    """Raw ``vaults`` and ``plans`` (each GetBackupPlan answer with its ``Selections``)."""
    out: dict[str, Any] = {}
    vault_pages = attempt.pages(client, "list_backup_vaults", "ListBackupVaults")
    if vault_pages is not None:
        out["vaults"] = list(iter_items(vault_pages, "BackupVaultList"))
    plan_pages = attempt.pages(client, "list_backup_plans", "ListBackupPlans")
    plans: list[dict[str, Any]] = []
    for entry in iter_items(plan_pages, "BackupPlansList"):
        plan_id = entry["BackupPlanId"]
        arn = entry.get("BackupPlanArn", plan_id)
        plan = attempt.call("GetBackupPlan", client.get_backup_plan, resource=arn, BackupPlanId=plan_id)
        if plan is None:
            continue
        selections: list[dict[str, Any]] = []
        sel_pages = attempt.pages(client, "list_backup_selections", "ListBackupSelections",
                                  resource=arn, BackupPlanId=plan_id)
        for sel in iter_items(sel_pages, "BackupSelectionsList"):
            got = attempt.call("GetBackupSelection", client.get_backup_selection, resource=arn,
                               BackupPlanId=plan_id, SelectionId=sel["SelectionId"])
            if got is not None:
                selections.append(got["BackupSelection"])
        plans.append({**plan, "Selections": selections})
    if plan_pages is not None:
        out["plans"] = plans
    return out


def _vault_arn(name: str, *, region: str, account: str, partition: str) -> str:
    return f"arn:{partition}:backup:{region}:{account}:backup-vault:{name}"


def parse_backup(payload: Mapping[str, Any], *, account: str, region: str, partition: str = "aws",
                 ) -> list[Resource]:
    """Vaults, copy-destination vaults and the links a plan's rules and selections make.

    >>> plan = {"BackupPlanArn": "arn:aws:backup:eu-north-1:1:backup-plan:p",
    ...   "BackupPlan": {"BackupPlanName": "p", "Rules": [{"RuleName": "daily",
    ...     "TargetBackupVaultName": "main", "CopyActions": [
    ...       {"DestinationBackupVaultArn": "arn:aws:backup:us-east-1:2:backup-vault:dr"}]}]},
    ...   "Selections": []}
    >>> rs = parse_backup({"plans": [plan]}, account="1", region="eu-north-1")
    >>> [(r.name, [p.location for p in r.placements], [x.target for x in r.links]) for r in rs]
    [('dr', ['aws:us-east-1'], []), ('main', ['aws:eu-north-1'], ['arn:aws:backup:us-east-1:2:backup-vault:dr'])]
    """
    out: list[Resource] = []
    for vault in payload.get("vaults", ()):
        arn = str(vault["BackupVaultArn"])
        out.append(Resource(
            id=arn, provider="aws", service="backup", kind="backup-vault", name=str(vault["BackupVaultName"]),
            account=account,
            placements=(placement(arn_region(arn) or region, Role.BACKUP,
                                  "ListBackupVaults BackupVaultList[].BackupVaultArn"),),
            attributes=freeze_tags({"locked": str(bool(vault.get("Locked", False))).lower()})))
    for plan in payload.get("plans", ()):
        body = plan["BackupPlan"]
        plan_name = str(body.get("BackupPlanName", ""))
        targets: set[str] = set()
        for rule in body.get("Rules", ()):
            vault = _vault_arn(str(rule["TargetBackupVaultName"]), region=region, account=account,
                               partition=partition)
            targets.add(vault)
            ref = "GetBackupPlan BackupPlan.Rules[].TargetBackupVaultName"
            detail = f"plan {plan_name}, rule {rule.get('RuleName', '')}"
            copy_links = []
            for action in rule.get("CopyActions", ()):
                dest = str(action["DestinationBackupVaultArn"])
                copy_ref = "GetBackupPlan BackupPlan.Rules[].CopyActions[].DestinationBackupVaultArn"
                copy_links.append(link(LinkRelation.BACKS_UP_TO, dest, copy_ref, detail=detail))
                out.append(referenced(id=dest, service="backup", kind="backup-vault",
                                      name=dest.rsplit(":", 1)[-1], account=arn_account(dest),
                                      placements=(placement(arn_region(dest), Role.BACKUP, copy_ref),)))
            out.append(referenced(id=vault, service="backup", kind="backup-vault",
                                  name=str(rule["TargetBackupVaultName"]), account=account,
                                  placements=(placement(region, Role.BACKUP, ref),),
                                  links=copy_links))
        unresolved: list[str] = []
        for sel in plan.get("Selections", ()):
            for res in sel.get("Resources", ()) or ():
                res = str(res)
                if "*" in res or not res.startswith("arn:"):
                    unresolved.append(res)
                    continue
                res_region = arn_region(res)
                sel_ref = "GetBackupSelection BackupSelection.Resources[]"
                out.append(referenced(
                    id=res, service=res.split(":")[2], kind="resource", name=res.rsplit(":", 1)[-1].rsplit("/", 1)[-1],
                    account=arn_account(res) or account,
                    placements=(placement(res_region, Role.PRIMARY, sel_ref),) if res_region else (),
                    links=tuple(link(LinkRelation.BACKS_UP_TO, t, sel_ref,
                                     detail=f"plan {plan_name}, selection {sel.get('SelectionName', '')}")
                                for t in sorted(targets))))
            if sel.get("ListOfTags") or any((sel.get("Conditions") or {}).values()):
                unresolved.append(f"selection {sel.get('SelectionName', '')} by tags/conditions")
        if unresolved:
            for t in sorted(targets):
                out.append(Resource(id=t, provider="aws", service="backup", kind="backup-vault",
                                    name=t.rsplit(":", 1)[-1], account=account,
                                    attributes=freeze_tags({"observed": "referenced",
                                                            "selections": "; ".join(sorted(set(unresolved)))})))
    return out
