"""The Markdown and HTML reports in Swedish and English: the report's message catalogs (both
languages, the same fields, compiled files current, every id the code uses present and none
unused), English unchanged by default, Swedish words and formats, escaping the same in both, and
``--lang`` / ``lang`` on the command line and in the config."""

from __future__ import annotations

import datetime as dt
import re
import string
from html import escape
from pathlib import Path

import pytest

from residency_audit.assessment.i18n import LANGUAGES, compile_po, parse_po
from residency_audit.cli import main
from residency_audit.config import parse_config, with_overrides
from residency_audit.demo import demo_estate
from residency_audit.model import (
    CoverageGap,
    DataCategory,
    Entity,
    Estate,
    Evidence,
    Placement,
    Resource,
    Severity,
)
from residency_audit.pipeline import audit
from residency_audit.report import render
from residency_audit.report.markdown import REPORT_DOMAIN, report_text
from residency_audit.textsafe import visible
from residency_audit.view import AuditView, build_view

SRC = Path(__file__).parents[2] / "src" / "residency_audit"
LOCALE = SRC / "locale"
TODAY = dt.date(2026, 11, 24)
SCRIPT = '<script>alert("x")</script>'
EV = Evidence(source="inventory", ref="hostile.yaml:1")


def _po(lang: str) -> dict[str, str]:
    return parse_po((LOCALE / lang / "LC_MESSAGES" / f"{REPORT_DOMAIN}.po").read_text(encoding="utf-8"))


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.fixture(scope="module")
def demo_view() -> AuditView:
    return build_view(audit(demo_estate(), today=TODAY))


@pytest.fixture(scope="module")
def hostile_view() -> AuditView:
    evil = Entity(id="evil-corp", name=f"{SCRIPT} Corp", country="US", evidence=EV)
    estate = Estate(
        entities=(evil,),
        resources=(Resource(id="arn:aws:s3:::b-<b>&co", provider="aws", service="s3", kind="bucket",
                            name=f"| pipe *star* {SCRIPT}\x07", operator="evil-corp", operator_evidence=EV,
                            placements=(Placement(location="aws:us-east-1", evidence=EV),)),),
        data=(DataCategory(id="secrets", name=f"Secrets {SCRIPT}", resources=("arn:aws:s3:::b-<b>&co",),
                           evidence=EV),),
        gaps=(CoverageGap(provider="aws", scope="111122223333", service="s3",
                          operation="GetBucketLocation", error="AccessDenied", message="<denied>"),),
    )
    return build_view(audit(estate, today=TODAY))


# catalogs --------------------------------------------------------------------------------------

def test_every_report_message_has_both_languages_with_the_same_fields() -> None:
    en, sv = _po("en"), _po("sv")
    assert set(en) == set(sv)
    for key in en:
        if key:
            assert en[key].strip() and sv[key].strip(), key
            assert _fields(en[key]) == _fields(sv[key]), key


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_compiled_report_catalogs_are_current(lang: str) -> None:
    folder = LOCALE / lang / "LC_MESSAGES"
    assert (folder / f"{REPORT_DOMAIN}.mo").read_bytes() == compile_po(
        (folder / f"{REPORT_DOMAIN}.po").read_text(encoding="utf-8")), \
        "run python -m residency_audit.assessment.catalogs on the .po files"


def _used_ids() -> set[str]:
    code = "\n".join((SRC / "report" / name).read_text(encoding="utf-8") for name in ("markdown.py", "html.py"))
    ids = set(re.findall(r"""\bt\(["']([a-z0-9.-]+)["']""", code)) - {"nav.", "graph.col."}  # + a suffix
    cols = re.findall(r"""_cols\(t, ([^)]*)\)""", code)
    cols += re.findall(r"""t\(f"col\.\{c\}"\) for c in \(([^)]*)\)""", code)
    ids |= {f"col.{c}" for group in cols for c in re.findall(r'"([a-z-]+)"', group)}
    dynamic = {f"severity.{s}" for s in Severity}
    dynamic |= {f"role.{r}" for r in ("primary", "replica", "secondary", "backup", "processing", "cache")}
    dynamic |= {f"nav.{k}" for k in ("summary", "countries", "graph", "findings", "data", "mitigations",
                                     "gaps", "laws")}
    dynamic |= {f"graph.col.{c}" for c in ("data", "holders", "locations", "operators", "parents",
                                           "countries", "laws")}
    dynamic |= {f"word.{w}" for w in ("territorial", "extraterritorial")}
    dynamic |= {"copies.in-holder", "copies.in-holders", "findings.group"}
    dynamic |= {f"month.{i}" for i in range(1, 13)} | {"date.format"}
    return ids | dynamic


def test_every_report_message_the_code_uses_is_in_the_catalogs_and_none_is_left_unused() -> None:
    used = _used_ids()
    known = set(_po("en")) - {""}
    assert used - known == set()
    assert known - used == set()


def test_swedish_dates_and_numbers_english_as_before() -> None:
    sv, en = report_text("sv"), report_text("en")
    assert sv.date("2026-11-24") == "24 november 2026" and en.date("2026-11-24") == "2026-11-24"
    assert sv.num(1234) == "1\xa0234" and en.num(1234) == "1234"
    assert sv.sev("high") == "hög" and sv.role("backup") == "säkerhetskopia" and sv.role("odd") == "odd"
    with pytest.raises(ValueError, match="no report messages"):
        report_text("de")


# the reports -----------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["md", "html"])
def test_english_is_the_default_and_unchanged(demo_view: AuditView, fmt: str) -> None:
    assert render(demo_view, fmt) == render(demo_view, fmt, lang="en")
    assert "på engelska" not in render(demo_view, fmt)


def test_the_swedish_markdown_report(demo_view: AuditView) -> None:
    md = render(demo_view, "md", lang="sv")
    assert md == render(demo_view, "md", lang="sv")  # deterministic
    for heading in ("## Sammanfattning", "## Datakategorier", "## Fynd", "### Kritisk (",
                    "## Skyddsåtgärder", "## Täckningsluckor", "## Lagar som har prövats"):
        assert f"\n{heading}" in md, heading
    for english in ("## Summary", "## Findings", "Coverage gaps", "- Remedy:", "Witness path",
                    "| Data | Classification"):
        assert english not in md, english
    assert "Bedömt per 24 november 2026" in md
    assert "- Åtgärd: " in md and "- Regel: `" in md and "| Lag | Land | Räckvidd | Utländsk |" in md
    assert md.count("Fynden (rubriker och beskrivningar) är på engelska") == 1
    assert "critical: " not in md and "kritisk: " in md


def test_the_swedish_html_report(demo_view: AuditView) -> None:
    html = render(demo_view, "html", lang="sv")
    assert html == render(demo_view, "html", lang="sv")
    assert '<html lang="sv">' in html
    for text in ('<h2 id="summary">Sammanfattning</h2>', '<h2 id="countries">Var kopiorna finns</h2>',
                 '<h2 id="findings">Fynd</h2>', '<h2 id="data">Datakategorier</h2>',
                 '<h2 id="gaps">Täckningsluckor</h2>', "<em>Åtgärd:</em>", "<th>Inom EES</th>",
                 '<span class="sev sev-critical">kritisk</span>', "Bedömt per 24 november 2026",
                 "säkerhetskopia 1", "är på engelska", ">Moderbolag</text>"):
        assert text in html, text
    for english in (">Summary<", ">Findings<", "Remedy:", "Witness path", ">Holders<", "copies reached by",
                    "unknown place"):
        assert english not in html, english
    # the same inline style, so the same Content-Security-Policy hash
    en = render(demo_view, "html")
    assert re.findall(r"style-src '[^']+'", html) == re.findall(r"style-src '[^']+'", en)


@pytest.mark.parametrize("fmt", ["md", "html"])
def test_escaping_is_the_same_in_both_languages(hostile_view: AuditView, fmt: str) -> None:
    en, sv = render(hostile_view, fmt), render(hostile_view, fmt, lang="sv")
    assert SCRIPT not in sv and "\x07" not in sv
    marker = escape(visible(SCRIPT), quote=True) if fmt == "html" else "&lt;script&gt;"
    assert en.count(marker) == sv.count(marker) > 0
    assert ("AccessDenied" in sv) and ("Täckningsluckor" in sv)


# command line and config -----------------------------------------------------------------------

def test_cli_lang_for_demo_and_audit(tmp_path: Path) -> None:
    out = tmp_path / "sv.md"
    assert main(["demo", "--lang", "sv", "--today", TODAY.isoformat(), "-o", str(out)]) == 0
    assert out.read_text(encoding="utf-8").startswith("# Granskning av var uppgifterna finns")
    en = tmp_path / "en.md"
    assert main(["demo", "--today", TODAY.isoformat(), "-o", str(en)]) == 0
    assert en.read_text(encoding="utf-8") == render(build_view(audit(demo_estate(), today=TODAY)), "md")
    json_sv, json_en = tmp_path / "sv.json", tmp_path / "en.json"
    assert main(["demo", "--lang", "sv", "--today", TODAY.isoformat(), "-o", str(json_sv)]) == 0
    assert main(["demo", "--today", TODAY.isoformat(), "-o", str(json_en)]) == 0
    assert json_sv.read_bytes() == json_en.read_bytes()  # data formats have no language


def test_cli_rejects_an_unknown_language(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--lang", "de"]) == 2
    err = capsys.readouterr().err
    assert "--lang" in err and "Traceback" not in err


def test_config_lang_top_level_per_output_and_override() -> None:
    text = ('lang = "sv"\n[sources]\nestates = ["e.json"]\n'
            '[[outputs]]\nformat = "md"\npath = "r.md"\n'
            '[[outputs]]\nformat = "html"\npath = "r.html"\nlang = "en"\n')
    cfg = parse_config(text, "/srv/audit/residency.toml")
    assert [o.lang for o in cfg.outputs] == ["sv", "en"]
    assert [o.lang for o in with_overrides(cfg, lang="en").outputs] == ["en", "en"]
    assert [o.lang for o in parse_config(text.replace('lang = "sv"\n', ""), "/x/r.toml").outputs] == ["en", "en"]


def test_run_writes_each_output_in_its_language(tmp_path: Path) -> None:
    inventory = SRC / "demo" / "inventory.yaml"
    (tmp_path / "inventory.yaml").write_bytes(inventory.read_bytes())
    (tmp_path / "residency.toml").write_text(
        'lang = "sv"\n[sources]\ninventory = ["inventory.yaml"]\n'
        '[[outputs]]\nformat = "md"\npath = "sv.md"\n'
        '[[outputs]]\nformat = "html"\npath = "en.html"\nlang = "en"\n', encoding="utf-8")
    code = main(["-q", "run", "--config", str(tmp_path / "residency.toml"), "--today", TODAY.isoformat()])
    assert code in (0, 1)
    assert (tmp_path / "sv.md").read_text(encoding="utf-8").startswith("# Granskning av var uppgifterna finns")
    assert '<html lang="en">' in (tmp_path / "en.html").read_text(encoding="utf-8")
    assert main(["-q", "run", "--config", str(tmp_path / "residency.toml"), "--today", TODAY.isoformat(),
                 "--lang", "en"]) == code
    assert (tmp_path / "sv.md").read_text(encoding="utf-8").startswith("# Residency audit")
