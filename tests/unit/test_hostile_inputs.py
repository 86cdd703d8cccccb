"""Hostile files through every reader and through the command line.

People hand this tool files: inventories, policies, catalogs, configs, estates. Each reader meets
special files (a FIFO, ``/dev/zero``, ``/dev/urandom``, a directory, a socket, a symlink loop, a
NUL byte in the name), files past its size limit, deep nesting, an alias bomb, truncations of a
valid file at many offsets, wrong types, byte order marks and invalid UTF-8, duplicate ids,
cycles, huge numbers, NaN and Infinity, and typo'd keys. Whatever it meets, it either reads the
file or raises one :class:`InputError` naming the file, on one line; it never hangs (each case
runs under an alarm) and never reads without bound (each case's memory is traced); and the CLI
turns every such error into exactly one line on standard error and exit code 2. A few cases run
``python -m residency_audit`` in a subprocess under an address-space limit, so that a traceback
or an unbounded read could not hide inside this process.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from residency_audit.catalog import load_catalog
from residency_audit.cli import main
from residency_audit.config import load_config
from residency_audit.demo import demo_estate, demo_inventory_path
from residency_audit.errors import InputError, display_path
from residency_audit.estate_io import estate_to_dict, read_estate
from residency_audit.policy import load_policy
from residency_audit.providers.inventory import load_inventory

#: Seconds a single case may take before it counts as a hang.
TIMEOUT = 10.0
#: Bytes a single in-process case may allocate (traced) before it counts as unbounded.
MEMORY = 64 * 1024 * 1024
#: The address-space limit of the subprocess cases.
ADDRESS_SPACE = 2 * 1024 ** 3

READERS: dict[str, Callable[[str], Any]] = {
    "inventory": lambda p: load_inventory(p),
    "policy": lambda p: load_policy(p),
    "catalog": lambda p: load_catalog(extra=[p]),
    "config": lambda p: load_config(p),
    "estate": lambda p: read_estate(p),
}

DEMO_INVENTORY = str(demo_inventory_path())

#: The command line that reads a file of each kind.
COMMANDS: dict[str, Callable[[str], list[str]]] = {
    "inventory": lambda p: ["audit", "--inventory", p, "--format", "json"],
    "policy": lambda p: ["audit", "--inventory", DEMO_INVENTORY, "--policy", p, "--format", "json"],
    "catalog": lambda p: ["audit", "--inventory", DEMO_INVENTORY, "--catalog", p, "--format", "json"],
    "estate": lambda p: ["audit", "--estate", p, "--format", "json"],
    "config": lambda p: ["run", "--config", p],
}

SUFFIX = {"inventory": ".yaml", "policy": ".yaml", "catalog": ".yaml", "config": ".toml",
          "estate": ".json"}
LIMIT = {"inventory": 20 * 1024 ** 2, "policy": 4 * 1024 ** 2, "catalog": 20 * 1024 ** 2,
         "config": 1024 ** 2, "estate": 1024 ** 3}

CATALOG = """\
regions:
  - provider: aws
    code: zz-north-1
    country: SE
    city: Exempelstad
    source: https://example.org/regions
    retrieved: 2026-01-01
  - provider: aws
    code: zz-multi
    kind: multi-region
    members: zz-north-1
    source: https://example.org/regions
    retrieved: 2026-01-01
entities:
  - id: exempel-holding-ab
    name: Exempel Holding AB
    country: SE
    source: https://example.org/register
    retrieved: 2026-01-01
laws:
  - id: exempel-law
    name: Exempel Act
    country: SE
    territorial: true
    citation: SFS 2026:1
    source: https://example.org/law
    retrieved: 2026-01-01
countries:
  - code: SE
    name: Sweden
    eu: true
    eea: true
    source: https://example.org/eu
    retrieved: 2026-01-01
"""

CONFIG = """\
policy = "esam"
fail_on = "critical"
catalog = ["catalog.yaml"]

[sources]
inventory = ["inventory.yaml"]
estates = ["estate.json"]

[[outputs]]
format = "json"
path = "reports/residency.json"
"""


def valid_text(reader: str) -> str:
    """A valid file for ``reader``: the demo inventory and estate, a preset, a small catalog."""
    if reader == "inventory":
        return demo_inventory_path().read_text(encoding="utf-8")
    if reader == "policy":
        from importlib import resources

        return resources.files("residency_audit.policies").joinpath("eea-only.yaml").read_text(
            encoding="utf-8")
    if reader == "catalog":
        return CATALOG
    if reader == "config":
        return CONFIG
    return json.dumps(estate_to_dict(demo_estate()), indent=2, sort_keys=True) + "\n"


@dataclass(frozen=True)
class Case:
    """One hostile input: the file to read and whether reading it must fail."""

    name: str
    path: str
    fails: bool = True
    words: str = ""


class Hang(Exception):
    """A case ran longer than :data:`TIMEOUT`."""


def max_rss() -> int:
    """This process's peak resident memory so far, in bytes."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


@contextlib.contextmanager
def bounded(case: Case, *, traced: bool = False) -> Iterator[None]:
    """Run the body under an alarm; fail on a hang, or when the process's peak memory grows by
    more than :data:`MEMORY` (with ``traced``, when the body allocates more than that)."""
    def alarm(signum: int, frame: Any) -> None:
        raise Hang(f"{case.name}: still running after {TIMEOUT} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, TIMEOUT)
    before = max_rss()
    if traced:  # tracemalloc slows PyYAML down many times: only for the cheap cases
        tracemalloc.start()
    try:
        yield
    finally:
        peak = tracemalloc.get_traced_memory()[1] if traced else 0
        if traced:
            tracemalloc.stop()
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    grown = max_rss() - before
    assert peak < MEMORY and grown < MEMORY, f"{case.name}: {peak} bytes traced, {grown} grown"


# the hostile inputs --------------------------------------------------------------------------

def write(folder: Path, name: str, data: str | bytes) -> str:
    path = folder / name
    path.write_bytes(data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data)
    return str(path)


def special_files(reader: str, folder: Path) -> list[Case]:
    """Files that are not regular files, and names that name no file."""
    suffix = SUFFIX[reader]
    fifo = folder / f"fifo{suffix}"
    os.mkfifo(fifo)
    directory = folder / f"directory{suffix}"
    directory.mkdir()
    loop_a, loop_b = folder / f"loop-a{suffix}", folder / f"loop-b{suffix}"
    loop_a.symlink_to(loop_b.name)
    loop_b.symlink_to(loop_a.name)
    dangling = folder / f"dangling{suffix}"
    dangling.symlink_to("nowhere")
    huge = folder / f"huge{suffix}"
    with huge.open("wb") as f:
        f.truncate(LIMIT[reader] + 1)  # sparse: no disk, no time
    to_fifo = folder / f"link-to-fifo{suffix}"
    to_fifo.symlink_to(fifo.name)
    return [
        Case("fifo", str(fifo), words="named pipe"),
        Case("symlink to a fifo", str(to_fifo), words="named pipe"),
        Case("/dev/zero", "/dev/zero", words="device"),
        Case("/dev/urandom", "/dev/urandom", words="device"),
        Case("/dev/null", "/dev/null", words="device"),
        Case("directory", str(directory), words="directory"),
        Case("socket", SOCKETS[reader], words="socket"),
        Case("symlink loop", str(loop_a), words="symbolic links"),
        Case("dangling symlink", str(dangling), words="not found"),
        Case("missing file", str(folder / f"missing{suffix}"), words="not found"),
        Case("NUL in the path", str(folder / f"nul\x00byte{suffix}"), words="NUL"),
        Case("newline in the path", str(folder / f"new\nline{suffix}"), words="not found"),
        Case("folder in the path is a file", str(folder / f"fifo{suffix}" / "x"), words="not found"),
        Case("huge file", str(huge), words="limit"),
        Case("/proc/self/environ", "/proc/self/environ"),
    ]


def encodings(reader: str, folder: Path) -> list[Case]:
    """Byte order marks (accepted everywhere), invalid UTF-8, UTF-16, NUL bytes, odd unicode."""
    text = valid_text(reader)
    s = SUFFIX[reader]
    return [
        Case("UTF-8 byte order mark", write(folder, f"bom{s}", b"\xef\xbb\xbf" + text.encode()),
             fails=False),
        Case("invalid UTF-8", write(folder, f"latin1{s}", text.encode()[:40] + b"\xe5\xff" +
                                    text.encode()[40:]), words="not UTF-8"),
        Case("UTF-16", write(folder, f"utf16{s}", text.encode("utf-16")), words="not UTF-8"),
        Case("NUL byte", write(folder, f"nul{s}", text[:60] + "\x00" + text[60:]), words="NUL"),
        Case("lone surrogate", write(folder, f"surrogate{s}", text[:60] + "\ud800" + text[60:]),
             words="not UTF-8"),
        Case("empty", write(folder, f"empty{s}", b""), fails=reader != "catalog"),
        Case("only a byte order mark", write(folder, f"onlybom{s}", b"\xef\xbb\xbf"),
             fails=reader != "catalog"),
        Case("binary", write(folder, f"binary{s}", bytes(range(256)) * 4)),
        Case("bidi and control characters",
             write(folder, f"bidi{s}", text.replace("e", "e\u202e\u2066\x1b[31m", 3)), fails=False),
    ]


def truncations(reader: str, folder: Path, count: int = 24) -> list[Case]:
    """The valid file cut at ``count`` offsets spread over its length."""
    data = valid_text(reader).encode()
    step = max(1, len(data) // count)
    return [Case(f"truncated at {n}", write(folder, f"cut-{n}{SUFFIX[reader]}", data[:n]),
                 fails=False)
            for n in range(1, len(data), step)][:count]


def nesting(reader: str, folder: Path) -> list[Case]:
    """Deep nesting in the reader's own syntax, and an alias bomb for the YAML readers."""
    s = SUFFIX[reader]
    if reader == "config":
        return [
            Case("3000-deep TOML array", write(folder, f"deep{s}", "[sources]\ninventory = " + "[" * 3000 +
                                            "]" * 3000 + "\n"), words="deeper"),
            Case("3000-deep TOML inline table",
                 write(folder, f"deep-table{s}", "x = " + "{a = " * 3000 + "1" + "}" * 3000 + "\n"),
                 words="deeper"),
            Case("unclosed TOML arrays", write(folder, f"open{s}", "x = " + "[" * 100_000), words="deeper"),
        ]
    if reader == "estate":
        return [
            Case("3000-deep JSON list", write(folder, f"deep{s}", '{"schema_version": 1, "resources": ' +
                                           "[" * 3000 + "]" * 3000 + "}"), words="deeper"),
            Case("3000-deep JSON object", write(folder, f"deep-object{s}", '{"schema_version": 1, "x": ' +
                                             '{"a": ' * 3000 + "1" + "}" * 3000 + "}"), words="deeper"),
            Case("900-deep tags", write(folder, f"deep-tags{s}", '{"schema_version": 1, "resources": [{'
                                        '"tags": ' + "[" * 900 + "]" * 900 + "}]}")),
            Case("unclosed JSON lists", write(folder, f"open{s}", "[" * 100_000)),
        ]
    laughs = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 9) + "]\n" for i in range(8))
    return [
        Case("3000-deep YAML flow list", write(folder, f"deep{s}", "a: " + "[" * 3000 + "]" * 3000 + "\n"),
             words="nesting"),
        Case("3000-deep YAML flow mapping",
             write(folder, f"deep-map{s}", "a: " + "{a: " * 3000 + "1" + "}" * 3000 + "\n"), words="nesting"),
        Case("400-deep YAML block mapping",
             write(folder, f"deep-block{s}", "".join(" " * i + f"k{i}:\n" for i in range(400)) + " " * 400 + "x\n"),
             words="nesting"),
        Case("YAML alias bomb", write(folder, f"bomb{s}", laughs), words="aliases"),
        Case("recursive YAML alias", write(folder, f"recursive{s}", "a: &a [*a]\n"), words="alias"),
    ]


def structure(reader: str, folder: Path) -> list[Case]:
    """Wrong types, duplicate ids, cycles, huge numbers, NaN and typo'd keys, per format."""
    s = SUFFIX[reader]
    text = valid_text(reader)

    def edited(name: str, old: str, new: str, words: str = "", fails: bool = True) -> Case:
        assert old in text, (reader, old)
        return Case(name, write(folder, f"{re.sub(r'[^a-z0-9]+', '-', name)}{s}", text.replace(old, new, 1)),
                    fails=fails, words=words)

    if reader == "inventory":
        return [
            edited("typo'd key", "      - region: azure:westeurope", "      - regoin: azure:westeurope",
                   "did you mean 'region'"),
            edited("version true", "version: 1", "version: true", "format version"),
            edited("version huge", "version: 1", "version: " + "9" * 5000),
            edited("version 1e999", "version: 1", "version: 1e999"),
            edited("Norway problem", "country: SE", "country: NO", "quotes"),
            edited("list for a name", "name: Exempel SMS AB", "name: [a, b]", "valid string"),
            edited("mapping for a list", "role: primary", "role: {a: b}"),
            edited("duplicate key", "version: 1", "version: 1\nversion: 1", "duplicate key"),
            edited("duplicate id", "  - id: region-exempel\n", "  - id: exempel-sms-ab\n", "defined twice"),
            edited("entity parent cycle", "    country: US\n    source",
                   "    country: US\n    parent: global-messaging-nordic-ab\n    source", "own parent"),
            edited("subprocessor is its own subprocessor", "      - id: messaging-gateway\n",
                   "      - ref: sms-provider\n      - id: messaging-gateway\n", "own subprocessor"),
            edited("merge key", "version: 1", "x: &x {a: 1}\n<<: *x\nversion: 1", "merge"),
            edited("python tag", "version: 1", "version: !!python/object/apply:os.system [true]"),
            edited("tab indentation", "version: 1", "version: 1\n\tx: 1"),
        ]
    if reader == "policy":
        return [
            edited("typo'd key", "rules:", "rulse:", "did you mean 'rules'"),
            edited("typo'd nested key", "    allowed: [EEA]", "    alowed: [EEA]", "did you mean 'allowed'"),
            edited("boolean home", "home: SE", "home: no", "quotes"),
            edited("duplicate rule id", "  - id: coverage", "  - id: eea-only", "unique"),
            edited("list for severity", "severity: high", "severity: [high]"),
            edited("huge number", "severity: high", "severity: " + "9" * 5000),
            edited("NaN", "severity: high", "severity: .nan"),
            edited("exception expiring on a number", "rules:",
                   "exceptions:\n  - {rule: eea-only, node: x, reason: r, expires: 20270101}\nrules:",
                   "YYYY-MM-DD"),
        ]
    if reader == "catalog":
        return [
            edited("typo'd key", "    city: Exempelstad", "    cty: Exempelstad", "did you mean 'city'"),
            edited("typo'd section", "laws:", "lawz:", "did you mean 'laws'"),
            edited("region that is its own member", "members: zz-north-1", "members: zz-multi",
                   "own member"),
            edited("member cycle", "    city: Exempelstad\n", "    city: Exempelstad\n    members: zz-multi\n",
                   "own member"),
            edited("entity that is its own parent", "    country: SE\n    source: https://example.org/register",
                   "    country: SE\n    parent: exempel-holding-ab\n    source: https://example.org/register",
                   "own parent"),
            edited("Norway problem", "    country: SE\n    city", "    country: NO\n    city", "quotes"),
            edited("mapping for a member list", "members: zz-north-1", "members: {a: b}", "where text"),
            edited("list of rows is a mapping", "countries:\n  - code: SE", "countries:\n  code: SE"),
            edited("huge number", "city: Exempelstad", "city: " + "9" * 5000),
        ]
    if reader == "config":
        return [
            edited("typo'd key", "fail_on =", "fail_onn =", "did you mean 'fail_on'"),
            edited("typo'd table key", 'inventory = ["inventory.yaml"]', 'inventroy = ["inventory.yaml"]',
                   "did you mean 'inventory'"),
            edited("NUL in a named path", '"inventory.yaml"', '"inven\\u0000tory.yaml"', "NUL"),
            edited("newline in a named path", '"inventory.yaml"', '"inven\\ntory.yaml"', "line break"),
            edited("boolean for a policy", 'policy = "esam"', "policy = true", "valid string"),
            edited("huge integer", 'fail_on = "critical"', "fail_on = " + "9" * 5000),
            edited("huge float", 'fail_on = "critical"', "fail_on = 1e999"),
            edited("NaN", 'fail_on = "critical"', "fail_on = nan"),
            edited("duplicate key", 'policy = "esam"', 'policy = "esam"\npolicy = "esam"'),
            edited("duplicate output path", "[[outputs]]", '[[outputs]]\nformat = "md"\npath = '
                   '"reports/residency.json"\n[[outputs]]', "already the path"),
        ]
    assert reader == "estate"
    return [
        edited("typo'd key", '"resources": [', '"resouces": [', "did you mean 'resources'"),
        edited("typo'd nested key", '"location":', '"locaton":', "did you mean 'location'"),
        edited("version true", '"schema_version": 1', '"schema_version": true', "schema version"),
        edited("version 1.0", '"schema_version": 1', '"schema_version": 1.0', "schema version"),
        edited("NaN", '"started": ""', '"started": NaN', "NaN"),
        edited("Infinity", '"started": ""', '"started": -Infinity', "Infinity"),
        edited("huge integer", '"started": ""', '"started": ' + "9" * 5000, "digits"),
        edited("huge float", '"started": ""', '"started": 1e999', "out of range"),
        edited("list for an id", '"id": "', '"id": ["', ""),
        edited("number for a name", '"name": "', '"name": 1, "x": "', ""),
        edited("duplicate resource id", '\n  "resources": [', '\n  "resources": [' +
               json.dumps(estate_to_dict(demo_estate())["resources"][0]) + ",", "listed twice"),
        edited("an array, not an object", "{", "[{", ""),
    ]


KINDS = {"special files": special_files, "encodings": encodings, "truncations": truncations,
         "nesting": nesting, "structure": structure}
SOCKETS: dict[str, str] = {}


@pytest.fixture(scope="module", autouse=True)
def sockets(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A listening Unix socket per reader (short paths: a socket's path has a length limit)."""
    base = tmp_path_factory.mktemp("s")
    opened = []
    for reader, suffix in SUFFIX.items():
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        path = base / f"{reader[:3]}{suffix}"
        sock.bind(str(path))
        opened.append(sock)
        SOCKETS[reader] = str(path)
    yield
    for sock in opened:
        sock.close()


def cases_of(reader: str, kind: str, folder: Path) -> list[Case]:
    """The hostile inputs of ``kind`` for ``reader``, made in a new folder under ``folder``."""
    sub = folder / f"{reader}-{kind.replace(' ', '-')}"
    sub.mkdir()
    for support in ("inventory", "catalog"):  # what the config names, next to it
        (sub / f"{support}.yaml").write_text(valid_text(support), encoding="utf-8")
    (sub / "estate.json").write_text(valid_text("estate"), encoding="utf-8")
    return KINDS[kind](reader, sub)


def check_error(err: InputError, case: Case) -> None:
    text = str(err)
    assert "\n" not in text and "\r" not in text, (case.name, text)
    assert "\x00" not in text, case.name
    assert err.file == case.path, (case.name, err.file)
    assert text.startswith(display_path(case.path)), (case.name, text)
    assert err.line is None or err.line >= 1, (case.name, err.line)
    assert case.words.lower() in err.message.lower(), (case.name, err.message)


# the library readers ------------------------------------------------------------------------

@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("reader", list(READERS))
def test_each_reader_reads_or_refuses_in_one_line(tmp_path: Path, reader: str, kind: str) -> None:
    for case in cases_of(reader, kind, tmp_path):
        with bounded(case, traced=kind in ("special files", "encodings")):
            try:
                READERS[reader](case.path)
            except InputError as err:
                check_error(err, case)
            else:
                assert not case.fails, f"{reader}: {case.name}: read without an error"


# the command line ---------------------------------------------------------------------------

TRACEBACK = re.compile(r"Traceback|^\s+File \"", re.MULTILINE)


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("reader", list(COMMANDS))
def test_the_cli_exits_2_with_one_line_naming_the_file(tmp_path: Path, reader: str, kind: str,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    for case in cases_of(reader, kind, tmp_path):
        if not case.fails:
            continue  # a file that may be valid runs a whole audit: the library test covers it
        with bounded(case):
            code = main(["--quiet", *COMMANDS[reader](case.path)])
        _, err = capsys.readouterr()
        assert code == 2, (reader, case.name, code, err)
        assert not TRACEBACK.search(err), (reader, case.name, err)
        assert err.count("\n") == 1 and err.endswith("\n"), (reader, case.name, err)
        assert err.startswith(f"residency-audit: error: {display_path(case.path)}"), (reader, case.name, err)


def test_a_few_truncated_and_re_encoded_files_through_the_cli(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    for reader in ("inventory", "policy", "catalog", "estate"):
        cases = cases_of(reader, "truncations", tmp_path)[::6]
        cases += [c for c in cases_of(reader, "encodings", tmp_path) if not c.fails]
        for case in cases:
            with bounded(case):
                code = main(["--quiet", *COMMANDS[reader](case.path)])
            _, err = capsys.readouterr()
            assert code in (0, 1, 2), (reader, case.name, code)
            assert not TRACEBACK.search(err), (reader, case.name, err)
            if code == 2:
                assert err.count("\n") == 1, (reader, case.name, err)
                assert err.startswith(f"residency-audit: error: {display_path(case.path)}"), err


# in a separate process, under an address-space limit -----------------------------------------

def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def test_the_installed_command_refuses_special_files_without_a_traceback(tmp_path: Path) -> None:
    sub = tmp_path
    fifo = sub / "fifo.yaml"
    os.mkfifo(fifo)
    deep_toml = sub / "deep.toml"
    deep_toml.write_text("[sources]\ninventory = " + "[" * 3000 + "]" * 3000 + "\n")
    selfish = sub / "catalog.yaml"
    selfish.write_text(CATALOG.replace("members: zz-north-1", "members: zz-multi"))
    runs = {
        "fifo": (COMMANDS["inventory"](str(fifo)), str(fifo)),
        "/dev/zero": (COMMANDS["estate"]("/dev/zero"), "/dev/zero"),
        "deep TOML": (COMMANDS["config"](str(deep_toml)), str(deep_toml)),
        "own member": (COMMANDS["catalog"](str(selfish)), str(selfish)),
    }
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    started = time.monotonic()
    procs = {name: subprocess.Popen([sys.executable, "-m", "residency_audit", "--quiet", *argv],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                    env=env, preexec_fn=_limit_memory)
             for name, (argv, _) in runs.items()}
    try:
        for name, proc in procs.items():
            _, err = proc.communicate(timeout=60)
            assert proc.returncode == 2, (name, proc.returncode, err)
            assert not TRACEBACK.search(err), (name, err)
            assert err.count("\n") == 1, (name, err)
            assert err.startswith(f"residency-audit: error: {runs[name][1]}"), (name, err)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert time.monotonic() - started < 60
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    assert peak_kib * 1024 < ADDRESS_SPACE


# the pieces -----------------------------------------------------------------------------------

def test_a_file_that_reports_no_size_is_still_read_within_the_limit() -> None:
    from residency_audit.userfile import read_user_bytes

    assert os.stat("/proc/self/maps").st_size == 0
    with pytest.raises(InputError, match="larger than the limit"):
        read_user_bytes("/proc/self/maps", max_bytes=64, what="test")
    assert read_user_bytes("/proc/self/maps", max_bytes=10 ** 7, what="test")


def test_every_error_message_is_one_line_whatever_it_names() -> None:
    err = InputError("in\nventory\x00.yaml", 3, "a\rb", "value 'x\u2028y' \x1b[31m")
    assert "\n" not in str(err) and "\r" not in str(err) and "\x1b" not in str(err)
    assert str(err) == "in\\nventory\\x00.yaml:3: a\\rb: value 'x\\u2028y' \\x1b[31m"




# generated: arbitrary values anywhere in an estate, arbitrary text as JSON and TOML ------------

GENERATED = settings(max_examples=60, derandomize=True, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-10 ** 30, 10 ** 30) | st.floats(allow_nan=True)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8)


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _paths(v, (*prefix, i))
    return out


DEMO_ESTATE = estate_to_dict(demo_estate())
ESTATE_PATHS = [p for p in _paths(DEMO_ESTATE) if p][:400]


@GENERATED
@given(at=st.sampled_from(ESTATE_PATHS), value=JSON_VALUES)
def test_any_value_anywhere_in_an_estate_is_read_or_named(tmp_path: Path, at: tuple[Any, ...],
                                                          value: Any) -> None:
    doc = json.loads(json.dumps(DEMO_ESTATE))
    node = doc
    for step in at[:-1]:
        node = node[step]
    node[at[-1]] = value
    path = tmp_path / "estate.json"
    path.write_text(json.dumps(doc, indent=1))
    try:
        read_estate(path)
    except InputError as err:
        assert "\n" not in str(err) and err.file == str(path)
        assert err.line is not None and err.line >= 1


JSONISH = st.lists(st.sampled_from(['{', '}', '[', ']', ',', ':', '"', '"schema_version"', '1', 'true',
                                    'NaN', '-Infinity', '1e999', '"resources"', '"id"', ' ', '\n',
                                    '\\u0000', '\ufeff', 'null', '9' * 30]), max_size=60).map("".join)
TOMLISH = st.lists(st.sampled_from(['[sources]\n', 'inventory = ', '["a.yaml"]', '[[outputs]]\n',
                                    'format = "json"\n', 'path = "r"\n', '[', ']', '{', '}', '=', '"',
                                    "'''", '"""', '#', '\n', 'x', '1e999', 'nan', '\\u0000', '9' * 30]),
                   max_size=60).map("".join)


@GENERATED
@given(text=JSONISH)
def test_arbitrary_json_text_is_an_estate_or_an_input_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "estate.json"
    path.write_text(text, encoding="utf-8")
    try:
        read_estate(path)
    except InputError as err:
        assert "\n" not in str(err) and err.file == str(path)


@GENERATED
@given(text=TOMLISH)
def test_arbitrary_toml_text_is_a_config_or_an_input_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "residency.toml"
    path.write_text(text, encoding="utf-8")
    try:
        load_config(path)
    except InputError as err:
        assert "\n" not in str(err) and err.file == str(path)
