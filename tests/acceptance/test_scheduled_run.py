"""A cron-style job: `run --config` night after night, `history`, and `diff` naming the drift."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from residency_audit.cli import main
from residency_audit.demo import demo_inventory_path

TODAY = "2026-11-24"
TOKYO_BUCKET = "resource:aws:arn:aws:s3:::region-exempel-lab-results-tokyo"
CONFIG = """\
policy = "swedish-public-sector"
fail_on = "high"

[sources]
inventory = ["inventory.yaml"]

[[outputs]]
format = "json"
path = "reports/residency.json"

[[outputs]]
format = "md"
path = "reports/residency.md"
"""
TOKYO = """\
  - id: arn:aws:s3:::region-exempel-lab-results-tokyo
    name: region-exempel-lab-results-tokyo
    provider: aws
    service: s3
    kind: bucket
    account: "111122223333"
    locations:
      - region: aws:ap-northeast-1
        role: replica
    tags: {data-class: lab}

subprocessors:
"""


def cli(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), stdout=out), out.getvalue()


@pytest.fixture
def job(tmp_path: Path) -> Path:
    (tmp_path / "inventory.yaml").write_text(demo_inventory_path().read_text(encoding="utf-8"),
                                             encoding="utf-8")
    config = tmp_path / "residency.toml"
    config.write_text(CONFIG, encoding="utf-8")
    return config


def add_tokyo_replica(inventory: Path) -> None:
    text = inventory.read_text(encoding="utf-8")
    old = "replicates_to: [arn:aws:s3:::region-exempel-lab-results-dr]"
    assert old in text and text.count("\nsubprocessors:\n") == 1
    text = text.replace(old, "replicates_to: [arn:aws:s3:::region-exempel-lab-results-dr, "
                             "arn:aws:s3:::region-exempel-lab-results-tokyo]")
    inventory.write_text(text.replace("\nsubprocessors:\n", "\n" + TOKYO), encoding="utf-8")


def test_nightly_runs_store_history_and_diff_names_a_new_replica_in_a_new_country(
        job: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = job.parent
    code, out = cli("run", "--config", str(job), "--today", TODAY)
    assert (code, out) == (1, "")  # the demo has critical findings; fail_on = high
    summary = capsys.readouterr().err.strip().splitlines()[-1]
    assert summary.startswith("residency-audit: run 1: 6 resources, 2 subprocessors, 5 countries")
    assert "critical 5" in summary and "0 gaps" in summary and " s, exit 1" in summary
    for name in ("residency.json", "residency.md"):
        assert (folder / "reports" / name).stat().st_mode & 0o777 == 0o600
    history = folder / "residency-audit-history.sqlite"
    assert history.stat().st_mode & 0o777 == 0o600

    # The report has no clock time: it is the same bytes as `audit` gives.
    code, same = cli("audit", "--inventory", str(folder / "inventory.yaml"), "--format", "json",
                     "--today", TODAY)
    assert same == (folder / "reports/residency.json").read_text(encoding="utf-8")

    code, _ = cli("diff", "--config", str(job))
    assert code == 0 and "nothing to compare" in capsys.readouterr().err

    add_tokyo_replica(folder / "inventory.yaml")
    assert cli("run", "--config", str(job), "--today", TODAY)[0] == 1

    code, md = cli("diff", "--config", str(job))
    assert code == 1
    first = md.split("\n## ")[1]
    assert first.startswith("New countries\n")
    assert "**JP**" in first and TOKYO_BUCKET in first and "replica at location:aws:ap-northeast-1" in first
    assert "## Holders that appeared" in md and "## New findings" in md
    new_findings = md.split("## New findings")[1].split("\n## ")[0]
    assert TOKYO_BUCKET in new_findings

    code, text = cli("diff", "1", "2", "--history", str(history), "--format", "json")
    drift = json.loads(text)
    assert code == 1 and drift["a"]["id"] == 1 and drift["b"]["id"] == 2
    assert [c["country"] for c in drift["new_countries"]] == ["JP"]
    assert [h["node"] for h in drift["appeared"]] == [TOKYO_BUCKET]
    assert drift["disappeared"] == [] and drift["findings_resolved"] == []

    assert cli("run", "--config", str(job), "--today", TODAY)[0] == 1
    code, md = cli("diff", "--config", str(job))
    assert code == 0 and "No change." in md

    code, text = cli("history", "--config", str(job), "--format", "json")
    runs = json.loads(text)
    assert code == 0 and [r["id"] for r in runs] == [1, 2, 3]
    assert all(r["policy"] == "swedish-public-sector" and r["evaluated_on"] == TODAY
               and r["exit_code"] == 1 for r in runs)
    assert "JP" in runs[1]["summary"]["countries"] and "JP" not in runs[0]["summary"]["countries"]
    code, table = cli("history", "--history", str(history))
    assert code == 0 and "swedish-public-sector" in table


def test_exit_codes_none_threshold_and_bad_config(job: Path, capsys: pytest.CaptureFixture[str]) -> None:
    relaxed = job.parent / "relaxed.toml"
    relaxed.write_text(CONFIG.replace('fail_on = "high"', 'fail_on = "none"'), encoding="utf-8")
    assert cli("run", "--config", str(relaxed), "--today", TODAY)[0] == 0

    broken = job.parent / "broken.toml"
    broken.write_text(CONFIG.replace('format = "md"', 'format = "pdf"'), encoding="utf-8")
    assert cli("run", "--config", str(broken), "--today", TODAY)[0] == 2
    err = capsys.readouterr().err
    assert "broken.toml:12: outputs[1].format: unknown format 'pdf'" in err and "Traceback" not in err

    assert cli("history", "--config", str(broken))[0] == 2  # the config must be valid to find the history
    assert cli("diff", "--history", str(job.parent / "none.sqlite"))[0] == 2
    assert cli("diff", "5", "--config", str(relaxed))[0] == 2  # no run 5
    assert "no run 5" in capsys.readouterr().err
    assert cli("history")[0] == 2  # --history or --config is required
