"""Stylize an image, a folder of frames or a video file, streaming and atomically.

Frames are read in batches (bounded memory), optionally scaled down
(``max_size``), stylized, and written with their timestamps; video audio is kept.
The result appears at the destination only when everything succeeded: videos
and images are written to a temporary file and renamed, folders are written to
a temporary sibling folder and renamed.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np
import torch

from vidstyle.errors import VidstyleError
from vidstyle.image import IMAGE_EXTENSIONS, save_image
from vidstyle.video import CONTAINERS, FrameFolderWriter, VideoWriter, open_source
from vidstyle.video.reader import VideoReader


class Stylizer(Protocol):
    stateful: bool

    def reset(self) -> None: ...

    def __call__(self, frames: torch.Tensor) -> torch.Tensor: ...


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


def style_tag(style: str | os.PathLike) -> str:
    """Name used in default output names: ``candy`` -> ``candy``, ``runs/x/model.pt`` -> ``model``."""
    return Path(style).stem if Path(str(style)).suffix else str(style)


def default_output(src: Path, tag: str) -> Path:
    """``holiday.mp4`` -> ``holiday.candy.mp4``; ``frames/`` -> ``frames.candy/``."""
    if src.is_dir():
        return src.with_name(f"{src.name}.{tag}")
    return src.with_name(f"{src.stem}.{tag}{src.suffix}")


def check_destination(src: Path, dst: Path, overwrite: bool) -> None:
    """One clear error before any work if ``dst`` cannot or must not be written."""
    kind = output_kind(src)
    if dst.resolve() == src.resolve():
        raise VidstyleError(f"output {dst} is the input; choose another output path")
    if not dst.parent.is_dir():
        raise VidstyleError(f"output folder {dst.parent} does not exist")
    if not os.access(dst.parent, os.W_OK | os.X_OK):
        raise VidstyleError(f"output folder {dst.parent} is not writable")
    if dst.exists() and not overwrite:
        raise VidstyleError(f"{dst} exists; pass --overwrite to replace it")
    if kind == "video" and dst.suffix.lower() not in CONTAINERS:
        raise VidstyleError(
            f"output {dst.name}: unsupported video extension {dst.suffix!r} "
            f"(use one of {', '.join(sorted(CONTAINERS))})"
        )
    if kind == "image" and dst.suffix.lower() not in IMAGE_EXTENSIONS:
        raise VidstyleError(f"output {dst.name}: an image input needs an image output (.png, .jpg)")
    if kind == "folder" and dst.exists() and not dst.is_dir():
        raise VidstyleError(f"output {dst} exists and is not a folder")


def scaled_size(w: int, h: int, max_size: int | None) -> tuple[int, int]:
    """``(w, h)`` scaled down so that the long side is at most ``max_size``."""
    if not max_size or max(w, h) <= max_size:
        return w, h
    s = max_size / max(w, h)
    return max(1, round(w * s)), max(1, round(h * s))


def _to_batch(frames: np.ndarray, size: tuple[int, int]) -> torch.Tensor:
    """``(N, H, W, 3)`` uint8 -> ``(N, 3, h, w)`` float in [0, 1], resized to ``size = (w, h)``."""
    if (frames.shape[2], frames.shape[1]) != size:
        frames = np.stack([cv2.resize(f, size, interpolation=cv2.INTER_AREA) for f in frames])
    return torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float() / 255.0


def to_uint8_batch(y: torch.Tensor) -> np.ndarray:
    """``(N, 3, H, W)`` float in [0, 1] -> ``(N, H, W, 3)`` uint8 (clamped, rounded)."""
    return (y.clamp(0, 1) * 255.0).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()


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
) -> StylizeReport:
    """Stylize ``src`` (video, image or folder of frames) into ``dst``."""
    src, dst = Path(src), Path(dst)
    if not src.exists():
        raise VidstyleError(f"input not found: {src}")
    if batch_size < 1:
        raise VidstyleError(f"--batch-size must be at least 1, got {batch_size}")
    check_destination(src, dst, overwrite)
    kind = output_kind(src)
    source = open_source(src, start=start, duration=duration)
    size = scaled_size(source.width, source.height, max_size)
    stylizer.reset()

    tmp_dir = None
    if kind == "video":
        writer = VideoWriter(
            dst, fps=source.fps, width=size[0], height=size[1], crf=crf,
            audio_from=src if source.has_audio else None,
            audio_start=start, audio_duration=duration,
            time_base=getattr(source, "time_base", None),
        )
    elif kind == "folder":
        tmp_dir = Path(tempfile.mkdtemp(prefix=f".{dst.name}.", dir=dst.parent))
        writer = FrameFolderWriter(tmp_dir, names=source.names)
    else:
        writer = None

    bar = None
    if progress:
        from tqdm import tqdm

        total = getattr(source, "frame_count", None)
        bar = tqdm(total=total, unit="frame", dynamic_ncols=True, desc=f"stylize {src.name}")
    n = 0
    t0 = time.perf_counter()
    try:
        with source:
            for frames, times in source.batches(batch_size):
                out = to_uint8_batch(stylizer(_to_batch(frames, size)))
                for rgb, t in zip(out, times):
                    if writer is None:
                        save_image(rgb, dst)
                    else:
                        writer.write(rgb, t)
                n += len(out)
                if bar is not None:
                    bar.update(len(out))
        if n == 0:
            raise VidstyleError(f"{src}: no frames could be decoded")
        if writer is not None:
            writer.close()
        if tmp_dir is not None:
            _replace_dir(tmp_dir, dst)
            tmp_dir = None
    except BaseException:
        if writer is not None and hasattr(writer, "abort"):
            writer.abort()
        raise
    finally:
        if bar is not None:
            bar.close()
        if tmp_dir is not None:
            shutil.rmtree(tmp_dir, ignore_errors=True)
    seconds = time.perf_counter() - t0
    errors = source.decode_errors if isinstance(source, VideoReader) else 0
    early = source.ended_early if isinstance(source, VideoReader) else False
    return StylizeReport(n, seconds, dst, errors, early)


def _replace_dir(new: Path, dst: Path) -> None:
    """Move folder ``new`` to ``dst``, replacing an existing ``dst`` only at the end."""
    if dst.exists():
        old = dst.with_name(f".{dst.name}.old-{os.getpid()}")
        os.replace(dst, old)
        os.replace(new, dst)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(new, dst)
