"""Load YAML that people write, keeping the line of every value for error messages.

Auditors write inventories and policies by hand, so every error must name the file, the line
and the field. :func:`load_yaml` returns plain ``dict``/``list`` subclasses that remember
where each key and item stood, and refuses what would hang or mislead: duplicate keys, alias
bombs, absurd nesting, non-UTF-8 bytes and files too large to be hand-written.

>>> doc = load_yaml_text("a:\\n  b: [1, 2]\\n", "x.yaml")
>>> doc["a"]["b"], line_of(doc["a"], "b")
([1, 2], 2)
"""

from __future__ import annotations

import datetime as dt
import os
import re
import typing
from collections.abc import Sequence
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, BeforeValidator, ValidationError

from residency_audit import userfile
from residency_audit.errors import InputError, unknown_field_message

__all__ = [
    "CalendarDate",
    "YamlDict",
    "YamlList",
    "first_error",
    "line_of",
    "load_yaml",
    "load_yaml_text",
    "nesting_line",
    "read_user_text",
    "validation_error_to_input_error",
]

MAX_BYTES = userfile.MAX_BYTES
MAX_NODES = 1_000_000
MAX_DEPTH = 200


def _calendar_date(value: Any) -> Any:
    """Refuse numbers as dates: pydantic would read ``20270131`` or ``0`` as Unix time (1970)."""
    if isinstance(value, bool | int | float) or (isinstance(value, str) and value.strip().isdigit()):
        raise ValueError("a date is written YYYY-MM-DD")
    return value


#: A date as people write it (``2027-01-31``), never a number read as seconds since 1970.
CalendarDate = Annotated[dt.date, BeforeValidator(_calendar_date)]


class YamlDict(dict[Any, Any]):
    """A mapping that knows its own line and the line of each key (1-based)."""

    line: int = 0
    key_lines: dict[Any, int]


class YamlList(list[Any]):
    """A sequence that knows its own line and the line of each item (1-based)."""

    line: int = 0
    item_lines: list[int]


def line_of(container: Any, key: Any = None) -> int | None:
    """The line of ``container[key]`` (or of the container itself), if known."""
    if isinstance(container, YamlDict):
        return container.key_lines.get(key, container.line) if key is not None else container.line
    if isinstance(container, YamlList):
        if isinstance(key, int) and 0 <= key < len(container.item_lines):
            return container.item_lines[key]
        return container.line
    return None


class _Builder:
    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.count = 0
        self.constructor = yaml.SafeLoader("")  # used only to construct scalars

    def build(self, node: yaml.Node, depth: int, stack: set[int]) -> Any:
        self.count += 1
        line = node.start_mark.line + 1
        if self.count > MAX_NODES:
            raise InputError(self.origin, line, None,
                             f"document too large or too many aliases (over {MAX_NODES} values)")
        if depth > MAX_DEPTH:
            raise InputError(self.origin, line, None, f"nesting deeper than {MAX_DEPTH} levels")
        if id(node) in stack:
            raise InputError(self.origin, line, None, "recursive alias")
        if isinstance(node, yaml.ScalarNode):
            try:
                return self.constructor.construct_object(node, deep=True)
            except yaml.MarkedYAMLError as exc:
                raise InputError(self.origin, line, None, f"bad value: {exc.problem or exc}") from None
            except (yaml.YAMLError, ValueError, OverflowError) as exc:
                raise InputError(self.origin, line, None, f"bad value: {_one_line(exc)}") from None
        stack.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                out_list = YamlList()
                out_list.line = line
                out_list.item_lines = []
                for item in node.value:
                    out_list.append(self.build(item, depth + 1, stack))
                    out_list.item_lines.append(item.start_mark.line + 1)
                return out_list
            if isinstance(node, yaml.MappingNode):
                out = YamlDict()
                out.line = line
                out.key_lines = {}
                for key_node, value_node in node.value:
                    key_line = key_node.start_mark.line + 1
                    if key_node.tag == "tag:yaml.org,2002:merge":
                        raise InputError(self.origin, key_line, None,
                                         "merge keys ('<<') are not supported")
                    key = self.build(key_node, depth + 1, stack)
                    if not isinstance(key, str | int | float | bool) or key is None:
                        raise InputError(self.origin, key_line, None,
                                         "mapping keys must be plain text")
                    if key in out:
                        raise InputError(self.origin, key_line, str(key), "duplicate key")
                    out[key] = self.build(value_node, depth + 1, stack)
                    out.key_lines[key] = key_line
                return out
        finally:
            stack.discard(id(node))
        raise InputError(self.origin, line, None, f"unsupported YAML node {node.tag}")


def _one_line(exc: BaseException) -> str:
    """The first line of an exception's message: errors are printed on one line."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _expanded_size(node: yaml.Node, memo: dict[int, int], active: set[int]) -> int:
    """How many values ``node`` becomes once aliases are expanded, counted without expanding.

    Shared (aliased) nodes are counted once per use from a memo, so an alias bomb is measured
    in time linear in the text. A recursive alias counts 1 here; :class:`_Builder` refuses it.
    """
    key = id(node)
    if key in memo:
        return memo[key]
    if key in active:
        return 1
    active.add(key)
    total = 1
    if isinstance(node, yaml.SequenceNode):
        for item in node.value:
            total += _expanded_size(item, memo, active)
            if total > MAX_NODES:
                break
    elif isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            total += _expanded_size(key_node, memo, active) + _expanded_size(value_node, memo, active)
            if total > MAX_NODES:
                break
    active.discard(key)
    memo[key] = total
    return total


#: Quoted strings, comments and flow brackets: what :func:`_flow_too_deep` looks at.
_FLOW_TOKEN = re.compile(r""""(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|(?:^|(?<=\s))#[^\n]*|[\[\]{}]""",
                         re.MULTILINE)


def _flow_too_deep(text: str) -> int | None:
    """The line where flow collections (``[``, ``{``) first nest deeper than :data:`MAX_DEPTH`.

    Checked before parsing: PyYAML's scanner slows down quadratically with flow depth, so a few
    kilobytes of ``[`` would keep it busy for seconds before any depth check could run. Quoted
    strings and comments are skipped; a bracket inside a plain scalar counts, which can only
    matter past :data:`MAX_DEPTH` unclosed brackets.
    """
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return None
    return nesting_line(text, _FLOW_TOKEN, MAX_DEPTH)


def nesting_line(text: str, tokens: re.Pattern[str], limit: int) -> int | None:
    """The line where brackets (``[``, ``{``) among the ``tokens`` matches first nest deeper than
    ``limit``, if they do; the other matches (quoted strings, comments) are skipped."""
    depth = 0
    for m in tokens.finditer(text):
        tok = m.group()
        if tok in ("[", "{"):
            depth += 1
            if depth > limit:
                return text.count("\n", 0, m.start()) + 1
        elif tok in ("]", "}"):
            depth = max(0, depth - 1)
    return None


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, stopped as soon as the document has more than :data:`MAX_NODES`
    nodes or nests deeper than :data:`MAX_DEPTH`: a 20 MiB list of numbers would otherwise
    become gigabytes of nodes before any check could run."""

    def __init__(self, text: str, origin: str) -> None:
        super().__init__(text)
        self.origin = origin
        self.nodes = 0
        self.depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self.nodes += 1
        self.depth += 1
        try:
            if self.nodes > MAX_NODES or self.depth > MAX_DEPTH + 1:
                line = self.peek_event().start_mark.line + 1  # type: ignore[no-untyped-call]
                if self.nodes > MAX_NODES:
                    raise InputError(self.origin, line, None, f"document too large (over {MAX_NODES} "
                                     "values)")
                raise InputError(self.origin, line, None, f"nesting deeper than {MAX_DEPTH} levels")
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


_NODE_EVENTS = (yaml.ScalarEvent, yaml.SequenceStartEvent, yaml.MappingStartEvent, yaml.AliasEvent)


def _event_line(event: yaml.Event) -> int | None:
    mark = event.start_mark
    return None if mark is None else mark.line + 1


def _check_events(text: str, origin: str) -> bool:
    """Count the nodes and the depth of ``text`` with libyaml's parser, stopping as soon as either
    is over its limit (:class:`InputError`). False if libyaml finds the text malformed: then the
    pure-Python loader runs, for its usual error messages."""
    nodes = 0
    depth = 0
    try:
        for event in yaml.parse(text, Loader=yaml.CSafeLoader):
            if isinstance(event, _NODE_EVENTS):
                nodes += 1
                if nodes > MAX_NODES:
                    raise InputError(origin, _event_line(event), None,
                                     f"document too large (over {MAX_NODES} values)")
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise InputError(origin, _event_line(event), None,
                                     f"nesting deeper than {MAX_DEPTH} levels")
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except (yaml.YAMLError, UnicodeError):  # UnicodeError: a lone surrogate libyaml cannot take
        return False
    return True


def _compose(text: str, origin: str) -> Any:
    """The node tree of the one YAML document in ``text``, bounded in size and depth.

    With libyaml, the events are counted first (fast, and stopped at the first value over a
    limit), then libyaml composes: several times faster than PyYAML's Python code on big files.
    Without libyaml, or for a malformed text, :class:`_BoundedLoader` does both.
    """
    if getattr(yaml, "__with_libyaml__", False) and _check_events(text, origin):
        try:
            return yaml.compose(text, Loader=yaml.CSafeLoader)
        except yaml.YAMLError:
            pass  # the same text again through PyYAML, whose messages the errors below expect
    loader = _BoundedLoader(text, origin)
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()


def load_yaml_text(text: str, origin: str) -> Any:
    """Parse one YAML document from ``text``; ``origin`` names it in errors."""
    if "\x00" in text:
        raise InputError(origin, text[: text.index("\x00")].count("\n") + 1, None,
                         "file contains NUL bytes: not a YAML text file")
    deep = _flow_too_deep(text)
    if deep is not None:
        raise InputError(origin, deep, None, f"nesting deeper than {MAX_DEPTH} levels")
    try:
        root = _compose(text, origin)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise InputError(origin, line, None, f"not valid YAML: {exc.problem or exc}") from None
    except yaml.reader.ReaderError as exc:
        line = text[: exc.position].count("\n") + 1
        char = f"U+{exc.character:04X}" if isinstance(exc.character, int) else repr(exc.character)
        raise InputError(origin, line, None, f"not valid YAML: {exc.reason} ({char})") from None
    except yaml.YAMLError as exc:
        raise InputError(origin, None, None, f"not valid YAML: {_one_line(exc)}") from None
    except RecursionError:
        raise InputError(origin, None, None, f"nesting deeper than {MAX_DEPTH} levels") from None
    if root is None:
        return None
    if _expanded_size(root, {}, set()) > MAX_NODES:
        raise InputError(origin, root.start_mark.line + 1, None,
                         f"document too large or too many aliases (over {MAX_NODES} values)")
    try:
        return _Builder(origin).build(root, 0, set())
    except RecursionError:
        raise InputError(origin, None, None, f"nesting deeper than {MAX_DEPTH} levels") from None


def read_user_text(path: str | os.PathLike[str], *, max_bytes: int | None = None,
                   what: str = "input") -> str:
    """The UTF-8 text of a file a person wrote (at most ``max_bytes``, default :data:`MAX_BYTES`);
    :class:`InputError` for what cannot be read. See :mod:`residency_audit.userfile`."""
    return userfile.read_user_text(path, max_bytes=MAX_BYTES if max_bytes is None else max_bytes,
                                   what=what)


def load_yaml(path: str | os.PathLike[str], *, max_bytes: int | None = None,
              what: str = "YAML") -> Any:
    """Read and parse the YAML file at ``path`` (see :func:`read_user_text`)."""
    return load_yaml_text(read_user_text(path, max_bytes=max_bytes, what=what), str(path))


def _locate(root: Any, loc: Sequence[int | str]) -> tuple[int | None, str]:
    """Walk ``loc`` into ``root``: the deepest line found and a dotted field name."""
    line = line_of(root)
    node = root
    parts: list[str] = []
    for step in loc:
        if isinstance(step, str) and node is not None and not isinstance(node, dict):
            continue  # a union member's tag (``list[constrained-str]``), not a field of the file
        if isinstance(step, int):
            parts.append(f"[{step}]")
        else:
            parts.append(("." if parts else "") + str(step))
        if isinstance(node, dict) and step in node:
            line = line_of(node, step) or line
            node = node[step]
        elif isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node):
            line = line_of(node, step) or line
            node = node[step]
        else:
            node = None
    return line, "".join(parts)


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models an annotation can hold (through ``Annotated``, unions, lists, dicts)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    out: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):
        out += _models_in(arg)
    return out


def _fields_at(model: type[BaseModel], loc: Sequence[int | str]) -> list[str]:
    """The field names valid in the mapping at ``loc`` of a document validated by ``model``."""
    models = [model]
    for step in loc:
        if not isinstance(step, str):
            continue
        inner = [m for m in models if step in m.model_fields]
        if not inner:
            continue  # a union member's tag in pydantic's location, not a key of the document
        models = [x for m in inner for x in _models_in(m.model_fields[step].annotation)]
    return sorted({name for m in models for name in m.model_fields})


_YAML_BOOLEAN_HINT = ("; YAML reads yes, no, on, off, true and false as booleans: put the value "
                      "in quotes (country: 'NO')")


def first_error(exc: ValidationError, model: type[BaseModel] | None = None, *,
                yaml_hints: bool = False) -> tuple[list[int | str], str]:
    """The most useful error of a pydantic ``ValidationError``: its location and message.

    An unknown key comes first, with the closest valid key when ``model`` is given ("unknown
    field 'regoin' (did you mean 'region'?)"): it is the cause of the "Field required" that
    follows it. With ``yaml_hints``, text that YAML read as a boolean (``country: NO``) gets a
    hint to quote it. The message counts the other errors.
    """
    errors = exc.errors()

    def rank(e: Any) -> tuple[int, list[str]]:
        return (0 if e["type"] == "extra_forbidden" else 1, [str(x) for x in e["loc"]])

    err = min(errors, key=rank)
    loc = [x for x in err["loc"] if not (isinstance(x, str) and x.startswith("function-"))]
    if err["type"] == "extra_forbidden" and loc and isinstance(loc[-1], str):
        known = _fields_at(model, loc[:-1]) if model is not None else []
        message = unknown_field_message(loc[-1], known) if known else f"unknown field {loc[-1]!r}"
    else:
        message = err["msg"].removeprefix("Value error, ")
        if yaml_hints and err["type"] == "string_type" and isinstance(err.get("input"), bool):
            message += _YAML_BOOLEAN_HINT
    more = len(errors) - 1
    if more:
        message += f" (and {more} more error{'s' if more > 1 else ''})"
    return loc, message


def validation_error_to_input_error(
    exc: ValidationError, root: Any, origin: str, prefix: Sequence[int | str] = (),
    *, model: type[BaseModel] | None = None,
) -> InputError:
    """The most useful error of a pydantic ``ValidationError`` (see :func:`first_error`) as an
    :class:`InputError` naming the line and the field in the YAML document ``root``."""
    loc, message = first_error(exc, model, yaml_hints=True)
    line, field = _locate(root, [*prefix, *loc])
    return InputError(origin, line, field or None, message)
