"""The history of runs: round trip, owner-only file, migrations, concurrent and killed writers, drift."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import multiprocessing
import os
import signal
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from residency_audit.demo import demo_estate
from residency_audit.errors import InputError
from residency_audit.estate_io import estate_from_dict
from residency_audit.history import (
    MIGRATIONS,
    SCHEMA_VERSION,
    FindingRow,
    GapRow,
    History,
    HistoryError,
    Holder,
    HolderPlacement,
    RunRecord,
    diff_runs,
    drift_dict,
    record_from_audit,
    render_drift_markdown,
)
from residency_audit.pipeline import audit

SPAWN = multiprocessing.get_context("spawn")
CHILD_TABLES = {"n_findings": "findings", "n_gaps": "gaps", "n_holders": "holders",
                "n_placements": "placements", "n_reach": "reach", "n_timings": "timings",
                "coalesce(n_facts, 0)": "facts"}
NEXT = SCHEMA_VERSION + 1  # a migration step beyond the current schema


def big_run(n: int, tag: str = "") -> RunRecord:
    """A synthetic run with ``n`` holders, ``2n`` placements and ``n`` findings."""
    holders = tuple(
        Holder(node=f"resource:{tag}x{i:07d}", label=f"x{i}", kind="resource", laws=("law:us-cloud-act",),
               placements=(HolderPlacement(location="location:aws:eu-north-1", role="primary",
                                           countries=("SE",)),
                           HolderPlacement(location="location:aws:us-east-1", role="replica",
                                           countries=("US",))))
        for i in range(n))
    findings = tuple(
        FindingRow(id=f"reach|{h.node}|law:us-cloud-act", rule="reach", severity="high", node=h.node,
                   law="law:us-cloud-act", title="reached", data=("data:d",), countries=("US",))
        for h in holders)
    return RunRecord(started="2026-11-24T02:00:00.000Z", finished="2026-11-24T02:00:09.000Z",
                     policy="esam", evaluated_on="2026-11-24", tool_version="0", catalog_version="c",
                     fail_on="high", exit_code=1, summary={"resources": n},
                     timings={"audit": 1.0, "report": 0.5}, estate=json.dumps({"pad": "e" * (50 * n)}),
                     findings=findings, holders=holders,
                     gaps=(GapRow(provider="aws", scope="1", service="s3", operation="ListBuckets",
                                  error="AccessDenied"),))


def check_history(path: Path) -> list[int]:
    """The database is sound and every run has all its rows; returns the run ids."""
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        runs = conn.execute(f"SELECT id, {', '.join(CHILD_TABLES)} FROM runs ORDER BY id").fetchall()
        for run_id, *expected in runs:
            for want, table in zip(expected, CHILD_TABLES.values(), strict=True):
                got = conn.execute(f"SELECT count(*) FROM {table} WHERE run_id = ?", (run_id,)).fetchone()[0]
                assert got == want, f"run {run_id}: {table} has {got} rows, expected {want}"
        for table in CHILD_TABLES.values():
            orphans = conn.execute(f"SELECT count(*) FROM {table} WHERE run_id NOT IN "
                                   "(SELECT id FROM runs)").fetchone()[0]
            assert orphans == 0
        return [r[0] for r in runs]
    finally:
        conn.close()


# --- child processes (module level, so that 'spawn' can import them) ---------------------------

def _writer(path: str, tag: str, runs: int, size: int, barrier: Any) -> None:
    barrier.wait()
    for _ in range(runs):
        with History(path) as h:
            h.record(big_run(size, tag))


def _killed_writer(path: str, size: int, ready: Any) -> None:
    run = big_run(size)
    with History(path) as h:
        ready.set()
        h.record(run)


# --- tests -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo_record() -> RunRecord:
    result = audit(demo_estate(), today=dt.date(2026, 11, 24))
    return record_from_audit(result, started="2026-11-24T02:00:00.000Z",
                             finished="2026-11-24T02:00:01.000Z", timings={"audit": 0.25},
                             fail_on="high", exit_code=1)


def test_a_run_round_trips_and_the_file_is_owner_only(tmp_path: Path, demo_record: RunRecord) -> None:
    path = tmp_path / "h.sqlite"
    with History(path) as h:
        run_id = h.record(demo_record)
        loaded = h.load(run_id)
        assert h.schema_version == SCHEMA_VERSION == 2
        assert h.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        [summary] = h.runs()
        for suffix in ("-wal", "-shm"):  # SQLite gives its side files the database's mode
            side = path.with_name(path.name + suffix)
            assert not side.exists() or side.stat().st_mode & 0o777 == 0o600
    assert loaded == dataclasses.replace(demo_record, id=run_id)
    assert estate_from_dict(json.loads(loaded.estate)) == demo_estate().merge()
    assert path.stat().st_mode & 0o777 == 0o600
    assert summary.id == run_id and summary.seconds == 0.25 and summary.summary["resources"] == 6
    assert check_history(path) == [run_id]
    reached = {h.node for h in loaded.holders if "law:us-cloud-act" in h.laws}
    assert any(node.startswith("resource:azure:") for node in reached)
    assert {f.severity for f in loaded.findings} >= {"critical", "high"}


def test_reading_commands_do_not_create_a_history(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no history file"):
        History(tmp_path / "missing.sqlite", create=False)
    assert not (tmp_path / "missing.sqlite").exists()
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"this is not a database at all, just some bytes" * 100)
    with pytest.raises(InputError, match="not a residency-audit history"):
        History(bad)
    with History(tmp_path / "h.sqlite") as h, pytest.raises(InputError, match="no run 7"):
        h.load(7)


def test_the_migration_hook_upgrades_once_and_a_newer_schema_is_refused(tmp_path: Path,
                                                                         demo_record: RunRecord) -> None:
    path = tmp_path / "h.sqlite"
    with History(path) as h:
        h.record(demo_record)

    def add_note(conn: sqlite3.Connection) -> None:
        conn.execute("ALTER TABLE runs ADD COLUMN note TEXT NOT NULL DEFAULT ''")

    for _ in range(2):  # the second open finds the next version and migrates nothing
        with History(path, migrations={**MIGRATIONS, NEXT: add_note}) as h:
            assert h.schema_version == NEXT
            assert h.conn.execute("SELECT note FROM runs").fetchall() == [("",)]
            assert h.load(1).policy == demo_record.policy
    with pytest.raises(InputError, match="newer than"):
        History(path)


def test_a_failing_migration_leaves_the_schema_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite"
    History(path).close()

    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE extra (x)")
        raise sqlite3.OperationalError("disk on fire")

    with pytest.raises(HistoryError, match="disk on fire"):
        History(path, migrations={**MIGRATIONS, NEXT: broken})
    with History(path) as h:
        assert h.schema_version == SCHEMA_VERSION
        assert h.conn.execute("SELECT name FROM sqlite_master WHERE name = 'extra'").fetchone() is None


def test_concurrent_writers_all_land_whole(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite"  # created by the writers themselves, at the same moment
    writers, runs, size = 4, 3, 1000
    barrier = SPAWN.Barrier(writers)
    procs = [SPAWN.Process(target=_writer, args=(str(path), f"w{i}", runs, size, barrier))
             for i in range(writers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(300)
        assert p.exitcode == 0
    ids = check_history(path)
    assert ids == list(range(1, writers * runs + 1))
    with History(path) as h:
        tags = {h.load(i, estate=False).holders[0].node.split(":")[1][:2] for i in ids}
    assert tags == {f"w{i}" for i in range(writers)}
    assert path.stat().st_mode & 0o777 == 0o600


def test_a_writer_killed_mid_write_leaves_no_run_or_a_whole_one(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite"
    with History(path) as h:
        h.record(big_run(10, "before"))
    killed_alive = 0
    for delay in (0.0, 0.05, 0.2, 0.5):
        ready = SPAWN.Event()
        proc = SPAWN.Process(target=_killed_writer, args=(str(path), 40_000, ready))
        proc.start()
        assert ready.wait(60)
        time.sleep(delay)
        if proc.is_alive():
            killed_alive += 1
        os.kill(proc.pid or 0, signal.SIGKILL)
        proc.join(30)
        ids = check_history(path)
        assert ids[0] == 1 and len(ids) in (1, 2)
    assert killed_alive >= 3, "the writer finished before it could be killed: make the run larger"
    with History(path) as h:  # the lock died with the writer: the next run lands
        run_id = h.record(big_run(10, "after"))
    assert run_id in check_history(path)


def _run(run_id: int, holders: tuple[Holder, ...], findings: tuple[FindingRow, ...] = (),
         gaps: tuple[GapRow, ...] = ()) -> RunRecord:
    return RunRecord(id=run_id, started=f"2026-11-2{run_id}T02:00:00.000Z",
                     finished=f"2026-11-2{run_id}T02:00:01.000Z", policy="esam",
                     evaluated_on=f"2026-11-2{run_id}", holders=holders, findings=findings, gaps=gaps)


def _holder(node: str, *places: tuple[str, str, str], laws: tuple[str, ...] = ()) -> Holder:
    return Holder(node=node, label=node.split(":")[-1], kind="resource", laws=laws,
                  placements=tuple(HolderPlacement(location=f"location:{loc}", role=role, countries=(c,))
                                   for loc, role, c in places))


def _finding(node: str, rule: str = "eea-only", severity: str = "high", exception: str = "") -> FindingRow:
    return FindingRow(id=f"{rule}|{node}|", rule=rule, severity=severity, node=node, title=f"{rule} {node}",
                      exception=exception)


def test_diff_puts_a_new_replica_in_a_new_country_first() -> None:
    primary = ("aws:eu-north-1", "primary", "SE")
    a = _run(1, (_holder("resource:lab", primary), _holder("resource:old", primary),
                 _holder("resource:web", ("azure:westeurope", "primary", "NL")),
                 _holder("resource:db", ("azure:westeurope", "primary", "NL"))),
             findings=(_finding("resource:old"), _finding("resource:db", exception="accepted until 2027")),
             gaps=(GapRow(provider="aws", scope="1", service="s3", operation="ListBuckets", error="Denied"),))
    b = _run(2, (_holder("resource:lab", primary),
                 _holder("resource:lab-tokyo", ("aws:ap-northeast-1", "replica", "JP"),
                         laws=("law:us-cloud-act",)),
                 _holder("resource:web", ("azure:westeurope", "primary", "NL"), laws=("law:us-cloud-act",)),
                 _holder("resource:db", ("azure:northeurope", "primary", "NL"))),
             findings=(_finding("resource:lab-tokyo", severity="critical"), _finding("resource:db")))
    d = diff_runs(a, b)
    assert d.changed
    assert [(c.country, c.copies) for c in d.new_countries] == [
        ("JP", (("resource:lab-tokyo", "location:aws:ap-northeast-1", "replica"),))]
    assert d.gone_countries == ()  # SE still holds resource:lab
    assert [h.node for h in d.appeared] == ["resource:lab-tokyo"]
    assert [h.node for h in d.disappeared] == ["resource:old"]
    assert [(c.node, c.laws_added) for c in d.moved] == [("resource:web", ("law:us-cloud-act",))]
    assert [(c.node, c.placements_added) for c in d.relocated] == [
        ("resource:db", (("location:azure:northeurope", "primary"),))]
    assert [f.node for f in d.findings_new] == ["resource:lab-tokyo", "resource:db"]  # exception gone
    assert [f.node for f in d.findings_resolved] == ["resource:old"]
    assert [g.operation for g in d.gaps_resolved] == ["ListBuckets"] and d.gaps_new == ()
    md = render_drift_markdown(d)
    first = md.split("\n## ")[1]
    assert first.startswith("New countries") and "**JP**" in first and "resource:lab-tokyo" in first
    assert "replica at location:aws:ap-northeast-1 (new holder)" in first
    as_json = drift_dict(d)
    assert as_json["changed"] and as_json["new_countries"][0]["country"] == "JP"
    assert json.loads(json.dumps(as_json)) == as_json


def test_diff_of_identical_runs_is_no_change(demo_record: RunRecord) -> None:
    d = diff_runs(dataclasses.replace(demo_record, id=1), dataclasses.replace(demo_record, id=2))
    assert not d.changed and "No change." in render_drift_markdown(d)
    assert drift_dict(d)["changed"] is False


def test_a_holder_leaving_the_only_copy_in_a_country_is_reported(demo_record: RunRecord) -> None:
    a = _run(1, (_holder("resource:x", ("oci:uk-london-1", "primary", "GB")),))
    b = _run(2, (_holder("resource:x", ("aws:eu-north-1", "primary", "SE")),))
    d = diff_runs(a, b)
    assert [c.country for c in d.new_countries] == ["SE"] and [c.country for c in d.gone_countries] == ["GB"]
    [moved] = d.moved
    assert (moved.countries_added, moved.countries_removed) == (("SE",), ("GB",))
    assert "countries +SE, −GB" in render_drift_markdown(d)
