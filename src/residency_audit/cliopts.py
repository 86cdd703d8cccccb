"""Command-line conventions: report formats from file extensions, several outputs in one run,
``-`` for standard output, ``RESIDENCY_AUDIT_*`` environment variables, and terminal widths.

Everything here is pure except :func:`terminal_width` (which reads the environment and asks
the terminal); the CLI (:mod:`residency_audit.cli`) applies it.

>>> format_for_path("reports/residency.ocsf.json")
'ocsf'
>>> plan_outputs(["-", "r.html", "r.xml"], fmt=None, default="md")
[ReportOutput(format='md', path=None), ReportOutput(format='html', path='r.html'), ReportOutput(format='junit', path='r.xml')]
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TextIO

from residency_audit.errors import InputError

__all__ = ["ENVIRONMENT", "FORMAT_SUFFIXES", "STDOUT", "ReportOutput", "environment_list",
           "environment_value", "format_for_path", "in_output_dir", "plan_outputs", "terminal_width"]

STDOUT = "-"
"""The output path that means standard output."""

#: The file name endings each report format is written with; the first one names the format
#: when ``--format`` is absent (longer endings are tried first: ``.ocsf.json`` before ``.json``).
FORMAT_SUFFIXES: dict[str, tuple[str, ...]] = {
    "md": (".md", ".markdown"),
    "json": (".json",),
    "html": (".html", ".htm"),
    "csv": (".csv",),
    "csv-placements": (".placements.csv", ".csv"),
    "sarif": (".sarif", ".sarif.json", ".json"),
    "junit": (".xml", ".junit.xml"),
    "ocsf": (".ocsf.json", ".json"),
}

_BY_SUFFIX: dict[str, str] = {
    ".ocsf.json": "ocsf", ".sarif.json": "sarif", ".junit.xml": "junit",
    ".placements.csv": "csv-placements", ".md": "md", ".markdown": "md", ".json": "json",
    ".html": "html", ".htm": "html", ".csv": "csv", ".sarif": "sarif", ".xml": "junit",
}

#: The environment variables an ops team sets per host, by the option they stand for.
#: Precedence: a command-line flag, then the variable, then the config file, then the default.
ENVIRONMENT: dict[str, str] = {
    "policy": "RESIDENCY_AUDIT_POLICY",
    "catalog": "RESIDENCY_AUDIT_CATALOG",
    "config": "RESIDENCY_AUDIT_CONFIG",
    "fail_on": "RESIDENCY_AUDIT_FAIL_ON",
    "output_dir": "RESIDENCY_AUDIT_OUTPUT_DIR",
}


@dataclass(frozen=True, slots=True)
class ReportOutput:
    """One report to write: its format and its path (None: standard output)."""

    format: str
    path: str | None


def format_for_path(path: str) -> str | None:
    """The report format a file name's ending names, or None when it names none.

    >>> format_for_path("r.HTML"), format_for_path("r.sarif.json"), format_for_path("report")
    ('html', 'sarif', None)
    """
    name = os.path.basename(path).lower()
    for suffix in sorted(_BY_SUFFIX, key=len, reverse=True):
        if name.endswith(suffix) and len(name) > len(suffix):
            return _BY_SUFFIX[suffix]
    return None


def _matches(fmt: str, path: str) -> bool:
    name = os.path.basename(path).lower()
    return format_for_path(path) is None or any(name.endswith(s) for s in FORMAT_SUFFIXES.get(fmt, ()))


def plan_outputs(outputs: Sequence[str], *, fmt: str | None, default: str) -> list[ReportOutput]:
    """The reports that ``-o`` options (in their order) and ``--format`` ask for.

    No ``-o``: one report on standard output. Each path's format is ``fmt`` when given (its
    ending must then agree with it), else the format its ending names, else ``default``.
    ``-`` is standard output, at most once. The same file twice is an error.

    >>> plan_outputs([], fmt="json", default="md")
    [ReportOutput(format='json', path=None)]
    >>> plan_outputs(["r.html"], fmt="md", default="md")
    Traceback (most recent call last):
    ...
    residency_audit.errors.InputError: <command line>: -o: 'r.html' names a html file but --format is md
    """
    if not outputs:
        return [ReportOutput(fmt or default, None)]
    plan: list[ReportOutput] = []
    seen: set[str] = set()
    for path in outputs:
        key = STDOUT if path == STDOUT else os.path.realpath(path)
        if key in seen:
            what = "standard output ('-')" if path == STDOUT else repr(path)
            raise InputError("<command line>", None, "-o", f"{what} is named twice")
        seen.add(key)
        if path == STDOUT:
            plan.append(ReportOutput(fmt or default, None))
            continue
        named = format_for_path(path)
        if fmt is not None and not _matches(fmt, path):
            raise InputError("<command line>", None, "-o",
                             f"{path!r} names a {named} file but --format is {fmt}")
        plan.append(ReportOutput(fmt or named or default, path))
    return plan


def environment_value(env: Mapping[str, str], option: str) -> str | None:
    """The value of ``option``'s environment variable (:data:`ENVIRONMENT`); empty means unset.

    >>> environment_value({"RESIDENCY_AUDIT_POLICY": "esam"}, "policy")
    'esam'
    """
    value = env.get(ENVIRONMENT[option], "").strip()
    return value or None


def environment_list(env: Mapping[str, str], option: str) -> list[str]:
    """A list-valued variable: items separated by ``os.pathsep`` (``:`` on POSIX), blanks dropped.

    >>> environment_list({"RESIDENCY_AUDIT_CATALOG": "a.yaml::b.yaml"}, "catalog")
    ['a.yaml', 'b.yaml']
    """
    value = environment_value(env, option)
    return [p for p in (value or "").split(os.pathsep) if p.strip()]


def in_output_dir(path: str | None, output_dir: str | None) -> str | None:
    """``path`` placed in ``output_dir`` when it is relative (standard output stays itself).

    >>> in_output_dir("r.json", "/srv/reports"), in_output_dir("/tmp/r.json", "/srv"), in_output_dir("-", "/srv")
    ('/srv/reports/r.json', '/tmp/r.json', '-')
    """
    if path is None or path == STDOUT or not output_dir or os.path.isabs(path):
        return path
    return os.path.join(os.path.expanduser(output_dir), path)


def terminal_width(out: TextIO, *, env: Mapping[str, str] | None = None, default: int) -> int:
    """The width tables are printed at: ``COLUMNS`` when set to a positive number, else the
    terminal's width when ``out`` is one, else ``default`` (a file or pipe: a stable width)."""
    columns = (os.environ if env is None else env).get("COLUMNS", "").strip()
    if columns.isdigit() and int(columns) > 0:
        return min(int(columns), 10_000)
    try:
        if out.isatty():
            return max(20, os.get_terminal_size(out.fileno()).columns)
    except (OSError, ValueError):  # no descriptor (a StringIO) or not a terminal after all
        return default
    return default
