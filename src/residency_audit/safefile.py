"""Write output files safely: whole or not at all, never through a link, never over an input.

Every file this package writes (reports, estates, graph exports, the outputs of a scheduled run)
goes through :func:`write_text` or :func:`write_bytes`:

- the text goes to a temporary file in the target's folder (mode 0600 whatever the umask), is
  flushed and synced to disk, then renamed over the target, and the folder is synced: a kill, a
  full disk or a file-size limit leaves the previous file whole, and the temporary file is
  removed on any error it can see;
- a target that is a symbolic link is refused, and so is anything but a regular file (a device
  such as ``/dev/null``, a FIFO, a directory): it is never opened, truncated or chmod'ed;
- a target that is one of the command's inputs (the same file by device and inode, or the same
  resolved path) is refused, so that ``-o inventory.yaml`` cannot destroy the inventory;
- folders it creates are mode 0700 whatever the umask;
- every failure is an :class:`OutputError` naming the file, one line, never a traceback.

>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> write_text(folder / "out" / "report.md", "# Report\\n", make_folders=True)
>>> oct((folder / "out" / "report.md").stat().st_mode & 0o777), oct((folder / "out").stat().st_mode & 0o777)
('0o600', '0o700')
>>> try:
...     write_text(folder / "out" / "report.md", "x", inputs=[folder / "out" / "report.md"])
... except OutputError as exc:
...     print(exc.message)
is one of this command's input files; refusing to overwrite it
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path

from residency_audit.errors import ResidencyAuditError

__all__ = ["FILE_MODE", "FOLDER_MODE", "OutputError", "check_output", "create_folders", "write_bytes",
           "write_chunks", "write_text", "write_text_chunks"]

FILE_MODE = 0o600
FOLDER_MODE = 0o700
_CHUNK = 1 << 20
log = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]


class OutputError(ResidencyAuditError):
    """An output file could not be written; the message names it (``path: reason``)."""

    def __init__(self, path: PathLike, message: str) -> None:
        self.path = os.fspath(path)
        self.message = message
        super().__init__(f"{self.path}: {message}")


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__


def _same_file(target: Path, target_stat: os.stat_result | None, other: PathLike) -> bool:
    """True when ``other`` is ``target``: same device and inode, or the same resolved path."""
    if target_stat is not None:
        try:
            st: os.stat_result | None = os.stat(other)
        except OSError:
            st = None  # an input that does not exist (any more) is compared by path only
        if st is not None and (st.st_dev, st.st_ino) == (target_stat.st_dev, target_stat.st_ino):
            return True
    return os.path.realpath(target) == os.path.realpath(other)


def check_output(path: PathLike, *, inputs: Iterable[PathLike] = ()) -> None:
    """Refuse ``path`` as an output unless writing it is safe (see the module docstring).

    Cheap; call it before a long scan so that a bad ``-o`` fails at once. :func:`write_text`
    checks again.
    """
    target = Path(path)
    name = os.fspath(path)
    if not target.name or name.endswith(os.sep) or target.name in (".", ".."):
        raise OutputError(path, "names a folder, not a file")
    try:
        st: os.stat_result | None = os.lstat(target)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise OutputError(path, _reason(exc)) from None
    if st is not None:
        if stat.S_ISLNK(st.st_mode):
            raise OutputError(path, "is a symbolic link; refusing to write through it "
                                    "(remove it or name the file it points to)")
        if not stat.S_ISREG(st.st_mode):
            raise OutputError(path, f"is {_kind(st.st_mode)}, not a regular file; refusing to write to it")
    for other in inputs:
        if _same_file(target, st, other):
            raise OutputError(path, "is one of this command's input files; refusing to overwrite it")


def create_folders(folder: PathLike) -> None:
    """Create ``folder`` and its missing parents, each new one mode 0700 whatever the umask.

    Folders that already exist keep their mode. A path that exists and is not a folder is an
    :class:`OutputError`.
    """
    p = Path(folder)
    missing: list[Path] = []
    while True:
        try:
            st = os.stat(p)
        except FileNotFoundError:
            missing.append(p)
            if p.parent == p:
                break
            p = p.parent
            continue
        except OSError as exc:
            raise OutputError(p, _reason(exc)) from None
        if not stat.S_ISDIR(st.st_mode):
            raise OutputError(p, "is not a folder")
        break
    for new in reversed(missing):
        try:
            os.mkdir(new, FOLDER_MODE)
        except FileExistsError:
            continue  # made meanwhile by someone else: keep its mode
        except OSError as exc:
            raise OutputError(new, f"cannot create the folder: {_reason(exc)}") from None
        try:
            os.chmod(new, FOLDER_MODE)
        except OSError as exc:
            raise OutputError(new, f"cannot set the folder's mode: {_reason(exc)}") from None


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view[:_CHUNK])
        view = view[n:]


def _sync_folder(folder: Path) -> None:
    """Make the rename durable. Some file systems cannot sync a folder; that is logged, not fatal."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError as exc:
        log.debug("cannot open %s to sync it: %s", folder, _reason(exc))
        return
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):
            raise
        log.debug("cannot sync the folder %s: %s", folder, _reason(exc))
    finally:
        os.close(fd)


def write_bytes(path: PathLike, data: bytes, *, inputs: Iterable[PathLike] = (),
                make_folders: bool = False) -> None:
    """Write ``data`` to ``path`` atomically, mode 0600; :class:`OutputError` naming it on failure.

    ``inputs`` are the files the command read; ``path`` may not be one of them. With
    ``make_folders`` the missing folders above ``path`` are created (mode 0700).
    """
    write_chunks(path, (data,), inputs=inputs, make_folders=make_folders)


def write_text_chunks(path: PathLike, chunks: Iterable[str], *, inputs: Iterable[PathLike] = (),
                      make_folders: bool = False) -> None:
    """Write the text ``chunks`` as UTF-8 to ``path`` as they come, atomically, like :func:`write_text`
    (a report too large to hold as one string is never held whole)."""
    write_chunks(path, (c.encode("utf-8", errors="backslashreplace") for c in chunks), inputs=inputs,
                 make_folders=make_folders)


def write_chunks(path: PathLike, chunks: Iterable[bytes], *, inputs: Iterable[PathLike] = (),
                 make_folders: bool = False) -> None:
    """Write ``chunks`` to ``path`` one after the other, with every guarantee of :func:`write_bytes`:
    the file appears whole or not at all (an error while the chunks are made removes the partial
    temporary file and passes on)."""
    target = Path(path)
    check_output(target, inputs=inputs)
    folder = target.parent
    if make_folders:
        create_folders(folder)
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".tmp")
    except FileNotFoundError:
        raise OutputError(path, f"the folder {os.fspath(folder) or '.'} does not exist") from None
    except OSError as exc:
        raise OutputError(path, _reason(exc)) from None
    try:
        try:
            os.fchmod(fd, FILE_MODE)
            for data in chunks:
                _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        check_output(target, inputs=())  # a link or device put there meanwhile: refuse it too
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise OutputError(path, _reason(exc)) from None
        raise
    try:
        _sync_folder(folder if os.fspath(folder) else Path("."))
    except OSError as exc:
        raise OutputError(path, f"written, but the folder could not be synced: {_reason(exc)}") from None


def write_text(path: PathLike, text: str, *, inputs: Iterable[PathLike] = (),
               make_folders: bool = False) -> None:
    """Write ``text`` as UTF-8 to ``path`` atomically, like :func:`write_bytes`.

    A lone surrogate (which UTF-8 cannot carry; it can come from a JSON ``\\udc80`` escape) is
    written as its visible ``\\udc80`` escape, so that the file is always valid UTF-8.
    """
    write_bytes(path, text.encode("utf-8", errors="backslashreplace"), inputs=inputs,
                make_folders=make_folders)
