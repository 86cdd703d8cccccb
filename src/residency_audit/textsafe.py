"""Text from data that cannot attack its reader: terminals, Markdown, XML.

Names, ids, tags and messages come from estates, inventories, catalogs, policies and cloud APIs,
so they may hold terminal escape sequences (ESC, BEL, C1 controls), bidirectional overrides that
make a terminal or a browser show text in another order than it is, markup (HTML, Markdown,
rich's ``[link=…]``) and characters XML 1.0 cannot carry. Each writer passes every data string
through one of these functions:

- :func:`visible` shows control characters (C0, DEL, C1), bidi controls and line/paragraph
  separators as Python-style escapes (``\\x1b``, ``\\u202e``), so that they are seen, not obeyed;
- :func:`markdown_text` and :func:`markdown_code` make a string inert in Markdown (HTML, emphasis,
  links, headings, table pipes, code spans), after :func:`visible`;
- :func:`xml_text` replaces what XML 1.0 forbids (most C0 controls, lone surrogates, U+FFFE,
  U+FFFF) with the same visible escapes, so that every document stays well-formed.

>>> visible("bucket\\x1b]8;;http://x\\x07name\\u202egpj")
'bucket\\\\x1b]8;;http://x\\\\x07name\\\\u202egpj'
>>> markdown_text("<b>a|b</b> *x*")
'&lt;b&gt;a\\\\|b&lt;/b&gt; \\\\*x\\\\*'
>>> xml_text("a\\x01b")
'a\\\\x01b'
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, TypeVar

_T = TypeVar("_T")

__all__ = ["encodable", "json_safe", "markdown_code", "markdown_text", "terminal_text", "visible",
           "visible_fields", "xml_document", "xml_text"]

# C0 controls, DEL, C1 controls, the bidi embeddings/overrides/isolates and marks, the line and
# paragraph separators, lone surrogates (which UTF-8 cannot carry), and the two non-characters.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
                     "\ud800-\udfff\ufffe\uffff]")
_UNSAFE_KEEP_LINES = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029"
                                "\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]")
# What XML 1.0 forbids (tab, line feed and carriage return are allowed).
_XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# Markdown punctuation that can start or end an inline construct, anywhere in a line.
# An underscore between two letters or digits never delimits emphasis, so ``regions_aws`` stays.
_MD_INLINE = re.compile(r"[\\`*\[\]|~<>&!]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
# ... and what only matters at the start of a line (headings, lists, quotes, rules, tables).
_MD_LINE_START = re.compile(r"^(\s*)([#>+\-=])")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: object) -> str:
    """``text`` with every control, bidi and separator character shown as an escape (one line)."""
    s = str(text)
    return _UNSAFE.sub(_escape, s) if _UNSAFE.search(s) else s


def terminal_text(text: object) -> str:
    """Like :func:`visible`, but line feeds stay line feeds (for multi-line terminal output).

    >>> terminal_text("a\\nb\\x1b[2J")
    'a\\nb\\\\x1b[2J'
    """
    s = str(text)
    return _UNSAFE_KEEP_LINES.sub(_escape, s) if _UNSAFE_KEEP_LINES.search(s) else s


_SURROGATE = re.compile("[\ud800-\udfff]")


def encodable(text: str) -> str:
    """``text`` with each lone surrogate (which no UTF-8 stream can carry) shown as its escape.

    >>> print(encodable("ok " + chr(0xdc80)))
    ok \\udc80
    """
    return _SURROGATE.sub(_escape, text) if _SURROGATE.search(text) else text


# What json.dumps(ensure_ascii=False) leaves raw and a terminal may obey or hide: DEL, C1
# controls, bidi controls, separators, lone surrogates and non-characters.
_JSON_RAW = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
                       "\ud800-\udfff\ufffe\uffff]")


def json_safe(text: str) -> str:
    """JSON text from ``json.dumps(..., ensure_ascii=False)`` with the characters a terminal
    may obey written as ``\\uXXXX`` escapes: the same JSON value, byte-safe to ``cat``.

    Outside strings JSON is plain ASCII, so every such character stands inside a string, where
    its escape means the same character.

    >>> import json
    >>> doc = json.dumps({"name": "a\u202eb\x9b"}, ensure_ascii=False)
    >>> json_safe(doc)
    '{"name": "a\\\\u202eb\\\\u009b"}'
    >>> json.loads(json_safe(doc)) == json.loads(doc)
    True
    """
    if text.isascii() and "\x7f" not in text:  # the usual case, told without a scan of the text
        return text
    return _JSON_RAW.sub(lambda m: f"\\u{ord(m.group()):04x}", text) if _JSON_RAW.search(text) else text


def xml_text(text: object) -> str:
    """``text`` that any XML 1.0 document can carry: forbidden characters become visible escapes."""
    s = str(text)
    return _XML_FORBIDDEN.sub(_escape, s) if _XML_FORBIDDEN.search(s) else s


_LINE_BREAK = re.compile("\r\n|[\r\n]")


def _one_line(text: object) -> str:
    return _LINE_BREAK.sub(" ", str(text))


def _md_inline(match: re.Match[str]) -> str:
    ch = match.group()
    return {"<": "&lt;", ">": "&gt;", "&": "&amp;"}.get(ch, "\\" + ch)


def markdown_text(text: object) -> str:
    """``text`` as inert Markdown on one line: no HTML, emphasis, link, heading or table cell break.

    Line breaks become spaces; controls are shown as escapes (whose backslash is itself escaped,
    so that ``\\x1b`` reads as ``\\x1b`` once rendered).

    >>> markdown_text("# [click](javascript:x) _a_ b_c")
    '\\\\# \\\\[click\\\\](javascript:x) \\\\_a\\\\_ b_c'
    """
    s = visible(_one_line(text))
    s = _MD_INLINE.sub(_md_inline, s)
    return _MD_LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2), s)


def markdown_code(text: object, *, table: bool = False) -> str:
    """``text`` as one inline Markdown code span (HTML and emphasis are literal inside one).

    The fence is one backtick longer than the longest run of backticks inside. With ``table``,
    ``|`` is escaped: a table splits a cell at it even inside code. Controls are shown as escapes.

    >>> markdown_code("a`b|c", table=True)
    '``a`b\\\\|c``'
    """
    s = visible(_one_line(text))
    if table and "\\" in s and "|" in s:
        # A table row is split before code spans are read, and a backslash there escapes the
        # next character, so no code span can hold "\|": write it as escaped text instead.
        return markdown_text(text)
    longest = max((len(run) for run in re.findall("`+", s)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if s.startswith(("`", " ")) or s.endswith(("`", " ")) else ""
    if table:
        s = s.replace("|", "\\|")
    return f"{fence}{pad}{s}{pad}{fence}"


_CHARREF = re.compile(r"&#(?:x([0-9A-Fa-f]+)|([0-9]+));")


def _charref(match: re.Match[str]) -> str:
    code = int(match.group(1), 16) if match.group(1) else int(match.group(2))
    ch = chr(code) if code <= 0x10FFFF else "\ufffd"
    return xml_text(ch) if _XML_FORBIDDEN.match(ch) else match.group()


def xml_document(text: str) -> str:
    """A serialised XML document made well-formed: forbidden characters, raw or written as
    character references (some serialisers emit ``&#65534;``), become visible escapes.

    A serialiser writes ``&`` of the data as ``&amp;``, so every character reference in its output
    stands for a character of the data, and every forbidden character stands in text or an
    attribute value.

    >>> xml_document('<a b="x&#1;">\x02&#65534;&amp;#1;</a>')
    '<a b="x\\\\x01">\\\\x02\\\\ufffe&amp;#1;</a>'
    """
    return _CHARREF.sub(_charref, xml_text(text)) if "&#" in text else xml_text(text)


def visible_fields(value: _T) -> _T:
    """A copy of a frozen record (dataclasses, tuples and lists of them) whose every plain
    string field is :func:`visible`; enums and numbers are kept as they are.

    So a record that formats itself over several lines (``Explanation.__str__``) prints data
    line breaks and escapes as escapes, and only its own line breaks as line breaks.

    >>> import dataclasses
    >>> @dataclasses.dataclass(frozen=True)
    ... class Step:
    ...     label: str
    ...     notes: tuple[str, ...]
    >>> visible_fields(Step(label="a\\nb", notes=("\\x1b[2J",)))
    Step(label='a\\\\x0ab', notes=('\\\\x1b[2J',))
    """
    return _visible_fields(value)  # type: ignore[no-any-return]


def _visible_fields(value: Any) -> Any:
    if type(value) is str:
        return visible(value)
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return tuple(_visible_fields(v) for v in value)
    if isinstance(value, list):
        return [_visible_fields(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {f.name: _visible_fields(getattr(value, f.name))
                   for f in dataclasses.fields(value) if f.init}
        return dataclasses.replace(value, **changes)
    return value
