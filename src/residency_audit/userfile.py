"""Read a file that a person handed us: regular files only, bounded, UTF-8, clear errors.

Inventories, policies, catalogs, configs, estates and token files all come through
:func:`read_user_bytes` / :func:`read_user_text`. A FIFO, device, directory or socket is refused
before it is opened (so a FIFO never blocks and ``/dev/zero`` is never read), the size limit is
checked before reading and again while reading, a UTF-8 byte order mark is allowed everywhere,
and every failure is one :class:`~residency_audit.errors.InputError` naming the file.

>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> (folder / "a.yaml").write_bytes(b"\\xef\\xbb\\xbfname: x\\n")
11
>>> read_user_text(folder / "a.yaml", max_bytes=100, what="policy")
'name: x\\n'
>>> try:
...     read_user_text(folder, max_bytes=100, what="policy")
... except InputError as exc:
...     print(exc.message)
is a directory, not a policy file
"""

from __future__ import annotations

import errno
import os
import stat

from residency_audit.errors import InputError, display_path

__all__ = ["MAX_BYTES", "decode_user_text", "read_user_bytes", "read_user_text"]

#: The default limit: far more than anyone writes by hand.
MAX_BYTES = 20 * 1024 * 1024

_CHUNK = 1024 * 1024


def _kind(mode: int) -> str | None:
    """What a file that is not a regular file is, in words; None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def _a(what: str) -> str:
    """``what`` with its indefinite article: ``an inventory file``, ``a policy file``."""
    return f"{'an' if what[:1].lower() in 'aeiou' else 'a'} {what} file"


def _size_text(n: int) -> str:
    """``n`` bytes in words: ``20 MiB``, ``1.5 GiB``, ``312 bytes``."""
    for unit, size in (("GiB", 1024 ** 3), ("MiB", 1024 ** 2), ("KiB", 1024)):
        if n >= size:
            value = n / size
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{n} bytes"


def _os_error(name: str, exc: OSError, what: str) -> InputError:
    """An :class:`InputError` for an ``OSError`` from stat, open or read, in plain words."""
    if exc.errno == errno.ENOENT:
        return InputError(name, None, None, "file not found")
    if exc.errno == errno.ELOOP:
        return InputError(name, None, None, "too many levels of symbolic links (a symlink loop?)")
    if exc.errno == errno.EACCES or exc.errno == errno.EPERM:
        return InputError(name, None, None, "permission denied")
    if exc.errno == errno.ENOTDIR:
        return InputError(name, None, None, "file not found (a folder in the path is a file)")
    if exc.errno == errno.ENAMETOOLONG:
        return InputError(name, None, None, "file name too long")
    if exc.errno == errno.EISDIR:
        return InputError(name, None, None, f"is a directory, not {_a(what)}")
    return InputError(name, None, None, f"cannot read: {exc.strerror or type(exc).__name__}")


def _path_name(path: str | os.PathLike[str]) -> str:
    """The path as text, or :class:`InputError` if it cannot name a file."""
    try:
        name = os.fspath(path)
    except TypeError:
        raise InputError(display_path(repr(path)), None, None, "not a file path") from None
    if not isinstance(name, str):
        raise InputError(display_path(repr(name)), None, None, "not a file path")
    if "\x00" in name:
        raise InputError(name, None, None, "the file name contains a NUL byte")
    if not name.strip():
        raise InputError(name or "''", None, None, "the file name is empty")
    return name


def read_user_bytes(path: str | os.PathLike[str], *, max_bytes: int = MAX_BYTES,
                    what: str = "input") -> bytes:
    """The bytes of the regular file at ``path``, at most ``max_bytes`` of them.

    ``what`` names the kind of file in messages (``"inventory"``, ``"estate"``, …). Anything but
    a regular file is refused before it is opened; a file larger than ``max_bytes`` is refused
    before reading, and a file that grows past it while being read is refused too (at most
    ``max_bytes + 1`` bytes are ever read). Errors are :class:`InputError` naming the file.
    """
    name = _path_name(path)
    try:
        info = os.stat(name)
    except OSError as exc:
        raise _os_error(name, exc, what) from None
    except ValueError as exc:  # a path the platform cannot represent
        raise InputError(name, None, None, f"not a usable file name: {exc}") from None
    kind = _kind(info.st_mode)
    if kind is not None:
        raise InputError(name, None, None, f"is {kind}, not {_a(what)}")
    if info.st_size > max_bytes:
        raise InputError(name, None, None, f"file is {_size_text(info.st_size)}; the limit for "
                         f"{_a(what)} is {_size_text(max_bytes)}")
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(name, flags)
    except OSError as exc:
        raise _os_error(name, exc, what) from None
    try:
        kind = _kind(os.fstat(fd).st_mode)  # replaced between stat and open?
        if kind is not None:
            raise InputError(name, None, None, f"is {kind}, not {_a(what)}")
        chunks: list[bytes] = []
        total = 0
        while total <= max_bytes:
            chunk = os.read(fd, min(_CHUNK, max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    except OSError as exc:
        raise _os_error(name, exc, what) from None
    finally:
        os.close(fd)
    if total > max_bytes:
        raise InputError(name, None, None, f"file is larger than the limit for {_a(what)} "
                         f"({_size_text(max_bytes)})")
    return b"".join(chunks)


def decode_user_text(data: bytes, origin: str, *, nul: bool = False) -> str:
    """``data`` as UTF-8 text (a byte order mark allowed and dropped); :class:`InputError`
    naming the line of the first byte that is not UTF-8, or of the first NUL unless ``nul``."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(origin, line, None, "not UTF-8 text") from None
    if not nul and "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise InputError(origin, line, None, "file contains NUL bytes: not a text file")
    return text


def read_user_text(path: str | os.PathLike[str], *, max_bytes: int = MAX_BYTES,
                   what: str = "input") -> str:
    """The UTF-8 text of the regular file at ``path`` (see :func:`read_user_bytes`).

    A UTF-8 byte order mark is allowed and dropped; bytes that are not UTF-8 and NUL bytes are
    an :class:`InputError` naming the file and the line.
    """
    data = read_user_bytes(path, max_bytes=max_bytes, what=what)
    return decode_user_text(data, _path_name(path))
