"""A scheduled run: read a config, scan or load the sources, audit, write the reports, keep history.

This is what ``residency-audit run --config FILE`` does, as a library call:

>>> import tempfile, pathlib, datetime as dt
>>> from residency_audit.config import parse_config
>>> from residency_audit.demo import demo_inventory_path
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> cfg = parse_config(f'''
... [sources]
... inventory = ["{demo_inventory_path().as_posix()}"]
... [[outputs]]
... format = "json"
... path = "report.json"
... ''', folder / "residency.toml")
>>> outcome = run_config(cfg, today=dt.date(2026, 11, 24))
>>> outcome.run_id, outcome.exit_code, (folder / "report.json").exists()
(1, 1, True)
"""

from __future__ import annotations

import datetime as dt
import importlib
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from residency_audit.config import RunConfig
from residency_audit.errors import InputError
from residency_audit.estate_io import read_estate
from residency_audit.history import History, RunRecord, record_from_audit, utc_now
from residency_audit.model import Estate
from residency_audit.pipeline import DEFAULT_POLICY, Audit, audit
from residency_audit.providers.base import ProgressCallback
from residency_audit.safefile import check_output, write_text

__all__ = ["PROVIDERS", "RunOutcome", "input_files", "provider_hooks", "provider_options", "run_config",
           "summary_line"]

PROVIDERS = ("aws", "azure", "gcp", "oci")


@dataclass(frozen=True, slots=True, kw_only=True)
class RunOutcome:
    """What a scheduled run produced: its history id, the audit, the stored record, the exit code."""

    run_id: int
    audit: Audit
    record: RunRecord
    exit_code: int
    seconds: float


def provider_hooks() -> dict[str, ModuleType | None]:
    """Each provider's CLI hooks module, or None when that adapter is not installed."""
    out: dict[str, ModuleType | None] = {}
    for name in PROVIDERS:
        try:
            out[name] = importlib.import_module(f"residency_audit.providers.{name}.cli")
        except ModuleNotFoundError as exc:
            if not (exc.name and exc.name.startswith(f"residency_audit.providers.{name}")):
                raise
            out[name] = None
    return out


def provider_options(config: RunConfig, hooks: Mapping[str, ModuleType | None]) -> dict[str, Any]:
    """Each cloud source's typed scan options, built by its adapter's ``options_from_config``
    straight from the config section (no command line is built or parsed).

    ``hooks`` maps a provider name to its CLI module (:func:`provider_hooks`); a source whose
    adapter is not installed is an :class:`InputError` naming the config file and section.

    >>> from residency_audit.config import parse_config
    >>> cfg = parse_config('[sources.aws]\\nprofile = "audit"\\n', "residency.toml")
    >>> provider_options(cfg, provider_hooks())["aws"].profile
    'audit'
    """
    origin = str(config.path)
    out: dict[str, Any] = {}
    for name in config.cloud_sources:
        module = hooks.get(name)
        section = getattr(config, name)
        if module is None:
            raise InputError(origin, None, f"sources.{name}",
                             f"the {name} adapter is not part of this installation")
        out[name] = module.options_from_config(section.model_dump())
    return out


@contextmanager
def _timed(timings: dict[str, float], stage: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        timings[stage] = round(time.perf_counter() - start, 6)


def _estate(config: RunConfig, catalog: Any, timings: dict[str, float],
            hooks: Mapping[str, ModuleType | None], progress: ProgressCallback | None) -> Estate:
    from residency_audit.providers.inventory import load_inventory

    parts: list[Estate] = []
    options = provider_options(config, hooks)  # every section checked before the first scan
    for name, opts in options.items():
        module = hooks[name]
        if module is not None:  # provider_options refused a source without its adapter
            with _timed(timings, f"scan:{name}"):
                parts.append(module.scan_with_options(opts, progress=progress))
    if config.estates:
        with _timed(timings, "load:estates"):
            parts.extend(read_estate(p) for p in config.estates)
    if config.inventory:
        with _timed(timings, "load:inventory"):
            parts.append(load_inventory(*config.inventory, catalog=catalog))
    return parts[0].merge(*parts[1:]) if len(parts) > 1 else parts[0] if parts else Estate()


def input_files(config: RunConfig) -> tuple[Path, ...]:
    """Every file a run reads (config, inventories, estates, catalogs, a policy file, the history):
    no output may overwrite one of them."""
    files = [config.path, *config.inventory, *config.estates, *config.catalog, config.history]
    if config.policy and Path(config.policy).is_file():
        files.append(Path(config.policy))
    return tuple(files)


def _check_outputs(config: RunConfig, inputs: tuple[Path, ...]) -> None:
    """Refuse unsafe output paths (links, devices, inputs, two outputs at one path) before scanning."""
    seen: list[Path] = []
    for output in config.outputs:
        check_output(output.path, inputs=(*inputs, *seen))
        seen.append(output.path)


def run_config(config: RunConfig, *, today: dt.date | None = None,
               progress: ProgressCallback | None = None,
               hooks: Mapping[str, ModuleType | None] | None = None) -> RunOutcome:
    """Scan or load ``config``'s sources, audit, write every output, and store the run.

    Outputs are written atomically and readable by their owner only, their folders created
    (mode 0700) if missing; an output that is a link, a device or one of the run's input files is
    refused before anything is scanned. The run is stored in the history only once every output
    is written, in one transaction.
    """
    from residency_audit.catalog import default_catalog, load_catalog
    from residency_audit.report import render
    from residency_audit.view import build_view

    started = utc_now()
    clock = time.perf_counter()
    timings: dict[str, float] = {}
    inputs = input_files(config)
    _check_outputs(config, inputs)
    with _timed(timings, "catalog"):
        catalog = load_catalog(extra=config.catalog) if config.catalog else default_catalog()
    estate = _estate(config, catalog, timings, hooks if hooks is not None else provider_hooks(),
                     progress)
    with _timed(timings, "audit"):
        result = audit(estate, policy=config.policy or DEFAULT_POLICY, catalog=catalog, today=today)
    with _timed(timings, "report"):
        view = build_view(result)  # once: every output and the history record read it
        for output in config.outputs:
            write_text(output.path, render(view, output.format, fail_on=config.fail_on, lang=output.lang), inputs=inputs,
                       make_folders=True)
    exit_code = 0 if config.fail_on == "none" else int(result.failed(config.fail_on))
    record = record_from_audit(result, started=started, finished=utc_now(), timings=timings,
                               fail_on=config.fail_on, exit_code=exit_code, view=view)
    with History(config.history) as history:
        run_id = history.record(record)
    return RunOutcome(run_id=run_id, audit=result, record=record, exit_code=exit_code,
                      seconds=time.perf_counter() - clock)


def summary_line(outcome: RunOutcome) -> str:
    """One line for standard error: resources, countries, findings by severity, gaps, seconds."""
    s = outcome.record.summary
    findings = ", ".join(f"{k} {v}" for k, v in s["findings"].items())
    return (f"run {outcome.run_id}: {s['resources']} resources, {s['subprocessors']} subprocessors, "
            f"{len(s['countries'])} countries ({' '.join(s['countries'])}), findings: {findings}, "
            f"{s['gaps']} gaps, {outcome.seconds:.2f} s, exit {outcome.exit_code}")
