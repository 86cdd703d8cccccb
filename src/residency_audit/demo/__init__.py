"""The shipped demo estate: a Swedish healthcare region, auditable with no cloud account.

>>> estate = demo_estate()
>>> len(estate.data) >= 5
True
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from residency_audit.model import Estate

__all__ = ["demo_estate", "demo_inventory_path"]


def demo_inventory_path() -> Path:
    """The path of the demo inventory file inside the installed package."""
    return Path(str(resources.files("residency_audit.demo").joinpath("inventory.yaml")))


def demo_estate() -> Estate:
    """The demo estate, read from the packaged inventory."""
    from residency_audit.providers.inventory import parse_inventory
    from residency_audit.yamlfile import load_yaml_text

    origin = "residency_audit/demo/inventory.yaml"
    text = demo_inventory_path().read_text(encoding="utf-8")
    return parse_inventory(load_yaml_text(text, origin), origin)
