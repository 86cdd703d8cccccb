"""Read-only, proven: the allow-list, the SDK's own routes, the fake's guard, the IAM policy."""

from __future__ import annotations

import importlib
import inspect
import io
import re
import urllib.error
import urllib.request

import pytest

from residency_audit.providers.oci import operations
from residency_audit.providers.oci.clients import CLIENTS
from tests.providers.oci.conftest import build_tenancy

READ_PREFIXES = ("get_", "list_", "search_")


def _sdk_route(service: str, method: str) -> tuple[str, str]:
    """The HTTP method and full path the SDK itself uses for ``method`` (from its source)."""
    module, name = CLIENTS[service]
    cls = getattr(importlib.import_module(module), name)
    base = re.search(r"'base_path': '([^']*)'", inspect.getsource(cls.__init__))
    src = inspect.getsource(getattr(cls, method))
    path = re.search(r'resource_path = "([^"]+)"', src)
    verb = re.search(r'method = "([A-Z]+)"', src)
    assert base and path and verb, f"{name}.{method}"
    return verb.group(1), base.group(1).rstrip("/") + path.group(1)


@pytest.mark.parametrize("op", operations.OPERATIONS, ids=lambda o: f"{o.service}.{o.operation}")
def test_each_operation_is_a_read_of_the_sdk_and_its_route_is_the_sdks(op: object) -> None:
    service, method = op.service, op.operation  # type: ignore[attr-defined]
    assert method.startswith(READ_PREFIXES)
    assert operations.ROUTES[(service, method)] == _sdk_route(service, method)


def test_the_only_post_is_search() -> None:
    posts = [k for k, (verb, _) in operations.ROUTES.items() if verb != "GET"]
    assert posts == [("search", "search_resources")]
    assert operations.ROUTES[("search", "search_resources")] == ("POST", "/20180409/resources")


def test_routes_and_operations_are_the_same_list() -> None:
    assert set(operations.ROUTES) == set(operations.allowed_calls())


def test_shipped_policy_is_generated_from_the_list() -> None:
    assert operations.shipped_policy() == operations.iam_policy()


def test_policy_grants_only_inspect_and_read() -> None:
    for statement in operations.shipped_policy()["statements"]:
        assert re.fullmatch(r"Allow group ResidencyAuditors to (inspect|read) [a-z-]+ in tenancy",
                            statement), statement
    assert "Allow group ResidencyAuditors to inspect compartments in tenancy" in \
        operations.shipped_policy()["statements"]


def test_permissions_command_prints_the_policy() -> None:
    from residency_audit.cli import main

    out = io.StringIO()
    assert main(["permissions", "oci"], stdout=out) == 0
    assert out.getvalue() == operations.permissions_text()


@pytest.mark.parametrize("verb", ["PUT", "DELETE", "POST", "PATCH"])
def test_the_fake_refuses_anything_but_the_listed_reads(verb: str) -> None:
    fake = build_tenancy()
    with fake.serve() as urls:
        request = urllib.request.Request(f"{urls['uk-london-1']}/n/acmens/b/tips", method=verb,
                                         data=b"{}")
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(request, timeout=5)
    assert err.value.code == 405
    assert fake.violations == [f"uk-london-1 {verb} /n/acmens/b/tips"]


def test_a_call_outside_the_list_is_refused_before_it_is_made() -> None:
    from residency_audit.providers.oci.clients import Calls, NotAllowed, Settings

    calls = Calls(settings=Settings(config={}), allowed=operations.allowed_calls())
    with pytest.raises(NotAllowed):
        calls.call("objectstorage", "uk-london-1", "delete_bucket", "ns", "b", scope="t")


def test_the_provider_page_names_every_operation_and_grant() -> None:
    from pathlib import Path

    page = (Path(__file__).resolve().parents[3] / "docs" / "providers" / "oci.md").read_text(
        encoding="utf-8")
    for op in operations.OPERATIONS:
        camel = "".join(part.capitalize() for part in op.operation.split("_"))
        assert camel in page, f"docs/providers/oci.md does not name {camel}"
    for statement in operations.policy_statements():
        assert statement in page, f"docs/providers/oci.md does not give {statement!r}"


def test_the_fake_checks_each_signature() -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from residency_audit.providers.oci import scan_oci
    from tests.providers.oci.conftest import fast_retry, sdk_config

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode()
    fake = build_tenancy()
    with fake.serve() as urls:
        estate = scan_oci(config={**sdk_config(), "key_content": other}, endpoints=urls,
                          regions=["uk-london-1"], retry_strategy=fast_retry())
    assert fake.unsigned and not fake.key_ids
    assert {g.error for g in estate.gaps} >= {"NotAuthenticated"}
    assert not estate.resources
