"""The ``residency-audit`` command: a thin layer over the library.

Exit codes: 0 the policy holds, 1 findings at or above ``--fail-on``, 2 bad usage or input.

Examples::

    residency-audit demo --format md
    residency-audit audit --inventory inventory.yaml --policy esam --fail-on high
    residency-audit explain --demo data:sms-reminders
    residency-audit regions --provider gcp --format json
    residency-audit laws --today 2026-05-01
    residency-audit catalog check --max-age-days 180
    residency-audit scan --aws --aws-profile audit -o estate.json
    residency-audit permissions aws
    residency-audit run --config residency.toml
    residency-audit diff --config residency.toml
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from types import ModuleType
from typing import Any, TextIO

from residency_audit import __version__
from residency_audit.cliopts import (
    STDOUT,
    environment_list,
    environment_value,
    in_output_dir,
    plan_outputs,
    terminal_width,
)
from residency_audit.errors import InputError, ResidencyAuditError

__all__ = ["main"]

PROVIDERS = ("aws", "azure", "gcp", "oci")
SEVERITIES = ("info", "low", "medium", "high", "critical", "none")
log = logging.getLogger("residency_audit")


def _provider_cli(name: str) -> ModuleType | None:
    """The CLI hooks of a provider adapter, or None if that adapter is not part of this build."""
    try:
        return importlib.import_module(f"residency_audit.providers.{name}.cli")
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith(f"residency_audit.providers.{name}"):
            return None
        raise


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def _add_report_options(p: argparse.ArgumentParser, *, fail_on: str) -> None:
    from residency_audit.report import FORMATS

    p.add_argument("--policy", default=None,
                   help="a preset name or a policy YAML file (env RESIDENCY_AUDIT_POLICY; default: "
                   "swedish-public-sector)")
    p.add_argument("--format", choices=sorted(FORMATS), default=None,
                   help="report format (default: the one the output file's extension names "
                   "(.md .json .html .csv .sarif .xml .ocsf.json), else md)")
    p.add_argument("-o", "--output", action="append", default=[], metavar="PATH",
                   help="write the report here (owner-readable only); '-' is standard output; "
                   "repeat for several formats from one audit (default: standard output)")
    p.add_argument("--output-dir", default=None, metavar="DIR",
                   help="the folder relative -o and --graph-output paths are written in "
                   "(env RESIDENCY_AUDIT_OUTPUT_DIR; default: the working folder)")
    p.add_argument("--fail-on", choices=SEVERITIES, default=None,
                   help="exit 1 when an active finding is at or above this severity "
                   f"(env RESIDENCY_AUDIT_FAIL_ON; default {fail_on})")
    p.set_defaults(fail_on_default=fail_on)
    p.add_argument("--today", type=_date, default=None,
                   help="the evaluation date (YYYY-MM-DD), to reproduce a report; default today")
    p.add_argument("--catalog", action="append", default=[], metavar="FILE",
                   help="a catalog YAML file that adds or overrides facts (repeatable; env "
                   "RESIDENCY_AUDIT_CATALOG, a list separated by ':')")
    p.add_argument("--graph-output", metavar="PATH",
                   help="also write the graph (.graphml or .json node-link)")
    p.add_argument("--lang", choices=("en", "sv"), default="en",
                   help="the language of the Markdown and HTML reports (finding texts stay in "
                   "English; default en)")


def _add_estate_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--inventory", action="append", default=[], metavar="FILE",
                   help="an inventory YAML file (repeatable)")
    p.add_argument("--estate", action="append", default=[], metavar="FILE",
                   help="an estate JSON file written by 'scan' (repeatable)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="residency-audit",
        description="Audit where cloud data lives and which foreign laws can compel its disclosure.")
    parser.add_argument("--version", action="version", version=f"residency-audit {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", help="only errors on standard error")
    parser.add_argument("-v", "--verbose", action="store_true", help="more detail on standard error")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("demo", help="audit the shipped demo estate (no cloud account needed)",
                       description="Audit the shipped demo estate: a Swedish healthcare region. "
                       "Example: residency-audit demo --format md")
    _add_report_options(p, fail_on="none")

    p = sub.add_parser("audit", help="audit an inventory and/or scanned estate",
                       description="Example: residency-audit audit --inventory inv.yaml "
                       "--estate estate.json --policy esam --fail-on high")
    _add_estate_options(p)
    _add_report_options(p, fail_on="high")

    p = sub.add_parser("explain", help="print the witness paths from each law to a node",
                       description="Example: residency-audit explain --demo data:sms-reminders")
    _add_estate_options(p)
    p.add_argument("--demo", action="store_true", help="explain a node of the demo estate")
    p.add_argument("--policy", default=None, help="a preset name or a policy YAML file")
    p.add_argument("--catalog", action="append", default=[], metavar="FILE",
                   help="a catalog YAML file that adds or overrides facts (repeatable)")
    p.add_argument("--today", type=_date, default=None,
                   help="the evaluation date (YYYY-MM-DD), for the policy's exceptions; default today")
    p.add_argument("nodes", nargs="+", metavar="NODE",
                   help="a node id (data:x, resource:aws:arn…) or a bare data/subprocessor/resource id")

    from residency_audit.assessment.command import add_parser as add_assess_parser

    add_assess_parser(sub, estate_options=_add_estate_options, date=_date)

    p = sub.add_parser("regions", help="list the catalog's regions, multi- and dual-regions",
                       description="Example: residency-audit regions --provider gcp --format json")
    p.add_argument("--provider", choices=("aws", "azure", "gcp", "oci"), default=None,
                   help="only this provider's regions (default: all)")
    p.add_argument("--format", choices=("json", "table"), default="table", help="output format")
    p.add_argument("--catalog", action="append", default=[], metavar="FILE",
                   help="a catalog YAML file that adds or overrides facts (repeatable)")

    p = sub.add_parser("laws", help="list the catalog's laws with their status, scope and citation "
                       "at a date", description="Example: residency-audit laws --today 2026-05-01")
    p.add_argument("--today", type=_date, default=None,
                   help="the date (YYYY-MM-DD) the status is read at; default today")
    p.add_argument("--format", choices=("json", "table"), default="table", help="output format")
    p.add_argument("--catalog", action="append", default=[], metavar="FILE",
                   help="a catalog YAML file that adds or overrides facts (repeatable)")

    p = sub.add_parser("catalog", help="check the catalog: facts past a review age, regions the "
                       "installed SDKs disagree on (exit 1 when something is found)",
                       description="Example: residency-audit catalog check --max-age-days 180")
    p.add_argument("action", choices=("check",), help="what to do with the catalog")
    p.add_argument("--max-age-days", type=int, default=365, metavar="DAYS",
                   help="a fact read longer ago than this is listed for review (default 365)")
    p.add_argument("--today", type=_date, default=None, help="the date ages are counted from; default today")
    p.add_argument("--format", choices=("json", "table"), default="table", help="output format")
    p.add_argument("--catalog", action="append", default=[], metavar="FILE",
                   help="a catalog YAML file that adds or overrides facts (repeatable)")

    p = sub.add_parser("scan", help="read the clouds (read-only) and write an estate file",
                       description="Example: residency-audit scan --aws --aws-profile audit "
                       "-o estate.json")
    p.add_argument("-o", "--output", required=True, metavar="PATH",
                   help="the estate JSON file to write ('-': standard output)")
    p.add_argument("--output-dir", default=None, metavar="DIR",
                   help="the folder a relative -o path is written in (env RESIDENCY_AUDIT_OUTPUT_DIR)")
    p.add_argument("--inventory", action="append", default=[], metavar="FILE",
                   help="also merge these inventory files into the estate")
    for name in PROVIDERS:
        hooks = _provider_cli(name)
        if hooks is not None:
            hooks.add_arguments(p)

    p = sub.add_parser("permissions", help="print the least-privilege permissions a scan needs",
                       description="Example: residency-audit permissions aws")
    p.add_argument("provider", choices=PROVIDERS, help="the provider whose permissions to print")
    _add_scheduled_commands(sub)
    from residency_audit.completion import SHELLS

    p = sub.add_parser("completion", help="print a shell completion script (bash or zsh)",
                       description="Example: source <(residency-audit completion bash); for zsh save "
                       "'residency-audit completion zsh' as _residency-audit in a folder of $fpath")
    p.add_argument("shell", choices=SHELLS, help="the shell to complete in")
    _add_global_options(sub)
    return parser


def _add_global_options(sub: Any) -> None:
    """``-q`` and ``-v`` after the subcommand too (``scan -q``): the subcommand's copies leave the
    namespace alone unless given, so the ones before the subcommand still count."""
    for p in sub.choices.values():
        p.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                       help="only errors on standard error")
        p.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                       help="more detail on standard error")


def _add_scheduled_commands(sub: Any) -> None:
    """``run``, ``history`` and ``diff``: the scheduled job, its stored runs, and their drift."""
    p = sub.add_parser("run", help="scan, audit, write the reports and store the run, from one config",
                       description="Example: residency-audit run --config residency.toml "
                       "(the file is described in docs/config.md)")
    p.add_argument("--config", default=None, metavar="FILE",
                   help="the TOML config file (env RESIDENCY_AUDIT_CONFIG)")
    p.add_argument("--today", type=_date, default=None,
                   help="the evaluation date (YYYY-MM-DD); default today")
    p.add_argument("--policy", default=None, help="a preset name or a policy YAML file, instead of "
                   "the config's (env RESIDENCY_AUDIT_POLICY)")
    p.add_argument("--catalog", action="append", default=[], metavar="FILE",
                   help="catalog YAML files instead of the config's (repeatable; env "
                   "RESIDENCY_AUDIT_CATALOG)")
    p.add_argument("--fail-on", choices=SEVERITIES, default=None,
                   help="instead of the config's fail_on (env RESIDENCY_AUDIT_FAIL_ON)")
    p.add_argument("--output-dir", default=None, metavar="DIR",
                   help="the folder the config's relative output paths are written in, instead "
                   "of its output_dir (env RESIDENCY_AUDIT_OUTPUT_DIR)")
    p.add_argument("--lang", choices=("en", "sv"), default=None,
                   help="the language of the Markdown and HTML reports, instead of the config's "
                   "lang (finding texts stay in English)")
    p.set_defaults(fail_on_default=None)
    for name, help_text, example in (
            ("history", "list the stored runs", "residency-audit history --config residency.toml"),
            ("diff", "what appeared, disappeared or moved between two stored runs "
             "(exit 1 when something changed)", "residency-audit diff --config residency.toml")):
        p = sub.add_parser(name, help=help_text, description=f"Example: {example}")
        where = p.add_mutually_exclusive_group()
        where.add_argument("--history", metavar="FILE", help="the history SQLite file")
        where.add_argument("--config", metavar="FILE", help="read the history path from this config "
                           "(env RESIDENCY_AUDIT_CONFIG)")
        if name == "history":
            p.add_argument("--format", choices=("table", "json"), default="table", help="output format")
        else:
            p.add_argument("a", nargs="?", type=int, metavar="A", help="the older run id "
                           "(default: the run before B)")
            p.add_argument("b", nargs="?", type=int, metavar="B", help="the newer run id "
                           "(default: the last run)")
            p.add_argument("--format", choices=("md", "json"), default="md", help="output format")


def _cmd_run(args: argparse.Namespace, stdout: TextIO) -> int:
    from residency_audit.config import load_config, with_overrides
    from residency_audit.scheduled import run_config, summary_line

    if not args.config:
        raise InputError("<command line>", None, "--config",
                         "give --config FILE (or set RESIDENCY_AUDIT_CONFIG)")
    config = with_overrides(load_config(args.config), policy=args.policy, fail_on=args.fail_on,
                            catalog=args.catalog, output_dir=args.output_dir, lang=args.lang)
    progress = _progress_callback(args.quiet)
    try:
        outcome = run_config(config, today=args.today, progress=progress)
    finally:
        live = getattr(progress, "progress", None)
        if live is not None and live.live.is_started:
            live.stop()
    if not args.quiet:
        print(f"residency-audit: {summary_line(outcome)}", file=sys.stderr)
    return outcome.exit_code


def _history_path(args: argparse.Namespace) -> str:
    if args.history:
        return str(args.history)
    if not args.config:
        raise InputError("<command line>", None, "--history",
                         "give --history FILE or --config FILE (or set RESIDENCY_AUDIT_CONFIG)")
    from residency_audit.config import load_config

    return str(load_config(args.config).history)


def _cmd_history(args: argparse.Namespace, stdout: TextIO) -> int:
    from residency_audit.history import History

    with History(_history_path(args), create=False) as history:
        runs, damaged = history.readable_runs()
    for problem in damaged:  # the runs that can be read are still listed; the exit code is 2
        print(f"residency-audit: error: {problem}", file=sys.stderr)
    if args.format == "json":
        from residency_audit.textsafe import json_safe

        stdout.write(json_safe(json.dumps([r.as_dict() for r in runs], indent=2, sort_keys=True,
                                          ensure_ascii=False)) + "\n")
        return 2 if damaged else 0
    from residency_audit.display import print_table

    rows = []
    for r in runs:
        s = r.summary
        counts = "/".join(str(s.get("findings", {}).get(k, 0))
                          for k in ("critical", "high", "medium", "low", "info"))
        rows.append([str(r.id), r.started, f"{r.seconds:.2f}", r.policy, r.evaluated_on,
                     str(s.get("resources", "")), " ".join(s.get("countries", [])), counts,
                     str(s.get("gaps", "")), "" if r.exit_code is None else str(r.exit_code)])
    print_table(stdout, ["run", "started (UTC)", "seconds", "policy", "evaluated on", "resources",
                         "countries", "findings c/h/m/l/i", "gaps", "exit"], rows,
                width=terminal_width(stdout, default=160))
    return 2 if damaged else 0


def _cmd_diff(args: argparse.Namespace, stdout: TextIO) -> int:
    """Exit 0 when nothing changed (or there is nothing to compare yet), 1 when something did."""
    from residency_audit.history import History, diff_runs, drift_dict, render_drift_markdown

    with History(_history_path(args), create=False) as history:
        ids = history.run_ids()
        if args.a is None and len(ids) < 2:
            print(f"residency-audit: nothing to compare: the history holds {len(ids)} run(s)",
                  file=sys.stderr)
            return 0
        b = args.b if args.b is not None else ids[-1]
        a = args.a if args.a is not None else max((i for i in ids if i < b), default=b)
        drift = diff_runs(history.load(a, estate=False), history.load(b, estate=False))
    from residency_audit.textsafe import encodable, json_safe

    if args.format == "json":
        stdout.write(json_safe(json.dumps(drift_dict(drift), indent=2, sort_keys=True,
                                          ensure_ascii=False)) + "\n")
    else:
        stdout.write(encodable(render_drift_markdown(drift)))
    return 1 if drift.changed else 0


_SCHEDULED = {"run": _cmd_run, "history": _cmd_history, "diff": _cmd_diff}


def _setup_logging(args: argparse.Namespace) -> None:
    level = logging.ERROR if args.quiet else logging.DEBUG if args.verbose else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(level)
    log.propagate = False


def _load_estate(args: argparse.Namespace, catalog: Any) -> Any:
    from residency_audit.estate_io import read_estate
    from residency_audit.model import Estate
    from residency_audit.providers.inventory import load_inventory

    if getattr(args, "demo", False):
        from residency_audit.demo import demo_estate

        return demo_estate()
    if not args.inventory and not args.estate:
        raise InputError("<command line>", None, None, "give --inventory FILE and/or --estate FILE")
    parts = [read_estate(p) for p in args.estate]
    if args.inventory:
        parts.append(load_inventory(*args.inventory, catalog=catalog))
    return parts[0].merge(*parts[1:]) if len(parts) > 1 else parts[0] if parts else Estate()


def _input_files(args: argparse.Namespace) -> list[str]:
    """Every file the command reads: no output may overwrite one of them."""
    files = [*getattr(args, "inventory", []), *getattr(args, "estate", []),
             *getattr(args, "catalog", [])]
    for name in ("policy", "config"):
        value = getattr(args, name, None)
        if value and os.path.isfile(value):
            files.append(value)
    return files


def _write(text: str, output: str | None, stdout: TextIO, inputs: Sequence[str] = ()) -> None:
    if output and output != STDOUT:
        from residency_audit.safefile import write_text

        write_text(output, text, inputs=inputs)
    else:
        from residency_audit.textsafe import encodable

        stdout.write(encodable(text))


def _estate_texts(args: argparse.Namespace, fmt: str) -> list[Any]:
    """The estate files given (path as given, text) when SARIF needs their lines; else nothing."""
    if fmt != "sarif":
        return []
    from residency_audit.estate_io import ESTATE_MAX_BYTES
    from residency_audit.report.sarif import EstateText
    from residency_audit.userfile import read_user_text

    return [EstateText(str(p), read_user_text(p, max_bytes=ESTATE_MAX_BYTES, what="estate"))
            for p in getattr(args, "estate", [])]


def _run_audit(args: argparse.Namespace, estate: Any, catalog: Any, stdout: TextIO) -> int:
    import time

    from residency_audit.pipeline import DEFAULT_POLICY, audit
    from residency_audit.report import render
    from residency_audit.safefile import check_output
    from residency_audit.view import build_view

    clock = time.perf_counter()
    inputs = _input_files(args)
    plan = plan_outputs([in_output_dir(o, args.output_dir) or o for o in args.output], fmt=args.format,
                        default="md")
    files = [o.path for o in plan if o.path is not None]
    graph_output = in_output_dir(args.graph_output, args.output_dir)
    if graph_output and any(os.path.realpath(f) == os.path.realpath(graph_output) for f in files):
        raise InputError("<command line>", None, "--graph-output", "names the same file as -o")
    for i, path in enumerate([*files, *([graph_output] if graph_output else [])]):
        check_output(path, inputs=[*inputs, *files[:i]])  # every output checked before the audit
    result = audit(estate, policy=args.policy or DEFAULT_POLICY, catalog=catalog, today=args.today)
    view = build_view(result)  # once: every format is rendered from the same view
    for output in plan:
        if output.format == "json" and output.path:  # written as it is made: never held whole
            from residency_audit.report.json_report import json_chunks
            from residency_audit.safefile import write_text_chunks

            write_text_chunks(output.path, json_chunks(view), inputs=inputs)
        else:
            _write(render(view, output.format, fail_on=args.fail_on,
                          estates=_estate_texts(args, output.format), lang=args.lang),
                   output.path, stdout, inputs)
    if graph_output:
        from residency_audit.graph import write_graphml, write_node_link

        graph_inputs = [*inputs, *files]
        if graph_output.endswith(".graphml"):
            write_graphml(result.graph, graph_output, inputs=graph_inputs)
        else:
            write_node_link(result.graph, graph_output, inputs=graph_inputs)
    counts = ", ".join(f"{k} {v}" for k, v in result.counts().items())
    countries = result.countries()
    log.info("%d resources, %d subprocessors, %d countries (%s), findings: %s, %d gaps, %.2f s",
             len(estate.resources), len(estate.subprocessors), len(countries), " ".join(countries),
             counts, len(estate.gaps), time.perf_counter() - clock)
    if args.fail_on == "none":
        return 0
    return 1 if result.failed(args.fail_on) else 0


def _catalog(args: argparse.Namespace) -> Any:
    from residency_audit.catalog import default_catalog, load_catalog

    return load_catalog(extra=args.catalog) if getattr(args, "catalog", None) else default_catalog()


def _regions(args: argparse.Namespace, stdout: TextIO) -> int:
    cat = _catalog(args)
    rows = []
    for r in sorted(cat.regions.values(), key=lambda r: (r.provider, r.service, r.code.lower())):
        if args.provider and r.provider != args.provider:
            continue
        rows.append({"provider": r.provider, "code": r.code, "service": r.service or None,
                     "kind": r.kind, "country": r.country, "city": r.city or None,
                     "countries": list(cat.region_countries(r)), "members": list(r.members),
                     "pair": r.pair, "operator": r.operator or None, "notes": r.notes or None,
                     "source": r.source.url, "retrieved": r.source.retrieved,
                     "verified": r.source.verified})
    if args.format == "json":
        from residency_audit.textsafe import json_safe

        stdout.write(json_safe(json.dumps(rows, indent=2, ensure_ascii=False, sort_keys=True)) + "\n")
        return 0
    from residency_audit.display import print_table

    print_table(stdout, ["provider", "code", "kind", "country", "city", "members", "pair"], [
        [row["provider"], row["code"] + (f" ({row['service']})" if row["service"] else ""),
         row["kind"], row["country"] or "/".join(row["countries"]), row["city"] or "",
         " ".join(row["members"]), row["pair"] or ""] for row in rows],
        width=terminal_width(stdout, default=140))
    return 0


def _progress_callback(quiet: bool) -> Any:
    if quiet:
        return None
    if sys.stderr.isatty():
        from rich.progress import Progress

        progress = Progress(transient=True)
        tasks: dict[str, Any] = {}

        def update(label: str, done: int, total: int) -> None:
            if not progress.live.is_started:
                progress.start()
            if label not in tasks:
                tasks[label] = progress.add_task(label, total=total or None)
            progress.update(tasks[label], completed=done, total=total or None)
            if total and done >= total:
                progress.remove_task(tasks.pop(label))

        update.progress = progress  # type: ignore[attr-defined]
        return update
    last: dict[str, int] = {}

    def plain(label: str, done: int, total: int) -> None:
        step = max(1, total // 10) if total else 100
        if done == total or done - last.get(label, -step) >= step:
            last[label] = done
            log.info("%s: %d/%s", label, done, total or "?")

    return plain


def _scan(args: argparse.Namespace, stdout: TextIO) -> int:
    from residency_audit.estate_io import write_estate
    from residency_audit.model import Estate
    from residency_audit.providers.inventory import load_inventory
    from residency_audit.safefile import check_output

    output = in_output_dir(args.output, args.output_dir) or args.output
    if output != STDOUT:
        check_output(output, inputs=_input_files(args))  # before a long scan, not after it
    progress = _progress_callback(args.quiet)
    parts: list[Estate] = []
    for name in PROVIDERS:
        hooks = _provider_cli(name)
        if hooks is not None and hooks.is_requested(args):
            log.info("scanning %s", name)
            try:
                parts.append(hooks.scan_from_args(args, progress=progress))
            finally:
                live = getattr(progress, "progress", None)
                if live is not None and live.live.is_started:
                    live.stop()
    if args.inventory:
        parts.append(load_inventory(*args.inventory))
    if not parts:
        raise InputError("<command line>", None, None,
                         "name at least one source: " + ", ".join(f"--{p}" for p in PROVIDERS
                                                                  if _provider_cli(p) is not None))
    estate = parts[0].merge(*parts[1:]) if len(parts) > 1 else parts[0]
    if output == STDOUT:
        from residency_audit.estate_io import estate_to_dict

        stdout.write(json.dumps(estate_to_dict(estate), indent=2, sort_keys=True) + "\n")
    else:
        write_estate(estate, output, inputs=_input_files(args))
    log.info("wrote %s: %d resources, %d gaps", "standard output" if output == STDOUT else output,
             len(estate.resources), len(estate.gaps))
    return 0


def _permissions(args: argparse.Namespace, stdout: TextIO) -> int:
    hooks = _provider_cli(args.provider)
    if hooks is None:
        raise InputError("<command line>", None, "provider",
                         f"the {args.provider} adapter is not part of this installation")
    text = hooks.permissions_text()
    stdout.write(text if text.endswith("\n") else text + "\n")
    return 0


def _visible(text: object) -> str:
    from residency_audit.textsafe import visible

    return visible(text)


def _apply_environment(args: argparse.Namespace, env: Mapping[str, str]) -> None:
    """Fill the options not given on the command line from ``RESIDENCY_AUDIT_*`` variables, then
    the command's default: flag > environment > config file (``run``) > default."""
    from residency_audit.cliopts import ENVIRONMENT

    for name in ("policy", "output_dir"):
        if hasattr(args, name) and getattr(args, name) is None:
            setattr(args, name, environment_value(env, name))
    if hasattr(args, "config") and args.config is None and getattr(args, "history", None) is None:
        args.config = environment_value(env, "config")
    if hasattr(args, "catalog") and not args.catalog:
        args.catalog = environment_list(env, "catalog")
    if hasattr(args, "fail_on") and args.fail_on is None:
        value = environment_value(env, "fail_on")
        if value is not None and value not in SEVERITIES:
            raise InputError(ENVIRONMENT["fail_on"], None, None,
                             f"{value!r} is not a severity; choose from {', '.join(SEVERITIES)}")
        args.fail_on = value or getattr(args, "fail_on_default", None)


def main(argv: Sequence[str] | None = None, *, stdout: TextIO | None = None) -> int:
    """Run the CLI with ``argv`` (default: ``sys.argv[1:]``); returns the exit code."""
    out = stdout or sys.stdout
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0) if isinstance(exc.code, int) else 2
    _setup_logging(args)
    try:
        _apply_environment(args, os.environ)
        if args.command == "completion":
            from residency_audit.completion import write_script

            out.write(write_script(parser, args.shell))
            return 0
        if args.command == "regions":
            return _regions(args, out)
        if args.command == "catalog":
            from residency_audit.catalogcheck import check_catalog, write_check

            items = check_catalog(_catalog(args), today=args.today or dt.date.today(),
                                  max_age_days=args.max_age_days)
            write_check(items, fmt=args.format, out=out)
            return 1 if items else 0
        if args.command == "laws":
            from residency_audit.lawlist import law_rows, write_laws

            day = args.today or dt.date.today()
            write_laws(law_rows(_catalog(args), day=day), fmt=args.format, out=out, day=day)
            return 0
        if args.command == "permissions":
            return _permissions(args, out)
        if args.command == "scan":
            return _scan(args, out)
        if args.command in _SCHEDULED:
            return _SCHEDULED[args.command](args, out)
        catalog = _catalog(args)
        if args.command == "demo":
            from residency_audit.demo import demo_estate

            return _run_audit(args, demo_estate(), catalog, out)
        if args.command == "audit":
            from residency_audit.graph import gc_paused

            with gc_paused():  # a one-shot command: its objects live until it ends (graph.gc_paused)
                return _run_audit(args, _load_estate(args, catalog), catalog, out)
        if args.command == "assess":
            from residency_audit.assessment.command import run as run_assess

            return run_assess(args, _load_estate(args, catalog), catalog, out, _write, _input_files(args))
        if args.command == "explain":
            from residency_audit.pipeline import DEFAULT_POLICY, audit

            result = audit(_load_estate(args, catalog), policy=args.policy or DEFAULT_POLICY,
                           catalog=catalog, today=args.today)
            from residency_audit.textsafe import terminal_text, visible_fields

            for node in args.nodes:
                try:  # data line breaks and controls print as escapes; the layout's own stay
                    out.write(terminal_text(visible_fields(result.explain(node))) + "\n")
                except KeyError:
                    raise InputError("<command line>", None, "NODE",
                                     f"no node {node!r} in the graph (or the id is ambiguous)") from None
            return 0
    except InputError as exc:  # file names and values in a message are shown, never obeyed
        print(f"residency-audit: error: {_visible(exc)}", file=sys.stderr)
        return 2
    except ResidencyAuditError as exc:
        print(f"residency-audit: error: {_visible(exc)}", file=sys.stderr)
        return 2
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"residency-audit: error: {_visible(where)}{_visible(exc.strerror or exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("residency-audit: interrupted", file=sys.stderr)
        return 130
    parser.error(f"unknown command {args.command!r}")
    return 2


def entry_point() -> None:
    """The console script: exits with :func:`main`'s code."""
    sys.exit(main())
