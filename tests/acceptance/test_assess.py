"""``residency-audit assess``: the register of the demo in Swedish and English, HTML, Markdown
and JSON; deterministic, escaped, self-contained; bad input is one line and exit code 2."""

from __future__ import annotations

import html
import io
import json
import textwrap
from pathlib import Path

import pytest

from residency_audit.cli import main

TODAY = "2026-11-24"


def run(*argv: str) -> tuple[int, str]:
    buf = io.StringIO()
    code = main(["-q", *argv], stdout=buf)
    return code, buf.getvalue()


@pytest.fixture(scope="module")
def sv_html() -> str:
    code, text = run("assess", "--demo", "--lang", "sv", "--format", "html", "--today", TODAY)
    assert code == 0
    return text


def test_the_swedish_register_names_the_sms_supplier_whose_gateway_is_in_ireland(sv_html: str) -> None:
    assert sv_html.startswith("<!DOCTYPE html>") and '<html lang="sv">' in sv_html
    assert "Underlag för prövning enligt 10 kap. 2 a § OSL" in sv_html
    assert "24 november 2026" in sv_html
    assert "all traffic stays in Swedish data centres" in sv_html and "utanför avtalet" in sv_html
    assert "Frågor för bedömningen" in sv_html and "inte utvärderat" in sv_html


def test_the_html_register_runs_nothing_and_fetches_nothing(sv_html: str) -> None:
    lowered = sv_html.lower()
    assert "<script" not in lowered and " src=" not in lowered and "<link" not in lowered
    csp = html.unescape(sv_html.split('http-equiv="Content-Security-Policy" content="', 1)[1].split('"', 1)[0])
    assert "script-src 'none'" in csp and "connect-src 'none'" in csp and "default-src 'none'" in csp
    assert "<a " not in lowered  # sources are cited as text, never followed


def test_english_and_json_forms(tmp_path: Path) -> None:
    code, md = run("assess", "--demo", "--lang", "en", "--format", "md", "--today", TODAY)
    assert code == 0 and md.startswith("# Register for the assessment")
    assert "24 November 2026" in md and "outside the agreement" in md
    out = tmp_path / "register.json"
    assert run("assess", "--demo", "--lang", "en", "--format", "json", "--today", TODAY, "-o", str(out))[0] == 0
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["schema_version"] == 1 and doc["kind"] == "residency-audit-register" and doc["lang"] == "en"
    sms = next(e for e in doc["entries"] if e["node"] == "data:sms-reminders")
    outside = [c for c in sms["agreed"] if not c["inside"]]
    assert [(c["holder"], c["countries"]) for c in outside] == [("subprocessor:messaging-gateway", ["IE"])]
    assert any(law["law"] == "law:us-cloud-act" and law["route"] == "control" for law in sms["laws"])
    assert {f["id"] for f in doc["frameworks"]} >= {"bsi-c5-2026", "finos-ccc", "eu-cloud-sovereignty",
                                                     "secnumcloud-3.2", "cada-proposal", "osl-10-2a"}
    sov = next(f for f in doc["frameworks"] if f["id"] == "eu-cloud-sovereignty")
    assert sov["overall"] == "not-evaluated"


def test_the_same_input_gives_the_same_bytes() -> None:
    for fmt in ("html", "json", "md"):
        first = run("assess", "--demo", "--format", fmt, "--today", TODAY, "--framework", "finos-ccc,osl-10-2a")
        assert first == run("assess", "--demo", "--format", fmt, "--today", TODAY,
                            "--framework", "finos-ccc,osl-10-2a")


def test_data_from_the_inventory_is_escaped(tmp_path: Path) -> None:
    inv = tmp_path / "inv.yaml"
    inv.write_text(textwrap.dedent("""\
        version: 1
        entities: [{id: host, name: "<b>Host</b> & co", country: SE}]
        resources:
          - id: db
            name: "<script>alert(1)</script> | pipe"
            operator: host
            locations: [{country: SE}]
            agreed_locations: {places: [SE], clause: "<img src=x onerror=alert(1)>"}
        data: [{id: d, name: "# heading [x](javascript:y)", stored_in: [{resource: db}]}]
        """), encoding="utf-8")
    code, page = run("assess", "--inventory", str(inv), "--format", "html", "--today", TODAY)
    assert code == 0 and "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img" not in page and "&lt;b&gt;Host&lt;/b&gt; &amp; co" in page
    code, md = run("assess", "--inventory", str(inv), "--format", "md", "--lang", "en", "--today", TODAY)
    assert code == 0 and "<script>" not in md and "\\[x\\](javascript:y)" in md
    table_rows = [line for line in md.splitlines() if line.startswith("| ")]
    header = next(line for line in table_rows if line.startswith("| Holder | Role"))
    row = table_rows[table_rows.index(header) + 1]
    assert row.count(" | ") == header.count(" | ")


def test_bad_input_is_one_line_and_exit_code_two(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("assess", "--demo", "--framework", "no-such")[0] == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--framework" in err and "Traceback" not in err
    assert run("assess", "--demo", "--lang", "de")[0] == 2
    assert run("assess")[0] == 2
    bad = tmp_path / "fw.yaml"
    bad.write_text("id: x\nname: y\n", encoding="utf-8")
    assert run("assess", "--demo", "--framework", str(bad))[0] == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "Traceback" not in err
