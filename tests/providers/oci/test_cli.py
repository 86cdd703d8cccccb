"""``residency-audit scan --oci …`` and ``[sources.oci]`` of the scheduled run, end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from residency_audit.cli import main
from tests.providers.oci.conftest import FRA, LON, TENANCY, build_tenancy, sdk_config
from tests.providers.oci.fake_oci import FakeOci


def _config_file(tmp_path: Path) -> Path:
    cfg = sdk_config()
    key = tmp_path / "key.pem"
    key.write_text(cfg["key_content"], encoding="utf-8")
    key.chmod(0o600)
    path = tmp_path / "oci-config"
    path.write_text(f"[DEFAULT]\nuser=nobody\n\n[AUDIT]\nuser={cfg['user']}\n"
                    f"fingerprint={cfg['fingerprint']}\ntenancy={cfg['tenancy']}\n"
                    f"region={LON}\nkey_file={key}\n", encoding="utf-8")
    return path


@pytest.fixture
def fake() -> FakeOci:
    return build_tenancy()


def test_scan_through_the_command_line(tmp_path: Path, fake: FakeOci) -> None:
    out = tmp_path / "estate.json"
    with fake.serve() as urls:
        code = main(["--quiet", "scan", "--oci", "--oci-config-file", str(_config_file(tmp_path)),
                     "--oci-profile", "AUDIT", "--oci-regions", f"{LON},{FRA}",
                     *(a for r in (LON, FRA) for a in ("--oci-endpoint", f"{r}={urls[r]}")),
                     "-o", str(out)])
    assert code == 0
    estate = json.loads(out.read_text(encoding="utf-8"))
    ids = {r["id"] for r in estate["resources"]}
    assert {"objectstorage:uk-london-1:acmens/tips", "objectstorage:eu-frankfurt-1:acmens/tips-dr"} <= ids
    assert f"tenancy:{TENANCY}" in json.dumps(estate)
    cfg = sdk_config()
    assert fake.key_ids == {f"{TENANCY}/{cfg['user']}/{cfg['fingerprint']}"}  # the API key signs
    assert not fake.violations


@pytest.mark.parametrize(("argv", "needle"), [
    (["--oci-regions", "London"], "--oci-regions"),
    (["--oci-endpoint", "http://127.0.0.1:1/path"], "--oci-endpoint"),
    (["--oci-compartment", "not-an-ocid"], "--oci-compartment"),
    (["--oci-profile", "MISSING"], "MISSING"),
    (["--oci-connect-timeout", "0"], "--oci-connect-timeout"),
])
def test_bad_options_are_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                             argv: list[str], needle: str) -> None:
    code = main(["--quiet", "scan", "--oci", "--oci-config-file", str(_config_file(tmp_path)),
                 *argv, "-o", str(tmp_path / "e.json")])
    err = capsys.readouterr().err
    assert code == 2
    assert needle in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_a_missing_config_file_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--quiet", "scan", "--oci", "--oci-config-file", str(tmp_path / "none"),
                 "-o", str(tmp_path / "e.json")])
    assert code == 2
    assert "Traceback" not in capsys.readouterr().err


def test_the_scheduled_config_maps_onto_the_same_options(tmp_path: Path) -> None:
    from residency_audit.config import parse_config, provider_namespace
    from residency_audit.scheduled import provider_hooks

    cfg = parse_config('[sources.oci]\nconfig_file = "oci-config"\nprofile = "AUDIT"\n'
                       'auth = "api_key"\n'
                       'regions = ["uk-london-1"]\ncompartment = "ocid1.compartment.oc1..health"\n'
                       'endpoint = ["uk-london-1=http://127.0.0.1:1"]\nsearch = false\n',
                       tmp_path / "residency.toml")
    assert cfg.cloud_sources == ("oci",)
    ns = provider_namespace(cfg, provider_hooks())
    assert ns.oci and ns.oci_profile == "AUDIT" and ns.oci_no_search and ns.oci_auth == "api_key"
    assert ns.oci_config_file == str(tmp_path / "oci-config")
    assert ns.oci_regions == ["uk-london-1"] and ns.oci_endpoint == ["uk-london-1=http://127.0.0.1:1"]


def test_a_session_token_config_signs_with_the_token(tmp_path: Path, fake: FakeOci) -> None:
    from residency_audit.providers.oci import scan_oci

    cfg = sdk_config()
    key = tmp_path / "key.pem"
    key.write_text(cfg["key_content"], encoding="utf-8")
    token = tmp_path / "token"
    token.write_text("header.payload.signature\n", encoding="utf-8")
    path = tmp_path / "oci-config"
    path.write_text(f"[SESSION]\nfingerprint={cfg['fingerprint']}\ntenancy={cfg['tenancy']}\n"
                    f"region={LON}\nkey_file={key}\nsecurity_token_file={token}\n", encoding="utf-8")
    with fake.serve() as urls:
        estate = scan_oci(config_file=str(path), profile="SESSION", regions=[LON],
                          endpoints={LON: urls[LON]})
    assert "objectstorage:uk-london-1:acmens/tips" in {r.id for r in estate.resources}
    assert not fake.unsigned and fake.key_ids == {"ST$header.payload.signature"}


def test_one_endpoint_for_every_scanned_region(tmp_path: Path, fake: FakeOci) -> None:
    out = tmp_path / "estate.json"
    with fake.serve() as urls:
        code = main(["--quiet", "scan", "--oci", "--oci-config-file", str(_config_file(tmp_path)),
                     "--oci-profile", "AUDIT", "--oci-regions", LON, "--oci-endpoint", urls[LON],
                     "--oci-no-search", "-o", str(out)])
    assert code == 0
    ids = {r["id"] for r in json.loads(out.read_text(encoding="utf-8"))["resources"]}
    assert "objectstorage:uk-london-1:acmens/tips" in ids
    assert not any(k.startswith(FRA) for k in fake.requests)
