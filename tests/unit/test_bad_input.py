"""Bad input never crashes, hangs or misleads: it is an InputError naming file, line and field.

Three layers: (a) arbitrary text and bytes through the inventory and policy loaders, (b) structured
mutations of the demo inventory whose error must point at the mutated field and its line, and
(c) the CLI, which turns every such error into one line on standard error and exit code 2.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from residency_audit.cli import main
from residency_audit.demo import demo_inventory_path
from residency_audit.errors import InputError
from residency_audit.estate_io import estate_to_dict
from residency_audit.policy import load_policy
from residency_audit.providers.inventory import load_inventory
from residency_audit.yamlfile import line_of, load_yaml

FUZZ = settings(max_examples=80, deadline=dt.timedelta(seconds=30), derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
MUTATE = settings(max_examples=40, deadline=dt.timedelta(seconds=30), derandomize=True,
                  suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

#: Characters that make up YAML's structure, so that random text reaches past the scanner.
YAML_ALPHABET = st.sampled_from([*list(":-[]{}&*!|>'\"#%@`?,.~<= \t\nabcxyz019"), "\x00", "é", "\ufeff"])
YAMLISH = st.lists(st.one_of(YAML_ALPHABET, st.sampled_from([
    "version: 1\n", "entities:\n", "  - id: a\n", "    name: A\n", "    country: SE\n",
    "resources:\n", "data:\n", "subprocessors:\n", "mitigations:\n", "locations:\n",
    "      - country: SE\n", "      - region: aws:eu-north-1\n", "&a ", "*a", "<<: *a\n",
    "name: p\n", "home: SE\n", "rules:\n", "  - id: r\n", "    type: location\n",
    "    allowed: [EEA]\n", "exceptions:\n", "    expires: 2026-01-01\n", "!!binary ", "!!set ",
]))).map("".join)


def demo_doc() -> Any:
    """The demo inventory as plain dicts and lists."""
    return json.loads(json.dumps(load_yaml(demo_inventory_path()), default=str))


def write(path: Path, doc: Any) -> Path:
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=10_000))
    return path


def load_either(loader: Any, path: Path) -> None:
    """Load ``path``; an InputError is fine and must name the file on one line."""
    try:
        loader(path)
    except InputError as exc:
        assert exc.file == str(path)
        assert str(exc).startswith(str(path))
        assert "\n" not in str(exc)
        assert exc.line is None or exc.line >= 1


def field_of(path: tuple[int | str, ...]) -> str:
    out = ""
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out


def get(doc: Any, path: tuple[int | str, ...]) -> Any:
    for step in path:
        doc = doc[step]
    return doc


def line_in_file(path: Path, at: tuple[int | str, ...]) -> int | None:
    """The line of the key or item at ``at`` in the YAML file ``path``."""
    loaded = load_yaml(path)
    return line_of(get(loaded, at[:-1]), at[-1])


def leaves(doc: Any, prefix: tuple[int | str, ...] = ()) -> list[tuple[int | str, ...]]:
    """Paths of every scalar in ``doc``."""
    if isinstance(doc, dict):
        return [p for k, v in doc.items() for p in leaves(v, (*prefix, k))]
    if isinstance(doc, list):
        return [p for i, v in enumerate(doc) for p in leaves(v, (*prefix, i))]
    return [prefix]


def mappings(doc: Any, prefix: tuple[int | str, ...] = ()) -> list[tuple[int | str, ...]]:
    """Paths of every mapping in ``doc`` except free-form tag maps."""
    out: list[tuple[int | str, ...]] = []
    if isinstance(doc, dict):
        if not prefix or prefix[-1] != "tags":
            out.append(prefix)
        for k, v in doc.items():
            out += mappings(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += mappings(v, (*prefix, i))
    return out


def expect_error(path: Path) -> InputError:
    with pytest.raises(InputError) as info:
        load_inventory(path)
    err = info.value
    assert err.file == str(path)
    assert "\n" not in str(err)
    return err


DEMO = demo_doc()
STRING_LEAVES = [p for p in leaves(DEMO) if isinstance(get(DEMO, p), str)]
STRICT_MAPPINGS = mappings(DEMO)
REQUIRED = {"entities": ("id", "name", "country"), "resources": ("id", "name", "locations"),
            "subprocessors": ("id", "name", "entity", "locations"), "data": ("id", "name")}


# (a) arbitrary input ------------------------------------------------------------------------

@FUZZ
@given(text=st.one_of(st.text(max_size=400), YAMLISH))
def test_arbitrary_text_loads_or_is_an_input_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "fuzz.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    load_either(load_inventory, path)
    load_either(load_policy, path)


@FUZZ
@given(data=st.binary(max_size=400))
def test_arbitrary_bytes_load_or_are_an_input_error(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "fuzz.yaml"
    path.write_bytes(data)
    load_either(load_inventory, path)
    load_either(load_policy, path)


@FUZZ
@given(prefix=st.integers(min_value=0, max_value=4000), junk=st.binary(min_size=1, max_size=40))
def test_demo_with_junk_spliced_in_loads_or_is_an_input_error(tmp_path: Path, prefix: int,
                                                              junk: bytes) -> None:
    body = demo_inventory_path().read_bytes()
    path = tmp_path / "spliced.yaml"
    path.write_bytes(body[:prefix] + junk + body[prefix:])
    load_either(load_inventory, path)


# (b) structured mutations of the demo inventory ------------------------------------------------

@MUTATE
@given(at=st.sampled_from(STRING_LEAVES),
       value=st.sampled_from([123, 1.5, True, ["x"], {"x": "y"}]))
def test_a_wrong_type_is_reported_at_its_field_and_line(tmp_path: Path, at: tuple[int | str, ...],
                                                        value: Any) -> None:
    doc = demo_doc()
    get(doc, at[:-1])[at[-1]] = value
    path = write(tmp_path / "inv.yaml", doc)
    err = expect_error(path)
    assert err.field is not None and err.field.startswith(field_of(at))
    assert err.line == line_in_file(path, at)


@MUTATE
@given(section=st.sampled_from(sorted(REQUIRED)), pick=st.integers(0, 100), data=st.data())
def test_a_missing_required_field_is_reported_at_its_record(tmp_path: Path, section: str, pick: int,
                                                            data: st.DataObject) -> None:
    doc = demo_doc()
    index = pick % len(doc[section])
    key = data.draw(st.sampled_from(REQUIRED[section]))
    del doc[section][index][key]
    path = write(tmp_path / "inv.yaml", doc)
    err = expect_error(path)
    assert err.field == f"{section}[{index}].{key}"
    assert err.line == line_in_file(path, (section, index))
    assert "required" in err.message


@MUTATE
@given(at=st.sampled_from(STRICT_MAPPINGS), key=st.sampled_from(["colour", "Name", "id_", "ttl"]))
def test_an_unknown_field_is_reported_at_its_line(tmp_path: Path, at: tuple[int | str, ...],
                                                  key: str) -> None:
    doc = demo_doc()
    get(doc, at)[key] = "x"
    path = write(tmp_path / "inv.yaml", doc)
    err = expect_error(path)
    assert err.field == field_of((*at, key))
    assert err.line == line_in_file(path, (*at, key))
    assert err.message.startswith(f"unknown field {key!r}")


@MUTATE
@given(section=st.sampled_from(["entities", "resources", "data"]), i=st.integers(0, 100),
       j=st.integers(0, 100))
def test_a_duplicate_id_is_reported_at_the_second_definition(tmp_path: Path, section: str, i: int,
                                                             j: int) -> None:
    doc = demo_doc()
    n = len(doc[section])
    first, second = sorted((i % n, j % n))
    if first == second:
        second = (first + 1) % n
        first, second = sorted((first, second))
    doc[section][second]["id"] = doc[section][first]["id"]
    path = write(tmp_path / "inv.yaml", doc)
    err = expect_error(path)
    assert err.field == f"{section}[{second}].id"
    assert err.line == line_in_file(path, (section, second, "id"))
    assert "defined twice" in err.message


COUNTRY_LEAVES = [p for p in STRING_LEAVES if p[-1] == "country"]


@MUTATE
@given(at=st.sampled_from(COUNTRY_LEAVES), code=st.sampled_from(["SWE", "S", "12", "S-E", "", "SE1"]))
def test_a_bad_country_code_is_reported_at_its_line(tmp_path: Path, at: tuple[int | str, ...],
                                                    code: str) -> None:
    doc = demo_doc()
    get(doc, at[:-1])[at[-1]] = code
    path = write(tmp_path / "inv.yaml", doc)
    err = expect_error(path)
    assert err.field == field_of(at)
    assert err.line == line_in_file(path, at)


@MUTATE
@given(expires=st.sampled_from(["soon", "2026-02-30", "2026-13-01", "31/12/2026", "2026-1-1x", "tomorrow",
                                 "0", "20270131", 0, 20270131, 1.5, True]))
def test_a_bad_date_is_reported_at_its_line(tmp_path: Path, expires: str | int | float) -> None:
    doc = demo_doc()
    doc["mitigations"] = [{"kind": "customer-held-keys", "description": "keys kept by the region",
                           "evidence": "key policy 2026", "holder": "tipoff-service",
                           "expires": expires}]
    path = write(tmp_path / "inv.yaml", doc)
    err = expect_error(path)
    assert err.field == "mitigations[0].expires"
    assert err.line == line_in_file(path, ("mitigations", 0, "expires"))


@MUTATE
@given(at=st.sampled_from([p for p in STRING_LEAVES if p[-1] in ("name", "id", "source", "city")]),
       size=st.sampled_from([10_001, 50_000, 200_000]))
def test_a_huge_string_is_refused_at_its_line(tmp_path: Path, at: tuple[int | str, ...],
                                              size: int) -> None:
    doc = demo_doc()
    get(doc, at[:-1])[at[-1]] = "x" * size
    path = write(tmp_path / "inv.yaml", doc)
    err = expect_error(path)
    assert err.field == field_of(at)
    assert err.line == line_in_file(path, at)
    assert "at most" in err.message


RECORDS = [p for p in STRICT_MAPPINGS if p and isinstance(p[-1], int)]


@MUTATE
@given(at=st.sampled_from(RECORDS), value=st.sampled_from([["x"], "x", 7, None]))
def test_something_else_where_a_mapping_belongs_is_reported_at_its_line(
        tmp_path: Path, at: tuple[int | str, ...], value: Any) -> None:
    doc = demo_doc()
    get(doc, at[:-1])[at[-1]] = value
    path = write(tmp_path / "inv.yaml", doc)
    err = expect_error(path)
    assert err.field == field_of(at)
    assert err.line == line_in_file(path, at)


@MUTATE
@given(section=st.sampled_from(["entities", "resources", "subprocessors", "data"]),
       value=st.sampled_from([{"x": 1}, "x", 7]))
def test_something_else_where_a_list_belongs_is_reported_at_its_line(
        tmp_path: Path, section: str, value: Any) -> None:
    doc = demo_doc()
    doc[section] = value
    path = write(tmp_path / "inv.yaml", doc)
    err = expect_error(path)
    assert err.field == section
    assert err.line == line_in_file(path, (section,))


# (b) hand-picked cases, with the expected line read off the text ------------------------------

DEMO_TEXT = demo_inventory_path().read_text(encoding="utf-8")


def edited(tmp_path: Path, old: str, new: str) -> tuple[Path, int]:
    """The demo with ``old`` replaced by ``new``, and the line where ``new`` starts."""
    assert DEMO_TEXT.count(old) == 1, old
    text = DEMO_TEXT.replace(old, new)
    path = tmp_path / "inventory.yaml"
    path.write_text(text, encoding="utf-8")
    return path, text[: text.index(new)].count("\n") + 1


@pytest.mark.parametrize(("old", "new", "field", "message"), [
    ("entity: exempel-sms-ab", "entity: nobody", "subprocessors[0].entity", "unknown entity 'nobody'"),
    ("entity: global-messaging-nordic-ab", "entity: nobody",
     "subprocessors[0].subprocessors[0].entity", "unknown entity 'nobody'"),
    ("data: [sms-reminders]", "data: [nothing]",
     "subprocessors[0].subprocessors[0].data[0]", "unknown data category 'nothing'"),
    ("parent: global-messaging-inc", "parent: nobody", "entities[4].parent", "unknown entity"),
    ("processed_by: [sms-provider]", "processed_by: [nobody]", "data[3].processed_by[0]",
     "unknown subprocessor 'nobody'"),
    ("role: secondary", "role: tertiary", "resources[0].locations[1].role", "Input should be"),
    ("region: aws:us-east-1", "region: us-east-1", "resources[5].locations[0].region", "pattern"),
    ("country: IE", "country: IRL", "entities[1].country", "pattern"),
    ("tags: {data-class: patient}\n    source: SKU", "tags: [patient]\n    source: SKU",
     "resources[0].tags", "dictionary"),
    ("version: 1", "version: 2", "version", "Input should be 1"),
])
def test_hand_picked_errors_name_the_exact_line_and_field(tmp_path: Path, old: str, new: str,
                                                          field: str, message: str) -> None:
    path, line = edited(tmp_path, old, new)
    err = expect_error(path)
    assert (err.line, err.field) == (line, field)
    assert message in err.message


def test_a_nested_subprocessor_pointing_nowhere_is_reported_at_its_ref(tmp_path: Path) -> None:
    path, line = edited(tmp_path, "    subprocessors:\n      - id: messaging-gateway",
                        "    subprocessors:\n      - ref: nowhere\n      - id: messaging-gateway")
    err = expect_error(path)
    assert (err.line, err.field) == (line + 1, "subprocessors[0].subprocessors[0]")
    assert "unknown subprocessor 'nowhere'" in err.message


def test_a_duplicate_key_in_the_inventory_is_reported_at_the_second(tmp_path: Path) -> None:
    path, line = edited(tmp_path, "    name: Exempel SMS AB\n",
                        "    name: Exempel SMS AB\n    name: Exempel SMS AB again\n")
    err = expect_error(path)
    assert (err.line, err.field) == (line + 1, "name")


POLICY = "name: p\nhome: SE\nrules:\n  - id: r1\n    type: location\n    allowed: [EEA]\n"


@pytest.mark.parametrize(("text", "line", "field"), [
    (POLICY.replace("type: location", "type: nope"), 5, "rules[0].type"),
    (POLICY.replace("home: SE", "home: SWE"), 2, "home"),
    (POLICY + "    severity: extreme\n", 7, "rules[0].severity"),
    (POLICY + "exceptions:\n  - rule: r1\n    node: x\n    reason: y\n    expires: never\n", 11,
     "exceptions[0].expires"),
    (POLICY + "exceptions:\n  - rule: r1\n    node: x\n    reason: y\n    expires: 20270131\n", 11,
     "exceptions[0].expires"),
    (POLICY.replace("type: location\n    allowed: [EEA]", "type: reach\n    laws: 5"), 6, "rules[0].laws"),
    (POLICY.replace("type: location\n    allowed: [EEA]", "type: reach\n    laws: [us-cloud-act, 5]"), 6,
     "rules[0].laws[1]"),
    (POLICY + "colour: red\n", 7, "colour"),
    (POLICY.replace("  - id: r1\n", "  - id: r1\n    id: r2\n"), 5, "id"),
])
def test_policy_errors_name_the_line_and_field(tmp_path: Path, text: str, line: int,
                                               field: str) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        load_policy(path)
    assert (info.value.file, info.value.line, info.value.field) == (str(path), line, field)


# (c) the CLI ------------------------------------------------------------------------------------

ERROR_LINE = re.compile(r"^residency-audit: error: (?P<file>.+?):(?P<line>\d+): (?P<field>[^:]+): (?P<message>.+)$")


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.err


MALFORMED_INVENTORIES = [
    ("entity: exempel-sms-ab", "entity: nobody", "subprocessors[0].entity"),
    ("country: IE", "country: 353", "entities[1].country"),
    ("    country: IE\n", "    country: IE\n    colour: green\n", "entities[1].colour"),
    ("  - id: exempel-sms-ab\n", "  - id: region-exempel\n", "entities[2].id"),
    ("    locations:\n      - region: oci:uk-london-1\n        role: primary\n",
     "    locations: {region: oci:uk-london-1}\n", "resources[1].locations"),
    ("organisation: Region Exempel", "organisation: Region Exempel\norganisation: Other", "organisation"),
    ("version: 1", "version: !!python/object:os.system x", None),
    ("version: 1", "version: 1\n\tbad: tab", None),
]


@pytest.mark.parametrize(("old", "new", "field"), MALFORMED_INVENTORIES)
def test_cli_reports_a_malformed_inventory_on_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                       old: str, new: str, field: str | None) -> None:
    path, line = edited(tmp_path, old, new)
    code, err = run(["audit", "--inventory", str(path), "--format", "json"], capsys)
    assert code == 2
    assert err.count("\n") == 1, err
    assert err.startswith(f"residency-audit: error: {path}:")
    if field is not None:
        match = ERROR_LINE.match(err.rstrip("\n"))
        assert match, err
        assert match["file"] == str(path)
        assert match["field"] == field
        assert int(match["line"]) >= line


@pytest.mark.parametrize("content", [b"", b"\x00\x01", b"\xff\xfe", b"- a\n- b\n", b"a: &x [*x]\n"])
def test_cli_reports_an_inventory_that_is_not_one_on_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes) -> None:
    path = tmp_path / "inventory.yaml"
    path.write_bytes(content)
    code, err = run(["audit", "--inventory", str(path)], capsys)
    assert code == 2
    assert err.count("\n") == 1
    assert err.startswith(f"residency-audit: error: {path}")


def estate_json() -> dict[str, Any]:
    from residency_audit.demo import demo_estate

    return estate_to_dict(demo_estate())


@pytest.mark.parametrize("content", [
    "{not json",
    "[]",
    "[" * 100_000,
    json.dumps({**estate_json(), "schema_version": 7}),
    json.dumps({**estate_json(), "resources": [{"id": "x"}]}),
    json.dumps({**estate_json(), "gaps": [{"provider": "aws", "scope": 1, "service": "s3",
                                           "operation": "ListBuckets", "error": "x"}]}),
    json.dumps({**estate_json(), "resources": [{**estate_json()["resources"][0],
                                                "placements": [{"location": "nowhere", "role": "primary",
                                                                "evidence": {"source": "a", "ref": "b"}}]}]}),
])
def test_cli_reports_a_malformed_estate_on_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                    content: str) -> None:
    path = tmp_path / "estate.json"
    path.write_text(content)
    code, err = run(["audit", "--estate", str(path), "--format", "json"], capsys)
    assert code == 2
    assert err.count("\n") == 1, err
    assert err.startswith(f"residency-audit: error: {path}")


def test_cli_reports_an_unknown_policy_preset(capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run(["demo", "--policy", "no-such-preset"], capsys)
    assert code == 2
    from residency_audit.policy import preset_names

    assert {"eea-only", "esam", "sweden-only"} <= set(preset_names())
    assert err == ("residency-audit: error: no-such-preset: no such policy file or preset; presets: "
                   f"{', '.join(preset_names())}\n")


def test_cli_reports_a_malformed_policy_file_with_line_and_field(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY.replace("type: location", "type: nope"))
    code, err = run(["demo", "--policy", str(path)], capsys)
    assert code == 2
    match = ERROR_LINE.match(err.rstrip("\n"))
    assert match, err
    assert (match["file"], match["line"], match["field"]) == (str(path), "5", "rules[0].type")


@pytest.mark.parametrize("argv", [
    ["audit", "--bogus"],
    ["--no-such-option", "demo"],
    ["demo", "--format", "docx"],
    ["demo", "--fail-on", "severe"],
    ["demo", "--today", "2026-02-30"],
    ["no-such-command"],
    [],
])
def test_cli_refuses_unknown_options_with_exit_2(capsys: pytest.CaptureFixture[str],
                                                 argv: list[str]) -> None:
    code, err = run(argv, capsys)
    assert code == 2
    assert re.search(r"^residency-audit( \w+)?: error: ", err, re.MULTILINE), err


def test_cli_without_estate_or_inventory_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run(["audit"], capsys)
    assert code == 2
    assert err == "residency-audit: error: <command line>: give --inventory FILE and/or --estate FILE\n"


# several inventory files are one inventory --------------------------------------------------------

ENTITIES_FILE = """\
version: 1
entities:
  - id: exempel-sms-ab
    name: Exempel SMS AB
    country: SE
  - id: exempel-parent-inc
    name: Exempel Parent Inc.
    country: US
"""

USES_FILE = """\
version: 1
resources:
  - id: journal
    name: Journal
    operator: exempel-sms-ab
    locations:
      - country: SE
subprocessors:
  - id: sms
    name: SMS
    entity: exempel-sms-ab
    locations: [{country: SE}]
data:
  - id: reminders
    name: Reminders
    stored_in: [{resource: journal}]
    processed_by: [sms]
"""


def two_files(tmp_path: Path, first: str, second: str) -> tuple[Path, Path]:
    a, b = tmp_path / "entities.yaml", tmp_path / "uses.yaml"
    a.write_text(first)
    b.write_text(second)
    return a, b


def test_references_resolve_across_inventory_files(tmp_path: Path) -> None:
    a, b = two_files(tmp_path, ENTITIES_FILE, USES_FILE)
    estate = load_inventory(a, b)
    assert {e.id for e in estate.entities} == {"exempel-sms-ab", "exempel-parent-inc"}
    (resource,) = estate.resources
    assert resource.operator == "exempel-sms-ab"
    assert resource.operator_evidence is not None and resource.operator_evidence.ref == f"{b}:5"
    assert estate.metadata.sources == ("inventory:entities.yaml", "inventory:uses.yaml")
    assert load_inventory(b, a) == estate  # the order of the files does not matter


def test_a_parent_in_another_file_resolves_and_a_cycle_across_files_is_refused(tmp_path: Path) -> None:
    child = tmp_path / "child.yaml"
    child.write_text("version: 1\nentities:\n  - id: kid-ab\n    name: Kid\n    country: SE\n"
                     "    parent: exempel-parent-inc\n")
    a, _ = two_files(tmp_path, ENTITIES_FILE, USES_FILE)
    assert {e.id for e in load_inventory(a, child).entities} >= {"kid-ab"}
    a.write_text(ENTITIES_FILE + "    parent: kid-ab\n")
    with pytest.raises(InputError) as info:
        load_inventory(a, child)
    assert (info.value.file, info.value.line, info.value.field) == (str(a), 9, "entities[1].parent")
    assert "exempel-parent-inc -> kid-ab -> exempel-parent-inc" in info.value.message


def test_a_dangling_reference_names_its_own_file_and_line(tmp_path: Path) -> None:
    a, b = two_files(tmp_path, ENTITIES_FILE, USES_FILE.replace("entity: exempel-sms-ab",
                                                                "entity: exempel-smss-ab"))
    with pytest.raises(InputError) as info:
        load_inventory(a, b)
    assert (info.value.file, info.value.line, info.value.field) == (str(b), 11, "subprocessors[0].entity")
    assert info.value.message == "unknown entity 'exempel-smss-ab'"


@pytest.mark.parametrize(("extra", "field", "words"), [
    ("entities:\n  - {id: exempel-sms-ab, name: Again, country: SE}\n", "entities[0].id",
     "entity 'exempel-sms-ab' is defined twice (first at {a}:3)"),
    ("resources:\n  - {id: journal, name: Again, locations: [{country: SE}]}\n", "resources[0].id",
     "resource 'journal' is defined twice (first at {b}:3)"),
    ("subprocessors:\n  - {id: sms, name: Again, entity: exempel-sms-ab, locations: [{country: SE}]}\n",
     "subprocessors[0].id", "subprocessor 'sms' is defined twice (first at {b}:9)"),
    ("data:\n  - {id: reminders, name: Again}\n", "data[0].id",
     "data category 'reminders' is defined twice (first at {b}:14)"),
])
def test_an_id_defined_in_two_files_names_both_places(tmp_path: Path, extra: str, field: str,
                                                      words: str) -> None:
    a, b = two_files(tmp_path, ENTITIES_FILE, USES_FILE)
    c = tmp_path / "third.yaml"
    c.write_text("version: 1\n" + extra)
    with pytest.raises(InputError) as info:
        load_inventory(a, b, c)
    assert (info.value.file, info.value.line, info.value.field) == (str(c), 3, field)
    assert info.value.message.startswith(words.format(a=a, b=b))


def test_a_file_named_twice_is_read_once(tmp_path: Path) -> None:
    a, b = two_files(tmp_path, ENTITIES_FILE, USES_FILE)
    assert load_inventory(a, b, a, tmp_path / "." / "uses.yaml") == load_inventory(a, b)


def test_the_cli_merges_inventory_files_before_checking_them(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    a, b = two_files(tmp_path, ENTITIES_FILE, USES_FILE)
    code, err = run(["audit", "--inventory", str(b), "--inventory", str(a), "--format", "json",
                     "--fail-on", "none"], capsys)
    assert code == 0, err


def test_each_declared_fact_cites_its_most_specific_source(tmp_path: Path) -> None:
    from residency_audit.providers.inventory import load_inventory

    inv = tmp_path / "inv.yaml"
    inv.write_text(
        "version: 1\nentities:\n  - id: op\n    name: Op\n    country: SE\n    parent: null\n"
        "    source: register extract\n"
        "resources:\n  - id: r\n    name: r\n    operator: op\n    source: the record's source\n"
        "    sources:\n      operator: operations agreement s. 1\n      locations: contract annex B\n"
        "    locations:\n      - country: SE\n      - country: FI\n        source: DR site letter\n"
        "    backs_up_to: [b]\n"
        "  - id: b\n    name: b\n    locations:\n      - country: SE\n", encoding="utf-8")
    estate = load_inventory(inv)
    r = next(x for x in estate.resources if x.id == "r")
    assert r.operator_evidence is not None and r.operator_evidence.detail == "operations agreement s. 1"
    details = {p.location: p.evidence.detail for p in r.placements}
    assert details == {"country:SE": "contract annex B", "country:FI": "DR site letter"}
    assert [link.evidence.detail for link in r.links] == ["the record's source"]
