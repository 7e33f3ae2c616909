"""What the page accepts as input: a video or a photo, checked once when it arrives.

:func:`inspect_media` turns an uploaded path into a :class:`Media` (or raises
:class:`UploadError` with one line a person can act on); everything after it
receives that object, never the raw upload.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vidstyle.errors import VidstyleError
from vidstyle.image import IMAGE_EXTENSIONS
from vidstyle.video import open_source

# Named in messages; any container PyAV can read is accepted.
VIDEO_EXAMPLES = (".mp4", ".mov", ".mkv", ".webm", ".avi")
MB = 1024 * 1024


class UploadError(VidstyleError):
    """An upload the app cannot use: too large, not a video or photo, or empty."""


@dataclass(frozen=True)
class Media:
    """A readable input: a video file or a photo.

    ``frames`` is the container's frame count (an estimate for some videos), 1 for
    a photo; ``fps`` and ``duration`` (seconds) are 0 for a photo.
    """

    path: Path
    kind: str  # "video" or "image"
    width: int
    height: int
    frames: int
    fps: float
    duration: float
    has_audio: bool

    @property
    def name(self) -> str:
        return self.path.name

    def describe(self) -> str:
        """One line for the page, e.g. ``video, 1.0 s, 25 frames at 25 fps, 64x48, with audio``."""
        if self.kind == "image":
            return f"photo, {self.width}x{self.height}"
        audio = "with audio" if self.has_audio else "no audio"
        return (f"video, {self.duration:.1f} s, {self.frames} frames at {self.fps:.3g} fps, "
                f"{self.width}x{self.height}, {audio}")


def _accepted() -> str:
    photos = ", ".join(e for e in IMAGE_EXTENSIONS if e not in (".jpeg", ".tiff"))
    return f"a video ({', '.join(VIDEO_EXAMPLES)}) or a photo ({photos})"


def inspect_media(path: str | Path, *, max_bytes: int) -> Media:
    """Check an uploaded file and describe it.

    Raises :class:`UploadError` naming the file (by its base name) when it is larger
    than ``max_bytes``, empty, or neither a photo nor a video with a decodable frame.
    """
    p = Path(path)
    if not p.is_file():
        raise UploadError(f"{p.name}: no such file")
    size = p.stat().st_size
    if size > max_bytes:
        raise UploadError(f"{p.name} is {size / MB:.1f} MB; this app accepts files up to "
                          f"{max_bytes / MB:.0f} MB (vidstyle app --max-upload-mb)")
    if size == 0:
        raise UploadError(f"{p.name} is empty; upload {_accepted()}")
    is_image = p.suffix.lower() in IMAGE_EXTENSIONS
    try:
        source = open_source(p)
    except VidstyleError as e:
        what = "a photo" if is_image else "a video"
        why = f"it is not {what} vidstyle can read"
        if "audio only" in str(e):
            why = "it has sound but no picture"
        raise UploadError(f"{p.name}: {why}; upload {_accepted()}") from None
    if is_image:
        return Media(p, "image", source.width, source.height, 1, 0.0, 0.0, False)
    return Media(p, "video", source.width, source.height, int(source.frame_count or 0),
                 float(source.fps), float(source.duration or 0.0), source.has_audio)


def first_frame(media: Media) -> np.ndarray:
    """The first frame (or the photo) as ``(H, W, 3)`` uint8 RGB, upright."""
    with open_source(media.path) as source:
        for rgb, _ in source.frames():
            return rgb
    raise UploadError(f"{media.name}: no frame could be decoded")
