"""Packaging facts: the licence travels with the wheel and sdist, classifiers match what is
tested, scheduled-job extras carry no notebook stack, and test tools are pinned to ranges.

The wheel and sdist are built from a copy of the project (no network: ``--no-isolation`` with
the setuptools the ``[test]`` extra installs); everything else reads ``pyproject.toml`` and the
installed distributions' metadata.
"""

from __future__ import annotations

import hashlib
import importlib.metadata as md
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from email.parser import Parser
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PROJECT: dict[str, Any] = PYPROJECT["project"]
EXTRAS: dict[str, list[str]] = PROJECT["optional-dependencies"]
NAME = "residency-audit"

# SHA-256 of the Apache License 2.0 text as published (apache.org/licenses/LICENSE-2.0.txt).
APACHE_2_SHA256 = "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30"
SCHEDULED = ("aws", "azure", "gcp", "oci")
NOTEBOOK_STACK = {"pandas", "matplotlib", "numpy", "jupyter", "ipython", "notebook"}
SUPPORTED = ("3.11", "3.12", "3.13")


def _name(requirement: str) -> str:
    return re.sub(r"[-_.]+", "-", Requirement(requirement).name).lower()


def _expand(extras: tuple[str, ...]) -> list[Requirement]:
    """The requirements of ``extras`` of this project, its self-references followed."""
    seen: set[str] = set()
    todo = list(extras)
    out: list[Requirement] = []
    while todo:
        extra = todo.pop()
        if extra in seen or extra not in EXTRAS:
            continue
        seen.add(extra)
        for text in EXTRAS[extra]:
            req = Requirement(text)
            if _name(text) == NAME:
                todo.extend(req.extras)
            else:
                out.append(req)
    return out


def _closure(requirements: list[Requirement]) -> set[str]:
    """Every distribution that installing ``requirements`` brings in, read from the metadata of
    the installed distributions (markers evaluated; extras followed)."""
    seen: set[str] = set()
    todo = [(r, frozenset(r.extras)) for r in requirements]
    while todo:
        req, extras = todo.pop()
        if req.marker is not None and not any(
                req.marker.evaluate({"extra": e}) for e in (extras or {""})):
            continue
        name = re.sub(r"[-_.]+", "-", req.name).lower()
        key = f"{name}[{','.join(sorted(extras))}]"
        if key in seen:
            continue
        seen.add(key)
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            continue
        for text in dist.requires or ():
            sub = Requirement(text)
            if sub.marker is None or any(sub.marker.evaluate({"extra": e})
                                         for e in ({""} | set(req.extras))):
                todo.append((sub, frozenset(sub.extras)))
    return {k.split("[", 1)[0] for k in seen}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A wheel and an sdist built from a copy of the project."""
    src = tmp_path_factory.mktemp("project")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, src / name)
    shutil.copytree(ROOT / "src", src / "src",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc"))
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out),
                           str(src)], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return {"wheel": next(out.glob("*.whl")), "sdist": next(out.glob("*.tar.gz"))}


def test_the_licence_is_the_apache_2_0_text() -> None:
    text = (ROOT / "LICENSE").read_bytes()
    assert hashlib.sha256(text).hexdigest() == APACHE_2_SHA256
    assert PROJECT["license"] == "Apache-2.0"
    assert PROJECT["license-files"] == ["LICENSE"]


@pytest.mark.slow
def test_the_wheel_and_sdist_carry_the_licence_and_the_metadata(built: dict[str, Path]) -> None:
    licence = (ROOT / "LICENSE").read_bytes()
    with zipfile.ZipFile(built["wheel"]) as wheel:
        names = wheel.namelist()
        info = next(n.split("/", 1)[0] for n in names if n.endswith(".dist-info/METADATA"))
        assert wheel.read(f"{info}/licenses/LICENSE") == licence
        meta = Parser().parsestr(wheel.read(f"{info}/METADATA").decode("utf-8"))
        assert "residency_audit/py.typed" in names
        assert any(n.startswith("residency_audit/catalog/data/") for n in names)
        assert "residency_audit/report/ocsf.py" in names
    assert meta["License-Expression"] == "Apache-2.0"
    assert meta.get_all("License-File") == ["LICENSE"]
    assert meta["Requires-Python"] == ">=3.11"
    classifiers = set(meta.get_all("Classifier") or ())
    assert {f"Programming Language :: Python :: {v}" for v in SUPPORTED} <= classifiers
    assert set(meta.get_all("Provides-Extra") or ()) >= {"aws", "azure", "gcp", "notebook", "all",
                                                          "test", "dev"}
    with tarfile.open(built["sdist"]) as sdist:
        top = sdist.getnames()[0].split("/", 1)[0]
        member = sdist.extractfile(f"{top}/LICENSE")
        assert member is not None and member.read() == licence


def test_the_classifiers_say_what_is_supported_and_tested() -> None:
    classifiers = PROJECT["classifiers"]
    assert classifiers == sorted(classifiers)
    versions = [c.rsplit(" :: ", 1)[1] for c in classifiers
                if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)]
    assert tuple(versions) == SUPPORTED
    assert PROJECT["requires-python"] == f">={SUPPORTED[0]}"
    assert "Operating System :: OS Independent" in classifiers
    assert any(c.startswith("Intended Audience :: ") for c in classifiers)
    assert any(c.startswith("Topic :: Security") for c in classifiers)
    # The licence is the SPDX expression above; setuptools refuses a licence classifier beside it.
    assert not any(c.startswith("License :: ") for c in classifiers)
    noxfile = (ROOT / "noxfile.py").read_text(encoding="utf-8")
    assert f"PYTHON = {list(SUPPORTED)!r}".replace("'", '"') in noxfile


def test_scheduled_job_extras_carry_no_notebook_stack() -> None:
    present = tuple(e for e in SCHEDULED if e in EXTRAS)
    assert present[:3] == ("aws", "azure", "gcp")
    direct = {_name(str(r)) for r in _expand(present)}
    assert not direct & NOTEBOOK_STACK
    installed = _closure(_expand(present))
    assert "boto3" in installed and "pandas" not in installed and "matplotlib" not in installed
    everything = {_name(str(r)) for r in _expand(("all",))}
    assert {"pandas", "matplotlib"} <= everything, "[all] still brings the notebook stack"
    assert {"pandas", "matplotlib"} == {_name(r) for r in EXTRAS["notebook"]}


def test_the_core_install_needs_no_cloud_sdk_and_no_notebook_stack() -> None:
    core = {_name(r) for r in PROJECT["dependencies"]}
    assert not core & (NOTEBOOK_STACK | {"boto3", "oci", "azure-identity"})
    assert not any(n.startswith(("google-cloud-", "azure-mgmt-")) for n in core)


def test_test_tools_are_pinned_to_compatible_ranges() -> None:
    pinned = {_name(r): Requirement(r) for r in EXTRAS["test"]}
    assert str(pinned["moto"].specifier) == "<6,>=5.0" and pinned["moto"].extras == {"s3", "dynamodb"}
    assert str(pinned["flask"].specifier) == "<4,>=3"
    for name, req in pinned.items():
        if name == "setuptools":  # a floor only: the build backend, newer is always fine
            continue
        ops = {s.operator for s in req.specifier}
        assert ops & {">=", "~="} and ops & {"<", "~="}, f"{name} is not pinned to a range"
    dev = {_name(r) for r in EXTRAS["dev"]}
    assert NAME in dev, "[dev] includes [test]"
    assert {"ruff", "mypy", "nox"} <= dev
    assert not dev & NOTEBOOK_STACK and not set(pinned) & NOTEBOOK_STACK
