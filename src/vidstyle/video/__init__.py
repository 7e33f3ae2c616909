"""Video input/output on PyAV: stream RGB frames in, stream them out with their
timestamps and audio.

Sources share one interface (:class:`FrameSource`): ``width``, ``height``,
``fps``, ``frame_count``, ``duration``, ``has_audio``, ``frames()`` yielding
``(rgb, t)`` with ``rgb`` a ``(H, W, 3)`` uint8 array and ``t`` seconds, and
``batches(n)``. :func:`open_source` picks the right one for a path::

    with open_source("in.mp4") as src, VideoWriter(
            "out.mp4", fps=src.fps, width=src.width, height=src.height,
            audio_from=src.path) as dst:
        for rgb, t in src.frames():
            dst.write(stylize(rgb), t)

Every failure on bad input is a :class:`~vidstyle.errors.VideoError` with one
readable line.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

from vidstyle.errors import VideoError
from vidstyle.image import IMAGE_EXTENSIONS
from vidstyle.video.frames import FrameFolderReader, FrameFolderWriter
from vidstyle.video.reader import FrameSource, VideoReader, probe
from vidstyle.video.writer import CONTAINERS, VideoWriter


def open_source(
    path: str | os.PathLike,
    *,
    start: float | None = None,
    duration: float | None = None,
    fps: float | Fraction = 25,
) -> FrameSource:
    """A :class:`VideoReader` for a video file, a :class:`FrameFolderReader` for a
    folder of images or a single image (``fps`` applies to those only;
    ``start``/``duration`` to videos only)."""
    p = Path(path)
    if not p.exists():
        raise VideoError(f"input not found: {p}")
    if p.is_dir() or p.suffix.lower() in IMAGE_EXTENSIONS:
        if start is not None or duration is not None:
            raise VideoError(f"start/duration apply to video files, not to {p}")
        return FrameFolderReader(p, fps=fps)
    return VideoReader(p, start=start, duration=duration)


__all__ = [
    "CONTAINERS",
    "FrameFolderReader",
    "FrameFolderWriter",
    "FrameSource",
    "VideoReader",
    "VideoWriter",
    "open_source",
    "probe",
]
