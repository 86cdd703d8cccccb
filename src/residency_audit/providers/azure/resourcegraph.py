"""Azure Resource Graph: one KQL query lists every supported resource across a whole tenant.

The query runs over the given subscriptions (in batches of at most 1,000, the service's limit for
one request) or over management groups, 1,000 rows a page, following ``$skipToken``. Rows carry
the same ``id``, ``name``, ``type``, ``location``, ``sku``, ``kind``, ``tags`` and ``properties``
as the ARM listing, so the same parsers read them.

>>> "microsoft.storage/storageaccounts" in build_query(["microsoft.storage/storageaccounts"])
True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from residency_audit.providers.azure.arm import (
    AzureContext,
    UnreadableResponse,
    guarded,
    is_fault,
    request_json,
)
from residency_audit.providers.azure.routes import AzureService, Route, azure_service, read_route

__all__ = ["PAGE_SIZE", "QUERY_OPERATION", "ROUTES", "SERVICES", "SUBSCRIPTIONS_QUERY", "build_query", "fetch_graph"]

QUERY_OPERATION = "Resources"
PAGE_SIZE = 1000
"""Rows a page: the most Resource Graph returns for one request."""
SUBSCRIPTION_BATCH = 1000
API_VERSION = "2021-03-01"
"""The Resource Graph API version queried (the stable version the SDK also uses)."""
ROUTES: tuple[Route, ...] = (
    read_route("resourcegraph", QUERY_OPERATION, "Microsoft.ResourceGraph/resources/read", "POST",
               "/providers/Microsoft.ResourceGraph/resources"),
)
"""The one POST the adapter sends: a Resource Graph query (a read)."""

SUBSCRIPTIONS_QUERY = ("ResourceContainers | where type =~ 'microsoft.resources/subscriptions' "
                       "| project id, subscriptionId, name | order by subscriptionId asc")
"""Lists the subscriptions under management groups (scope of a management-group scan)."""


def build_query(types: Sequence[str]) -> str:
    """The KQL query for resources of ``types`` (lower-case ARM types), ordered by id for paging."""
    quoted = ", ".join(f"'{t}'" for t in sorted(types))
    return (f"Resources | where type in~ ({quoted}) "
            "| project id, name, type, location, kind, sku, tags, properties, subscriptionId "
            "| order by id asc")


def fetch_graph(ctx: AzureContext, query: str, *, subscriptions: Sequence[str] = (),
                management_groups: Sequence[str] = (), page_size: int = PAGE_SIZE,
                on_page: Callable[[list[Any]], None] | None = None,
                settle: Callable[[], object] | None = None,
                ) -> tuple[list[Any], list[BaseException], list[str]]:
    """All rows of ``query`` over the scope: (rows, errors, notes on truncated results).

    With ``on_page``, each page's rows go to it as they arrive and are not kept (lower peak
    memory); the returned rows are then empty. A failing page stops that batch; rows of earlier
    pages are kept (or were handed on) and the error returned. Rows are raw JSON: a row that is not
    what a parser expects is the parser's gap, not a lost page.

    ``settle``: the query runs side by side with calls that come before it in a scan (the
    Locations API); the first batch's outcome counts only once ``settle`` returns, and if those
    calls gave the endpoint up, the batch ends ``GivenUp`` as if it had not been sent (its pages,
    already handed to ``on_page``, are then to be dropped: an error is returned).
    """
    from azure.mgmt.resource.subscriptions import SubscriptionClient

    batches: list[dict[str, Any]]
    if management_groups:
        batches = [{"managementGroups": sorted(management_groups)}]
    else:
        subs = sorted(subscriptions)
        batches = [{"subscriptions": subs[i:i + SUBSCRIPTION_BATCH]}
                   for i in range(0, len(subs), SUBSCRIPTION_BATCH)]
    url = f"{ctx.base_url.rstrip('/')}/providers/Microsoft.ResourceGraph/resources?api-version={API_VERSION}"
    rows: list[Any] = []
    errors: list[BaseException] = []
    notes: list[str] = []
    # Sent through a Resource Manager client's public ``send_request`` (same pipeline: token,
    # retries, endpoint) as plain JSON: the Resource Graph client's model deserialisation of
    # ``data`` costs more than parsing the rows themselves.
    client = ctx.shared_client(SubscriptionClient)
    for n, scope in enumerate(batches):
        def run(scope: dict[str, Any] = scope) -> tuple[list[Any], BaseException | None]:
            token: str | None = None
            count = 0
            try:
                while True:
                    options: dict[str, Any] = {"$top": page_size, "resultFormat": "objectArray"}
                    if token:
                        options["$skipToken"] = token
                    body = request_json(client, "POST", url, {**scope, "query": query, "options": options},
                                        whole=ctx.reads_whole_answers)
                    page = body.get("data")
                    if not isinstance(page, list):
                        raise UnreadableResponse("answer has no 'data' list (resultFormat objectArray)")
                    count += len(page)
                    if on_page is not None:
                        on_page(page)
                    else:
                        rows.extend(page)
                    next_token = body.get("$skipToken")
                    if next_token is not None and not isinstance(next_token, str):
                        raise UnreadableResponse("'$skipToken' is not a string")
                    token = next_token
                    if not token:
                        if str(body.get("resultTruncated")).lower() == "true":
                            notes.append(f"result truncated after {count} rows and no $skipToken given")
                        return [], None
            except Exception as fault:
                if not is_fault(fault):
                    raise
                return [], fault

        _, failed = guarded(ctx, ("tenant", "resourcegraph"), run, settle=settle if n == 0 else None)
        if failed is not None:
            errors.append(failed)
    return rows, errors, notes


SERVICES: tuple[AzureService, ...] = (
    azure_service(name="resourcegraph", routes=ROUTES, fetch=fetch_graph, parse=lambda rows: rows,
                  scope_kind="tenant", api_version=API_VERSION,
                  finds="every resource of the types above in one query over all subscriptions"),
)
"""The Resource Graph query, declared once (its rows go to the services' own parsers)."""
