"""Outputs that appear whole or not at all, with the permissions of a plain file write.

Every output (video, image, frame, checkpoint, ONNX file, frame folder) is written
to a temporary beside its destination and renamed over it only on success, so an
existing file is never half-overwritten.

* Names: ``.NAME.vidstyle-HOST-PID-RANDOM.part`` for files, the same without
  ``.part`` for folders (``NAME`` shortened if the whole would exceed the file
  system's name limit). ``HOST`` and ``PID`` say whose temporary it is: the first
  time a process writes into a folder, it removes the temporaries there whose
  process (on this host) no longer runs, i.e. what a SIGKILL or a power cut left.
  Temporaries of live processes, of other hosts and every other file are never
  touched.
* Permissions: temporaries are created as ``open()`` would create the file (mode
  0666 or, for folders, 0777, less the umask); a temporary that replaces an
  existing file takes that file's mode.
* Interruption: the callers delete their temporary on any exception, Ctrl-C
  included; the command line turns SIGTERM into the same exception.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import shutil
import socket
import stat
from collections.abc import Callable
from pathlib import Path

from vidstyle.errors import VidstyleError

MARK = "vidstyle"
_HOST = hashlib.sha1(socket.gethostname().encode()).hexdigest()[:8]
_TEMP_RE = re.compile(rf"^\..*\.{MARK}-([0-9a-f]{{8}})-(\d+)-[0-9a-f]{{8}}(\.part)?$", re.DOTALL)
_cleaned: set[tuple[int, Path]] = set()  # (pid, folder): folders this process has swept


def name_max(folder: str | os.PathLike) -> int:
    """The longest file name, in bytes, that the file system of ``folder`` accepts."""
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):
        return 255


def check_name(path: str | os.PathLike) -> None:
    """Raise :class:`VidstyleError` if ``path``'s file name is too long for its file system."""
    p = Path(path)
    n, limit = len(os.fsencode(p.name)), name_max(p.parent if p.parent.is_dir() else ".")
    if n > limit:
        raise VidstyleError(f"output name {p.name[:24]}...{p.name[-12:]} is {n} bytes long; "
                            f"the file system allows {limit}", option="dst")


def temp_path(dst: str | os.PathLike, *, folder: bool = False) -> Path:
    """A fresh temporary name beside ``dst`` (see the module docstring); nothing is created."""
    dst = Path(dst)
    tail = f".{MARK}-{_HOST}-{os.getpid()}-{secrets.token_hex(4)}" + ("" if folder else ".part")
    room = name_max(dst.parent) - len(tail) - 1
    name = os.fsencode(dst.name)[: max(1, room)].decode(errors="ignore") or "x"
    return dst.with_name(f".{name}{tail}")


def _mode_of(path: Path) -> int | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return stat.S_IMODE(st.st_mode) if stat.S_ISREG(st.st_mode) else None


def make_temp_file(dst: str | os.PathLike) -> Path:
    """Create an empty temporary file for ``dst`` and return its path.

    Its mode is that of an existing ``dst``, else 0666 less the umask. Sweeps stale
    temporaries from the folder first (once per process and folder).
    """
    dst = Path(dst)
    remove_stale(dst.parent)
    while True:
        tmp = temp_path(dst)
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        break
    mode = _mode_of(dst)
    if mode is not None:
        try:
            os.chmod(tmp, mode)
        except OSError:
            pass  # keep the umask mode rather than fail the whole write
    return tmp


def make_temp_dir(dst: str | os.PathLike) -> Path:
    """Create an empty temporary folder for ``dst`` (mode 0777 less the umask)."""
    dst = Path(dst)
    remove_stale(dst.parent)
    while True:
        tmp = temp_path(dst, folder=True)
        try:
            os.mkdir(tmp, 0o777)
        except FileExistsError:
            continue
        return tmp


def discard(path: str | os.PathLike) -> None:
    """Delete a temporary file or folder; a missing one is fine."""
    p = Path(path)
    if p.is_dir() and not p.is_symlink():
        shutil.rmtree(p, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            p.unlink()


def atomic_write(path: str | os.PathLike, write: Callable[[str], object]) -> None:
    """Call ``write(tmp_path)`` on a temporary file beside ``path``, then rename it
    over ``path``; on any error the temporary is removed and ``path`` is untouched."""
    dst = Path(path)
    tmp = make_temp_file(dst)
    try:
        write(str(tmp))
        os.replace(tmp, dst)
    except BaseException:
        discard(tmp)
        raise


def replace_file(tmp: str | os.PathLike, dst: str | os.PathLike) -> None:
    """Rename ``tmp`` over ``dst``, giving it the mode of the file it replaces."""
    mode = _mode_of(Path(dst))
    if mode is not None:
        with contextlib.suppress(OSError):
            os.chmod(tmp, mode)
    os.replace(tmp, dst)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # someone else's process
    return True


def is_stale(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a vidstyle temporary left by a process of this host that is gone."""
    m = _TEMP_RE.match(Path(path).name)
    if m is None or m.group(1) != _HOST:
        return False
    pid = int(m.group(2))
    return pid != os.getpid() and not _alive(pid)


def remove_stale(folder: str | os.PathLike, *, force: bool = False) -> list[Path]:
    """Delete the stale temporaries directly inside ``folder`` (see :func:`is_stale`).

    Done once per process and folder unless ``force``; returns what was removed.
    """
    key = (os.getpid(), Path(os.path.abspath(folder)))
    if key in _cleaned and not force:
        return []
    _cleaned.add(key)
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if is_stale(entry.path):
            discard(entry.path)
            if not os.path.lexists(entry.path):
                removed.append(Path(entry.path))
    return removed


__all__ = ["atomic_write", "check_name", "discard", "is_stale", "make_temp_dir",
           "make_temp_file", "name_max", "remove_stale", "replace_file", "temp_path"]
