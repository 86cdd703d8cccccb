"""CLI conventions users bring: ``-o -``, formats from extensions, several ``-o``, global options
after the command, ``RESIDENCY_AUDIT_*`` variables, shell completion, tables that fit the terminal."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from residency_audit.cli import main
from residency_audit.demo import demo_inventory_path

TODAY = "2026-11-24"
ENV_NAMES = ("RESIDENCY_AUDIT_POLICY", "RESIDENCY_AUDIT_CATALOG", "RESIDENCY_AUDIT_CONFIG",
             "RESIDENCY_AUDIT_FAIL_ON", "RESIDENCY_AUDIT_OUTPUT_DIR", "COLUMNS")
EXTENSIONS = {".md": "md", ".json": "json", ".html": "html", ".csv": "csv", ".sarif": "sarif",
              ".xml": "junit", ".ocsf.json": "ocsf"}
CATALOG = """\
regions:
  - provider: aws
    code: zz-north-1
    country: SE
    city: Exempelstad
    source: https://example.org/regions
    retrieved: 2026-01-01
"""
CONFIG = """\
fail_on = "none"

[sources]
inventory = ["inventory.yaml"]

[[outputs]]
format = "json"
path = "residency.json"
"""


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def cli(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), stdout=out), out.getvalue()


def error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("residency-audit: error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


# --------------------------------------------------------------------------- outputs


def test_dash_is_standard_output_and_no_file_named_dash(tmp_path: Path) -> None:
    code, out = cli("demo", "--today", TODAY, "-o", "-", "--format", "json")
    assert code == 0 and json.loads(out)["schema_version"]
    assert not (tmp_path / "-").exists()
    assert cli("demo", "--today", TODAY, "-o", "-") == cli("demo", "--today", TODAY)


@pytest.mark.parametrize("suffix", sorted(EXTENSIONS))
def test_the_format_follows_the_extension(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"report{suffix}"
    assert cli("demo", "--today", TODAY, "-o", str(path))[0] == 0
    code, expected = cli("demo", "--today", TODAY, "--format", EXTENSIONS[suffix])
    assert code == 0 and path.read_bytes().decode("utf-8") == expected


def test_an_explicit_format_that_the_extension_contradicts_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = cli("demo", "--format", "md", "-o", str(tmp_path / "r.html"))
    assert code == 2 and out == "" and not (tmp_path / "r.html").exists()
    line = error_line(capsys)
    assert "r.html" in line and "--format is md" in line
    # an agreeing or neutral name is fine; JSON-based formats may go to a .json file
    assert cli("demo", "--format", "sarif", "-o", str(tmp_path / "r.json"))[0] == 0
    assert cli("demo", "--format", "json", "-o", str(tmp_path / "report"))[0] == 0
    assert json.loads((tmp_path / "report").read_text(encoding="utf-8"))


def test_several_outputs_from_one_audit(tmp_path: Path) -> None:
    names = ["r.md", "r.json", "r.html", "r.csv", "r.sarif", "r.xml", "r.ocsf.json"]
    code, out = cli("demo", "--today", TODAY, "--fail-on", "none", "-o", "-",
                    *[x for n in names for x in ("-o", n)])
    assert code == 0 and out == cli("demo", "--today", TODAY)[1]
    for name in names:
        fmt = EXTENSIONS[name[1:]]
        assert (tmp_path / name).read_bytes().decode("utf-8") == cli(
            "demo", "--today", TODAY, "--format", fmt)[1], name
        assert (tmp_path / name).stat().st_mode & 0o077 == 0


def test_several_outputs_are_all_checked_before_anything_is_written(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    os.symlink(tmp_path / "elsewhere.md", tmp_path / "link.md")
    assert cli("demo", "-o", "a.json", "-o", "link.md")[0] == 2
    assert not (tmp_path / "a.json").exists() and not (tmp_path / "elsewhere.md").exists()
    error_line(capsys)
    assert cli("demo", "-o", "a.json", "-o", "./a.json")[0] == 2
    assert "named twice" in error_line(capsys)
    assert cli("demo", "-o", "-", "-o", "-")[0] == 2
    assert "standard output" in error_line(capsys)


def test_scan_writes_the_estate_to_standard_output(tmp_path: Path) -> None:
    code, out = cli("scan", "--inventory", str(demo_inventory_path()), "-o", "-", "-q")
    assert code == 0 and json.loads(out)["resources"]
    assert not (tmp_path / "-").exists()


# --------------------------------------------------------------------------- global options


def test_quiet_and_verbose_work_after_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("demo", "-o", "r.md")[0] == 0
    assert "INFO" in capsys.readouterr().err
    for argv in (["demo", "-q", "-o", "r.md"], ["-q", "demo", "-o", "r.md"],
                 ["demo", "--quiet", "-o", "r.md"]):
        assert cli(*argv)[0] == 0
        assert capsys.readouterr().err == "", argv
    assert cli("regions", "-q", "--provider", "gcp", "--format", "json")[0] == 0
    assert cli("-q", "demo", "-v", "-o", "r.md")[0] == 0  # both given: -q wins, as before


# --------------------------------------------------------------------------- environment


def test_fail_on_from_the_environment_and_the_flag_wins(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("demo", "-q")[0] == 0  # demo's default: none
    monkeypatch.setenv("RESIDENCY_AUDIT_FAIL_ON", "high")
    assert cli("demo", "-q")[0] == 1
    assert cli("demo", "-q", "--fail-on", "none")[0] == 0
    monkeypatch.setenv("RESIDENCY_AUDIT_FAIL_ON", "urgent")
    assert cli("demo", "-q")[0] == 2
    assert "RESIDENCY_AUDIT_FAIL_ON" in error_line(capsys)
    monkeypatch.setenv("RESIDENCY_AUDIT_FAIL_ON", "")  # empty is unset
    assert cli("demo", "-q")[0] == 0


def test_policy_catalog_and_output_folder_from_the_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESIDENCY_AUDIT_POLICY", "esam")
    assert "policy `esam`" in cli("demo", "-q")[1]
    assert "policy `eea-only`" in cli("demo", "-q", "--policy", "eea-only")[1]

    (tmp_path / "extra.yaml").write_text(CATALOG, encoding="utf-8")
    monkeypatch.setenv("RESIDENCY_AUDIT_CATALOG", f"{tmp_path / 'none.yaml'}{os.pathsep}extra.yaml")
    assert cli("regions", "--format", "json")[0] == 2  # the variable's files are read: one is missing
    monkeypatch.setenv("RESIDENCY_AUDIT_CATALOG", "extra.yaml")
    codes = {r["code"] for r in json.loads(cli("regions", "--provider", "aws", "--format", "json")[1])}
    assert "zz-north-1" in codes

    (tmp_path / "reports").mkdir()
    monkeypatch.setenv("RESIDENCY_AUDIT_OUTPUT_DIR", "reports")
    assert cli("demo", "-q", "-o", "r.json", "-o", str(tmp_path / "abs.md"), "--graph-output", "g.json")[0] == 0
    assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == ["g.json", "r.json"]
    assert (tmp_path / "abs.md").exists()
    assert cli("demo", "-q", "-o", "x.md", "--output-dir", ".")[0] == 0 and (tmp_path / "x.md").exists()


def test_run_precedence_flag_then_environment_then_config(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "inventory.yaml").write_text(demo_inventory_path().read_text(encoding="utf-8"),
                                             encoding="utf-8")
    (tmp_path / "residency.toml").write_text(CONFIG, encoding="utf-8")
    assert cli("run", "-q")[0] == 2
    assert "RESIDENCY_AUDIT_CONFIG" in error_line(capsys)
    monkeypatch.setenv("RESIDENCY_AUDIT_CONFIG", "residency.toml")
    assert cli("run", "-q", "--today", TODAY)[0] == 0  # the config's fail_on = "none"
    monkeypatch.setenv("RESIDENCY_AUDIT_FAIL_ON", "critical")
    assert cli("run", "-q", "--today", TODAY)[0] == 1  # the variable beats the config
    assert cli("run", "-q", "--today", TODAY, "--fail-on", "none")[0] == 0  # the flag beats both
    (tmp_path / "out").mkdir()
    monkeypatch.setenv("RESIDENCY_AUDIT_OUTPUT_DIR", str(tmp_path / "out"))
    assert cli("run", "-q", "--today", TODAY, "--policy", "esam")[0] == 1
    report = json.loads((tmp_path / "out" / "residency.json").read_text(encoding="utf-8"))
    assert report["policy"]["name"] == "esam"
    code, out = cli("history", "--format", "json")
    assert code == 0 and len(json.loads(out)) == 4
    assert cli("history", "--history", str(tmp_path / "nothing.sqlite"))[0] == 2  # the flag wins


# --------------------------------------------------------------------------- completion


def _complete(script: str, *words: str) -> list[str]:
    """What the generated bash function offers for ``words`` (the last one being completed)."""
    line = " ".join(f"'{w}'" for w in words)
    program = (f"{script}\nCOMP_WORDS=(residency-audit {line}); COMP_CWORD={len(words)}\n"
               "_residency_audit; printf '%s\\n' \"${COMPREPLY[@]}\"\n")
    done = subprocess.run(["bash", "--norc", "--noprofile", "-c", program], capture_output=True,
                          text=True, timeout=30, check=True)
    return done.stdout.split()


@pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")
def test_bash_completion_offers_commands_options_and_choices() -> None:
    code, script = cli("completion", "bash")
    assert code == 0 and "complete -o filenames -F _residency_audit residency-audit" in script
    assert _complete(script, "di") == ["diff"]
    assert set(_complete(script, "demo", "--format", "")) == {
        "csv", "csv-placements", "html", "json", "junit", "md", "ocsf", "sarif"}
    assert {"--output-dir", "--output"} <= set(_complete(script, "-q", "demo", "--out"))
    assert _complete(script, "permissions", "o") == ["oci"]
    assert _complete(script, "completion", "z") == ["zsh"]


def test_zsh_completion_names_every_command() -> None:
    code, script = cli("completion", "zsh")
    assert code == 0 and script.startswith("#compdef residency-audit\n")
    for command in ("audit", "demo", "scan", "run", "history", "completion"):
        assert f"'{command}:" in script and f"                {command}) _arguments" in script
    assert "'*--output[" in script and ":(bash zsh)'" in script
    if shutil.which("zsh"):
        subprocess.run(["zsh", "-n", "-c", script], check=True, timeout=30)


# --------------------------------------------------------------------------- tables


@pytest.mark.parametrize("columns", [80, 40])
def test_tables_fit_the_terminal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, columns: int) -> None:
    (tmp_path / "inventory.yaml").write_text(demo_inventory_path().read_text(encoding="utf-8"),
                                             encoding="utf-8")
    (tmp_path / "residency.toml").write_text(CONFIG, encoding="utf-8")
    assert cli("run", "-q", "--config", "residency.toml", "--today", TODAY)[0] == 0
    monkeypatch.setenv("COLUMNS", str(columns))
    for argv in (["regions"], ["regions", "--provider", "oci"], ["history", "--config", "residency.toml"]):
        code, out = cli(*argv)
        widths = [len(line) for line in out.splitlines()]
        assert code == 0 and widths and max(widths) <= columns, (argv, max(widths))


def test_tables_written_to_a_pipe_keep_a_stable_width() -> None:
    widths = {len(line) for line in cli("regions")[1].splitlines()}
    assert max(widths) <= 140 and max(widths) > 80


# --------------------------------------------------------------------------- as a process


def _run(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in ENV_NAMES}
    return subprocess.run([sys.executable, "-m", "residency_audit", *argv], capture_output=True,
                          text=True, timeout=120, env={**base, **(env or {})})


def test_as_a_process(tmp_path: Path) -> None:
    done = _run("demo", "-q", "--today", TODAY, "-o", "-", "-o", "r.html")
    assert done.returncode == 0 and done.stdout.startswith("# Residency audit") and done.stderr == ""
    assert (tmp_path / "r.html").read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html")
    done = _run("demo", "--format", "json", "-o", "r.xml")
    assert done.returncode == 2 and len(done.stderr.splitlines()) == 1 and "Traceback" not in done.stderr
    done = _run("regions", "-q", env={"COLUMNS": "40", "RESIDENCY_AUDIT_FAIL_ON": "bogus"})
    assert done.returncode == 0 and max(len(x) for x in done.stdout.splitlines()) <= 40
    done = _run("demo", "-q", env={"RESIDENCY_AUDIT_FAIL_ON": "bogus"})
    assert done.returncode == 2 and "RESIDENCY_AUDIT_FAIL_ON" in done.stderr
