"""One stylization run of the page: a :class:`Job` in, a :class:`Result` out.

The work itself is :func:`vidstyle.pipeline.stylize_path` (streaming, atomic
output, audio kept), whose ``on_progress`` callback feeds the progress bar
(frames, frames/s, time left); the page only wraps the stylizer in
:class:`_Flicker`, which records the frame-to-frame change of input and output
for the flicker plot, without a second pass over the video.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from vidstyle.app.gallery import Style
from vidstyle.app.media import Media, first_frame
from vidstyle.errors import VidstyleError
from vidstyle.eval.metrics import mean_abs_frame_difference
from vidstyle.methods.ruder import RuderConfig
from vidstyle.pipeline import stylize_path

# Ruder optimises every frame. docs/timings.md has ~1.1 s per loss evaluation at
# its default 256-pixel working size on this project's 2-core CPU;
# a first frame takes `first_iterations` evaluations, later ones `iterations`.
RUDER_SECONDS_PER_EVALUATION = 1.1
RUDER_MAX_FRAMES = 10


def ruder_seconds(frames: int) -> float:
    """Estimated seconds for ruder on ``frames`` frames at the default settings."""
    cfg = RuderConfig()
    return (cfg.first_iterations + cfg.iterations * max(0, frames - 1)) * RUDER_SECONDS_PER_EVALUATION


def duration_text(seconds: float) -> str:
    """``42 s``, ``3 min``, ``1.5 h``."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


@dataclass(frozen=True)
class Job:
    """What the page asks for: an input, a style, a method, a model size, a size limit."""

    media: Media
    style: Style
    method: str
    model_size: str = "full"
    max_size: int | None = None  # long side in pixels; None keeps the input's size

    def check(self) -> None:
        """One clear error before any work: an impossible combination, or ruder on a long clip."""
        self.style.reference(self.method, self.model_size)
        if self.method == "ruder" and self.media.frames > RUDER_MAX_FRAMES:
            raise VidstyleError(
                f"ruder optimises every frame (about {duration_text(ruder_seconds(self.media.frames))} "
                f"for these {self.media.frames} frames): use it on a photo or a clip of at most "
                f"{RUDER_MAX_FRAMES} frames, or pick another method")

    def make_stylizer(self, progress=None):
        """The stylizer of this job; ``progress`` is the method's own callback (ruder's)."""
        from vidstyle.api import create_stylizer

        return create_stylizer(self.style.reference(self.method, self.model_size), progress=progress)

    def output_name(self) -> str:
        """``clip.candy-lite.mp4`` for a video (always MP4: it plays in every browser),
        ``photo.candy.png`` for a photo."""
        ext = ".png" if self.media.kind == "image" else ".mp4"
        return f"{self.media.path.stem}.{self.style.tag(self.method, self.model_size)}{ext}"


@dataclass(frozen=True)
class Progress:
    """How far a run is: ``frames`` of ``total`` (0 = unknown) after ``seconds``."""

    frames: int
    total: int
    seconds: float
    detail: str = ""  # e.g. ruder's evaluations within the current frame

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    @property
    def eta(self) -> float | None:
        """Seconds left at the rate so far, ``None`` before the first frame or without a total."""
        if not self.frames or not self.total or self.fps <= 0:
            return None
        return max(0, self.total - self.frames) / self.fps

    def line(self) -> str:
        """``12/25 frames, 9.8 frames/s, about 1 s left``."""
        parts = [f"{self.frames}/{self.total or '?'} frames"]
        if self.frames:
            parts.append(f"{self.fps:.3g} frames/s")
        if self.eta is not None:
            parts.append(f"about {duration_text(self.eta)} left")
        if self.detail:
            parts.append(self.detail)
        return ", ".join(parts)


@dataclass
class Result:
    """A finished run: the output file and the flicker of input and output."""

    output: Path
    frames: int
    seconds: float
    has_audio: bool
    input_flicker: list[float] = field(default_factory=list)  # mean |I_t - I_t-1|, t = 1..
    output_flicker: list[float] = field(default_factory=list)  # mean |O_t - O_t-1|

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0


class _Flicker:
    """A stylizer (:class:`~vidstyle.methods.registry.Stylizer`) around another one that
    records the frame-to-frame change of what goes in and comes out."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.reset()

    def reset(self) -> None:
        self.inner.reset()
        self.input_flicker: list[float] = []
        self.output_flicker: list[float] = []
        self._last: tuple[torch.Tensor, torch.Tensor] | None = None

    def __call__(self, frames: torch.Tensor) -> torch.Tensor:
        out = self.inner(frames)
        x, y = frames, out
        if self._last is not None:  # the change across the batch boundary counts too
            x = torch.cat([self._last[0], x])
            y = torch.cat([self._last[1], y])
        if len(x) > 1:
            self.input_flicker += mean_abs_frame_difference(x)
            self.output_flicker += mean_abs_frame_difference(y)
        self._last = (x[-1:], y[-1:])
        return out


def stylize(job: Job, run_dir: Path, on_progress: Callable[[Progress], None] | None = None) -> Result:
    """Stylize ``job.media`` into ``run_dir / job.output_name()``.

    ``on_progress`` is called after every batch of frames (and, for ruder, at every
    loss evaluation) from the calling thread.
    """
    job.check()
    last = Progress(0, job.media.frames, 0.0)

    def batch_done(done: int, total: int | None, fps: float) -> None:
        nonlocal last
        last = Progress(done, job.media.frames, done / fps if fps > 0 else 0.0)
        if on_progress is not None:
            on_progress(last)

    def ruder_progress(frame: int, iteration: int, loss: float) -> None:
        if on_progress is not None:
            on_progress(replace(last, seconds=time.perf_counter() - t0,
                                detail=f"frame {frame + 1}: {iteration} evaluations"))

    flicker = _Flicker(job.make_stylizer(ruder_progress if job.method == "ruder" else None))
    out = run_dir / job.output_name()
    t0 = time.perf_counter()
    report = stylize_path(job.media.path, out, flicker, max_size=job.max_size, progress=False,
                          on_progress=batch_done)
    return Result(out, report.frames, report.seconds, job.media.has_audio,
                  flicker.input_flicker, flicker.output_flicker)


def preview(job: Job) -> tuple[np.ndarray, np.ndarray]:
    """The first frame (at ``job.max_size``) and its stylized version, ``(H, W, 3)`` uint8 each."""
    from vidstyle.image import fit_long_side, resize_rgb, to_tensor, to_uint8

    job.check()
    rgb = first_frame(job.media)
    rgb = resize_rgb(rgb, fit_long_side(*rgb.shape[:2], job.max_size), "area")
    stylizer = job.make_stylizer()
    stylizer.reset()
    with torch.no_grad():
        out = to_uint8(stylizer(to_tensor(rgb)))
    return rgb, out


def flicker_plot(result: Result, path: Path) -> Path:
    """A PNG of the frame-to-frame change of input and output (the curve a flickering
    result shows as spikes above the input's)."""
    from matplotlib.figure import Figure  # no pyplot: thread-safe, no GUI backend

    fig = Figure(figsize=(7, 2.6), dpi=100)
    ax = fig.subplots()
    t = np.arange(1, len(result.output_flicker) + 1)
    ax.plot(t, result.input_flicker, label="input", color="black", linewidth=1)
    ax.plot(t, result.output_flicker, label="result", color="tab:red", linewidth=1.2)
    ax.set_xlabel("frame")
    ax.set_ylabel("mean |F(t) - F(t-1)|")
    ax.set_title("flicker: change from the previous frame (lower is steadier)", fontsize=10)
    ax.legend(loc="upper right", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    return path
