"""The YAML loader that auditors' files go through: lines kept, and hostile input refused.

Every refusal is an :class:`InputError` that names the file (and, where it can, the line), and
none of them takes long: the loader is the first thing a malformed or hostile file meets.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest

from residency_audit.errors import InputError
from residency_audit.yamlfile import (
    MAX_DEPTH,
    YamlDict,
    YamlList,
    line_of,
    load_yaml,
    load_yaml_text,
)

#: A hang guard, not a benchmark: hostile input must be refused, not expanded for minutes.
#: (Expanding the alias bomb below would take hours; refusing it takes milliseconds.)
QUICK = 60.0


def refused(text: str, origin: str = "x.yaml") -> InputError:
    """The InputError that loading ``text`` raises."""
    with pytest.raises(InputError) as info:
        load_yaml_text(text, origin)
    return info.value


def billion_laughs(levels: int = 9, width: int = 9) -> str:
    """The classic alias bomb: ``width ** levels`` strings from a few hundred bytes."""
    names = "abcdefghijklmnop"
    lines = [f"{names[0]}: &{names[0]} [" + ", ".join(['"lol"'] * width) + "]"]
    for i in range(1, levels):
        lines.append(f"{names[i]}: &{names[i]} [" + ", ".join([f"*{names[i - 1]}"] * width) + "]")
    return "\n".join(lines) + "\n"


# lines ---------------------------------------------------------------------------------------

DOC = """\
# a comment on line 1
version: 1
entities:
  - id: one
    name: One
  - id: two

    name: Two
tags: {a: b, c: d}
flow: [x,
  y]
"""


def test_containers_know_their_lines_and_the_lines_of_keys_and_items() -> None:
    doc = load_yaml_text(DOC, "inv.yaml")
    assert isinstance(doc, YamlDict)
    assert doc.line == 2
    assert line_of(doc) == 2
    assert [line_of(doc, k) for k in ("version", "entities", "tags", "flow")] == [2, 3, 9, 10]
    entities = doc["entities"]
    assert isinstance(entities, YamlList)
    assert [line_of(entities, i) for i in range(2)] == [4, 6]
    assert line_of(entities[1], "name") == 8
    assert line_of(doc["flow"], 1) == 11


def test_line_of_falls_back_to_the_container_and_knows_nothing_of_plain_values() -> None:
    doc = load_yaml_text(DOC, "inv.yaml")
    assert line_of(doc, "missing") == doc.line
    assert line_of(doc["entities"], 99) == doc["entities"].line
    assert line_of(doc["entities"], "not-an-index") == doc["entities"].line
    assert line_of({"plain": 1}, "plain") is None
    assert line_of("text") is None


def test_values_are_plain_python_values() -> None:
    doc = load_yaml_text("a: 1\nb: 1.5\nc: true\nd: ~\ne: 2026-11-24\nf: '007'\n", "x.yaml")
    assert doc == {"a": 1, "b": 1.5, "c": True, "d": None, "e": dt.date(2026, 11, 24), "f": "007"}
    assert isinstance(doc, dict)


# duplicate keys, merge keys, key types ----------------------------------------------------------

def test_duplicate_key_is_refused_with_its_line_and_name() -> None:
    err = refused("version: 1\nentities: []\n\nentities: [x]\n", "inv.yaml")
    assert (err.file, err.line, err.field) == ("inv.yaml", 4, "entities")
    assert str(err) == "inv.yaml:4: entities: duplicate key"


def test_duplicate_key_in_a_nested_flow_mapping_is_refused() -> None:
    err = refused("items:\n  - {id: a, name: x, id: b}\n")
    assert (err.line, err.field) == (2, "id")


def test_merge_keys_are_refused_with_their_line() -> None:
    err = refused("base: &b {country: SE}\nentity:\n  <<: *b\n  id: x\n")
    assert err.line == 3
    assert "merge keys" in err.message


@pytest.mark.parametrize(("text", "line"), [
    ("? [1, 2]\n: x\n", 1),
    ("ok: 1\n~: x\n", 2),
    ("2026-01-01: x\n", 1),
])
def test_keys_that_are_not_plain_text_are_refused(text: str, line: int) -> None:
    err = refused(text)
    assert err.line == line
    assert "keys must be plain text" in err.message


# aliases ---------------------------------------------------------------------------------------

def test_plain_aliases_are_expanded() -> None:
    doc = load_yaml_text("a: &x [1, 2]\nb: *x\n", "x.yaml")
    assert doc["b"] == [1, 2]


def test_alias_bomb_is_refused_quickly() -> None:
    text = billion_laughs()
    assert len(text) < 1000
    start = time.perf_counter()
    err = refused(text)
    elapsed = time.perf_counter() - start
    assert "too many aliases" in err.message
    assert elapsed < QUICK, f"alias bomb took {elapsed:.2f} s to refuse"


def test_alias_bomb_in_mapping_values_is_refused_quickly() -> None:
    lines = ["a: &a {k1: lol, k2: lol, k3: lol, k4: lol, k5: lol, k6: lol, k7: lol, k8: lol}"]
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} {{" + ", ".join(f"k{i}: *{prev}" for i in range(8)) + "}")
    start = time.perf_counter()
    err = refused("\n".join(lines) + "\n")
    assert "too many aliases" in err.message
    assert time.perf_counter() - start < QUICK


@pytest.mark.parametrize("text", [
    "a: &x [1, *x]\n",
    "&x {a: *x}\n",
    "a: &x\n  b:\n    c: *x\n",
])
def test_recursive_aliases_are_refused(text: str) -> None:
    err = refused(text)
    assert err.line is not None
    assert "recursive alias" in err.message


def test_undefined_alias_is_refused_with_its_line() -> None:
    err = refused("a: 1\nb: *nowhere\n")
    assert err.line == 2
    assert "not valid YAML" in err.message


# nesting ---------------------------------------------------------------------------------------

def test_nesting_up_to_the_limit_loads() -> None:
    depth = MAX_DEPTH - 10
    doc = load_yaml_text("[" * depth + "]" * depth, "x.yaml")
    for _ in range(depth - 1):
        doc = doc[0]
    assert doc == []


@pytest.mark.parametrize("text", [
    "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5),
    "[" * 20_000,
    "{a: " * 5_000 + "1" + "}" * 5_000,
    "".join(" " * i + "a:\n" for i in range(3_000)),
    "- " * 20_000 + "x\n",
])
def test_deep_nesting_is_refused_quickly(text: str) -> None:
    start = time.perf_counter()
    err = refused(text)
    assert "nesting deeper" in err.message or "not valid YAML" in err.message
    assert time.perf_counter() - start < QUICK


# bytes that are not YAML text -----------------------------------------------------------------

def test_nul_bytes_are_refused_with_the_line_of_the_first(tmp_path: Path) -> None:
    path = tmp_path / "inv.yaml"
    path.write_bytes(b"version: 1\norganisation: x\x00y\n")
    with pytest.raises(InputError) as info:
        load_yaml(path)
    assert (info.value.file, info.value.line) == (str(path), 2)
    assert "NUL" in info.value.message


def test_non_utf8_bytes_are_refused_with_their_line(tmp_path: Path) -> None:
    path = tmp_path / "inv.yaml"
    path.write_bytes(b"version: 1\n" + "organisation: Region Skåne\n".encode("latin-1"))
    with pytest.raises(InputError) as info:
        load_yaml(path)
    assert (info.value.file, info.value.line) == (str(path), 2)
    assert "not UTF-8" in info.value.message


def test_a_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "inv.yaml"
    path.write_bytes(b"\xef\xbb\xbforganisation: Region \xc3\x96rebro\n")
    assert load_yaml(path) == {"organisation": "Region Örebro"}


@pytest.mark.parametrize(("text", "line"), [("a: 1\nb: \x07\n", 2), ("a: \ud800\n", 1)])
def test_control_characters_are_refused_on_one_line(text: str, line: int) -> None:
    err = refused(text)
    assert err.line == line
    assert "\n" not in str(err)


# files -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("content", [b"", b"\n\n", b"# only a comment\n", b"---\n"])
def test_an_empty_file_is_none(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "empty.yaml"
    path.write_bytes(content)
    assert load_yaml(path) is None


def test_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        load_yaml(tmp_path)
    assert info.value.file == str(tmp_path)
    assert "directory" in info.value.message


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(InputError) as info:
        load_yaml(path)
    assert str(info.value) == f"{path}: file not found"


def test_a_file_over_the_size_limit_is_refused_before_reading(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import residency_audit.yamlfile as yamlfile

    monkeypatch.setattr(yamlfile, "MAX_BYTES", 10)
    path = tmp_path / "big.yaml"
    path.write_text("organisation: more than ten bytes\n")
    with pytest.raises(InputError) as info:
        load_yaml(path)
    assert "limit" in info.value.message


# other malformed YAML ----------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "line"), [
    ("a: 1\n\tb: 2\n", 2),
    ("a: [1, 2\nb: 3\n", 2),
    ("a: 1\n---\nb: 2\n", 2),
    ("a: 'unterminated\n", 2),
    ("a: b: c\n", 1),
])
def test_syntax_errors_name_a_line(text: str, line: int) -> None:
    err = refused(text)
    assert err.line == line
    assert err.message.startswith("not valid YAML")
    assert "\n" not in str(err)


@pytest.mark.parametrize(("text", "line"), [
    ("a: 1\nb: !!python/object:os.system x\n", 2),
    ("a: !!binary AAA\n", 1),
    ("a: 2026-13-45\n", 1),
    ("a:\n  - 1" + "0" * 5000 + "\n", 2),
])
def test_bad_scalar_values_are_refused_on_one_line(text: str, line: int) -> None:
    err = refused(text)
    assert err.line == line
    assert err.message.startswith("bad value")
    assert "\n" not in str(err)


# size and speed: stopped early, parsed by libyaml when it is there --------------------------------

def test_a_document_with_too_many_values_is_refused_before_it_is_built() -> None:
    from residency_audit.yamlfile import MAX_NODES

    started = time.process_time()
    err = refused("[" + "0," * (MAX_NODES + 1) + "]\n")
    assert "document too large" in err.message and err.line == 1
    assert time.process_time() - started < QUICK


@pytest.mark.parametrize("text", [DOC, "a: [" + "[" * 150 + "]" * 150 + "]\n", "- - - x\n- y: [1, {z: 2}]\n"])
def test_libyaml_and_pyyaml_give_the_same_values_and_lines(text: str) -> None:
    from residency_audit.yamlfile import _BoundedLoader, _Builder

    loader = _BoundedLoader(text, "x.yaml")
    try:
        node = loader.get_single_node()
    finally:
        loader.dispose()
    assert node is not None
    pure = _Builder("x.yaml").build(node, 0, set())
    fast = load_yaml_text(text, "x.yaml")
    assert fast == pure
    if isinstance(fast, YamlDict):
        assert isinstance(pure, YamlDict) and fast.key_lines == pure.key_lines
