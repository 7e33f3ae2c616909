"""Folders of numbered frames (PNG, JPG, ...) as video sources and destinations."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from vidstyle.errors import ImageReadError, VideoError
from vidstyle.image import IMAGE_EXTENSIONS, list_images, read_rgb, save_image
from vidstyle.video.reader import FrameSource

if TYPE_CHECKING:
    from typing_extensions import Self


class FrameFolderReader(FrameSource):
    """The images directly inside a folder, in name order, as a video.

    Args:
        path: a folder of images, or a single image file (a one-frame video).
        fps: frame rate to report; frame ``i`` gets time ``i / fps``.

    All images must have the size of the first one (checked while iterating).
    ``names`` lists the file names, so that :class:`FrameFolderWriter` can reuse them.
    """

    def __init__(self, path: str | os.PathLike, *, fps: float | Fraction = 25) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise VideoError(f"frames not found: {self.path}")
        if self.path.is_dir():
            self.files = list_images(self.path)
            if not self.files:
                raise VideoError(f"no images in folder {self.path} "
                                 f"(looked for {', '.join(IMAGE_EXTENSIONS)})")
        elif self.path.suffix.lower() in IMAGE_EXTENSIONS:
            self.files = [self.path]
        else:
            raise VideoError(f"not an image or a folder of images: {self.path}")
        if fps <= 0:
            raise VideoError(f"fps must be > 0, got {fps}")
        self.fps = Fraction(fps).limit_denominator(1_000_000)
        first = self._read(self.files[0])
        self.height, self.width = first.shape[:2]
        self.frame_count = len(self.files)
        self.duration = self.frame_count / float(self.fps)
        self.time_base = 1 / self.fps
        self.rotation = 0
        self.has_audio = False
        self.decode_errors = 0

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.files]

    def _read(self, path: Path) -> np.ndarray:
        try:
            return read_rgb(path)
        except ImageReadError as e:
            raise VideoError(str(e)) from e

    def frames(self) -> Iterator[tuple[np.ndarray, float]]:
        for i, path in enumerate(self.files):
            rgb = self._read(path)
            if rgb.shape[:2] != (self.height, self.width):
                raise VideoError(f"{path} is {rgb.shape[1]}x{rgb.shape[0]}, but the frames in "
                                 f"{self.path} are {self.width}x{self.height}")
            yield rgb, i / float(self.fps)

    def __repr__(self) -> str:
        return f"FrameFolderReader({str(self.path)!r}, {self.frame_count} frames)"


class FrameFolderWriter:
    """Write frames as image files into a folder (created if its parent exists).

    Args:
        path: the output folder.
        names: file names for frames 0, 1, ... (e.g. ``FrameFolderReader.names``);
            frames beyond the list, or all without it, are ``frame_%06d.png``.
        ext: replace the names' extension (e.g. ``".png"`` to avoid JPEG loss).

    Each image is written atomically; on an exception inside ``with`` the images
    already written stay (each is complete).
    """

    def __init__(
        self, path: str | os.PathLike, *, names: Sequence[str] | None = None,
        ext: str | None = None,
    ) -> None:
        self.path = Path(path)
        if not self.path.parent.is_dir():
            raise VideoError(f"cannot write frames to {self.path}: folder "
                             f"{self.path.parent} does not exist")
        if self.path.exists() and not self.path.is_dir():
            raise VideoError(f"cannot write frames to {self.path}: it is a file")
        if ext is not None and ext.lower() not in IMAGE_EXTENSIONS:
            raise VideoError(f"unsupported image extension {ext!r} "
                             f"(use one of {', '.join(IMAGE_EXTENSIONS)})")
        try:
            self.path.mkdir(exist_ok=True)
        except OSError as e:
            raise VideoError(f"cannot create {self.path}: {e.strerror}") from e
        if not os.access(self.path, os.W_OK | os.X_OK):
            raise VideoError(f"cannot write frames to {self.path}: the folder is read-only")
        self.names = list(names) if names is not None else []
        self.ext = ext
        self.frames_written = 0

    def write(self, rgb: np.ndarray, pts_seconds: float | None = None) -> None:
        """Save the next frame (``(H, W, 3)`` uint8); ``pts_seconds`` is ignored."""
        i = self.frames_written
        name = self.names[i] if i < len(self.names) else f"frame_{i:06d}.png"
        if self.ext is not None:
            name = Path(name).stem + self.ext
        try:
            save_image(rgb, self.path / name)
        except (OSError, ValueError) as e:
            raise VideoError(f"cannot write {self.path / name}: {e}") from e
        self.frames_written += 1

    def close(self) -> None:
        """Nothing to flush; for symmetry with :class:`VideoWriter`."""

    def abort(self) -> None:
        """Nothing to undo (every image written is complete)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
