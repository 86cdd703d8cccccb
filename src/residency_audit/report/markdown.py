"""The Markdown report: what a reviewer reads, with every witness path and its evidence.

Every string that comes from data (ids, labels, messages, evidence, policy and law names) is
made inert: HTML is escaped, Markdown syntax and table pipes are backslash-escaped, code spans
get a fence longer than any backtick run inside, and control and bidi characters are shown as
escapes (see :mod:`residency_audit.textsafe`). A rendered report never runs or links anything
the data put in it.

The report's own words (titles, headings, table headers, labels, severity and role names) come
from the gettext domain ``residency_audit_report`` (``locale/<lang>/LC_MESSAGES``), in English or
Swedish (:class:`ReportText`); dates and numbers are written as each language writes them. The
English report is the one the catalog's English reproduces exactly: dates stay ISO, numbers
plain. Finding titles and messages come from the policy and stay in English.
"""

from __future__ import annotations

import datetime as dt
import gettext
import io
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from residency_audit.assessment.i18n import LANGUAGES, Messages
from residency_audit.model import Severity
from residency_audit.pipeline import Audit
from residency_audit.report.json_report import as_view
from residency_audit.textsafe import markdown_code, markdown_text
from residency_audit.view import AuditView, DataView, FindingView, LawView

__all__ = ["REPORT_DOMAIN", "ReportText", "law_scope", "render_markdown", "report_text"]

REPORT_DOMAIN = "residency_audit_report"


@dataclass(frozen=True, slots=True)
class ReportText:
    """The report's own words in one language, with its dates and numbers.

    >>> sv, en = report_text("sv"), report_text("en")
    >>> sv("section.summary"), en("section.summary")
    ('Sammanfattning', 'Summary')
    >>> sv.date("2026-07-01"), en.date("2026-07-01")
    ('1 juli 2026', '2026-07-01')
    >>> sv.num(12345), en.num(12345)
    ('12\\xa0345', '12345')
    """

    lang: str
    messages: Messages

    def __call__(self, key: str, **params: Any) -> str:
        """The message ``key``, ``{name}`` fields filled from ``params`` (already escaped text)."""
        return self.messages(key, **params)

    def date(self, day: str) -> str:
        """An ISO day as the language writes it; English (and any text not a date) as given."""
        if self.lang == "en":
            return day
        try:
            return self.messages.date(dt.date.fromisoformat(day))
        except ValueError:
            return day

    def num(self, value: int) -> str:
        """A count as the language writes it (English: plain digits, as before)."""
        return str(value) if self.lang == "en" else self.messages.number(value)

    def sev(self, name: str) -> str:
        """A severity's name."""
        return self(f"severity.{name}")

    def role(self, name: str) -> str:
        """A placement role's name (an unknown role as given)."""
        try:
            return self(f"role.{name}")
        except KeyError:
            return name

    def copies(self, d: DataView) -> str:
        """How many copies of ``d`` there are, in how many holders."""
        n = len(d.holders)
        return self("copies.in-holder" if n == 1 else "copies.in-holders",
                    copies=self.num(d.copies), holders=self.num(n))


@cache
def report_text(lang: str = "en") -> ReportText:
    """The report's words in ``lang`` (``en`` or ``sv``)."""
    if lang not in LANGUAGES:
        raise ValueError(f"no report messages for language {lang!r}; use one of {', '.join(LANGUAGES)}")
    data = (resources.files("residency_audit") / "locale" / lang / "LC_MESSAGES"
            / f"{REPORT_DOMAIN}.mo").read_bytes()
    return ReportText(lang, Messages(lang, gettext.GNUTranslations(io.BytesIO(data))))


def _cell(text: object) -> str:
    return markdown_text(text)


def _code(text: object) -> str:
    return markdown_code(text, table=True)


def _inline(text: object) -> str:
    return markdown_code(text)


def _join(items: Iterable[object], empty: str = "") -> str:
    return ", ".join(_cell(x) for x in items) or empty


def _finding(f: FindingView, t: ReportText) -> list[str]:
    out = ["", f"#### {_cell(f.title)} — {_cell(f.label)}", ""]
    add = out.append
    add(f"- {t('finding.rule')}: {_inline(f.rule)}; {t('finding.node')}: {_inline(f.node)}"
        + (f"; {t('finding.laws')}: {_inline(', '.join(f.laws))}" if f.laws else ""))
    if f.exception:
        add(f"- **{t('finding.excepted')}** {_cell(f.exception)}")
    add(f"- {_cell(f.message)}")
    if f.data:
        add(f"- {t('finding.data')} {_join(f.data)}")
    if f.path:
        add(f"- {t('finding.path')}")
        for i, step in enumerate(f.path):
            add(f"  {i + 1}. {_cell(step.label)} ({_inline(step.node)})")
            if i < len(f.path_evidence):
                add(f"     - {t('finding.evidence-step')} {_cell(f.path_evidence[i].split(': ', 1)[-1])}")
    elif f.path_evidence:
        add(f"- {t('finding.evidence')}")
        for line in f.path_evidence:
            add(f"  - {_cell(line)}")
    for m in f.mitigations:
        add(f"- {t('finding.mitigation')} {_cell(m)}")
    add(f"- {t('finding.remedy')} {_cell(f.remedy)}")
    return out


def render_markdown(a: Audit | AuditView, *, lang: str = "en") -> str:
    """The report of ``a`` as Markdown text ending in a newline, in ``lang`` (``en`` or ``sv``)."""
    t = report_text(lang)
    v = as_view(a)
    s = v.summary
    out: list[str] = []
    add = out.append
    add("# " + t("title", policy=_inline(v.policy.name), home=_cell(v.policy.home)))
    add("")
    add(t("evaluated", date=_cell(t.date(v.evaluated_on)), version=_cell(v.tool_version),
          catalog=_cell(v.catalog_version)))
    if lang != "en":
        add("")
        add(t("findings-in-english"))
    add("")
    add(f"## {t('section.summary')}")
    add("")
    add("- " + t("summary.counts", resources=t.num(s.resources), subprocessors=t.num(s.subprocessors),
                 data=t.num(s.data_categories)))
    add("- " + t("summary.countries", countries=_join(s.countries, t("word.none-known"))))
    counts = ", ".join(f"{t.sev(k)}: {t.num(n)}" for k, n in s.findings.items())
    add("- " + t("summary.findings", counts=counts, excepted=t.num(s.excepted)))
    add("- " + t("summary.gaps", gaps=t.num(s.gaps)))
    add("")
    add(f"## {t('section.data')}")
    add("")
    add(t("data.note-md"))
    add("")
    add("| " + " | ".join(t(f"col.{c}") for c in ("data", "classification", "copies", "countries",
                                                 "reached-by")) + " |")
    add("|---|---|---|---|---|")
    for d in v.data:
        add(f"| {_cell(d.label)} ({_code(d.node)}) | {_cell(d.classification)} | {t.copies(d)} | "
            f"{_join(d.countries, '—')} | "
            f"{_join((x.removeprefix('law:') for x in d.reached_by), t('word.none'))} |")
    add("")
    add(f"## {t('section.findings')}")
    for sev in reversed(list(Severity)):
        group = [f for f in v.findings if f.severity == sev]
        if not group:
            continue
        add("")
        add(f"### {t.sev(str(sev)).capitalize()} ({t.num(len(group))})")
        for f in group:
            out.extend(_finding(f, t))
    if not v.findings:
        add("")
        add(t("findings.none"))
    add("")
    add(f"## {t('section.mitigations')}")
    add("")
    if v.mitigations:
        add("| " + " | ".join(t(f"col.{c}") for c in ("law", "link", "kind", "rests-on")) + " |")
        add("|---|---|---|---|")
        for m in v.mitigations:
            add(f"| {_cell(m.law)} | {_code(m.source)} → {_code(m.target)} | {_cell(m.kind)} | "
                f"{_cell(m.description)} ({_cell(m.evidence)}) |")
    else:
        add(t("mitigations.none"))
    add("")
    add(f"## {t('section.gaps')}")
    add("")
    if v.gaps:
        add("| " + " | ".join(t(f"col.{c}") for c in ("provider", "scope", "region", "service",
                                                     "operation", "error", "resource")) + " |")
        add("|---|---|---|---|---|---|---|")
        for g in v.gaps:
            add(f"| {_cell(g.provider)} | {_cell(g.scope)} | {_cell(g.region)} | {_cell(g.service)} | "
                f"{_cell(g.operation)} | {_cell(g.error)} | {_cell(g.resource)} |")
    else:
        add(t("gaps.none"))
    add("")
    add(f"## {t('section.laws')}")
    add("")
    add("| " + " | ".join(t(f"col.{c}") for c in ("law", "country", "law-scope", "foreign",
                                                 "data-reached")) + " |")
    add("|---|---|---|---|---|")
    for law in v.laws:
        add(f"| {_cell(law.label)} ({_cell(law.citation)}) | {_cell(law.country)} | {law_scope(law, t)} | "
            f"{t('word.yes') if law.foreign else t('word.no')} | {t.num(len(law.reaches_data))} |")
    return "\n".join(out) + "\n"


def law_scope(law: LawView, t: ReportText) -> str:
    """Where a law reaches: territorial, extraterritorial or both, in the report's language."""
    return " + ".join(t(f"word.{x}") for x, on in (("territorial", law.territorial),
                                                   ("extraterritorial", law.extraterritorial)) if on)
