"""Builders of Resource Manager payloads (shaped like the REST API specifications' examples)."""

from __future__ import annotations

from typing import Any

SUB_PROD = "11111111-1111-1111-1111-111111111111"
SUB_DR = "22222222-2222-2222-2222-222222222222"
SUB_DENIED = "33333333-3333-3333-3333-333333333333"


def rid(sub: str, rg: str, provider_path: str) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{rg}/providers/{provider_path}"


def storage_account(sub: str, rg: str, name: str, *, location: str, sku: str, primary: str | None = "",
                    secondary: str | None = None, status_secondary: str | None = None,
                    last_failover: str | None = None, tags: dict[str, str] | None = None) -> dict[str, Any]:
    """A storage account like StorageAccountList.json (primary defaults to ``location``)."""
    tier = sku.split("_", 1)[0]
    props: dict[str, Any] = {
        "creationTime": "2024-05-02T10:00:00.0000000Z", "provisioningState": "Succeeded",
        "primaryEndpoints": {"blob": f"https://{name}.blob.core.windows.net/",
                             "dfs": f"https://{name}.dfs.core.windows.net/"},
        "primaryLocation": location if primary == "" else primary,
        "statusOfPrimary": "available", "isHnsEnabled": False, "supportsHttpsTrafficOnly": True,
        "encryption": {"keySource": "Microsoft.Storage",
                       "services": {"blob": {"enabled": True, "keyType": "Account"}}},
    }
    if props["primaryLocation"] is None:
        del props["primaryLocation"]
    if secondary:
        props["secondaryLocation"] = secondary
        props["statusOfSecondary"] = status_secondary or "available"
    if last_failover:
        props["lastGeoFailoverTime"] = last_failover
    return {"id": rid(sub, rg, f"Microsoft.Storage/storageAccounts/{name}"), "kind": "StorageV2",
            "location": location, "name": name, "properties": props,
            "sku": {"name": sku, "tier": "Premium" if tier.startswith("Premium") else "Standard"},
            "tags": tags or {}, "type": "Microsoft.Storage/storageAccounts"}


def sql_server(sub: str, rg: str, name: str, *, location: str, tags: dict[str, str] | None = None) -> dict[str, Any]:
    return {"id": rid(sub, rg, f"Microsoft.Sql/servers/{name}"), "name": name, "type": "Microsoft.Sql/servers",
            "location": location, "kind": "v12.0", "tags": tags or {},
            "properties": {"administratorLogin": "dummylogin", "version": "12.0", "state": "Ready",
                           "fullyQualifiedDomainName": f"{name}.database.windows.net",
                           "publicNetworkAccess": "Disabled"}}


def sql_database(server: dict[str, Any], name: str, *, backup: str | None = "Geo", secondary_type: str | None = None,
                 tags: dict[str, str] | None = None) -> dict[str, Any]:
    props: dict[str, Any] = {"collation": "SQL_Latin1_General_CP1_CI_AS", "status": "Online",
                             "creationDate": "2024-05-02T10:00:00Z", "defaultSecondaryLocation": "northeurope"}
    if backup:
        props["currentBackupStorageRedundancy"] = backup
        props["requestedBackupStorageRedundancy"] = backup
    if secondary_type:
        props["secondaryType"] = secondary_type
    return {"id": f"{server['id']}/databases/{name}", "name": name, "type": "Microsoft.Sql/servers/databases",
            "location": server["location"], "kind": "v12.0,user", "tags": tags or {},
            "sku": {"name": "S0", "tier": "Standard"}, "properties": props}


def replication_link(database: dict[str, Any], *, partner_server: str, partner_database: str,
                     partner_location: str, role: str = "Primary", partner_role: str = "Secondary",
                     partner_id: str | None = None, link: str = "5b301b68-03f6-4b26-b0f4-73ebb8634238") -> dict[str, Any]:
    """Like ReplicationLinkListByServer.json."""
    props: dict[str, Any] = {"partnerServer": partner_server, "partnerDatabase": partner_database,
                             "partnerLocation": partner_location, "role": role, "partnerRole": partner_role,
                             "replicationMode": "ASYNC", "startTime": "2024-05-03T10:00:00Z",
                             "percentComplete": 100, "replicationState": "CATCH_UP",
                             "isTerminationAllowed": True, "linkType": "GEO"}
    if partner_id:
        props["partnerDatabaseId"] = partner_id
    return {"id": f"{database['id']}/replicationLinks/{link}", "name": link,
            "type": "Microsoft.Sql/servers/databases/replicationLinks", "properties": props}


def failover_group(server: dict[str, Any], name: str, *, partner: dict[str, Any],
                   databases: list[dict[str, Any]]) -> dict[str, Any]:
    """Like FailoverGroupList.json."""
    return {"id": f"{server['id']}/failoverGroups/{name}", "name": name, "location": server["location"],
            "type": "Microsoft.Sql/servers/failoverGroups",
            "properties": {"readWriteEndpoint": {"failoverPolicy": "Automatic",
                                                 "failoverWithDataLossGracePeriodMinutes": 480},
                           "readOnlyEndpoint": {"failoverPolicy": "Disabled"}, "replicationRole": "Primary",
                           "replicationState": "CATCH_UP",
                           "partnerServers": [{"id": partner["id"], "location": partner["location"],
                                               "replicationRole": "Secondary"}],
                           "databases": [d["id"] for d in databases]}}


def cosmos_account(sub: str, rg: str, name: str, *, regions: list[tuple[str, int]], writes: int = 1,
                   backup: str | None = "Geo", tags: dict[str, str] | None = None) -> dict[str, Any]:
    """Like CosmosDBDatabaseAccountList.json; ``regions`` are (display name, failover priority)."""
    def loc(display: str, prio: int) -> dict[str, Any]:
        code = display.lower().replace(" ", "")
        return {"id": f"{name}-{code}", "locationName": display, "failoverPriority": prio,
                "documentEndpoint": f"https://{name}-{code}.documents.azure.com:443/",
                "provisioningState": "Succeeded", "isZoneRedundant": False}

    locs = [loc(d, p) for d, p in regions]
    props: dict[str, Any] = {
        "provisioningState": "Succeeded", "documentEndpoint": f"https://{name}.documents.azure.com:443/",
        "databaseAccountOfferType": "Standard", "enableAutomaticFailover": True,
        "enableMultipleWriteLocations": writes > 1,
        "consistencyPolicy": {"defaultConsistencyLevel": "Session"},
        "writeLocations": sorted(locs, key=lambda x: x["failoverPriority"])[:writes], "readLocations": locs,
        "locations": locs, "failoverPolicies": [{"id": x["id"], "locationName": x["locationName"],
                                                 "failoverPriority": x["failoverPriority"]} for x in locs],
    }
    if backup:
        props["backupPolicy"] = {"type": "Periodic", "periodicModeProperties": {
            "backupIntervalInMinutes": 240, "backupRetentionIntervalInHours": 8, "backupStorageRedundancy": backup}}
    return {"id": rid(sub, rg, f"Microsoft.DocumentDB/databaseAccounts/{name}"), "name": name,
            "location": regions[0][0], "type": "Microsoft.DocumentDB/databaseAccounts",
            "kind": "GlobalDocumentDB", "tags": tags or {}, "properties": props}


def recovery_vault(sub: str, rg: str, name: str, *, location: str, redundancy: str | None,
                   crr: str = "Disabled") -> dict[str, Any]:
    props: dict[str, Any] = {"provisioningState": "Succeeded"}
    if redundancy:
        props["redundancySettings"] = {"standardTierStorageRedundancy": redundancy, "crossRegionRestore": crr}
    return {"id": rid(sub, rg, f"Microsoft.RecoveryServices/vaults/{name}"), "name": name,
            "type": "Microsoft.RecoveryServices/vaults", "location": location, "tags": {},
            "sku": {"name": "Standard"}, "etag": "W/\"datetime'2024-05-02T10%3A00%3A00Z'\"", "properties": props}


def backup_vault(sub: str, rg: str, name: str, *, location: str, redundancy: str, crr: str = "Enabled") -> dict[str, Any]:
    return {"id": rid(sub, rg, f"Microsoft.DataProtection/backupVaults/{name}"), "name": name,
            "type": "Microsoft.DataProtection/backupVaults", "location": location, "tags": {},
            "identity": {"type": "SystemAssigned"},
            "properties": {"provisioningState": "Succeeded",
                           "storageSettings": [{"datastoreType": "VaultStore", "type": redundancy}],
                           "featureSettings": {"crossRegionRestoreSettings": {"state": crr}}}}


def key_vault(sub: str, rg: str, name: str, *, location: str, tags: dict[str, str] | None = None) -> dict[str, Any]:
    return {"id": rid(sub, rg, f"Microsoft.KeyVault/vaults/{name}"), "name": name,
            "type": "Microsoft.KeyVault/vaults", "location": location, "tags": tags or {},
            "properties": {"sku": {"family": "A", "name": "premium"},
                           "tenantId": "72f988bf-0000-0000-0000-000000000000", "enableSoftDelete": True,
                           "enablePurgeProtection": True, "vaultUri": f"https://{name}.vault.azure.net/"}}


def managed_hsm(sub: str, rg: str, name: str, *, location: str, regions: list[tuple[str, bool]] = ()) -> dict[str, Any]:  # type: ignore[assignment]
    props: dict[str, Any] = {"tenantId": "72f988bf-0000-0000-0000-000000000000",
                             "hsmUri": f"https://{name}.managedhsm.azure.net", "provisioningState": "Succeeded"}
    if regions:
        props["regions"] = [{"name": n, "isPrimary": p, "provisioningState": "Succeeded"} for n, p in regions]
    return {"id": rid(sub, rg, f"Microsoft.KeyVault/managedHSMs/{name}"), "name": name,
            "type": "Microsoft.KeyVault/managedHSMs", "location": location, "tags": {},
            "sku": {"family": "B", "name": "Standard_B1"}, "properties": props}
