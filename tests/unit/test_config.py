"""The scheduled run's config file: paths, defaults, errors at their line, provider option mapping."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from residency_audit.config import (
    DEFAULT_HISTORY_NAME,
    key_lines,
    load_config,
    parse_config,
    provider_argv,
    provider_namespace,
)
from residency_audit.demo import demo_estate, demo_inventory_path
from residency_audit.errors import InputError
from residency_audit.estate_io import write_estate
from residency_audit.model import Estate, Evidence, Placement, Resource, Role
from residency_audit.report import FORMATS
from residency_audit.scheduled import provider_hooks, run_config

FULL = """\
# Nightly residency audit of Region Exempel
policy = "esam"
catalog = ["catalog/extra.yaml"]
fail_on = "medium"
history = "state/history.sqlite"

[sources]
inventory = ["inventory.yaml", "/etc/residency/suppliers.yaml"]
estates = ["scans/onprem.json"]

[sources.aws]
profile = "audit"
regions = ["eu-north-1", "eu-west-1"]
org_role = "ResidencyAuditReader"
external_id = "region-exempel"

[sources.azure]
subscriptions = ["00000000-0000-0000-0000-000000000001"]
management_group = "region-exempel"
endpoint = "https://management.azure.com"

[sources.gcp]
organization = "123456789012"
folders = ["345"]
projects = ["journal-prod", "lab-prod"]
endpoint = "storage=https://storage-exempel.p.googleapis.com"

[[outputs]]
format = "json"
path = "reports/residency.json"

[[outputs]]
format = "md"
path = "reports/residency.md"
"""


def write(tmp_path: Path, text: str, name: str = "residency.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def error_of(text: str) -> InputError:
    with pytest.raises(InputError) as info:
        parse_config(text, "conf/residency.toml")
    return info.value


def test_full_example_resolves_paths_against_the_config_folder(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, FULL))
    assert cfg.policy == "esam" and cfg.fail_on == "medium"
    assert cfg.inventory == (tmp_path / "inventory.yaml", Path("/etc/residency/suppliers.yaml"))
    assert cfg.estates == (tmp_path / "scans/onprem.json",)
    assert cfg.catalog == (tmp_path / "catalog/extra.yaml",)
    assert cfg.history == tmp_path / "state/history.sqlite"
    assert [(o.format, o.path) for o in cfg.outputs] == [
        ("json", tmp_path / "reports/residency.json"), ("md", tmp_path / "reports/residency.md")]
    assert cfg.cloud_sources == ("aws", "azure", "gcp")
    assert cfg.azure is not None and cfg.azure.management_group == ["region-exempel"]


def test_defaults_history_beside_the_config_and_a_policy_file_resolved(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, 'policy = "policies/ours.yaml"\n[sources]\ninventory = "inv.yaml"\n'))
    assert cfg.history == tmp_path / DEFAULT_HISTORY_NAME
    assert cfg.policy == str(tmp_path / "policies/ours.yaml")
    assert cfg.inventory == (tmp_path / "inv.yaml",)
    assert cfg.fail_on == "high" and cfg.outputs == () and cfg.cloud_sources == ()


def test_the_docs_example_is_valid(tmp_path: Path) -> None:
    docs = Path(__file__).resolve().parents[2] / "docs" / "config.md"
    text = docs.read_text(encoding="utf-8")
    example = text.split("```toml\n", 1)[1].split("```", 1)[0]
    cfg = parse_config(example, tmp_path / "residency.toml")
    assert cfg.cloud_sources == ("aws", "azure", "gcp") and cfg.outputs


@pytest.mark.parametrize(("text", "line", "field", "words"), [
    ("[sources]\ninventory = [\"a.yaml\"\n", 2, None, "not valid TOML"),
    ("[sources]\ninventory = [\"a.yaml\"]\n[sources.aws]\nprofile = \"x\"\nregion = \"eu-north-1\"\n",
     5, "sources.aws.region", "unknown field 'region' (did you mean 'regions'?)"),
    ("[sources]\ninventory = [\"a.yaml\"]\n[[outputs]]\nformat = \"json\"\npath = \"a\"\n"
     "[[outputs]]\nformat = \"pdf\"\npath = \"b\"\n", 7, "outputs[1].format", "unknown format 'pdf'"),
    ("fail_on = \"severe\"\n[sources]\ninventory = [\"a.yaml\"]\n", 1, "fail_on", "Input should be"),
    ("policy = \"esam\"\n", None, "sources", "Field required"),
    ("[sources]\n", 1, "sources", "name at least one source"),
    ("[sources]\ninventory = \"a.yaml\"\n[sources.aws]\nexternal_id = \"x\"\n", 4,
     "sources.aws.external_id", "needs sources.aws.org_role"),
    ("[sources]\ninventory = [\"a\"]\n[[outputs]]\nformat = \"md\"\npath = \"r\"\n[[outputs]]\n"
     "format = \"json\"\npath = \"r\"\n", 8, "outputs[1].path", "already the path"),
    ("[sources]\nestates = [\n  \"a.json\",\n  3,\n]\n", 2, "sources.estates[1]", "valid string"),
    ("[sources.gcp]\nprojects = \"p\"\n", 2, "sources.gcp.projects", "valid list"),
])
def test_errors_name_file_line_and_field(text: str, line: int | None, field: str | None, words: str) -> None:
    err = error_of(text)
    assert (err.file, err.line, err.field) == ("conf/residency.toml", line, field)
    assert words in err.message


def test_output_formats_are_read_from_the_registry_at_run_time(monkeypatch: pytest.MonkeyPatch) -> None:
    text = '[sources]\ninventory = ["a"]\n[[outputs]]\nformat = "txt"\npath = "r.txt"\n'
    assert "unknown format 'txt'" in error_of(text).message
    monkeypatch.setitem(FORMATS, "txt", lambda a: "text\n")
    assert parse_config(text, "c.toml").outputs[0].format == "txt"


def test_missing_or_unreadable_config_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        load_config(tmp_path / "nope.toml")
    with pytest.raises(InputError, match="not UTF-8") as info:
        load_config(_bytes(tmp_path, b'[sources]\n\xff = 1\n'))
    assert info.value.line == 2


def _bytes(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "bad.toml"
    path.write_bytes(data)
    return path


def test_key_lines_skip_multi_line_values() -> None:
    text = ('a = """\nb = 1\n"""\nc = [\n  "d = 2",\n  [1, 2],\n]\n[t . "q k"]\ne = 3 # f = 4\n'
            "[[o]]\n[[o]]\ng.h = 5\n")
    lines = key_lines(text)
    assert lines[("a",)] == 1 and ("b",) not in lines and ("d",) not in lines
    assert lines[("c",)] == 4 and lines[("t", "q k", "e")] == 9
    assert lines[("o", 1, "g", "h")] == 12 and lines[("o", 0)] == 10


def test_cloud_sources_map_onto_the_adapters_own_options(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, FULL))
    argv = provider_argv(cfg)
    assert argv == [
        "--aws", "--aws-profile", "audit", "--aws-regions", "eu-north-1,eu-west-1",
        "--aws-org-role", "ResidencyAuditReader", "--aws-external-id", "region-exempel",
        "--azure", "--azure-subscription", "00000000-0000-0000-0000-000000000001",
        "--azure-management-group", "region-exempel", "--azure-endpoint", "https://management.azure.com",
        "--gcp", "--gcp-organization", "123456789012", "--gcp-folder", "345",
        "--gcp-project", "journal-prod", "--gcp-project", "lab-prod",
        "--gcp-endpoint", "storage=https://storage-exempel.p.googleapis.com"]
    hooks = provider_hooks()
    args = provider_namespace(cfg, hooks)  # parsed by each adapter's add_arguments: no scan
    assert all(hooks[name] is not None and hooks[name].is_requested(args)
               for name in cfg.cloud_sources)
    assert (args.aws_profile, args.aws_regions, args.aws_org_role) == (
        "audit", ["eu-north-1,eu-west-1"], "ResidencyAuditReader")
    assert args.azure_management_group == ["region-exempel"]
    assert args.gcp_project == ["journal-prod", "lab-prod"] and args.gcp_organization == "123456789012"


def test_a_source_whose_adapter_is_not_installed_is_an_error(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, "[sources.aws]\n"))
    with pytest.raises(InputError, match="not part of this installation") as info:
        provider_namespace(cfg, {"aws": None})
    assert info.value.field == "sources.aws"


def test_a_run_from_inventory_and_estate_sources(tmp_path: Path) -> None:
    extra = Resource(id="nas-01", provider="onprem", service="storage", kind="nas", name="nas-01",
                     placements=(Placement(location="country:SE", role=Role.PRIMARY,
                                           evidence=Evidence(source="inventory", ref="t:1")),))
    write_estate(Estate(resources=(extra,)), tmp_path / "onprem.json")
    cfg = load_config(write(tmp_path, f"""\
fail_on = "none"
history = "state/runs.sqlite"
[sources]
inventory = ["{demo_inventory_path().as_posix()}"]
estates = ["onprem.json"]
[[outputs]]
format = "json"
path = "out/report.json"
"""))
    outcome = run_config(cfg, today=dt.date(2026, 11, 24), hooks={})
    ids = {r.id for r in outcome.audit.estate.resources}
    assert "nas-01" in ids and {r.id for r in demo_estate().resources} <= ids
    assert outcome.exit_code == 0 and outcome.run_id == 1
    assert {"catalog", "load:estates", "load:inventory", "audit", "report"} <= set(outcome.record.timings)
    assert (tmp_path / "out/report.json").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "state/runs.sqlite").stat().st_mode & 0o777 == 0o600


def test_typed_options_from_the_config_equal_those_of_the_same_command_line(tmp_path: Path) -> None:
    """A scheduled run builds each adapter's typed options from its config section directly; they
    are the options that the equivalent ``scan`` command line gives."""
    from residency_audit.scheduled import provider_options

    oci = '\n[sources.oci]\nprofile = "audit"\nregions = "eu-stockholm-1"\nsearch = false\n'
    cfg = load_config(write(tmp_path, FULL + oci))
    hooks = provider_hooks()
    options = provider_options(cfg, hooks)
    args = provider_namespace(cfg, hooks)
    assert sorted(options) == ["aws", "azure", "gcp", "oci"]
    for name, opts in options.items():
        module = hooks[name]
        assert module is not None and opts == module.options_from_args(args), name
    assert options["aws"].regions == ("eu-north-1", "eu-west-1")
    assert options["oci"].use_search is False and options["oci"].regions == ("eu-stockholm-1",)


def test_typed_options_refuse_a_source_whose_adapter_is_not_installed(tmp_path: Path) -> None:
    from residency_audit.scheduled import provider_options

    cfg = load_config(write(tmp_path, "[sources.aws]\n"))
    with pytest.raises(InputError, match="not part of this installation") as info:
        provider_options(cfg, {"aws": None})
    assert info.value.field == "sources.aws"


def test_output_dir_moves_relative_outputs_and_an_override_moves_them_again(tmp_path: Path) -> None:
    from residency_audit.config import with_overrides

    text = ('output_dir = "reports"\n[sources]\ninventory = ["inventory.yaml"]\n'
            '[[outputs]]\nformat = "json"\npath = "r.json"\n'
            f'[[outputs]]\nformat = "md"\npath = "{(tmp_path / "abs.md").as_posix()}"\n')
    cfg = load_config(write(tmp_path, text))
    assert [o.path for o in cfg.outputs] == [tmp_path / "reports" / "r.json", tmp_path / "abs.md"]
    moved = with_overrides(cfg, output_dir=str(tmp_path / "elsewhere"), policy="esam",
                           catalog=["extra.yaml"], base=tmp_path / "cwd")
    assert [o.path for o in moved.outputs] == [tmp_path / "elsewhere" / "r.json", tmp_path / "abs.md"]
    assert moved.policy == "esam" and moved.catalog == (tmp_path / "cwd" / "extra.yaml",)
    assert with_overrides(cfg) == cfg  # nothing given: the config's own values stay
