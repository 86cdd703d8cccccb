"""``--azure-access-token-file``: one token, read safely, never echoed; a bad file is one clear line, exit 2."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from residency_audit.cli import main
from residency_audit.providers.azure.arm import (
    MAX_TOKEN_FILE_BYTES,
    StaticTokenCredential,
    read_token_file,
)
from tests.providers.azure.fake_arm import FakeArm

SECRET = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.c2VjcmV0.c2lnbmF0dXJl"


def _write(text: str | bytes) -> Callable[[Path], Path]:
    def make(tmp: Path) -> Path:
        path = tmp / "token"
        path.write_bytes(text.encode() if isinstance(text, str) else text)
        return path
    return make


def _fifo(tmp: Path) -> Path:
    path = tmp / "token.fifo"
    os.mkfifo(path)
    return path


BAD: dict[str, tuple[Callable[[Path], Path], str]] = {
    "inner line break": (_write(SECRET[:20] + "\n" + SECRET[20:] + "\n"), "more than one line"),
    "inner space": (_write(SECRET[:20] + " " + SECRET[20:]), "more than one line"),
    "two tokens on two lines": (_write(SECRET + "\n" + SECRET + "\n"), "more than one line"),
    "empty": (_write(""), "no token"),
    "only whitespace": (_write(" \n\t\n"), "no token"),
    "not a token character": (_write(SECRET + ";rm"), "characters a bearer token cannot have"),
    "control character": (_write(SECRET + "\x00"), "characters a bearer token cannot have"),
    "non-ASCII": (_write(SECRET + "ö"), "characters a bearer token cannot have"),
    "not UTF-8": (_write(b"\xff\xfe" + SECRET.encode()), "not UTF-8"),
    "huge": (_write("A" * (MAX_TOKEN_FILE_BYTES + 1)), "larger than"),
    "broken JSON": (_write('{"accessToken": "' + SECRET), "not valid JSON"),
    "JSON without accessToken": (_write(json.dumps({"token": SECRET})), "accessToken"),
    "JSON with a list": (_write(json.dumps({"accessToken": [SECRET]})), "accessToken"),
    "JSON with a broken token": (_write(json.dumps({"accessToken": SECRET + "\n" + SECRET})), "more than one line"),
    "a directory": (lambda tmp: tmp, "not a regular file"),
    "missing": (lambda tmp: tmp / "nope", "cannot read"),
}
if sys.platform != "win32":
    BAD["a FIFO (would hang)"] = (_fifo, "not a regular file")


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_token_file_is_one_clear_line_exit_2(case: str, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    make, expected = BAD[case]
    path = make(tmp_path)
    out = tmp_path / "estate.json"
    code = main(["-q", "scan", "--azure", "--azure-endpoint", "https://127.0.0.1:9", "--azure-access-token-file",
                 str(path), "-o", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    assert str(path) in err and "--azure-access-token-file" in err and expected in err
    assert SECRET[:20] not in err and SECRET[20:] not in err
    assert not out.exists()


def test_surrounding_whitespace_and_az_json_are_read_as_one_token(tmp_path: Path) -> None:
    plain = _write("\n  " + SECRET + "  \r\n")(tmp_path)
    assert read_token_file(str(plain)) == SECRET
    doc = tmp_path / "az.json"
    doc.write_text(json.dumps({"accessToken": SECRET, "expiresOn": "2026-12-01 23:00:00", "tokenType": "Bearer"}))
    assert read_token_file(str(doc)) == SECRET
    assert SECRET not in repr(StaticTokenCredential.from_file(str(doc)))


def test_token_is_never_in_the_estate_or_logs(fake_arm: FakeArm, ca: Any, ca_pem: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    token = _write(SECRET + "\n")(tmp_path)
    out = tmp_path / "estate.json"
    fake_arm.fail(r"/providers/Microsoft.Storage/storageAccounts$", 401, "InvalidAuthenticationToken", times=100,
                  message=f"The access token is invalid: Bearer {SECRET}")
    with fake_arm.serve(ca) as url:
        code = main(["-v", "scan", "--azure", "--azure-no-resource-graph", "--azure-endpoint", url,
                     "--azure-ca-bundle", str(ca_pem), "--azure-access-token-file", str(token), "-o", str(out)])
    captured = capsys.readouterr()
    assert code in (0, 1)
    text = out.read_text()
    assert "InvalidAuthenticationToken" in text
    for part in (SECRET, SECRET.split(".")[1], SECRET.split(".")[2]):
        assert part not in text and part not in captured.err and part not in captured.out


def test_a_credential_handing_out_a_broken_token_never_leaks_it(fake_arm: FakeArm, ca: Any, ca_pem: Path) -> None:
    from residency_audit.providers.azure import scan_azure
    from tests.providers.azure import tenant as t

    class Broken:
        """A third-party credential whose token holds a line break (the SDK refuses the header)."""

        def get_token(self, *scopes: str, **kwargs: Any) -> Any:
            from azure.core.credentials import AccessToken

            return AccessToken(SECRET[:20] + "\n" + SECRET[20:], 4_102_444_800)

        def get_token_info(self, *scopes: str, options: Any = None) -> Any:
            from azure.core.credentials import AccessTokenInfo

            return AccessTokenInfo(SECRET[:20] + "\n" + SECRET[20:], 4_102_444_800)

    with fake_arm.serve(ca) as url:
        estate = scan_azure(credential=Broken(), base_url=url, subscriptions=[t.SUB_PROD], services=["storage"],
                            use_resource_graph=False, client_kwargs={"connection_verify": str(ca_pem)},
                            backoff_cap=0.05)
    text = repr(estate)
    assert SECRET[:20] not in text and SECRET[20:] not in text
    assert not [g for g in estate.gaps if g.error == "GivenUp"]  # a client-side fault does not give the endpoint up
    assert {g.operation for g in estate.gaps} >= {"Subscriptions_ListLocations", "StorageAccounts_List"}
