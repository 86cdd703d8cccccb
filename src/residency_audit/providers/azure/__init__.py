"""Azure adapter: subscriptions, the Locations API, storage, SQL, Cosmos DB, vaults and Key Vault.

Nothing here imports an Azure SDK until :func:`scan_azure` is called (``import residency_audit``
stays light). Install with the ``[azure]`` extra.

>>> import residency_audit.providers.azure as azure
>>> callable(azure.scan_azure)
True
"""

from __future__ import annotations

from typing import Any

__all__ = ["scan_azure"]


def __getattr__(name: str) -> Any:
    if name == "scan_azure":
        from residency_audit.providers.azure.scanner import scan_azure

        return scan_azure
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
