"""The JSON report: a versioned, documented schema (``report-schema.json`` beside this file).

The content is the audit's typed view (:mod:`residency_audit.view`) in its JSON form. Everything
is sorted and no clock is read: the same estate, catalog, policy and evaluation date give the
same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from importlib import resources
from typing import Any

from residency_audit.pipeline import Audit
from residency_audit.textsafe import json_safe
from residency_audit.view import (
    REPORT_SCHEMA_VERSION,
    AuditView,
    HolderView,
    build_view,
    placement_dict,
    view_dict,
)

__all__ = ["REPORT_SCHEMA_VERSION", "as_view", "indented_json_chunks", "json_chunks", "render_json", "report_dict",
           "report_schema"]

_CHUNK_CHARS = 1 << 20


def report_schema() -> dict[str, Any]:
    """The JSON Schema of the report."""
    text = resources.files("residency_audit.report").joinpath("report-schema.json").read_text(
        encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def as_view(a: Audit | AuditView) -> AuditView:
    """``a`` itself when it is a view; else its view, built now (build it once and pass it on
    when several writers read the same audit)."""
    return a if isinstance(a, AuditView) else build_view(a)


def report_dict(a: Audit | AuditView) -> dict[str, Any]:
    """The report as a JSON-ready dict (:func:`~residency_audit.view.view_dict` of the view)."""
    return view_dict(as_view(a))


def render_json(a: Audit | AuditView) -> str:
    """The report as sorted, indented JSON text ending in a newline (``json.dumps`` with
    ``indent=2, sort_keys=True, ensure_ascii=False``, written by :func:`indented_json_chunks`)."""
    return "".join(json_chunks(a))


def json_chunks(a: Audit | AuditView) -> Iterator[str]:
    """The text of :func:`render_json` in pieces of about a mebibyte, made as they are written
    (the same characters in the same order; a report is never held whole).

    The holders, the longest section, are written from the view without a dict per holder:
    holders share placements, operators and laws, and each shared part is encoded once.
    """
    v = as_view(a)
    sections = view_dict(v, holders=False)
    for piece in indented_json_chunks(sections, raw={"holders": _holder_texts(v.holders)}):
        yield json_safe(piece)


def _holder_texts(holders: Iterable[HolderView]) -> Iterator[str]:
    """Each holder's entry of the report as ``json.dumps(..., indent=2, sort_keys=True)`` writes it
    inside the top-level ``holders`` list (the keys of :func:`~residency_audit.view.view_dict`)."""
    enc = _encode_text
    lists: dict[tuple[str, ...], str] = {}
    places: dict[int, str] = {}
    keep: list[object] = []  # the tuples whose id keys ``places``, alive while it is used

    def text_list(items: tuple[str, ...]) -> str:
        found = lists.get(items)
        if found is None:
            out: list[str] = []
            _encode(list(items), 3, out)
            found = lists[items] = "".join(out)
        return found

    for h in holders:
        placements = places.get(id(h.placements))
        if placements is None:
            out: list[str] = []
            _encode([placement_dict(p) for p in h.placements], 3, out)
            placements = places[id(h.placements)] = "".join(out)
            keep.append(h.placements)
        yield (f'{{\n      "kind": {enc(h.kind)},\n      "label": {enc(h.label)},\n      "node": {enc(h.node)},'
               f'\n      "operators": {text_list(h.operators)},\n      "placements": {placements},'
               f'\n      "provider": {enc(h.provider)},\n      "reached_by": {text_list(h.reached_by)},'
               f'\n      "seen": {"true" if h.seen else "false"},\n      "service": {enc(h.service)}\n    }}')


def indented_json_chunks(value: Any, *, chunk_chars: int = _CHUNK_CHARS,
                         raw: Mapping[str, Iterable[str]] | None = None) -> Iterator[str]:
    """``json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\\n"`` in pieces.

    The standard library encodes indented JSON in pure Python, one generator per level of
    nesting for every token; this writes the same characters by direct recursion (about three
    times faster) and hands them on after each element of the two outer levels once a piece is
    about ``chunk_chars`` long (counted as tokens of 16 characters). Keys must be text; a value of another type than text, number,
    boolean, null, list, tuple or dict raises :class:`TypeError`, as ``json.dumps`` would.
    ``raw`` gives, for top-level keys of a dict ``value``, the encoded elements of a list to
    write in that key's sorted place (each as it stands at the second level).
    """
    out: list[str] = []
    # Most tokens are short: a piece is flushed by its count of tokens, a cheap stand-in for length.
    tokens = max(1, chunk_chars // 16)
    extra = dict(raw or {})

    def flush() -> Iterator[str]:
        if out:
            text = "".join(out)
            out.clear()
            yield text

    if isinstance(value, dict) and (value or extra):
        out.append("{")
        for i, key in enumerate(_sorted_keys({**value, **extra})):
            out.append(",\n  " if i else "\n  ")
            out.append(_encode_text(key))
            out.append(": ")
            if key in extra:
                empty = True
                for j, text in enumerate(extra[key]):
                    out.append(",\n    " if j else "[\n    ")
                    out.append(text)
                    empty = False
                    if len(out) >= tokens:
                        yield from flush()
                out.append("[]" if empty else "\n  ]")
                continue
            item = value[key]
            if isinstance(item, list | tuple) and item:
                out.append("[")
                for j, element in enumerate(item):
                    out.append(",\n    " if j else "\n    ")
                    _encode(element, 2, out)
                    if len(out) >= tokens:
                        yield from flush()
                out.append("\n  ]")
            else:
                _encode(item, 1, out)
        out.append("\n}")
    else:
        _encode(value, 0, out)
    out.append("\n")
    yield from flush()


_encode_text = json.encoder.encode_basestring


def _sorted_keys(d: dict[Any, Any]) -> list[str]:
    keys = sorted(d)
    for k in keys:
        if not isinstance(k, str):
            raise TypeError(f"keys must be text here, not {type(k).__name__}")
    return keys


def _float_text(x: float) -> str:
    if x != x:
        return "NaN"
    if x in (float("inf"), float("-inf")):
        return "Infinity" if x > 0 else "-Infinity"
    return float.__repr__(x)


def _encode(o: Any, level: int, out: list[str]) -> None:
    """Append the indented JSON of ``o`` (at nesting ``level``) to ``out``, as json.dumps writes it."""
    if isinstance(o, str):
        out.append(_encode_text(o))
    elif o is None:
        out.append("null")
    elif o is True:
        out.append("true")
    elif o is False:
        out.append("false")
    elif isinstance(o, int):
        out.append(int.__repr__(o))
    elif isinstance(o, float):
        out.append(_float_text(o))
    elif isinstance(o, list | tuple):
        if not o:
            out.append("[]")
            return
        inner = "\n" + "  " * (level + 1)
        if isinstance(o[0], str):  # a list of text (holders, countries, laws): joined at once
            try:
                texts = [_encode_text(x) for x in o]
            except TypeError:
                pass
            else:
                out.append("[" + inner + ("," + inner).join(texts) + "\n" + "  " * level + "]")
                return
        out.append("[")
        first = True
        for element in o:
            out.append(inner if first else "," + inner)
            first = False
            _encode(element, level + 1, out)
        out.append("\n" + "  " * level + "]")
    elif isinstance(o, dict):
        if not o:
            out.append("{}")
            return
        inner = "\n" + "  " * (level + 1)
        out.append("{")
        first = True
        for key in _sorted_keys(o):
            out.append(inner if first else "," + inner)
            first = False
            out.append(_encode_text(key))
            out.append(": ")
            _encode(o[key], level + 1, out)
        out.append("\n" + "  " * level + "}")
    else:
        raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")
