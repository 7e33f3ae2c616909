"""Exceptions raised by vidstyle. The CLI turns each into one readable line.

Messages are neutral: they name the problem and the keyword argument of the
Python API it concerns (``option``), never a command-line flag; the CLI adds its
own flag hints (``--overwrite``) from ``option``.
"""

from __future__ import annotations

import os


class VidstyleError(Exception):
    """Base class of every error vidstyle raises on bad input or bad files.

    ``option`` is the keyword argument of the Python API that the problem is about
    (``"overwrite"``, ``"crf"``, ...), or ``None``.
    """

    def __init__(self, message: str, *, option: str | None = None) -> None:
        super().__init__(message)
        self.option = option


class FlowFileError(VidstyleError, ValueError):
    """A ``.flo`` file is missing, truncated or not in Middlebury format."""


class CheckpointError(VidstyleError, ValueError):
    """A checkpoint file is missing, corrupt, or not a vidstyle checkpoint."""


class ImageReadError(VidstyleError, ValueError):
    """An image file is missing or cannot be decoded."""


class VideoError(VidstyleError, ValueError):
    """A video cannot be opened, decoded or written."""


class OptionError(VidstyleError, ValueError):
    """A keyword argument (``crf``, ``max_size``, ...) has a value outside what is accepted.

    ``str(e)`` is ``f"{option} {problem}"``, e.g. ``crf must be an integer from 0 to
    51, got 60``; the CLI prints ``problem`` after its own flag name.
    """

    def __init__(self, option: str, problem: str) -> None:
        super().__init__(f"{option} {problem}", option=option)
        self.problem = problem


class OutputExistsError(VidstyleError, FileExistsError):
    """The output exists and ``overwrite`` was not given."""

    def __init__(self, path: str | os.PathLike) -> None:
        super().__init__(f"{path} exists", option="overwrite")
        self.path = path


def first_line(e: BaseException, limit: int = 200) -> str:
    """The first line of an exception's message (its type name if it has none), cut at a
    word boundary with ``...`` if it is longer than ``limit`` characters.

    For an ``OSError`` the errno prefix is dropped: ``No space left on device: 'x.mp4'``.
    """
    if isinstance(e, OSError) and e.strerror:
        text = e.strerror + (f": {e.filename}" if e.filename is not None else "")
    else:
        text = str(e).strip()
    line = text.splitlines()[0].strip() if text.strip() else type(e).__name__
    if len(line) <= limit:
        return line
    cut = line[:limit].rsplit(" ", 1)[0].rstrip(" ,;:(")
    return cut + " ..."
