"""Development sessions: tests, lint, typecheck, docs and benchmarks."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.default_venv_backend = "venv"

PYTHON = ["3.11", "3.12", "3.13"]


@nox.session(python=False)
def tests(session: nox.Session) -> None:
    """Run the test suite in the current environment (as CI does)."""
    session.run("python", "-m", "pytest", "-q", *session.posargs)


@nox.session(python=PYTHON)
def tests_versions(session: nox.Session) -> None:
    """Install into a fresh venv per supported Python (`nox -s tests_versions -p 3.12`) and test."""
    session.install("-e", ".[all,test]")
    session.run("python", "-m", "pytest", "-q", "-p", "no:cacheprovider", *session.posargs)


@nox.session(python=False)
def lint(session: nox.Session) -> None:
    """Check style with ruff (the version pinned in the [dev] extra, current environment)."""
    session.run("ruff", "check", "src", "tests", "bench", "docs", "noxfile.py")


@nox.session(python=False)
def typecheck(session: nox.Session) -> None:
    """Check types with mypy (strict, over src/) in the current environment ([all,dev])."""
    session.run("mypy")


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation site into site/ with warnings as errors."""
    session.install("-e", ".", "mkdocs>=1.6")
    session.run("python", "docs/gen_cli.py", "--check")
    session.run("mkdocs", "build", "--strict", "--site-dir", "site")


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks: `nox -s bench -- core|aws|aws-org|azure|gcp|oci` (default core). Prints ratios."""
    session.install("-e", ".[all,dev]")
    names = session.posargs or ["core"]
    for name in names:
        session.run("python", f"bench/bench_{name.replace('-', '_')}.py")
