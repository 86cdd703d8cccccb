"""Spanner instances: the instance configuration gives the member regions.

A regional configuration ``regional-europe-north1`` is the region ``gcp:europe-north1``; a
multi-region configuration (``eur3``, ``nam-eur-asia1``) is written ``gcp:eur3``: with the
resource's service ``spanner`` the catalog resolves it to its Spanner row and member regions. A custom configuration (``custom-…``) is kept as
is; the catalog does not know it, so the audit reports it as an unknown location.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from residency_audit.model import Resource, Role
from residency_audit.providers.gcp import search
from residency_audit.providers.gcp.assetdata import (
    RESOURCE,
    SEARCH,
    labels,
    last_segment,
    result_name,
    versioned,
)
from residency_audit.providers.gcp.locations import gcp_location
from residency_audit.providers.gcp.records import Context, build_resource, placement
from residency_audit.providers.service import ServiceSpec, optional_member

__all__ = ["ASSET_TYPES", "SPEC", "config_location", "parse_asset"]

ASSET_TYPES = ("spanner.googleapis.com/Instance",)


def config_location(config: str) -> str:
    """The placement location of an instance configuration name or id.

    >>> config_location("projects/p/instanceConfigs/regional-europe-north1")
    'gcp:europe-north1'
    >>> config_location("eur3")
    'gcp:eur3'
    """
    code = config.rsplit("/", 1)[-1].strip().lower()
    if code.startswith("regional-"):
        return gcp_location(code.removeprefix("regional-"))
    return gcp_location(code, service_code=True)


def parse_asset(result: Mapping[str, Any], ctx: Context) -> list[Resource]:
    """An instance's Resource from its search result (``config`` when present, else ``location``)."""
    name = result_name(result)
    data = versioned(result)
    config = optional_member(data, "config", str, "", path=RESOURCE)
    location = optional_member(result, "location", str, "")
    places = []
    if config:
        places = [placement(config_location(config), Role.PRIMARY, SEARCH, f"{RESOURCE}config")]
    elif location:
        places = [placement(config_location(location), Role.PRIMARY, SEARCH, "location")]
    return [build_resource(id=name, service="spanner", kind="instance",
                           name=last_segment(name), ctx=ctx, placements=places,
                           labels=labels(result),
                           attributes={"instance_config": config.rsplit("/", 1)[-1]})]


SPEC = ServiceSpec(provider="gcp", name="spanner", operations=search.OPERATIONS,
                   fetch=search.fetch_search, parse=parse_asset, scope_kind="project",
                   finds="Spanner instances (instance configuration: region or multi-region)")
