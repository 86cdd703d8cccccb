"""The history of scheduled runs (SQLite) and the drift between two runs.

Each run is stored whole, in one ``BEGIN IMMEDIATE`` transaction: its timestamps and versions,
the estate it audited (as the estate JSON), every finding, every coverage gap, and each holder's
placements (with their countries) and the laws that reach it. So :func:`diff_runs` compares two
runs without auditing again, and a run that is killed half-way leaves no trace rather than half
a run. The database is in WAL mode with a busy timeout, so that two runs at once both land; the
file is created readable by its owner only.

The history holds clock times (when a run started and finished); the reports never do.

>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> with History(folder / "h.sqlite") as h:
...     a = h.record(RunRecord(started="2026-11-24T02:00:00Z", finished="2026-11-24T02:00:01Z",
...                            policy="esam", evaluated_on="2026-11-24"))
...     b = h.record(RunRecord(started="2026-11-25T02:00:00Z", finished="2026-11-25T02:00:01Z",
...                            policy="esam", evaluated_on="2026-11-25", holders=(
...         Holder(node="resource:x", placements=(
...             HolderPlacement(location="location:aws:us-east-1", role="replica", countries=("US",)),)),)))
...     drift = diff_runs(h.load(a), h.load(b))
>>> drift.changed, [c.country for c in drift.new_countries]
(True, ['US'])
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from residency_audit.errors import InputError, ResidencyAuditError
from residency_audit.factset import Fact, FactChange, build_facts, diff_facts, fact_order

if TYPE_CHECKING:
    from residency_audit.pipeline import Audit
    from residency_audit.view import AuditView

__all__ = ["BUSY_TIMEOUT_SECONDS", "SCHEMA_VERSION", "CountryChange", "Drift", "FactDrift", "FindingChange",
           "FindingRow", "GapRow", "History", "HistoryError", "Holder", "HolderChange", "HolderPlacement",
           "RunRecord", "RunSummary", "diff_runs", "drift_dict", "record_from_audit",
           "render_drift_markdown", "utc_now"]

SCHEMA_VERSION = 2
BUSY_TIMEOUT_SECONDS = 60.0


def utc_now() -> str:
    """The current UTC time as ``YYYY-MM-DDTHH:MM:SS.mmmZ`` (history only, never in reports)."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _use_wal(conn: sqlite3.Connection) -> None:
    """Put the database in WAL mode (persistent in the file), waiting out other openers.

    Switching the journal mode needs an exclusive lock, and SQLite answers ``database is locked``
    at once, without its busy handler, while another connection switches it at the same moment:
    so the switch is retried here until the busy timeout runs out.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
    while True:
        try:
            mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
            if str(mode).lower() != "wal":
                mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise sqlite3.OperationalError(f"the history cannot use WAL mode here ({mode})")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class HistoryError(ResidencyAuditError):
    """The history database could not be written or read (locked too long, disk full, …)."""


# --- records -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class HolderPlacement:
    """Where a holder keeps a copy: the location node, the copy's role, its possible countries."""

    location: str
    role: str
    countries: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Holder:
    """A holder of data in one run: its placements and the laws that reach it."""

    node: str
    label: str = ""
    kind: str = ""
    placements: tuple[HolderPlacement, ...] = ()
    laws: tuple[str, ...] = ()

    @property
    def countries(self) -> tuple[str, ...]:
        """Every country any of its copies can be in, sorted."""
        return tuple(sorted({c for p in self.placements for c in p.countries}))


@dataclass(frozen=True, slots=True, kw_only=True)
class FindingRow:
    """A finding as the history keeps it."""

    id: str
    rule: str
    severity: str
    node: str
    law: str = ""
    title: str = ""
    data: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    exception: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class GapRow:
    """A coverage gap as the history keeps it."""

    provider: str
    scope: str
    service: str
    operation: str
    error: str
    region: str = ""
    resource: str = ""
    message: str = ""

    @property
    def key(self) -> tuple[str, ...]:
        return (self.provider, self.scope, self.region, self.service, self.operation, self.resource,
                self.error, self.message)


_GAP_ROW_FIELDS = frozenset(("provider", "scope", "service", "operation", "error", "region", "resource",
                             "message"))


@dataclass(frozen=True, slots=True, kw_only=True)
class RunRecord:
    """Everything the history keeps of one run; ``id`` is set once stored."""

    started: str
    finished: str
    policy: str
    evaluated_on: str
    tool_version: str = ""
    catalog_version: str = ""
    fail_on: str = ""
    exit_code: int | None = None
    sources: tuple[str, ...] = ()
    summary: Mapping[str, Any] = field(default_factory=dict)
    timings: Mapping[str, float] = field(default_factory=dict)
    estate: str = "{}"
    findings: tuple[FindingRow, ...] = ()
    gaps: tuple[GapRow, ...] = ()
    holders: tuple[Holder, ...] = ()
    #: The catalog facts the audit relied on (:mod:`residency_audit.factset`); None for a run
    #: stored before the history kept them.
    facts: tuple[Fact, ...] | None = None
    id: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RunSummary:
    """One line of ``residency-audit history``."""

    id: int
    started: str
    finished: str
    policy: str
    evaluated_on: str
    tool_version: str
    catalog_version: str
    fail_on: str
    exit_code: int | None
    seconds: float
    summary: Mapping[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "started": self.started, "finished": self.finished,
                "policy": self.policy, "evaluated_on": self.evaluated_on,
                "tool_version": self.tool_version, "catalog_version": self.catalog_version,
                "fail_on": self.fail_on, "exit_code": self.exit_code,
                "seconds": round(self.seconds, 3), "summary": dict(self.summary)}


def record_from_audit(audit: Audit, *, started: str, finished: str, timings: Mapping[str, float],
                      fail_on: str, exit_code: int | None, view: AuditView | None = None) -> RunRecord:
    """The :class:`RunRecord` of ``audit``, read from its typed view (``view``, when the caller
    built it already; else built here). The summary is the JSON report's."""
    from residency_audit.estate_io import estate_to_dict
    from residency_audit.view import build_view, view_dict

    v = view if view is not None else build_view(audit)
    return RunRecord(
        started=started, finished=finished, policy=v.policy.name, evaluated_on=v.evaluated_on,
        tool_version=v.tool_version, catalog_version=v.catalog_version, fail_on=fail_on,
        exit_code=exit_code, sources=v.summary.sources, summary=view_dict(v)["summary"],
        timings=dict(timings),
        estate=json.dumps(estate_to_dict(audit.estate), sort_keys=True, separators=(",", ":")),
        findings=tuple(
            FindingRow(id=f.id, rule=f.rule, severity=str(f.severity), node=f.node, law=" ".join(f.laws),
                       title=f.title, data=f.data, countries=f.countries, exception=f.exception)
            for f in v.findings),
        gaps=tuple(GapRow(provider=g.provider, scope=g.scope, service=g.service, operation=g.operation,
                          error=g.error, region=g.region, resource=g.resource, message=g.message)
                   for g in v.gaps),
        holders=tuple(
            Holder(node=h.node, label=h.label, kind=h.kind, laws=h.reached_by,
                   placements=tuple(HolderPlacement(location=p.location, role=p.role, countries=p.countries)
                                    for p in h.placements))
            for h in v.holders),
        facts=build_facts(audit),
    )


# --- schema and migrations ---------------------------------------------------------------------

_SCHEMA_V1 = """
CREATE TABLE runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started TEXT NOT NULL,
    finished TEXT NOT NULL,
    tool_version TEXT NOT NULL,
    catalog_version TEXT NOT NULL,
    policy TEXT NOT NULL,
    evaluated_on TEXT NOT NULL,
    fail_on TEXT NOT NULL,
    exit_code INTEGER,
    sources TEXT NOT NULL,
    summary TEXT NOT NULL,
    estate TEXT NOT NULL,
    n_findings INTEGER NOT NULL,
    n_gaps INTEGER NOT NULL,
    n_holders INTEGER NOT NULL,
    n_placements INTEGER NOT NULL,
    n_reach INTEGER NOT NULL,
    n_timings INTEGER NOT NULL
);
CREATE TABLE timings (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    stage TEXT NOT NULL,
    seconds REAL NOT NULL,
    PRIMARY KEY (run_id, stage)
);
CREATE TABLE findings (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    finding_id TEXT NOT NULL,
    rule TEXT NOT NULL,
    severity TEXT NOT NULL,
    node TEXT NOT NULL,
    law TEXT NOT NULL,
    title TEXT NOT NULL,
    data TEXT NOT NULL,
    countries TEXT NOT NULL,
    exception TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
);
CREATE TABLE gaps (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    provider TEXT NOT NULL,
    scope TEXT NOT NULL,
    region TEXT NOT NULL,
    service TEXT NOT NULL,
    operation TEXT NOT NULL,
    resource TEXT NOT NULL,
    error TEXT NOT NULL,
    message TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
);
CREATE TABLE holders (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    node TEXT NOT NULL,
    label TEXT NOT NULL,
    kind TEXT NOT NULL,
    PRIMARY KEY (run_id, node)
);
CREATE TABLE placements (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    node TEXT NOT NULL,
    location TEXT NOT NULL,
    role TEXT NOT NULL,
    countries TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
);
CREATE TABLE reach (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    node TEXT NOT NULL,
    law TEXT NOT NULL,
    PRIMARY KEY (run_id, node, law)
);
"""


def _migrate_to_1(conn: sqlite3.Connection) -> None:
    """The first schema: runs and their children."""
    for statement in _SCHEMA_V1.split(";"):
        if statement.strip():
            conn.execute(statement)


def _migrate_to_2(conn: sqlite3.Connection) -> None:
    """The facts each run relied on: a table, and a count on the run (NULL for the runs stored
    before, whose facts were not recorded)."""
    conn.execute("""
CREATE TABLE facts (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    kind TEXT NOT NULL,
    label TEXT NOT NULL,
    value TEXT NOT NULL,
    detail TEXT NOT NULL,
    source TEXT NOT NULL,
    parts TEXT NOT NULL,
    findings TEXT NOT NULL,
    PRIMARY KEY (run_id, key)
)""")
    conn.execute("ALTER TABLE runs ADD COLUMN n_facts INTEGER")


#: Migration hook: ``MIGRATIONS[n]`` brings a database at version ``n - 1`` to version ``n``.
#: Each runs inside the same ``BEGIN IMMEDIATE`` transaction as the version update.
MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {1: _migrate_to_1, 2: _migrate_to_2}


def _schema_version(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                       "AND name = 'schema_version'").fetchone()
    if row is None:
        return 0
    version = conn.execute("SELECT max(version) FROM schema_version").fetchone()[0]
    return int(version or 0)


def _migrate(conn: sqlite3.Connection, origin: str,
             migrations: Mapping[int, Callable[[sqlite3.Connection], None]]) -> None:
    """Bring the schema to the newest version, in one transaction (nothing if it already is)."""
    target = max(migrations)
    if _schema_version(conn) == target:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = _schema_version(conn)  # again: another process may have migrated meanwhile
        if version > target:
            raise InputError(origin, None, None, f"history schema version {version} is newer than "
                             f"this version of residency-audit reads ({target}); upgrade it")
        if version == 0:
            others = conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
            if others:
                raise InputError(origin, None, None, "not a residency-audit history: an SQLite "
                                 "database with other tables; name a new file for the history")
            conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
            conn.execute("INSERT INTO schema_version (version) VALUES (0)")
        for step in range(version + 1, target + 1):
            migrations[step](conn)
        conn.execute("UPDATE schema_version SET version = ?", (target,))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _create_private(path: Path) -> None:
    """Create an empty file readable by its owner only, unless it exists."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    try:
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


class _Damaged(Exception):
    """A stored value that is not what this version wrote (the message names the column)."""


def _text(value: Any, column: str) -> str:
    if not isinstance(value, str):
        raise _Damaged(f"{column}: damaged: expected text, found {type(value).__name__}")
    return value


def _json(value: Any, column: str) -> Any:
    try:
        return json.loads(_text(value, column))
    except (ValueError, RecursionError) as exc:
        raise _Damaged(f"{column}: damaged: not valid JSON ({str(exc)[:80]})") from None


def _texts(value: Any, column: str) -> tuple[str, ...]:
    items = _json(value, column)
    if not isinstance(items, list) or not all(isinstance(x, str) for x in items):
        raise _Damaged(f"{column}: damaged: expected a JSON list of strings")
    return tuple(items)


def _exit_code(value: Any) -> int | None:
    if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
        raise _Damaged(f"exit_code: damaged: expected an integer, found {type(value).__name__}")
    return value


def _seconds(value: Any) -> float:
    if value is None:
        return 0.0
    if not isinstance(value, int | float):
        raise _Damaged(f"timings.seconds: damaged: expected a number, found {type(value).__name__}")
    return float(value)


def _summary(value: Any) -> dict[str, Any]:
    """The stored summary, checked where the commands read it (counts, countries, findings)."""
    summary = _json(value, "summary")
    if not isinstance(summary, dict):
        raise _Damaged("summary: damaged: expected a JSON object")
    for key in ("resources", "subprocessors", "gaps"):
        if key in summary and (not isinstance(summary[key], int) or isinstance(summary[key], bool)):
            raise _Damaged(f"summary.{key}: damaged: expected an integer")
    countries = summary.get("countries", [])
    if not isinstance(countries, list) or not all(isinstance(c, str) for c in countries):
        raise _Damaged("summary.countries: damaged: expected a list of country codes")
    findings = summary.get("findings", {})
    if not isinstance(findings, dict) or not all(
            isinstance(n, int) and not isinstance(n, bool) for n in findings.values()):
        raise _Damaged("summary.findings: damaged: expected counts by severity")
    return summary


def _header_mismatch(path: Path) -> str:
    try:
        with open(path, "rb") as fh:
            header = fh.read(100)
        size = os.stat(path).st_size
    except OSError as exc:
        return f"cannot read it: {exc.strerror or exc}"
    if len(header) < 100 or not header.startswith(b"SQLite format 3\x00"):
        return "" if not header else "not an SQLite database" if len(header) >= 16 else "truncated"
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    if header[24:28] == header[92:96] and pages and size < pages * page_size:
        return (f"truncated: its header says {pages} pages of {page_size} bytes, "
                f"the file holds {size} bytes")
    return ""


def _truncated(path: Path) -> str:
    """Why the SQLite file at ``path`` is shorter than its own header says, or "" if it is not.

    The header (bytes 28-31, valid when bytes 24-27 equal bytes 92-95) holds the database size in
    pages; a file cut short (a copy that stopped, a full disk) holds fewer. Reading only the first
    100 bytes, this costs nothing for a large history. A checkpoint of another writer writes page 1
    before it extends the file, so a mismatch counts only when it lasts (a few short looks).
    """
    why = _header_mismatch(path)
    for _ in range(5):
        if not why.startswith("truncated:"):
            return why
        time.sleep(0.02)
        why = _header_mismatch(path)
    return why


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class History:
    """A history database: record runs, list them, load one back.

    ``create=False`` refuses a missing file (for reading commands) instead of creating one.
    """

    def __init__(self, path: str | os.PathLike[str], *, create: bool = True,
                 migrations: Mapping[int, Callable[[sqlite3.Connection], None]] | None = None) -> None:
        self.path = Path(path)
        origin = str(self.path)
        if not self.path.exists():
            if not create:
                raise InputError(origin, None, None,
                                 "no history file here (a 'residency-audit run' creates it)")
            from residency_audit.safefile import create_folders

            create_folders(self.path.parent)  # new folders 0700 whatever the umask
            _create_private(self.path)
        if not self.path.is_file():  # a FIFO, a device or a folder: never opened (a FIFO would hang)
            raise InputError(origin, None, None, "not a residency-audit history: not a regular file")
        damage = _truncated(self.path)
        if damage:
            raise InputError(origin, None, None, f"not a residency-audit history: {damage}")
        try:
            self.conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
        except sqlite3.Error as exc:
            raise InputError(origin, None, None, f"cannot open the history: {exc}") from None
        try:
            self.conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
            _use_wal(self.conn)
            self.conn.execute("PRAGMA synchronous = FULL")
            self.conn.execute("PRAGMA foreign_keys = ON")
            _migrate(self.conn, origin, migrations or MIGRATIONS)
        except sqlite3.OperationalError as exc:  # locked too long, read-only, a failed migration
            self.conn.close()
            raise HistoryError(f"{origin}: cannot open the history: {exc}") from exc
        except sqlite3.DatabaseError as exc:
            self.conn.close()
            raise InputError(origin, None, None, f"not a residency-audit history: {exc}") from None
        except BaseException:
            self.conn.close()
            raise

    def __enter__(self) -> History:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self.conn.close()

    @property
    def schema_version(self) -> int:
        return _schema_version(self.conn)

    def record(self, run: RunRecord) -> int:
        """Store ``run`` and all its rows in one transaction; returns its run id."""
        placements = [(h.node, p) for h in run.holders for p in h.placements]
        reach = sorted({(h.node, law) for h in run.holders for law in h.laws})
        c = self.conn
        c.execute("BEGIN IMMEDIATE")
        try:
            cur = c.execute(
                "INSERT INTO runs (started, finished, tool_version, catalog_version, policy, "
                "evaluated_on, fail_on, exit_code, sources, summary, estate, n_findings, n_gaps, "
                "n_holders, n_placements, n_reach, n_timings, n_facts) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (run.started, run.finished, run.tool_version, run.catalog_version, run.policy,
                 run.evaluated_on, run.fail_on, run.exit_code, _dumps(sorted(run.sources)),
                 _dumps(dict(run.summary)), run.estate, len(run.findings), len(run.gaps),
                 len(run.holders), len(placements), len(reach), len(run.timings),
                 None if run.facts is None else len(run.facts)))
            run_id = int(cur.lastrowid or 0)
            c.executemany("INSERT INTO timings VALUES (?, ?, ?)",
                          ((run_id, stage, float(s)) for stage, s in sorted(run.timings.items())))
            c.executemany(
                "INSERT INTO findings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                ((run_id, i, f.id, f.rule, f.severity, f.node, f.law, f.title, _dumps(list(f.data)),
                  _dumps(list(f.countries)), f.exception) for i, f in enumerate(run.findings)))
            c.executemany(
                "INSERT INTO gaps VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                ((run_id, i, g.provider, g.scope, g.region, g.service, g.operation, g.resource,
                  g.error, g.message) for i, g in enumerate(run.gaps)))
            c.executemany("INSERT INTO holders VALUES (?, ?, ?, ?)",
                          ((run_id, h.node, h.label, h.kind) for h in run.holders))
            c.executemany("INSERT INTO placements VALUES (?, ?, ?, ?, ?, ?)",
                          ((run_id, i, node, p.location, p.role, _dumps(list(p.countries)))
                           for i, (node, p) in enumerate(placements)))
            c.executemany("INSERT INTO reach VALUES (?, ?, ?)",
                          ((run_id, node, law) for node, law in reach))
            c.executemany("INSERT INTO facts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                          ((run_id, f.key, f.kind, f.label, f.value, f.detail, f.source,
                            _dumps(list(f.parts)), _dumps(sorted(f.findings)))
                           for f in sorted(run.facts or (), key=lambda f: f.key)))
            c.execute("COMMIT")
        except BaseException as exc:
            if c.in_transaction:
                c.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise HistoryError(f"{self.path}: the run was not stored: {exc}") from exc
            raise
        return run_id

    def runs(self) -> list[RunSummary]:
        """Every stored run, oldest first; :class:`HistoryError` naming the first damaged one."""
        runs, damaged = self.readable_runs()
        if damaged:
            raise damaged[0]
        return runs

    def readable_runs(self) -> tuple[list[RunSummary], list[HistoryError]]:
        """The runs that can be read, oldest first, and an error naming each run that cannot.

        A damaged row (a summary that is not a JSON object, a text column holding a number, …)
        does not hide the others; a database that cannot be read at all is a
        :class:`HistoryError` naming it.
        """
        try:
            rows = self.conn.execute(
                "SELECT id, started, finished, policy, evaluated_on, tool_version, catalog_version, "
                "fail_on, exit_code, summary FROM runs ORDER BY id").fetchall()
            timings = dict(self.conn.execute(
                "SELECT run_id, sum(seconds) FROM timings GROUP BY run_id").fetchall())
        except sqlite3.Error as exc:
            raise HistoryError(f"{self.path}: cannot read the runs: {exc}") from None
        runs: list[RunSummary] = []
        damaged: list[HistoryError] = []
        for r in rows:
            try:
                runs.append(RunSummary(
                    id=int(r[0]), started=_text(r[1], "started"), finished=_text(r[2], "finished"),
                    policy=_text(r[3], "policy"), evaluated_on=_text(r[4], "evaluated_on"),
                    tool_version=_text(r[5], "tool_version"),
                    catalog_version=_text(r[6], "catalog_version"), fail_on=_text(r[7], "fail_on"),
                    exit_code=_exit_code(r[8]), seconds=_seconds(timings.get(r[0])),
                    summary=_summary(r[9])))
            except _Damaged as exc:
                damaged.append(HistoryError(f"{self.path}: run {r[0]}: {exc}"))
        return runs, damaged

    def run_ids(self) -> list[int]:
        """The ids of every stored run, oldest first."""
        try:
            return [int(r[0]) for r in self.conn.execute("SELECT id FROM runs ORDER BY id")]
        except sqlite3.Error as exc:
            raise HistoryError(f"{self.path}: cannot read the runs: {exc}") from None

    def load(self, run_id: int, *, estate: bool = True) -> RunRecord:
        """The stored run ``run_id``; :class:`InputError` if there is none, :class:`HistoryError`
        naming the database and the run if it cannot be read back."""
        try:
            return self._load(run_id, estate=estate)
        except _Damaged as exc:
            raise HistoryError(f"{self.path}: run {run_id}: {exc}") from None
        except sqlite3.Error as exc:
            raise HistoryError(f"{self.path}: run {run_id}: cannot read it: {exc}") from None

    def _load(self, run_id: int, *, estate: bool) -> RunRecord:
        c = self.conn
        # One read transaction, so that the run and its rows are one consistent snapshot.
        c.execute("BEGIN")
        try:
            row = c.execute(
                "SELECT started, finished, policy, evaluated_on, tool_version, catalog_version, "
                "fail_on, exit_code, sources, summary, CASE WHEN ? THEN estate ELSE '{}' END, "
                "n_facts FROM runs WHERE id = ?", (int(estate), run_id)).fetchone()
            if row is None:
                raise InputError(str(self.path), None, "run", f"no run {run_id} in the history")
            timings = {_text(stage, "timings.stage"): _seconds(sec) for stage, sec in c.execute(
                "SELECT stage, seconds FROM timings WHERE run_id = ? ORDER BY stage", (run_id,))}
            findings = tuple(
                FindingRow(id=_text(r[0], "findings.finding_id"), rule=_text(r[1], "findings.rule"),
                           severity=_text(r[2], "findings.severity"), node=_text(r[3], "findings.node"),
                           law=_text(r[4], "findings.law"), title=_text(r[5], "findings.title"),
                           data=_texts(r[6], "findings.data"),
                           countries=_texts(r[7], "findings.countries"),
                           exception=_text(r[8], "findings.exception"))
                for r in c.execute("SELECT finding_id, rule, severity, node, law, title, data, "
                                   "countries, exception FROM findings WHERE run_id = ? ORDER BY seq",
                                   (run_id,)))
            gaps = tuple(
                GapRow(**{name: _text(value, f"gaps.{name}") for name, value in zip(
                    ("provider", "scope", "region", "service", "operation", "resource", "error",
                     "message"), r, strict=True)})
                for r in c.execute("SELECT provider, scope, region, service, operation, resource, "
                                   "error, message FROM gaps WHERE run_id = ? ORDER BY seq", (run_id,)))
            places: dict[str, list[HolderPlacement]] = {}
            for node, location, role, countries in c.execute(
                    "SELECT node, location, role, countries FROM placements WHERE run_id = ? "
                    "ORDER BY seq", (run_id,)):
                places.setdefault(_text(node, "placements.node"), []).append(
                    HolderPlacement(location=_text(location, "placements.location"),
                                    role=_text(role, "placements.role"),
                                    countries=_texts(countries, "placements.countries")))
            laws: dict[str, list[str]] = {}
            for node, law in c.execute("SELECT node, law FROM reach WHERE run_id = ? "
                                       "ORDER BY node, law", (run_id,)):
                laws.setdefault(_text(node, "reach.node"), []).append(_text(law, "reach.law"))
            holders = tuple(
                Holder(node=_text(node, "holders.node"), label=_text(label, "holders.label"),
                       kind=_text(kind, "holders.kind"), placements=tuple(places.get(node, ())),
                       laws=tuple(laws.get(node, ())))
                for node, label, kind in c.execute("SELECT node, label, kind FROM holders "
                                                   "WHERE run_id = ? ORDER BY node", (run_id,)))
            facts = self._facts(run_id, row[11])
        finally:
            if c.in_transaction:
                c.execute("COMMIT")
        return RunRecord(id=run_id, started=_text(row[0], "started"), finished=_text(row[1], "finished"),
                         policy=_text(row[2], "policy"), evaluated_on=_text(row[3], "evaluated_on"),
                         tool_version=_text(row[4], "tool_version"),
                         catalog_version=_text(row[5], "catalog_version"),
                         fail_on=_text(row[6], "fail_on"), exit_code=_exit_code(row[7]),
                         sources=_texts(row[8], "sources"), summary=_summary(row[9]),
                         timings=timings, estate=_text(row[10], "estate"), findings=findings,
                         gaps=gaps, holders=holders, facts=facts)

    def _facts(self, run_id: int, count: Any) -> tuple[Fact, ...] | None:
        """The facts stored with ``run_id`` (None when the run was stored without them)."""
        if count is None:
            return None
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise _Damaged(f"n_facts: damaged: expected a count, found {type(count).__name__}")
        facts = tuple(
            Fact(key=_text(r[0], "facts.key"), kind=_text(r[1], "facts.kind"),
                 label=_text(r[2], "facts.label"), value=_text(r[3], "facts.value"),
                 detail=_text(r[4], "facts.detail"), source=_text(r[5], "facts.source"),
                 parts=_texts(r[6], "facts.parts"), findings=_texts(r[7], "facts.findings"))
            for r in self.conn.execute("SELECT key, kind, label, value, detail, source, parts, "
                                       "findings FROM facts WHERE run_id = ? ORDER BY key",
                                       (run_id,)))
        if len(facts) != count:
            raise _Damaged(f"facts: damaged: {len(facts)} stored, the run says {count}")
        return tuple(sorted(facts, key=fact_order))


# --- drift between two runs --------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class CountryChange:
    """A country that holds data in one run and not in the other, with the copies there."""

    country: str
    copies: tuple[tuple[str, str, str], ...]  # (holder node, location, role), sorted


@dataclass(frozen=True, slots=True, kw_only=True)
class HolderChange:
    """A holder in both runs whose countries, reaching laws or placements differ."""

    node: str
    label: str
    countries_added: tuple[str, ...] = ()
    countries_removed: tuple[str, ...] = ()
    laws_added: tuple[str, ...] = ()
    laws_removed: tuple[str, ...] = ()
    placements_added: tuple[tuple[str, str], ...] = ()  # (location, role)
    placements_removed: tuple[tuple[str, str], ...] = ()

    @property
    def moved(self) -> bool:
        """True when its countries or the laws that reach it changed (jurisdiction drift)."""
        return bool(self.countries_added or self.countries_removed or self.laws_added
                    or self.laws_removed)


@dataclass(frozen=True, slots=True, kw_only=True)
class FindingChange:
    """A finding active in both runs whose severity, laws, countries, data or title differ."""

    a: FindingRow
    b: FindingRow

    @property
    def id(self) -> str:
        return self.b.id

    @property
    def fields(self) -> tuple[str, ...]:
        """The names of the fields that differ, sorted."""
        return tuple(sorted(name for name in ("severity", "law", "title", "data", "countries")
                            if getattr(self.a, name) != getattr(self.b, name)))


@dataclass(frozen=True, slots=True, kw_only=True)
class FactDrift:
    """A changed fact and the findings that appeared, were resolved or changed that rest on it
    (in either run: a law that stopped reaching took its findings with it)."""

    change: FactChange
    findings_new: tuple[FindingRow, ...] = ()
    findings_resolved: tuple[FindingRow, ...] = ()
    findings_changed: tuple[FindingChange, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Drift:
    """What changed from run ``a`` to run ``b``; ``changed`` is False when nothing did.

    ``facts_not_recorded`` names the runs (of the two) stored before the history kept facts:
    their changed facts cannot be told, and the diff says so.
    """

    a: RunRecord
    b: RunRecord
    new_countries: tuple[CountryChange, ...] = ()
    gone_countries: tuple[CountryChange, ...] = ()
    appeared: tuple[Holder, ...] = ()
    disappeared: tuple[Holder, ...] = ()
    moved: tuple[HolderChange, ...] = ()
    relocated: tuple[HolderChange, ...] = ()
    findings_new: tuple[FindingRow, ...] = ()
    findings_resolved: tuple[FindingRow, ...] = ()
    gaps_new: tuple[GapRow, ...] = ()
    gaps_resolved: tuple[GapRow, ...] = ()
    findings_changed: tuple[FindingChange, ...] = ()
    facts_changed: tuple[FactDrift, ...] = ()
    facts_not_recorded: tuple[int, ...] = ()

    @property
    def changed(self) -> bool:
        return any((self.new_countries, self.gone_countries, self.appeared, self.disappeared,
                    self.moved, self.relocated, self.findings_new, self.findings_resolved,
                    self.gaps_new, self.gaps_resolved, self.findings_changed, self.facts_changed))


def _copies_by_country(holders: Iterable[Holder]) -> dict[str, set[tuple[str, str, str]]]:
    out: dict[str, set[tuple[str, str, str]]] = {}
    for h in holders:
        for p in h.placements:
            for country in p.countries:
                out.setdefault(country, set()).add((h.node, p.location, p.role))
    return out


def _active(findings: Iterable[FindingRow]) -> dict[str, FindingRow]:
    return {f.id: f for f in findings if not f.exception}


def _finding_order(f: FindingRow) -> tuple[int, str, str, str]:
    ranks = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}
    return (ranks.get(f.severity, 5), f.rule, f.node, f.law)


def diff_runs(a: RunRecord, b: RunRecord) -> Drift:
    """What appeared, disappeared or moved from run ``a`` to run ``b``, and which findings are new.

    A holder *moved* when the countries its copies can be in, or the laws that reach it,
    changed; a finding is new when it is active in ``b`` and not in ``a`` (an exception that
    expired makes one new again), and resolved in the other direction.
    """
    ha = {h.node: h for h in a.holders}
    hb = {h.node: h for h in b.holders}
    ca, cb = _copies_by_country(a.holders), _copies_by_country(b.holders)
    moved: list[HolderChange] = []
    relocated: list[HolderChange] = []
    for node in sorted(ha.keys() & hb.keys()):
        x, y = ha[node], hb[node]
        px = {(p.location, p.role) for p in x.placements}
        py = {(p.location, p.role) for p in y.placements}
        change = HolderChange(
            node=node, label=y.label or x.label,
            countries_added=tuple(sorted(set(y.countries) - set(x.countries))),
            countries_removed=tuple(sorted(set(x.countries) - set(y.countries))),
            laws_added=tuple(sorted(set(y.laws) - set(x.laws))),
            laws_removed=tuple(sorted(set(x.laws) - set(y.laws))),
            placements_added=tuple(sorted(py - px)), placements_removed=tuple(sorted(px - py)))
        if change.moved:
            moved.append(change)
        elif change.placements_added or change.placements_removed:
            relocated.append(change)
    fa, fb = _active(a.findings), _active(b.findings)
    ga, gb = {g.key: g for g in a.gaps}, {g.key: g for g in b.gaps}
    findings_new = tuple(sorted((fb[i] for i in fb.keys() - fa.keys()), key=_finding_order))
    findings_resolved = tuple(sorted((fa[i] for i in fa.keys() - fb.keys()), key=_finding_order))
    findings_changed = tuple(sorted(
        (FindingChange(a=fa[i], b=fb[i]) for i in fa.keys() & fb.keys()
         if FindingChange(a=fa[i], b=fb[i]).fields), key=lambda c: _finding_order(c.b)))
    facts_changed = tuple(
        FactDrift(change=c, findings_new=tuple(f for f in findings_new if f.id in c.findings),
                  findings_resolved=tuple(f for f in findings_resolved if f.id in c.findings),
                  findings_changed=tuple(f for f in findings_changed if f.id in c.findings))
        for c in diff_facts(a.facts or (), b.facts or ()))
    return Drift(
        a=a, b=b,
        new_countries=tuple(CountryChange(country=c, copies=tuple(sorted(cb[c])))
                            for c in sorted(cb.keys() - ca.keys())),
        gone_countries=tuple(CountryChange(country=c, copies=tuple(sorted(ca[c])))
                             for c in sorted(ca.keys() - cb.keys())),
        appeared=tuple(hb[n] for n in sorted(hb.keys() - ha.keys())),
        disappeared=tuple(ha[n] for n in sorted(ha.keys() - hb.keys())),
        moved=tuple(moved), relocated=tuple(relocated),
        findings_new=findings_new, findings_resolved=findings_resolved,
        gaps_new=tuple(gb[k] for k in sorted(gb.keys() - ga.keys())),
        gaps_resolved=tuple(ga[k] for k in sorted(ga.keys() - gb.keys())),
        findings_changed=findings_changed, facts_changed=facts_changed,
        facts_not_recorded=tuple(sorted({r.id or 0 for r in (a, b) if r.facts is None})),
    )


def _run_info(r: RunRecord) -> dict[str, Any]:
    return {"id": r.id, "started": r.started, "finished": r.finished, "policy": r.policy,
            "evaluated_on": r.evaluated_on, "tool_version": r.tool_version,
            "catalog_version": r.catalog_version}


def _holder_dict(h: Holder) -> dict[str, Any]:
    return {"node": h.node, "label": h.label, "kind": h.kind, "countries": list(h.countries),
            "laws": list(h.laws),
            "placements": [{"location": p.location, "role": p.role, "countries": list(p.countries)}
                           for p in sorted(h.placements, key=lambda p: (p.location, p.role))]}


def _change_dict(c: HolderChange) -> dict[str, Any]:
    return {"node": c.node, "label": c.label, "countries_added": list(c.countries_added),
            "countries_removed": list(c.countries_removed), "laws_added": list(c.laws_added),
            "laws_removed": list(c.laws_removed),
            "placements_added": [{"location": loc, "role": role} for loc, role in c.placements_added],
            "placements_removed": [{"location": loc, "role": role} for loc, role in c.placements_removed]}


def _finding_dict(f: FindingRow) -> dict[str, Any]:
    return {"id": f.id, "rule": f.rule, "severity": f.severity, "node": f.node, "law": f.law or None,
            "title": f.title, "data": list(f.data), "countries": list(f.countries)}


def _gap_dict(g: GapRow) -> dict[str, Any]:
    return {"provider": g.provider, "scope": g.scope, "region": g.region, "service": g.service,
            "operation": g.operation, "resource": g.resource, "error": g.error, "message": g.message}


def _country_dict(c: CountryChange) -> dict[str, Any]:
    return {"country": c.country,
            "copies": [{"node": n, "location": loc, "role": role} for n, loc, role in c.copies]}


def _finding_change_dict(c: FindingChange) -> dict[str, Any]:
    return {"id": c.id, "fields": list(c.fields), "a": _finding_dict(c.a), "b": _finding_dict(c.b)}


def _fact_dict(f: Fact) -> dict[str, Any]:
    return {"value": f.value, "detail": f.detail, "source": f.source, "parts": list(f.parts)}


def _fact_drift_dict(d: FactDrift) -> dict[str, Any]:
    c = d.change
    return {"key": c.key, "kind": c.kind, "label": c.label, "summary": list(c.summary),
            "a": _fact_dict(c.a), "b": _fact_dict(c.b),
            "findings_new": [f.id for f in d.findings_new],
            "findings_resolved": [f.id for f in d.findings_resolved],
            "findings_changed": [f.id for f in d.findings_changed]}


def drift_dict(d: Drift) -> dict[str, Any]:
    """The drift as a JSON-ready dict (what ``diff --format json`` prints)."""
    return {
        "facts_changed": [_fact_drift_dict(f) for f in d.facts_changed],
        "facts_not_recorded": list(d.facts_not_recorded),
        "findings_changed": [_finding_change_dict(c) for c in d.findings_changed],
        "a": _run_info(d.a), "b": _run_info(d.b), "changed": d.changed,
        "new_countries": [_country_dict(c) for c in d.new_countries],
        "gone_countries": [_country_dict(c) for c in d.gone_countries],
        "appeared": [_holder_dict(h) for h in d.appeared],
        "disappeared": [_holder_dict(h) for h in d.disappeared],
        "moved": [_change_dict(c) for c in d.moved],
        "relocated": [_change_dict(c) for c in d.relocated],
        "findings_new": [_finding_dict(f) for f in d.findings_new],
        "findings_resolved": [_finding_dict(f) for f in d.findings_resolved],
        "gaps_new": [_gap_dict(g) for g in d.gaps_new],
        "gaps_resolved": [_gap_dict(g) for g in d.gaps_resolved],
    }


def _md(text: object) -> str:
    """Data as inert Markdown on one line: no HTML, emphasis, link or control character."""
    from residency_audit.textsafe import markdown_text

    return markdown_text(" ".join(str(text).split()))


def _code(text: str) -> str:
    from residency_audit.textsafe import markdown_code

    return markdown_code(" ".join(text.split()))


def _signed(added: Sequence[str], removed: Sequence[str]) -> str:
    return ", ".join([f"+{_md(x)}" for x in added] + [f"−{_md(x)}" for x in removed])


def _holder_line(h: Holder) -> str:
    places = ", ".join(f"{_md(p.role)} at {_md(p.location)} ({_md('/'.join(p.countries)) or '?'})"
                       for p in sorted(h.placements, key=lambda p: (p.location, p.role)))
    laws = f"; reached by {_md(', '.join(h.laws))}" if h.laws else ""
    return f"- {_code(h.node)} {_md(h.label)}: {places or 'no known placement'}{laws}"


def _finding_line(f: FindingRow) -> str:
    law = f" ({_md(f.law)})" if f.law else ""
    return f"- **{_md(f.severity)}** {_md(f.rule)}{law}: {_code(f.node)} {_md(f.title)}"


def _gap_line(g: GapRow) -> str:
    where = "/".join(x for x in (g.provider, g.scope, g.region, g.service) if x)
    what = f" {g.resource}" if g.resource else ""
    return f"- {_code(where)} {_md(g.operation)}{_md(what)}: {_md(g.error)} {_md(g.message)}".rstrip()


def _finding_change_line(c: FindingChange) -> str:
    parts = []
    for name in c.fields:
        x, y = getattr(c.a, name), getattr(c.b, name)
        if isinstance(x, tuple):
            parts.append(f"{name} {_signed(sorted(set(y) - set(x)), sorted(set(x) - set(y)))}")
        elif name == "law":
            parts.append(f"laws {_signed(sorted(set(y.split()) - set(x.split())), sorted(set(x.split()) - set(y.split())))}")
        else:
            parts.append(f"{name} {_md(x)} → {_md(y)}")
    return f"- {_code(c.b.node)} {_md(c.b.rule)}: " + "; ".join(parts)


def _fact_lines(d: FactDrift) -> list[str]:
    c = d.change
    source = f" (source: {_md(c.b.source)})" if c.b.source else ""
    lines = [f"- **{_md(c.label)}** {_code(c.key)}: {_md('; '.join(c.summary))}{source}"]
    lines += [f"  - new finding: {_finding_line(f)[2:]}" for f in d.findings_new]
    lines += [f"  - resolved finding: {_finding_line(f)[2:]}" for f in d.findings_resolved]
    lines += [f"  - changed finding: {_finding_change_line(f)[2:]}" for f in d.findings_changed]
    if not (d.findings_new or d.findings_resolved or d.findings_changed):
        lines.append("  - no finding changed because of it")
    return lines


def render_drift_markdown(d: Drift) -> str:
    """The drift as Markdown, new countries first (what ``diff --format md`` prints)."""
    lines = [f"# Residency drift: run {d.a.id} → run {d.b.id}", ""]
    for name, r in (("From", d.a), ("To", d.b)):
        lines.append(f"- {name}: run {r.id}, started {_md(r.started)}, evaluated on {_md(r.evaluated_on)}, "
                     f"policy {_md(r.policy)}, catalog {_md(r.catalog_version)}")
    lines.extend(f"- Facts not recorded for run {run}: its changed facts cannot be told"
                 for run in d.facts_not_recorded)
    lines.append("")
    if not d.changed:
        lines += ["No change.", ""]
        return "\n".join(lines)

    def section(title: str, items: Sequence[str]) -> None:
        if items:
            lines.extend([f"## {title}", "", *items, ""])

    new_holders = {h.node for h in d.appeared}
    section("New countries", [
        f"- **{_md(c.country)}**: " + "; ".join(
            f"{_code(n)} {_md(role)} at {_md(loc)}{' (new holder)' if n in new_holders else ''}"
            for n, loc, role in c.copies)
        for c in d.new_countries])
    section("Holders that appeared", [_holder_line(h) for h in d.appeared])
    section("Holders that moved country or jurisdiction", [
        f"- {_code(c.node)} {_md(c.label)}: "
        + "; ".join(x for x in (
            f"countries {_signed(c.countries_added, c.countries_removed)}"
            if c.countries_added or c.countries_removed else "",
            f"laws {_signed(c.laws_added, c.laws_removed)}" if c.laws_added or c.laws_removed else "",
            "placements " + _signed([f"{r} at {loc}" for loc, r in c.placements_added],
                                    [f"{r} at {loc}" for loc, r in c.placements_removed])
            if c.placements_added or c.placements_removed else "") if x)
        for c in d.moved])
    section("Changed facts", [line for f in d.facts_changed for line in _fact_lines(f)])
    section("New findings", [_finding_line(f) for f in d.findings_new])
    section("Findings that changed", [_finding_change_line(c) for c in d.findings_changed])
    section("New coverage gaps", [_gap_line(g) for g in d.gaps_new])
    section("Holders that disappeared", [_holder_line(h) for h in d.disappeared])
    section("Countries no longer holding data", [
        f"- **{_md(c.country)}**: " + "; ".join(f"{_code(n)} {_md(role)} at {_md(loc)}"
                                                for n, loc, role in c.copies)
        for c in d.gone_countries])
    section("Placements changed within the same countries", [
        f"- {_code(c.node)} {_md(c.label)}: "
        + _signed([f"{r} at {loc}" for loc, r in c.placements_added],
                  [f"{r} at {loc}" for loc, r in c.placements_removed])
        for c in d.relocated])
    section("Resolved findings", [_finding_line(f) for f in d.findings_resolved])
    section("Resolved coverage gaps", [_gap_line(g) for g in d.gaps_resolved])
    return "\n".join(lines)
