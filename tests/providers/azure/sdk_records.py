"""Hypothesis strategies for REST JSON records generated from the Azure SDK's own models.

The installed azure-mgmt-* packages generate their models from TypeSpec (``model_base``): each
model class maps its attributes to REST members (``_attr_to_rest_field``: the REST name, and
``_is_optional``) with type annotations (``Optional[str]``, ``Union[str, "_models.Kind"]``,
``list["_models.Location"]``, a nested model, ``datetime``). From those, a record of the REST
shape is built member by member, and each member is, at random, valid, dropped, null or of the
wrong JSON type, so that every parser meets what the API may really send: nearly every member
is optional, and a real answer may lack any of them.
"""

from __future__ import annotations

import datetime as dt
import enum
import typing
from types import ModuleType, NoneType, UnionType
from typing import Any

from hypothesis import strategies as st

__all__ = ["DROP", "mutations_of", "record_of"]

DROP = object()
"""A member left out of the record."""

REGIONS = ["westeurope", "northeurope", "swedencentral", "swedensouth", "West Europe", "Sweden Central",
           "eastus", "marscentral", "", "GERMANYWESTCENTRAL"]
IDS = [
    "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/a",
    "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Sql/servers/srv",
    "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Sql/servers/srv/databases/db",
    "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Sql/servers/srv/databases/db/replicationLinks/l1",
    "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Sql/servers/srv/failoverGroups/fog",
    "/subscriptions/s2/resourceGroups/dr/providers/Microsoft.Sql/servers/partner",
    "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.DocumentDB/databaseAccounts/c",
    "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v",
    "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv",
    "/subscriptions/s1", "", "not-an-id",
]
WORDS = ["Standard_RAGRS", "Standard_LRS", "Premium_ZRS", "Standard_GZRS", "Geo", "Local", "Zone", "GeoZone",
         "GeoRedundant", "LocallyRedundant", "ZoneRedundant", "VaultStore", "Primary", "Secondary", "Enabled",
         "Periodic", "master", "x"]

_JSON_KINDS: dict[str, st.SearchStrategy[Any]] = {
    "str": st.sampled_from(["", "x", "westeurope"]),
    "int": st.integers(-3, 3),
    "float": st.sampled_from([0.5, -1.0, 1e308]),
    "bool": st.booleans(),
    "list": st.lists(st.sampled_from([1, "a", None, {}]), max_size=2),
    "dict": st.just({"unexpected": [1]}),
}


def _kind_of(value_type: Any) -> str:
    if value_type is str:
        return "str"
    if value_type is bool:
        return "bool"
    if value_type is int:
        return "int"
    if value_type is float:
        return "float"
    origin = typing.get_origin(value_type)
    if origin is list:
        return "list"
    return "dict"


def _mistyped(value_type: Any) -> st.SearchStrategy[Any]:
    kind = _kind_of(value_type)
    return st.sampled_from(sorted(k for k in _JSON_KINDS if k != kind and not (kind == "float" and k == "int"))
                           ).flatmap(lambda k: _JSON_KINDS[k])


def _resolve(ref: Any, models: ModuleType) -> Any:
    if isinstance(ref, typing.ForwardRef):
        ref = ref.__forward_arg__
    if isinstance(ref, str):
        return getattr(models, ref.rsplit(".", 1)[-1], str)
    return ref


def _strip_optional(annotation: Any, models: ModuleType) -> Any:
    """The value type of an annotation: Optional removed, ``Union[str, Enum]`` → the Enum."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, UnionType):
        args = [a for a in typing.get_args(annotation) if a is not NoneType]
        resolved = [_resolve(a, models) for a in args]
        enums = [a for a in resolved if isinstance(a, type) and issubclass(a, enum.Enum)]
        if enums:
            return enums[0]
        return resolved[0] if resolved else str
    return _resolve(annotation, models)


def _string_for(name: str) -> st.SearchStrategy[Any]:
    low = name.lower()
    if low in ("id", "partnerdatabaseid") or (low.endswith("id") and "tenant" not in low):
        return st.one_of(st.sampled_from(IDS), st.text(max_size=6))
    if "location" in low or low == "name":
        return st.one_of(st.sampled_from(REGIONS), st.sampled_from(WORDS), st.text(max_size=6))
    return st.one_of(st.sampled_from(WORDS), st.sampled_from(REGIONS), st.text(max_size=6))


def _value(value_type: Any, name: str, models: ModuleType, depth: int) -> st.SearchStrategy[Any]:
    value_type = _strip_optional(value_type, models)
    if isinstance(value_type, type) and issubclass(value_type, enum.Enum):
        return st.one_of(st.sampled_from([m.value for m in value_type]), st.text(max_size=4))
    if value_type is str:
        return _string_for(name)
    if value_type is bool:
        return st.booleans()
    if value_type is int:
        return st.one_of(st.integers(-2, 5), st.integers())
    if value_type is float:
        return st.floats(allow_nan=False)
    if value_type in (dt.datetime, dt.date, dt.timedelta):
        return st.sampled_from(["2025-03-01T08:30:00.0000000Z", "yesterday", ""])
    origin = typing.get_origin(value_type)
    if origin is list:
        (item,) = typing.get_args(value_type) or (str,)
        return st.lists(_value(item, name, models, depth), max_size=3)
    if origin is dict:
        args = typing.get_args(value_type)
        return st.dictionaries(st.text(max_size=5), _value(args[1] if len(args) == 2 else str, name, models,
                                                            depth), max_size=2)
    if isinstance(value_type, type) and hasattr(value_type, "_is_model"):
        return record_of(value_type, models, depth=depth + 1)
    return st.one_of(st.none(), st.integers(), st.text(max_size=4))


def _fields(cls: Any) -> list[tuple[str, Any, bool]]:
    """(REST name, annotation, optional) of every member of a model class."""
    cls({})  # model_base builds the attribute → REST member map on first use
    out = []
    for attr, rest in sorted(cls._attr_to_rest_field.items()):
        annotation = next((base.__annotations__[attr] for base in cls.__mro__
                           if attr in getattr(base, "__annotations__", {})), str)
        out.append((rest._rest_name, annotation, bool(rest._is_optional)))
    return out


_MODES = ["valid"] * 7 + ["drop", "null", "mistyped"]


def _member(name: str, annotation: Any, optional: bool, models: ModuleType, depth: int) -> st.SearchStrategy[Any]:
    valid = _value(annotation, name, models, depth)
    value_type = _strip_optional(annotation, models)

    def pick(mode: str) -> st.SearchStrategy[Any]:
        if mode == "drop":
            return st.just(DROP)
        if mode == "null":
            return st.none()
        if mode == "mistyped":
            return _mistyped(value_type if not (isinstance(value_type, type) and hasattr(value_type, "_is_model"))
                             else dict)
        return valid

    return st.sampled_from(_MODES).flatmap(pick)


def record_of(cls: Any, models: ModuleType, *, depth: int = 0, max_depth: int = 4,
              fixed: dict[str, st.SearchStrategy[Any]] | None = None) -> st.SearchStrategy[dict[str, Any]]:
    """Records of model ``cls`` in the REST JSON shape, members dropped, nulled or mistyped at random.

    A polymorphic model picks one of its subtypes (``__mapping__``). ``fixed`` gives the strategy of
    some top-level members (``type``), used as they are.
    """
    mapping = getattr(cls, "__mapping__", None)
    if mapping and depth < max_depth:
        return st.sampled_from(sorted(mapping)).flatmap(
            lambda key: record_of(mapping[key], models, depth=depth, max_depth=max_depth, fixed=fixed))
    if depth >= max_depth:
        return st.just({})
    members: dict[str, st.SearchStrategy[Any]] = {}
    for name, annotation, optional in _fields(cls):
        if fixed and name in fixed:
            members[name] = fixed[name]
        elif depth >= 2 and name not in _DEEP:
            members[name] = st.just(DROP)  # keep deep records small: only members parsers read
        else:
            members[name] = _member(name, annotation, optional, models, depth)
    return st.fixed_dictionaries(members).map(lambda d: {k: v for k, v in d.items() if v is not DROP})


_DEEP = frozenset({"name", "id", "location", "locationName", "failoverPriority", "periodicModeProperties",
                   "backupStorageRedundancy", "type", "standardTierStorageRedundancy", "crossRegionRestore",
                   "replicationRole", "isPrimary", "state", "datastoreType", "crossRegionRestoreSettings",
                   "pairedRegion", "physicalLocation", "regionType", "geography", "geographyGroup"})
"""Members kept below the second level (the ones the parsers read); others are left out there."""


def mutations_of(value: Any) -> st.SearchStrategy[Any]:
    """``value`` (a JSON record) with members at any depth dropped, nulled or mistyped at random."""
    if isinstance(value, dict):
        members = {k: st.sampled_from(_MODES).flatmap(lambda mode, v=v: _mutate(mode, v)) for k, v in value.items()}
        return st.fixed_dictionaries(members).map(lambda d: {k: v for k, v in d.items() if v is not DROP})
    if isinstance(value, list):
        return st.tuples(*[st.sampled_from(_MODES).flatmap(lambda mode, v=v: _mutate(mode, v)) for v in value]).map(
            lambda items: [v for v in items if v is not DROP])
    return st.just(value)


def _mutate(mode: str, value: Any) -> st.SearchStrategy[Any]:
    if mode == "drop":
        return st.just(DROP)
    if mode == "null":
        return st.none()
    if mode == "mistyped":
        kind = "dict" if isinstance(value, dict) else _kind_of(type(value)) if not isinstance(value, list) else "list"
        return st.sampled_from(sorted(k for k in _JSON_KINDS if k != kind)).flatmap(lambda k: _JSON_KINDS[k])
    return mutations_of(value)
