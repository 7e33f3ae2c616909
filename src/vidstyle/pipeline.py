"""Stylize an image, a folder of frames or a video file, streaming and atomically.

Frames are read in batches (bounded memory), optionally scaled down
(``max_size``), stylized, and written with their timestamps; video audio is kept.
The result appears at the destination only when everything succeeded: videos
and images are written to a temporary file and renamed, folders are written to
a temporary sibling folder whose files are then moved into the destination
(an existing folder keeps every file this run does not write).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from vidstyle.atomic import check_name, discard, make_temp_dir, replace_file
from vidstyle.errors import OutputExistsError, VidstyleError
from vidstyle.image import (
    IMAGE_EXTENSIONS,
    fit_long_side,
    resize_rgb,
    save_image,
    to_float_batch,
    to_uint8_batch,
)
from vidstyle.methods.registry import Stylizer
from vidstyle.options import check_option
from vidstyle.video import CONTAINERS, FrameFolderWriter, VideoWriter, open_source
from vidstyle.video.reader import VideoReader

# on_progress(frames done, total frames or None if unknown, frames per second so far)
ProgressFn = Callable[[int, int | None, float], None]


@dataclass
class StylizeReport:
    frames: int
    seconds: float
    output: Path
    decode_errors: int = 0
    ended_early: bool = False

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else float("inf")


def output_kind(src: Path) -> str:
    """``"image"``, ``"folder"`` or ``"video"``."""
    if src.is_dir():
        return "folder"
    if src.suffix.lower() in IMAGE_EXTENSIONS:
        return "image"
    return "video"


DEFAULT_CONTAINER = ".mp4"  # for videos in containers vidstyle does not write (.avi, .ts, .gif)


def default_output(src: Path, tag: str) -> Path:
    """``holiday.mp4`` -> ``holiday.candy.mp4``; ``frames/`` -> ``frames.candy/``.

    ``tag`` is the style's display name (:attr:`vidstyle.reference.StyleRef.name`).

    A video in a container vidstyle cannot write (``.avi``, ``.ts``, ``.gif``, ...)
    gets :data:`DEFAULT_CONTAINER`: ``clip.avi`` -> ``clip.candy.mp4``. A folder named
    ``.`` or ``..`` is named by its real name (``vidstyle stylize .`` in ``shots/``
    writes ``../shots.candy/``).
    """
    src = Path(src)
    if src.name in ("", ".", ".."):
        src = src.resolve()
        if not src.name:
            raise VidstyleError(f"cannot name an output after {src}", option="dst")
    if output_kind(src) == "folder":
        return src.with_name(f"{src.name}.{tag}")
    suffix = src.suffix
    if output_kind(src) == "video" and suffix.lower() not in CONTAINERS:
        suffix = DEFAULT_CONTAINER
    return src.with_name(f"{src.stem}.{tag}{suffix}")


def _within(inner: Path, outer: Path) -> bool:
    """Whether ``inner`` is ``outer`` or lies inside it (after resolving links)."""
    a, b = inner.resolve(), outer.resolve()
    return a == b or b in a.parents


def check_destination(src: Path, dst: Path, overwrite: bool) -> None:
    """One clear error before any work if ``dst`` cannot or must not be written.

    Refused: the input itself; a folder output that is, contains or lies inside the
    input folder; an existing output without ``overwrite``; a missing or read-only
    folder; a name too long for the file system; an extension that does not fit the
    input.
    """
    kind = output_kind(src)
    if dst.resolve() == src.resolve():
        raise VidstyleError(f"output {dst} is the input; choose another output path",
                            option="dst")
    if kind == "folder" and _within(dst, src):
        raise VidstyleError(f"output folder {dst} is inside the input folder {src}; "
                            "choose an output outside it", option="dst")
    if kind == "folder" and _within(src, dst):
        raise VidstyleError(f"output folder {dst} contains the input {src}; "
                            "choose an output beside it", option="dst")
    if not dst.parent.is_dir():
        raise VidstyleError(f"output folder {dst.parent} does not exist", option="dst")
    if not os.access(dst.parent, os.W_OK | os.X_OK):
        raise VidstyleError(f"output folder {dst.parent} is not writable", option="dst")
    check_name(dst)
    if dst.exists() and not overwrite:
        raise OutputExistsError(dst)
    if kind == "video" and dst.suffix.lower() not in CONTAINERS:
        raise VidstyleError(
            f"output {dst.name}: unsupported video extension {dst.suffix!r} "
            f"(use one of {', '.join(sorted(CONTAINERS))})", option="dst"
        )
    if kind == "image" and dst.suffix.lower() not in IMAGE_EXTENSIONS:
        raise VidstyleError(f"output {dst.name}: an image input needs an image output "
                            f"({', '.join(IMAGE_EXTENSIONS)})", option="dst")
    if kind != "folder" and dst.is_dir():
        raise VidstyleError(f"output {dst} is a folder; give a file name", option="dst")
    if kind == "folder" and dst.exists():
        if not dst.is_dir():
            raise VidstyleError(f"output {dst} exists and is not a folder", option="dst")
        if not os.access(dst, os.W_OK | os.X_OK):
            raise VidstyleError(f"output folder {dst} is not writable", option="dst")


def _to_batch(frames: np.ndarray, size: tuple[int, int]) -> torch.Tensor:
    """``(N, H, W, 3)`` uint8 -> ``(N, 3, h, w)`` float in [0, 1], resized to ``size = (h, w)``."""
    if frames.shape[1:3] != size:
        frames = np.stack([resize_rgb(f, size, "area") for f in frames])
    return to_float_batch(frames)


def stylize_path(
    src: str | os.PathLike,
    dst: str | os.PathLike,
    stylizer: Stylizer,
    *,
    max_size: int | None = None,
    batch_size: int = 4,
    crf: int = 18,
    start: float | None = None,
    duration: float | None = None,
    overwrite: bool = False,
    progress: bool = True,
    on_progress: ProgressFn | None = None,
) -> StylizeReport:
    """Stylize ``src`` (video, image or folder of frames) into ``dst``.

    Options are checked by :func:`vidstyle.options.check_option`. Nothing at
    ``dst`` changes unless the whole run succeeds; a folder output only gains or
    replaces the files of this run (other files in it are kept). ``progress``
    shows a progress bar on stderr; ``on_progress(done, total, fps)`` is called
    after every batch with the frames written so far, the total (``None`` where the
    source does not tell) and the frames per second since the start.
    """
    src, dst = Path(src), Path(dst)
    max_size = None if max_size is None else check_option("max_size", max_size)
    batch_size = check_option("batch_size", batch_size)
    crf = check_option("crf", crf)
    if not src.exists():
        raise VidstyleError(f"input not found: {src}")
    check_destination(src, dst, overwrite)
    kind = output_kind(src)
    source = open_source(src, start=start, duration=duration)
    size = fit_long_side(source.height, source.width, max_size)  # (h, w)
    if kind == "folder" and dst.is_dir():
        clash = [n for n in source.names if (dst / n).is_dir()]
        if clash:
            raise VidstyleError(f"cannot write frame {clash[0]} into {dst}: a folder has that name")
    stylizer.reset()

    tmp_dir = None
    if kind == "video":
        extra = isinstance(source, VideoReader) and source.has_extra_streams
        writer = VideoWriter(
            dst, fps=source.fps, width=size[1], height=size[0], crf=crf,
            audio_from=src if extra else None,
            audio_start=start, audio_duration=duration,
            time_base=getattr(source, "time_base", None),
        )
    elif kind == "folder":
        tmp_dir = make_temp_dir(dst)
        writer = FrameFolderWriter(tmp_dir, names=source.names)
    else:
        writer = None

    total = getattr(source, "frame_count", None)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=total, unit="frame", dynamic_ncols=True, desc=f"stylize {src.name}")
    n = 0
    t0 = time.perf_counter()
    try:
        # A stylizer that needs the whole clip first (ruder with passes > 1) gets it as
        # one batch; a batch size beyond the clip's length holds only the frames read.
        whole_clip = getattr(stylizer, "whole_clip", False)
        with source:
            for frames, times in source.batches(sys.maxsize if whole_clip else batch_size):
                out = to_uint8_batch(stylizer(_to_batch(frames, size)))
                for rgb, t in zip(out, times):
                    if writer is None:
                        save_image(rgb, dst)
                    else:
                        writer.write(rgb, t)
                n += len(out)
                if bar is not None:
                    bar.update(len(out))
                if on_progress is not None:
                    elapsed = time.perf_counter() - t0
                    on_progress(n, total, n / elapsed if elapsed > 0 else 0.0)
        if n == 0:
            raise VidstyleError(_no_frames(src, source))
        if writer is not None:
            writer.close()
        if tmp_dir is not None:
            _merge_dir(tmp_dir, dst)
    except BaseException:
        if writer is not None and hasattr(writer, "abort"):
            writer.abort()
        raise
    finally:
        if bar is not None:
            bar.close()
        if tmp_dir is not None:
            discard(tmp_dir)
    seconds = time.perf_counter() - t0
    errors = source.decode_errors if isinstance(source, VideoReader) else 0
    early = source.ended_early if isinstance(source, VideoReader) else False
    return StylizeReport(n, seconds, dst, errors, early)


def _no_frames(src: Path, source) -> str:
    """Why a run produced nothing: an empty span names the span."""
    if isinstance(source, VideoReader) and (source.start > 0 or source.end != source.file_duration):
        end = f"{source.end:g} s" if source.end is not None else "the end"
        length = (f" (the video is {source.file_duration:g} s long)"
                  if source.file_duration is not None else "")
        return f"{src}: no frame between {source.start:g} s and {end}{length}"
    return f"{src}: no frames could be decoded"


def _merge_dir(new: Path, dst: Path) -> None:
    """Move the files of folder ``new`` into ``dst``: the whole folder if ``dst`` does
    not exist, else file by file, each replacing only the file of its own name (and
    keeping that file's mode); nothing else in ``dst`` is touched."""
    if not dst.exists():
        os.replace(new, dst)
        return
    for entry in sorted(os.scandir(new), key=lambda e: e.name):
        replace_file(entry.path, dst / entry.name)
    os.rmdir(new)
