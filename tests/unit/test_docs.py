"""The documentation stays true: the CLI reference, the site's nav, and the code on the pages."""

from __future__ import annotations

import ast
import doctest
import importlib.util
import inspect
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from residency_audit.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
# Pages whose python blocks are complete programs, run in order in one namespace.
RUNNABLE_PAGES = ["index.md", "quickstart.md", "notebook.md", "testing.md"]


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"docs_{name}", DOCS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _blocks(text: str, lang: str) -> list[tuple[int, str]]:
    """(line, code) of each fenced block of ``lang``."""
    return [(text.count("\n", 0, m.start()) + 2, m.group(1))
            for m in re.finditer(rf"^```{lang}\n(.*?)^```", text, re.S | re.M)]


def _nav_pages(nav: Any) -> list[str]:
    if isinstance(nav, str):
        return [nav]
    if isinstance(nav, list):
        return [p for item in nav for p in _nav_pages(item)]
    if isinstance(nav, dict):
        return [p for v in nav.values() for p in _nav_pages(v)]
    return []


def _mkdocs_config() -> dict[str, Any]:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    assert isinstance(config, dict)
    return config


# --------------------------------------------------------------------------- CLI reference

def test_cli_reference_is_up_to_date() -> None:
    gen = _load("gen_cli")
    assert (DOCS / "cli.md").read_text(encoding="utf-8") == gen.render(), (
        "docs/cli.md is out of date: run python docs/gen_cli.py")


def test_every_subcommand_and_option_is_documented() -> None:
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    gen = _load("gen_cli")
    parser = build_parser()
    commands = gen._subparsers(parser)
    assert {"demo", "audit", "explain", "scan", "completion"} <= set(commands)
    # the global options, which may also follow the command, are documented once, at the top
    top = {f for a in parser._actions for f in a.option_strings}
    assert "`-q` and `-v` may also come after the command" in text
    for name, sub in commands.items():
        section = text.split(f"\n## residency-audit {name}\n", 1)
        assert len(section) == 2, f"subcommand {name!r} is not documented in docs/cli.md"
        body = section[1].split("\n## ", 1)[0]
        for action in sub._actions:
            for option in action.option_strings:
                if option not in top:
                    assert option in body, f"{name} {option} is not documented in docs/cli.md"


def test_every_option_has_help_text() -> None:
    import argparse

    gen = _load("gen_cli")
    parser = build_parser()
    missing = [f"{name} {a.option_strings or a.dest}"
               for name, sub in [("", parser), *gen._subparsers(parser).items()]
               for a in sub._actions
               if not a.help and not isinstance(a, argparse._SubParsersAction)]
    assert missing == [], "give these options a help= text (it is their documentation)"


def test_gen_cli_check_mode() -> None:
    assert _load("gen_cli").main(["--check"]) == 0


def test_gen_cli_renders_any_parser() -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="x", description="D.")
    sub = parser.add_subparsers(dest="command")
    p = sub.add_parser("go", help="go somewhere", description="Example: x go home")
    p.add_argument("where", choices=["home", "work"])
    p.add_argument("--speed", type=int, default=3, help="how fast (default %(default)s)")
    p.add_argument("--tag", action="append", metavar="T", help="a | tag")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--car", action="store_true", help="by car")
    group.add_argument("--bike", action="store_true", help="by bike")
    text = _load("gen_cli").render(parser)
    assert "Give exactly one of `--car`, `--bike`." in text
    assert "## x go" not in text and "## residency-audit go" in text
    assert "| `where` | `{home,work}` |  |  |" in text
    assert "| `--speed` | `SPEED` | `3` | how fast (default 3) |" in text
    assert "| `--tag` | `T` |  | a \\| tag (repeatable) |" in text


# --------------------------------------------------------------------------- site and nav

def test_nav_lists_every_page_and_only_pages_that_exist() -> None:
    nav = _nav_pages(_mkdocs_config()["nav"])
    pages = sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md"))
    assert sorted(set(nav)) == sorted(nav), "a page is listed twice in mkdocs.yml's nav"
    assert sorted(p for p in nav if p not in pages) == [], "mkdocs.yml's nav lists missing pages"
    assert sorted(p for p in pages if p not in nav) == [], "pages missing from mkdocs.yml's nav"


def test_site_config_is_strict_and_offline() -> None:
    config = _mkdocs_config()
    assert config["strict"] is True
    assert config["theme"]["highlightjs"] is False


def test_hook_doctests() -> None:
    result = doctest.testmod(_load("hooks"))
    assert result.attempted >= 2 and result.failed == 0


def test_site_builds_with_warnings_as_errors(tmp_path: Path) -> None:
    pytest.importorskip("mkdocs")
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir",
                           str(tmp_path / "site")], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    index = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert not re.search(r"<(script|link)[^>]+(src|href)=\"https?://", index), "the site loads from the network"
    assert (tmp_path / "site" / "cli" / "index.html").exists()
    assert not (tmp_path / "site" / "gen_cli.py").exists()


# --------------------------------------------------------------------------- code on the pages

@pytest.mark.parametrize("page", [p for p in RUNNABLE_PAGES if (DOCS / p).exists()])
def test_python_blocks_run_in_order(page: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every python block of the page, run in order in one namespace; then its test_* functions."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    text = (DOCS / page).read_text(encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    for _, code in _blocks(text, "yaml"):
        first = code.splitlines()[0] if code else ""
        if re.fullmatch(r"# [\w.-]+\.yaml", first):
            (tmp_path / first[2:]).write_text(code, encoding="utf-8")
    namespace: dict[str, Any] = {"__name__": f"docs_{page[:-3]}"}
    try:
        for line, code in _blocks(text, "python"):
            tree = ast.parse(code)
            ast.increment_lineno(tree, line - 1)
            exec(compile(tree, str(DOCS / page), "exec"), namespace)
        for name, fn in sorted(namespace.items()):
            if name.startswith("test_") and inspect.isfunction(fn):
                params = inspect.signature(fn).parameters
                fn(**({"tmp_path": tmp_path} if "tmp_path" in params else {}))
    finally:
        plt.close("all")


@pytest.mark.parametrize("page", [p for p in RUNNABLE_PAGES if (DOCS / p).exists()])
def test_shell_commands_on_the_page_parse(page: str) -> None:
    """Each ``residency-audit …`` line in a sh block is a valid command line."""
    text = (DOCS / page).read_text(encoding="utf-8")
    parser = build_parser()
    for _, code in _blocks(text, "sh"):
        for command in code.replace("\\\n", " ").splitlines():
            if not command.startswith("residency-audit"):
                continue
            argv = shlex.split(command)[1:]
            try:
                parser.parse_args(argv)
            except SystemExit as exc:
                pytest.fail(f"{page}: {command!r} does not parse (exit {exc.code})")


def test_no_page_names_a_path_of_this_machine() -> None:
    home = str(Path.home())
    for page in DOCS.rglob("*.md"):
        text = page.read_text(encoding="utf-8")
        assert str(ROOT) not in text and (home == os.sep or home not in text), page


def test_readme_links_point_to_files_that_exist() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)
    missing = sorted(t for t in targets if "://" not in t and not (ROOT / t).exists())
    assert missing == []
