"""The configuration file of a scheduled run (``residency-audit run --config FILE``).

One TOML file names the sources to scan or load, the policy, extra catalog files, the reports
to write, the severity that fails the run, and the history database. ``docs/config.md``
documents it with a full example. Relative paths are read against the config file's folder, so
a config and its inventory can move together.

>>> cfg = parse_config('''
... policy = "esam"
... fail_on = "critical"
... [sources]
... inventory = ["inventory.yaml"]
... [[outputs]]
... format = "json"
... path = "reports/residency.json"
... ''', "/srv/audit/residency.toml")
>>> cfg.policy, cfg.fail_on, [str(p) for p in cfg.inventory]
('esam', 'critical', ['/srv/audit/inventory.yaml'])
>>> str(cfg.history)
'/srv/audit/residency-audit-history.sqlite'
"""

from __future__ import annotations

import argparse
import os
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    StringConstraints,
    ValidationError,
    field_validator,
)

from residency_audit.errors import InputError
from residency_audit.yamlfile import first_error, nesting_line, read_user_text

__all__ = ["DEFAULT_HISTORY_NAME", "Output", "RunConfig", "load_config", "parse_config",
           "provider_argv", "provider_namespace", "with_overrides"]

DEFAULT_HISTORY_NAME = "residency-audit-history.sqlite"
MAX_BYTES = 1024 * 1024

Text = Annotated[str, StringConstraints(min_length=1, max_length=4096)]
#: How deep arrays and inline tables may nest; a config needs two levels.
MAX_DEPTH = 32


def _file_name(value: Any) -> Any:
    """Refuse a file name that no file can have (a NUL byte) or that hides a second line."""
    if isinstance(value, str) and any(c in value for c in "\x00\n\r"):
        raise ValueError("a file name cannot contain a NUL byte or a line break")
    return value


FileName = Annotated[str, BeforeValidator(_file_name), StringConstraints(min_length=1, max_length=4096)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


def _as_list(value: Any) -> Any:
    """Accept one string where a list of strings is allowed (``endpoint = "https://…"``)."""
    return [value] if isinstance(value, str) else value


class AwsSource(_Model):
    """``[sources.aws]``: maps onto ``scan --aws …``."""

    profile: Text | None = None
    regions: list[Text] = []
    services: list[Text] = []
    org_role: Text | None = None
    external_id: Text | None = None
    tags: bool = True
    config_aggregator: bool | Text = True


class AzureSource(_Model):
    """``[sources.azure]``: maps onto ``scan --azure …``."""

    subscriptions: list[Text] = []
    management_group: list[Text] = []
    endpoint: Text | None = None

    one_or_many = field_validator("management_group", mode="before")(_as_list)


class GcpSource(_Model):
    """``[sources.gcp]``: maps onto ``scan --gcp …``."""

    organization: Text | None = None
    folders: list[Text] = []
    projects: list[Text] = []
    endpoint: list[Text] = []

    one_or_many = field_validator("endpoint", mode="before")(_as_list)


class OciSource(_Model):
    """``[sources.oci]``: maps onto ``scan --oci …`` (``config_file`` is read against the
    config file's folder)."""

    config_file: FileName | None = None
    profile: Text | None = None
    auth: Literal["api_key", "instance_principal", "resource_principal"] | None = None
    regions: list[Text] = []
    compartment: Text | None = None
    endpoint: list[Text] = []
    search: bool = True

    one_or_many = field_validator("endpoint", "regions", mode="before")(_as_list)


class SourcesIn(_Model):
    aws: AwsSource | None = None
    azure: AzureSource | None = None
    gcp: GcpSource | None = None
    oci: OciSource | None = None
    inventory: list[FileName] = []
    estates: list[FileName] = []

    one_or_many = field_validator("inventory", "estates", mode="before")(_as_list)


class OutputIn(_Model):
    format: Text
    path: FileName
    lang: Literal["en", "sv"] | None = None

    @field_validator("format")
    @classmethod
    def _known_format(cls, value: str) -> str:
        from residency_audit.report import FORMATS

        if value not in FORMATS:
            raise ValueError(f"unknown format {value!r}; choose from {', '.join(sorted(FORMATS))}")
        return value


class ConfigIn(_Model):
    sources: SourcesIn
    policy: FileName | None = None
    catalog: list[FileName] = []
    outputs: list[OutputIn] = []
    fail_on: Literal["info", "low", "medium", "high", "critical", "none"] = "high"
    history: FileName | None = None
    output_dir: FileName | None = None
    lang: Literal["en", "sv"] = "en"

    one_or_many = field_validator("catalog", mode="before")(_as_list)


@dataclass(frozen=True, slots=True, kw_only=True)
class Output:
    """A report to write: its format (a key of ``residency_audit.report.FORMATS``) and path."""

    format: str
    path: Path
    given: str = ""
    """The path as the config file gave it (a relative one moves with ``output_dir``)."""
    lang: str = "en"
    """The language of a Markdown or HTML report's own words (``en`` or ``sv``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RunConfig:
    """A validated config with every path resolved against the config file's folder."""

    path: Path
    aws: AwsSource | None
    azure: AzureSource | None
    gcp: GcpSource | None
    oci: OciSource | None = None
    inventory: tuple[Path, ...]
    estates: tuple[Path, ...]
    policy: str | None
    catalog: tuple[Path, ...]
    outputs: tuple[Output, ...]
    fail_on: str
    history: Path
    output_dir: Path | None = None

    @property
    def cloud_sources(self) -> tuple[str, ...]:
        """The providers this config scans, in a fixed order."""
        return tuple(name for name in ("aws", "azure", "gcp", "oci") if getattr(self, name) is not None)


# --- where a key stands in the TOML text (tomllib keeps no positions) ---------------------------

_BARE = r"[A-Za-z0-9_-]+"
_KEY_PART = rf'(?:{_BARE}|"(?:[^"\\]|\\.)*"|\'[^\']*\')'
_DOTTED = rf"{_KEY_PART}(?:\s*\.\s*{_KEY_PART})*"
_TABLE = re.compile(rf"^\s*\[\s*({_DOTTED})\s*\]\s*(?:#.*)?$")
_ARRAY_TABLE = re.compile(rf"^\s*\[\[\s*({_DOTTED})\s*\]\]\s*(?:#.*)?$")
_ASSIGN = re.compile(rf"^\s*({_DOTTED})\s*=")


def _key_parts(dotted: str) -> list[str]:
    parts = re.findall(_KEY_PART, dotted)
    return [p[1:-1] if p[:1] in "\"'" else p for p in parts]


def _open_brackets(value: str) -> int:
    """How many ``[``/``{`` a value leaves open on its line (strings and comments skipped)."""
    depth = 0
    quote = ""
    i = 0
    while i < len(value):
        ch = value[i]
        if quote:
            if ch == "\\" and quote == '"':
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch == "#":
            break
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        i += 1
    return depth


def key_lines(text: str) -> dict[tuple[str | int, ...], int]:
    """The 1-based line of every table header and key of a TOML text, by path.

    Array-of-tables items get their index (``("outputs", 1, "format")``). Values that span lines
    (arrays, multi-line strings) are skipped over, so nothing inside them is read as a key.

    >>> lines = key_lines('a = 1\\n[[out]]\\nf = "x"\\n[[out]]\\nf = [\\n "y = 1",\\n]\\n')
    >>> lines[("a",)], lines[("out", 1)], lines[("out", 1, "f")]
    (1, 4, 5)
    """
    out: dict[tuple[str | int, ...], int] = {}
    counts: dict[tuple[str | int, ...], int] = {}
    table: tuple[str | int, ...] = ()
    depth = 0
    in_string = ""
    for number, line in enumerate(text.splitlines(), start=1):
        if in_string:
            if line.count(in_string) % 2 == 1:
                in_string = ""
            continue
        if depth > 0:
            depth += _open_brackets(line)
            continue
        m = _ARRAY_TABLE.match(line)
        if m:
            base = tuple(_key_parts(m.group(1)))
            index = counts.get(base, -1) + 1
            counts[base] = index
            table = (*base, index)
            out.setdefault(base, number)
            out[table] = number
            continue
        m = _TABLE.match(line)
        if m:
            table = tuple(_key_parts(m.group(1)))
            for i in range(1, len(table) + 1):
                out.setdefault(table[:i], number)
            continue
        m = _ASSIGN.match(line)
        if not m:
            continue
        key = (*table, *_key_parts(m.group(1)))
        for i in range(len(table) + 1, len(key) + 1):
            out.setdefault(key[:i], number)
        value = line[m.end():]
        for quotes in ('"""', "'''"):
            if value.count(quotes) % 2 == 1:
                in_string = quotes
        if not in_string:
            depth = max(0, _open_brackets(value))
    return out


def _line_for(lines: dict[tuple[str | int, ...], int], loc: Sequence[str | int]) -> int | None:
    """The line of the longest prefix of ``loc`` that the text names."""
    for n in range(len(loc), 0, -1):
        line = lines.get(tuple(loc[:n]))
        if line is not None:
            return line
    return None


def _field_name(loc: Sequence[str | int]) -> str:
    parts: list[str] = []
    for step in loc:
        parts.append(f"[{step}]" if isinstance(step, int) else ("." if parts else "") + str(step))
    return "".join(parts)


def _fail(origin: str, text: str, exc: ValidationError) -> NoReturn:
    loc, message = first_error(exc, ConfigIn)
    raise InputError(origin, _line_for(key_lines(text), loc), _field_name(loc) or None, message)


_TOML_TOKEN = re.compile(r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'|"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\'|#[^\n]*|[\[\]{}]')


def _too_deep_line(text: str) -> int | None:
    """The line where the TOML ``text`` first nests more than :data:`MAX_DEPTH` arrays or inline
    tables (strings and comments skipped), if it does: ``tomllib`` would recurse that deep."""
    return nesting_line(text, _TOML_TOKEN, MAX_DEPTH)


# --- loading -----------------------------------------------------------------------------------

_TOML_POSITION = re.compile(r"^(?P<msg>.*?) \(at line (?P<line>\d+), column \d+\)$")


def _resolve(base: Path, value: str) -> Path:
    p = Path(value).expanduser()
    return p if p.is_absolute() else base / p


def _policy(base: Path, value: str | None) -> str | None:
    """A preset name as is; anything else is a policy file, resolved against ``base``."""
    if value is None:
        return None
    from residency_audit.policy import preset_names

    return value if value in preset_names() else str(_resolve(base, value))


def parse_config(text: str, origin: str | os.PathLike[str]) -> RunConfig:
    """Validate the TOML ``text`` of the config file at ``origin`` (named in errors)."""
    name = str(origin)
    deep = _too_deep_line(text)
    if deep is not None:
        raise InputError(name, deep, None, f"arrays or inline tables nested deeper than "
                         f"{MAX_DEPTH} levels")
    try:
        doc = tomllib.loads(text)
    except RecursionError:
        raise InputError(name, None, None, f"nested deeper than {MAX_DEPTH} levels") from None
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        m = _TOML_POSITION.match(message)
        line: int | None = int(m.group("line")) if m else None
        if message.endswith(" (at end of document)"):
            message = message.removesuffix(" (at end of document)") + " (at the end of the file)"
            line = max(1, len(text.rstrip().splitlines()))
        raise InputError(name, line, None, f"not valid TOML: {m.group('msg') if m else message}") from None
    except ValueError as exc:  # an integer longer than Python converts, for one
        raise InputError(name, None, None, f"not valid TOML: {str(exc).splitlines()[0][:200]}") from None
    try:
        cfg = ConfigIn.model_validate(doc)
    except ValidationError as exc:
        _fail(name, text, exc)
    base = Path(origin).expanduser().absolute().parent
    out_base = _resolve(base, cfg.output_dir) if cfg.output_dir else base
    s = cfg.sources
    if s.aws and s.aws.external_id and not s.aws.org_role:
        raise InputError(name, _line_for(key_lines(text), ["sources", "aws", "external_id"]),
                         "sources.aws.external_id", "needs sources.aws.org_role")
    if not (s.aws or s.azure or s.gcp or s.oci or s.inventory or s.estates):
        raise InputError(name, _line_for(key_lines(text), ["sources"]), "sources",
                         "name at least one source: aws, azure, gcp, oci, inventory or estates")
    paths = [o.path for o in cfg.outputs]
    for i, value in enumerate(paths):
        if value in paths[:i]:
            raise InputError(name, _line_for(key_lines(text), ["outputs", i, "path"]),
                             f"outputs[{i}].path", f"{value!r} is already the path of another output")
    return RunConfig(
        path=Path(origin), aws=s.aws, azure=s.azure, gcp=s.gcp,
        oci=s.oci if s.oci is None or s.oci.config_file is None else s.oci.model_copy(
            update={"config_file": str(_resolve(base, s.oci.config_file))}),
        inventory=tuple(_resolve(base, p) for p in s.inventory),
        estates=tuple(_resolve(base, p) for p in s.estates),
        policy=_policy(base, cfg.policy),
        catalog=tuple(_resolve(base, p) for p in cfg.catalog),
        outputs=tuple(Output(format=o.format, path=_resolve(out_base, o.path), given=o.path,
                             lang=o.lang or cfg.lang) for o in cfg.outputs),
        fail_on=cfg.fail_on,
        history=_resolve(base, cfg.history or DEFAULT_HISTORY_NAME),
        output_dir=out_base if cfg.output_dir else None,
    )


def with_overrides(config: RunConfig, *, policy: str | None = None, fail_on: str | None = None,
                   catalog: Sequence[str] = (), output_dir: str | None = None,
                   base: str | os.PathLike[str] = ".", lang: str | None = None) -> RunConfig:
    """``config`` with the values a command-line flag or an environment variable gave (None or
    empty: the config's own value stays). Paths given here are read against ``base`` (the
    working folder), not the config file's folder; ``output_dir`` moves every output the config
    names by a relative path; ``lang`` sets the language of every output.

    >>> cfg = parse_config('[sources]\\nestates = ["e.json"]\\n[[outputs]]\\nformat = "md"\\npath = "r.md"\\n',
    ...                    "/srv/audit/residency.toml")
    >>> new = with_overrides(cfg, fail_on="critical", output_dir="/var/reports")
    >>> new.fail_on, str(new.outputs[0].path), str(cfg.outputs[0].path)
    ('critical', '/var/reports/r.md', '/srv/audit/r.md')
    """
    folder = Path(base).expanduser().absolute()
    changes: dict[str, Any] = {}
    if policy:
        changes["policy"] = _policy(folder, policy)
    if fail_on:
        changes["fail_on"] = fail_on
    if catalog:
        changes["catalog"] = tuple(_resolve(folder, p) for p in catalog)
    if output_dir:
        out = _resolve(folder, output_dir)
        changes["output_dir"] = out
        changes["outputs"] = tuple(
            o if o.given and Path(o.given).expanduser().is_absolute()
            else Output(format=o.format, path=_resolve(out, o.given or o.path.name), given=o.given,
                        lang=o.lang)
            for o in config.outputs)
    if lang:
        changes["outputs"] = tuple(replace(o, lang=lang) for o in changes.get("outputs", config.outputs))
    return replace(config, **changes)


def load_config(path: str | os.PathLike[str]) -> RunConfig:
    """Read and validate the config file at ``path``; :class:`InputError` names file, line, field."""
    p = Path(path)
    text = read_user_text(p, max_bytes=MAX_BYTES, what="config")
    return parse_config(text, p)


# --- cloud sources as the provider CLI hooks' own options --------------------------------------


def provider_argv(config: RunConfig) -> list[str]:
    """The ``scan`` command-line options that ask for the cloud scans ``config`` names.

    A scheduled run does not use this: it builds each adapter's typed options from the config
    section (:func:`residency_audit.scheduled.provider_options`). This shows the equivalent
    command line, and the tests use it to check that both give the same options.

    >>> cfg = parse_config('[sources.aws]\\nprofile = "audit"\\nregions = ["eu-north-1"]\\n', "c.toml")
    >>> provider_argv(cfg)
    ['--aws', '--aws-profile', 'audit', '--aws-regions', 'eu-north-1']
    """
    argv: list[str] = []
    if config.aws is not None:
        a = config.aws
        argv.append("--aws")
        if a.profile:
            argv += ["--aws-profile", a.profile]
        if a.regions:
            argv += ["--aws-regions", ",".join(a.regions)]
        if a.services:
            argv += ["--aws-services", ",".join(a.services)]
        if a.org_role:
            argv += ["--aws-org-role", a.org_role]
        if a.external_id:
            argv += ["--aws-external-id", a.external_id]
    if config.azure is not None:
        z = config.azure
        argv.append("--azure")
        for sub in z.subscriptions:
            argv += ["--azure-subscription", sub]
        for group in z.management_group:
            argv += ["--azure-management-group", group]
        if z.endpoint:
            argv += ["--azure-endpoint", z.endpoint]
    if config.gcp is not None:
        g = config.gcp
        argv.append("--gcp")
        if g.organization:
            argv += ["--gcp-organization", g.organization]
        for folder in g.folders:
            argv += ["--gcp-folder", folder]
        for project in g.projects:
            argv += ["--gcp-project", project]
        for endpoint in g.endpoint:
            argv += ["--gcp-endpoint", endpoint]
    if config.oci is not None:
        o = config.oci
        argv.append("--oci")
        if o.config_file:
            argv += ["--oci-config-file", o.config_file]
        if o.profile:
            argv += ["--oci-profile", o.profile]
        if o.auth:
            argv += ["--oci-auth", o.auth]
        if o.regions:
            argv += ["--oci-regions", ",".join(o.regions)]
        if o.compartment:
            argv += ["--oci-compartment", o.compartment]
        for endpoint in o.endpoint:
            argv += ["--oci-endpoint", endpoint]
        if not o.search:
            argv.append("--oci-no-search")
    return argv


class _Parser(argparse.ArgumentParser):
    """A parser whose errors are :class:`InputError` naming the config file, not an exit."""

    def __init__(self, origin: str) -> None:
        super().__init__(prog="residency-audit run", add_help=False, allow_abbrev=False)
        self.origin = origin

    def error(self, message: str) -> NoReturn:
        raise InputError(self.origin, None, "sources", f"cannot map onto the scan options: {message}")


def provider_namespace(config: RunConfig, hooks: dict[str, Any]) -> argparse.Namespace:
    """Parse :func:`provider_argv` with a parser built from each provider's ``add_arguments``.

    ``hooks`` maps a provider name to its CLI module (``residency_audit.providers.<p>.cli``),
    or to None when that adapter is not installed. Because the options are parsed by the
    adapters' own definitions, a renamed option fails here rather than being ignored.
    """
    origin = str(config.path)
    parser = _Parser(origin)
    for name in config.cloud_sources:
        module = hooks.get(name)
        if module is None:
            raise InputError(origin, None, f"sources.{name}",
                             f"the {name} adapter is not part of this installation")
        module.add_arguments(parser)
    return parser.parse_args(provider_argv(config))
