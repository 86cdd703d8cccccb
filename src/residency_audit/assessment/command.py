"""The ``assess`` command: the register of an estate, in Swedish or English, as Markdown, HTML or JSON.

``cli.py`` only registers the command (:func:`add_parser`) and hands over the loaded estate
(:func:`run`); the work is :func:`assess`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from residency_audit.errors import InputError

__all__ = ["FORMATS", "add_parser", "assess", "run"]

FORMATS = ("html", "json", "md")


def _frameworks(text: str) -> list[str]:
    names = [x.strip() for x in text.split(",") if x.strip()]
    if not names:
        raise argparse.ArgumentTypeError("give framework ids separated by commas, or 'all'")
    return names


def add_parser(sub: Any, *, estate_options: Callable[[argparse.ArgumentParser], None],
               date: Callable[[str], dt.date]) -> None:
    """Register ``assess`` on the CLI's subparsers."""
    p = sub.add_parser(
        "assess", help="write the register for an assessment under 10 kap. 2 a § OSL, with criteria results",
        description="One entry per data category: copies, operators, laws and their status, mitigations, "
        "transfers, agreed against actual locations, gaps, questions for the assessment, and the results "
        "of the chosen frameworks' criteria. Example: residency-audit assess --demo --lang sv "
        "--format html -o register.html")
    estate_options(p)
    p.add_argument("--demo", action="store_true", help="assess the shipped demo estate")
    p.add_argument("--policy", default=None, help="a preset name or a policy YAML file")
    p.add_argument("--framework", type=_frameworks, default=["all"], metavar="ID,…",
                   help="framework ids or files, comma-separated (default: all packaged ones)")
    p.add_argument("--lang", choices=("sv", "en"), default="sv", help="language of the register (default sv)")
    p.add_argument("--format", choices=FORMATS, default="md", help="register format")
    p.add_argument("-o", "--output", help="write the register here instead of standard output")
    p.add_argument("--today", type=date, default=None,
                   help="the evaluation date (YYYY-MM-DD), to reproduce a register; default today")
    p.add_argument("--catalog", action="append", default=[], metavar="FILE",
                   help="a catalog YAML file that adds or overrides facts (repeatable)")


def assess(estate: Any, *, catalog: Any = None, policy: Any = None, frameworks: Sequence[str] = ("all",),
           lang: str = "sv", fmt: str = "md", today: dt.date | None = None) -> str:
    """The register of ``estate`` as text.

    >>> import datetime as dt
    >>> from residency_audit.demo import demo_estate
    >>> text = assess(demo_estate(), lang="en", fmt="md", frameworks=["finos-ccc"], today=dt.date(2026, 11, 24))
    >>> text.splitlines()[0][:40]
    '# Register for the assessment under 10 k'
    """
    from residency_audit.assessment.frameworks import (
        builtin_frameworks,
        evaluate_framework,
        load_framework,
    )
    from residency_audit.assessment.i18n import messages
    from residency_audit.assessment.register import build_register
    from residency_audit.assessment.render import render_register
    from residency_audit.pipeline import DEFAULT_POLICY, audit

    names = builtin_frameworks() if list(frameworks) == ["all"] else list(frameworks)
    loaded = [load_framework(n) for n in names]
    result = audit(estate, policy=policy or DEFAULT_POLICY, catalog=catalog, today=today)
    register = build_register(result)
    results = [evaluate_framework(fw, result, register, lang=lang) for fw in loaded]
    return render_register(register, results, messages(lang), fmt=fmt)


def run(args: argparse.Namespace, estate: Any, catalog: Any, stdout: TextIO,
        write: Callable[[str, str | None, TextIO, Sequence[str]], None], inputs: Sequence[str]) -> int:
    """Run ``assess`` for the CLI: write the register, exit code 0."""
    for name in args.framework:
        if name != "all" and os.path.sep not in name and not name.endswith((".yaml", ".yml")):
            from residency_audit.assessment.frameworks import builtin_frameworks

            if name not in builtin_frameworks():
                raise InputError("<command line>", None, "--framework",
                                 f"no framework {name!r}; packaged: {', '.join(builtin_frameworks())}")
    text = assess(estate, catalog=catalog, policy=args.policy, frameworks=args.framework, lang=args.lang,
                  fmt=args.format, today=args.today)
    write(text, args.output, stdout, [*inputs, *(f for f in args.framework if os.path.isfile(f))])
    return 0
