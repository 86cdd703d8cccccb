"""What every adapter promises: read-only operations, declared, and gaps for what it cannot see.

An adapter is any object with a ``scan(*, progress=None) -> Estate`` method. Each cloud module
also declares the read operations it may call as :class:`ReadOperation` records: the test suite
checks every call made during the test run against that list, and the shipped least-privilege
permissions are generated from it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from residency_audit.model import Estate

__all__ = ["Adapter", "ProgressCallback", "ReadOperation", "operations_by_permission"]

ProgressCallback = Callable[[str, int, int], None]
"""Called as ``progress(label, done, total)``; ``total`` is 0 while unknown."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadOperation:
    """One read-only cloud operation the library may call, and the permission it needs.

    ``operation`` is the name the SDK or REST API uses (``ListBuckets``,
    ``GET /subscriptions/{id}/locations``, ``storage.buckets.list``); ``permission`` is the
    provider's permission string (``s3:ListAllMyBuckets``, ``Microsoft.Storage/storageAccounts/read``,
    ``storage.buckets.list``).
    """

    provider: str
    service: str
    operation: str
    permission: str


class Adapter(Protocol):
    """A source of resources and coverage gaps."""

    def scan(self, *, progress: ProgressCallback | None = None) -> Estate:
        """Read the source and return what was found, with gaps for what was not."""
        ...


def operations_by_permission(ops: Iterable[ReadOperation]) -> dict[str, list[ReadOperation]]:
    """Group operations by the permission they need, sorted."""
    out: dict[str, list[ReadOperation]] = {}
    for op in sorted(ops, key=lambda o: (o.permission, o.service, o.operation)):
        out.setdefault(op.permission, []).append(op)
    return out
