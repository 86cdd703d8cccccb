"""Records every AWS operation the library calls during the whole test run; fails the run on any
operation outside the allow-list (:mod:`residency_audit.providers.aws.operations`).

How calls are seen
    At configure time the plugin wraps ``botocore.session.Session.__init__`` (botocore, not our
    code) so that every botocore session created afterwards, by anyone, gets a handler on
    ``before-parameter-build`` registered *first*. Every client inherits its session's handlers,
    and botocore emits that event for every API call with ``emit`` (not ``emit_until_response``),
    so no other handler (a test's canned ``before-call`` response, moto's own hooks) can stop it
    from running: whether or not an answer is faked, the call is recorded.

How library calls are told from test set-up calls
    A call is the library's when either (a) its client's config carries the library's user-agent
    mark (``residency-audit`` in ``user_agent_extra``), or (b) any frame of the calling thread's
    stack belongs to a ``residency_audit`` module. Both are checked, so a library client built
    without the mark is still caught by (b), and a call made from a helper thread with the mark is
    caught by (a). moto's set-up calls made directly by tests (``create_bucket``...) have neither
    and are not recorded.

Guard against a silent guard
    If AWS adapter tests ran and the plugin recorded no library call at all, the hook is broken:
    that too fails the run.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any

import pytest

_MARK = "residency-audit"
_calls: dict[tuple[str, str], str] = {}
_lock = threading.Lock()
_state: dict[str, Any] = {"aws_tests": 0, "original_init": None}


def _library_on_stack() -> bool:
    frame = sys._getframe(2)
    while frame is not None:
        name = frame.f_globals.get("__name__", "")
        if name == "residency_audit" or name.startswith("residency_audit."):
            return True
        frame = frame.f_back
    return False


def _record(params: Any = None, model: Any = None, context: Any = None, **_: Any) -> None:
    if model is None:
        return
    config = (context or {}).get("client_config")
    marked = _MARK in (getattr(config, "user_agent_extra", None) or "")
    if not (marked or _library_on_stack()):
        return
    key = (model.service_model.service_name, model.name)
    with _lock:
        _calls.setdefault(key, _current_test())


def _current_test() -> str:
    import os

    return os.environ.get("PYTEST_CURRENT_TEST", "?").split(" ")[0]


def _install() -> None:
    import botocore.session

    original: Callable[..., None] = botocore.session.Session.__init__
    _state["original_init"] = original

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.get_component("event_emitter").register_first(
            "before-parameter-build", _record, unique_id="readonly-aws-guard")

    botocore.session.Session.__init__ = __init__  # type: ignore[method-assign]


def pytest_configure(config: pytest.Config) -> None:
    import importlib.util

    if importlib.util.find_spec("botocore") is not None:  # without botocore nothing can call AWS
        _install()


def pytest_unconfigure(config: pytest.Config) -> None:
    if _state["original_init"] is not None:
        import botocore.session

        botocore.session.Session.__init__ = _state["original_init"]  # type: ignore[method-assign]
        _state["original_init"] = None


_SCANNING_FIXTURES = ("session", "raw_session", "fake", "moto_server")
"""Fixtures of the AWS adapter tests that run scans (tests without them need not call AWS)."""


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    outcome = yield
    report = outcome.get_result()
    if (report.when == "call" and report.passed and "providers/aws" in item.nodeid.replace("\\", "/")
            and any(f in getattr(item, "fixturenames", ()) for f in _SCANNING_FIXTURES)):
        _state["aws_tests"] += 1


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _state["original_init"] is None and not _calls:  # botocore absent: nothing could call AWS
        return
    from residency_audit.providers.aws.operations import allowed_calls

    allowed = allowed_calls()
    offenders = sorted(k for k in _calls if k not in allowed)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")

    def say(text: str) -> None:
        if reporter is not None:
            reporter.write_line(text, red=True)
        else:
            print(text, file=sys.stderr)

    if offenders:
        session.exitstatus = 1
        say("readonly_aws: AWS operations outside the allow-list were called:")
        for service, operation in offenders:
            say(f"  {service}.{operation}  (first in {_calls[(service, operation)]})")
    if _state["aws_tests"] and not _calls:
        session.exitstatus = 1
        say("readonly_aws: AWS adapter tests ran but no library call was recorded: the guard is broken")


def recorded_calls() -> dict[tuple[str, str], str]:
    """The library calls recorded so far (for the plugin's own test)."""
    with _lock:
        return dict(_calls)
