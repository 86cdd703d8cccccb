"""The paths made for large estates keep their promises: the streamed JSON report is the
rendered one, the atomic writer stays atomic when the chunks fail, and an audit's objects are
kept from the collector only while the audit lives."""

from __future__ import annotations

import datetime as dt
import gc
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from residency_audit.demo import demo_estate
from residency_audit.pipeline import audit
from residency_audit.report.json_report import json_chunks, render_json
from residency_audit.safefile import write_text_chunks

TODAY = dt.date(2026, 11, 24)


def test_streamed_json_is_the_rendered_json() -> None:
    a = audit(demo_estate(), today=TODAY)
    assert "".join(json_chunks(a)) == render_json(a)


def test_chunked_write_is_atomic_when_the_chunks_fail(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    target.write_text("old\n", encoding="utf-8")

    def chunks() -> Iterator[str]:
        yield "new"
        raise RuntimeError("rendering failed")

    with pytest.raises(RuntimeError):
        write_text_chunks(target, chunks())
    assert target.read_text(encoding="utf-8") == "old\n"
    assert sorted(os.listdir(tmp_path)) == ["report.json"]


def test_chunked_write_writes_every_chunk_owner_only(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    write_text_chunks(target, iter(["a", "\udc80", "b\n"]))
    assert target.read_bytes() == b"a\\udc80b\n"
    assert target.stat().st_mode & 0o777 == 0o600


def test_audit_objects_are_frozen_while_it_lives() -> None:
    if gc.get_freeze_count():
        pytest.skip("something else froze objects first")
    a = audit(demo_estate(), today=TODAY)
    assert gc.get_freeze_count() > 0
    assert gc.isenabled()
    del a
    gc.collect()
    assert gc.get_freeze_count() == 0
