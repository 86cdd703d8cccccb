"""The shape every service module of every adapter has, and the rules every adapter keeps.

A cloud adapter is a folder of service modules. Each module declares one :class:`ServiceSpec`:
the read operations it may call (the allow-list and the shipped permissions are generated from
these), a ``fetch`` that only does I/O, a ``parse`` that is pure, and the error codes that mean
"nothing there" rather than "not seen". The rules that make a scan trustworthy live here, once,
for every cloud:

* **One record never loses the scan.** :func:`parse_records` parses record by record; a record
  that cannot be parsed becomes a :class:`~residency_audit.model.CoverageGap` at
  :attr:`~residency_audit.model.GapLevel.RECORD` level naming the service, scope, resource id
  (when it can be read) and the field. Parsers read members with :func:`member`, which raises
  :class:`RecordError` naming the field.
* **The server's reason, never a URL or a credential.** :func:`server_reason` keeps the text a
  server gave, with URLs, bearer tokens, signatures and key material removed, on one line.
* **Give up quickly on what never answers.** :class:`GiveUp` counts consecutive unavailability
  faults (timeouts, refused connections, 5xx after the SDK's own retries) per (scope, service);
  after :data:`GIVE_UP_AFTER` of them the remaining calls of that service in that scope are not
  made and one gap says so.
* **Bounded time.** :data:`CONNECT_TIMEOUT`, :data:`READ_TIMEOUT` and :data:`MAX_ATTEMPTS` are
  the defaults every adapter gives its SDK; with them a dead endpoint costs at most
  :func:`worst_case_seconds` per call and, with :class:`GiveUp`, per scope.

>>> member({"Name": "b"}, "Name", str)
'b'
>>> try:
...     member({"Name": 3}, "Name", str)
... except RecordError as e:
...     print(e.field, "-", e)
Name - Name: expected str, got int
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from residency_audit.model import CoverageGap, GapLevel, Resource
from residency_audit.providers.base import ReadOperation

__all__ = [
    "BACKOFF_CAP",
    "CONNECT_TIMEOUT",
    "GIVE_UP_AFTER",
    "MAX_ATTEMPTS",
    "MAX_REASON",
    "READ_TIMEOUT",
    "GiveUp",
    "RecordError",
    "ServiceSpec",
    "checked_member",
    "checked_optional_member",
    "member",
    "optional_member",
    "parse_records",
    "server_reason",
    "worst_case_seconds",
]

T = TypeVar("T")

CONNECT_TIMEOUT = 5.0
"""Seconds to wait for a TCP/TLS connection before the attempt fails."""
READ_TIMEOUT = 20.0
"""Seconds to wait for a response (between bytes) before the attempt fails."""
MAX_ATTEMPTS = 3
"""Attempts per call (first try included) for faults that may pass: throttling, 5xx, timeouts."""
GIVE_UP_AFTER = 1
"""Calls left unanswered (after the SDK's own attempts) after which a scope is given up."""
BACKOFF_CAP = 5.0
"""Longest pause between two attempts of one call, in seconds."""
MAX_REASON = 1000
"""Longest server reason kept in a gap (after URLs and secrets are removed)."""


def worst_case_seconds(*, connect: float = CONNECT_TIMEOUT, read: float = READ_TIMEOUT,
                       attempts: int = MAX_ATTEMPTS, backoff_cap: float = BACKOFF_CAP,
                       give_up_after: int = GIVE_UP_AFTER) -> float:
    """Upper bound of the time one (scope, service) can spend on an endpoint that never answers.

    Each attempt waits at most ``connect + read``; between attempts the SDKs back off at most
    ``backoff_cap`` seconds; :class:`GiveUp` stops after ``give_up_after`` failed calls.

    >>> worst_case_seconds()
    85.0
    >>> worst_case_seconds(connect=5, read=15, attempts=2, backoff_cap=5, give_up_after=2)
    90.0
    """
    per_call = attempts * (connect + read) + (attempts - 1) * backoff_cap
    return float(per_call * give_up_after)


# ---------------------------------------------------------------- declarations

@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceSpec:
    """One service of one cloud: what it may call, how it fetches, how it parses.

    ``fetch(context) -> payload`` does only I/O and records faults as gaps in the context it is
    given; ``parse(payload, context) -> (resources, gaps)`` is pure and never raises for a bad
    record (use :func:`parse_records`). ``absent`` lists error codes that mean "nothing there"
    (``ReplicationConfigurationNotFoundError``), which are an empty answer, not a gap.
    ``scope_kind`` is the kind of scope the service runs in (``region``, ``account``,
    ``subscription``, ``project``, ``compartment``), for the docs' support matrix.
    """

    provider: str
    name: str
    operations: tuple[ReadOperation, ...]
    fetch: Callable[..., Any]
    parse: Callable[..., Any]
    absent: frozenset[str] = frozenset()
    scope_kind: str = "region"
    finds: str = ""


# ---------------------------------------------------------------- parsing records

class RecordError(ValueError):
    """A record member is missing or of the wrong type; ``field`` names it."""

    def __init__(self, field_name: str, message: str) -> None:
        self.field = field_name
        super().__init__(f"{field_name}: {message}")


def member(record: Mapping[str, Any], name: str, kind: type[T], *, path: str = "") -> T:
    """``record[name]``, which must exist and be a ``kind``; else :class:`RecordError`.

    ``path`` prefixes the field name in the error (``"Destinations[0]."``). What a JSON answer
    holds (a ``dict`` whose member is exactly a ``kind``) is answered at once; anything else goes
    the checked way (:func:`checked_member`), with the same value or the same error.

    >>> member({"a": {"b": 1}}, "a", dict)
    {'b': 1}
    """
    if type(record) is dict:
        value = record.get(name)
        if type(value) is kind:
            return value
    return checked_member(record, name, kind, path=path)


def checked_member(record: Mapping[str, Any], name: str, kind: type[T], *, path: str = "") -> T:
    """:func:`member` for any mapping and value, every case checked in turn."""
    where = f"{path}{name}"
    if not isinstance(record, Mapping):
        raise RecordError(path.rstrip(".") or name, f"expected an object, got {type(record).__name__}")
    if name not in record or record[name] is None:
        raise RecordError(where, "missing")
    value = record[name]
    if kind is str and not isinstance(value, str):
        raise RecordError(where, f"expected str, got {type(value).__name__}")
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise RecordError(where, f"expected {kind.__name__}, got {type(value).__name__}")
    return value


def optional_member(record: Mapping[str, Any], name: str, kind: type[T], default: T, *,
                    path: str = "") -> T:
    """``record[name]`` when present and not null, else ``default``; a wrong type is a
    :class:`RecordError` (a mistyped member must not pass as absent).

    >>> optional_member({}, "Tags", list, [])
    []
    """
    if type(record) is dict:  # as in member: a JSON answer's member, absent, null or exactly a kind
        value = record.get(name)
        if value is None:
            return default
        if type(value) is kind:
            return value
    return checked_optional_member(record, name, kind, default, path=path)


def checked_optional_member(record: Mapping[str, Any], name: str, kind: type[T], default: T, *,
                            path: str = "") -> T:
    """:func:`optional_member` for any mapping and value, every case checked in turn."""
    if not isinstance(record, Mapping):
        raise RecordError(path.rstrip(".") or name, f"expected an object, got {type(record).__name__}")
    if record.get(name) is None:
        return default
    return checked_member(record, name, kind, path=path)


def _record_id(record: Any, id_fields: Iterable[str]) -> str:
    if isinstance(record, Mapping):
        for f in id_fields:
            value = record.get(f)
            if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
                return server_reason(str(value), limit=300)
    return ""


def _fault_field(exc: BaseException) -> str:
    if isinstance(exc, RecordError):
        return exc.field
    if isinstance(exc, KeyError) and exc.args:
        return str(exc.args[0])
    return ""


_RECORD_FAULTS = (RecordError, KeyError, IndexError, TypeError, ValueError, AttributeError)


def parse_records(records: Iterable[Any], parse_one: Callable[[Any], Iterable[Resource]], *,
                  provider: str, service: str, scope: str, operation: str, region: str = "",
                  id_fields: tuple[str, ...] = ()) -> tuple[list[Resource], list[CoverageGap]]:
    """Parse each record with ``parse_one``; a record that fails becomes a record-level gap.

    The gap names the provider, service, scope, region, the operation whose answer held the
    record, the record's id (the first of ``id_fields`` it has) and the field at fault.

    >>> def one(r):
    ...     return [Resource(id=member(r, "Arn", str), name="x", provider="aws",
    ...                      service="rds", kind="db-instance")]
    >>> rs, gaps = parse_records([{"Arn": "a"}, {"Name": "b"}], one, provider="aws",
    ...     service="rds", scope="1", operation="DescribeDBInstances", id_fields=("Name",))
    >>> [r.id for r in rs], [(g.resource, g.field, g.error) for g in gaps]
    (['a'], [('b', 'Arn', 'UnparseableRecord')])
    """
    resources: list[Resource] = []
    gaps: list[CoverageGap] = []
    for index, record in enumerate(records):
        try:
            resources.extend(parse_one(record))
        except _RECORD_FAULTS as exc:
            rid = _record_id(record, id_fields)
            gaps.append(CoverageGap(
                provider=provider, scope=scope, region=region, service=service,
                operation=operation, error="UnparseableRecord", level=GapLevel.RECORD,
                resource=rid or f"record #{index}", field=_fault_field(exc),
                message=server_reason(f"{type(exc).__name__}: {exc}")))
    return resources, gaps


# ---------------------------------------------------------------- what servers say

_URL = re.compile(r"\b(?:https?|wss?|ftp)://[^\s\"'<>]+", re.IGNORECASE)
_SECRETS = [
    re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"),  # JWT
    re.compile(r"(?i)\b(x-amz-security-token|x-amz-signature|x-amz-credential|signature|sig|"
               r"access_token|id_token|refresh_token|token|client_secret|password|secret|"
               r"sharedaccesssignature|accountkey)\s*[=:]\s*[^\s&,;\"']+"),
    re.compile(r"\b(AKIA|ASIA)[A-Z0-9]{16}\b"),
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(-----END [A-Z ]*PRIVATE KEY-----|$)", re.DOTALL),
]
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")


def server_reason(text: str, *, limit: int = MAX_REASON) -> str:
    """The server's reason on one line: URLs, tokens, signatures and key material removed,
    control characters collapsed, at most ``limit`` characters.

    >>> server_reason("Forbidden for url: https://x.example/v1/p?key=1 - caller lacks "
    ...               "permission 'cloudasset.assets.searchAllResources'")
    "Forbidden for url: [url] - caller lacks permission 'cloudasset.assets.searchAllResources'"
    >>> server_reason("Authorization: Bearer abcdefghijklmnop failed")
    'Authorization: [redacted] failed'
    """
    out = str(text)
    for pattern in _SECRETS:
        out = pattern.sub("[redacted]", out)
    out = _URL.sub("[url]", out)
    out = " ".join(_CONTROL.sub(" ", out).split())
    if len(out) > limit:
        out = out[: limit - 1].rstrip() + "…"
    return out


# ---------------------------------------------------------------- giving up

@dataclass
class GiveUp:
    """Consecutive unavailability faults per (scope, service), shared by a scan's threads.

    >>> g = GiveUp(after=2)
    >>> key = ("1", "eu-north-1", "efs")
    >>> g.failed(key); g.given_up(key)
    False
    >>> g.failed(key); g.given_up(key)
    True
    """

    after: int = GIVE_UP_AFTER
    _failures: dict[tuple[str, ...], int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def given_up(self, key: tuple[str, ...]) -> bool:
        """Whether calls for ``key`` are no longer made."""
        with self._lock:
            return self._failures.get(key, 0) >= self.after

    def failed(self, key: tuple[str, ...]) -> None:
        """One more call for ``key`` ended unanswered (timeout, refused, 5xx past retries)."""
        with self._lock:
            self._failures[key] = self._failures.get(key, 0) + 1

    def answered(self, key: tuple[str, ...]) -> None:
        """A call for ``key`` got an answer (even an error answer such as 403)."""
        with self._lock:
            if self._failures.get(key, 0) < self.after:
                self._failures[key] = 0
