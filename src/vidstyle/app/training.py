"""The "your own style" tab: ``vidstyle train`` in a background process, watched through its files.

:class:`Trainer` starts at most one training at a time, as the command line a
person would type (``python -m vidstyle.cli train ...``, at a lower CPU priority so
that the page stays responsive), in ``STYLES_DIR/NAME/`` with the painting and the
photos copied there. The photos get synthetic camera motion (``--data photos:``),
which needs no optical flow to prepare. Progress comes from the run's own
``log.csv`` and ``samples/``; when ``model.pt`` appears the style joins the gallery
(:func:`vidstyle.app.gallery.trained_gallery`).
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from vidstyle.app.gallery import MODEL_FILE, PAINTING_STEM
from vidstyle.app.media import UploadError
from vidstyle.errors import ImageReadError, VidstyleError
from vidstyle.image import IMAGE_EXTENSIONS, read_rgb
from vidstyle.pretrained import MODEL_SIZES, bundled_styles

NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,39}")
LOG_FILE = "train.log"  # the training process's stdout and stderr
NICE = 10  # CPU priority of the training process, below the page's stylize runs


@dataclass(frozen=True)
class TrainRecipe:
    """The tab's default recipe: the reconet preset on a lite network, started from the
    bundled candy of that size (``vidstyle train``'s default ``--init``) with the recipe's
    weights, on 128-pixel crops (~0.4 s a step on 2 CPU cores, so 1000 steps take about
    7 minutes; README "Train a model for your own painting"). ``preset="debug"`` makes a
    run of seconds, for tests."""

    model_size: str = "lite"  # "lite" or "full" (about 6x slower a step)
    steps: int = 1000
    size: int = 128  # training crop side
    batch_size: int = 1
    lr: float = 2e-3
    preset: str = "reconet"

    def __post_init__(self) -> None:
        if self.model_size not in MODEL_SIZES:
            raise VidstyleError(f"model size must be one of {', '.join(MODEL_SIZES)}, "
                                f"got {self.model_size!r}")
        if not 1 <= self.steps <= 100_000:
            raise VidstyleError(f"steps must be between 1 and 100000, got {self.steps}")


def train_argv(painting: Path, data: list[str], run_dir: Path, recipe: TrainRecipe) -> list[str]:
    """The ``vidstyle train`` command line of a run (run by this Python)."""
    argv = [sys.executable, "-m", "vidstyle.cli", "train", "--style", str(painting)]
    for spec in data:
        argv += ["--data", spec]
    return argv + [
        "--preset", recipe.preset, "-o", str(run_dir), "--steps", str(recipe.steps),
        "--size", str(recipe.size), "--batch-size", str(recipe.batch_size), "--lr", str(recipe.lr),
        "--model-size", recipe.model_size, "--overwrite", "-q",
    ]


def check_style_name(name: str, styles_dir: Path) -> str:
    """A new style's name, stripped; one clear error if unusable or taken."""
    name = name.strip()
    if not NAME_PATTERN.fullmatch(name):
        raise VidstyleError(f"style name {name!r}: use 1-40 letters, digits, '-' or '_', "
                            "starting with a letter or digit")
    if name in bundled_styles() or name.removesuffix("-lite") in bundled_styles():
        raise VidstyleError(f"{name!r} is the name of a bundled style; choose another")
    if (styles_dir / name / MODEL_FILE).exists():
        raise VidstyleError(f"a style named {name!r} exists already ({styles_dir / name}); choose another")
    return name


@dataclass
class TrainStatus:
    """What the tab shows. ``state``: idle, running, done, failed or stopped."""

    state: str = "idle"
    name: str = ""
    step: int = 0
    steps: int = 0
    seconds: float = 0.0  # training time in the log (to the last logged step)
    samples: list[Path] = field(default_factory=list)
    wall: float = 0.0  # seconds since the process started
    message: str = ""

    def line(self) -> str:
        if self.state == "idle":
            return "No training started yet."
        if self.state == "failed":
            return f"Training {self.name} failed: {self.message}"
        if self.state == "stopped":
            return f"Training {self.name} stopped at step {self.step} of {self.steps}."
        if self.state == "done":
            return (f"{self.name} is ready ({self.steps} steps, {self.seconds / 60:.1f} min): "
                    "pick it in the gallery.")
        text = f"Training {self.name}: step {self.step} of {self.steps}"
        if self.step:
            rate = self.seconds / self.step
            left = (self.steps - self.step) * rate
            text += f", {rate:.2f} s a step, about {left / 60:.1f} min left"
        else:
            text += f" (preparing the photos and the loss network, {self.wall:.0f} s so far)"
        return text + "."


def _last_log_row(path: Path) -> dict[str, str] | None:
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError:
        return None
    return rows[-1] if rows else None


def _error_line(log: Path) -> str:
    """The training's one-line error (``vidstyle: error: ...``), else its last line."""
    try:
        lines = [ln.strip() for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return "no log"
    for ln in reversed(lines):
        if ln.startswith("vidstyle: error:"):
            return ln.removeprefix("vidstyle: error:").strip()
    return lines[-1] if lines else "the training process ended without a message"


class Trainer:
    """Runs one ``vidstyle train`` at a time in ``styles_dir`` and reports on it.

    Args:
        styles_dir: the folder of own styles (created when the first training starts).
        default_photos: the photos to learn from when none are given (the app passes
            frames of the bundled demo clip).
    """

    def __init__(self, styles_dir: str | os.PathLike, default_photos: Sequence[Path] = ()) -> None:
        self.styles_dir = Path(styles_dir)
        self.default_photos = list(default_photos)
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self._run: Path | None = None
        self._steps = 0
        self._stopped = False
        self._t0 = 0.0

    def start(self, name: str, painting: Path, photos: Sequence[Path] = (),
              recipe: TrainRecipe = TrainRecipe()) -> TrainStatus:
        """Start training ``name`` on ``painting``, learning from ``photos`` (default: the
        trainer's ``default_photos``).

        Raises :class:`VidstyleError` (one line) if a training is running, the name is
        unusable, or the painting or a photo is not a readable image.
        """
        with self._lock:
            if self._proc is not None and self._proc.poll() is None:
                raise VidstyleError(f"a training is running ({self._run.name}); wait for it or stop it")
            name = check_style_name(name, self.styles_dir)
            _check_image(painting, "the painting")
            photos = list(photos) or self.default_photos
            if not photos:
                raise UploadError("give some photos to learn from")
            for p in photos:
                h, w = _check_image(p, "a photo")
                # Training refuses these too, but only after it has started (seconds later).
                if min(h, w) < recipe.size:
                    raise UploadError(f"photo {p.name} is {w}x{h}: photos must be at least "
                                      f"{recipe.size}x{recipe.size} (the training crop)")
            run = self.styles_dir / name
            if run.exists():
                if not (run / LOG_FILE).is_file():
                    raise VidstyleError(f"{run} exists and is not a training of this app; "
                                        "choose another name")
                shutil.rmtree(run)  # an earlier training of this name that never finished
            run.mkdir(parents=True)
            own_painting = run / f"{PAINTING_STEM}{painting.suffix.lower()}"
            shutil.copyfile(painting, own_painting)
            folder = run / "photos"
            folder.mkdir()
            for i, p in enumerate(photos):
                shutil.copyfile(p, folder / f"{i:04d}{p.suffix.lower()}")
            with open(run / LOG_FILE, "wb") as log:
                self._proc = subprocess.Popen(
                    train_argv(own_painting, [f"photos:{folder}"], run, recipe), stdout=log,
                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, preexec_fn=lambda: os.nice(NICE),
                )
            self._run, self._steps, self._stopped = run, recipe.steps, False
            self._t0 = time.monotonic()
        return self.status()

    def status(self) -> TrainStatus:
        with self._lock:
            if self._proc is None:
                return TrainStatus()
            run, code = self._run, self._proc.poll()
            row = _last_log_row(run / "log.csv")
            s = TrainStatus(
                name=run.name, steps=self._steps,
                step=int(row["step"]) if row else 0,
                seconds=float(row["seconds"]) if row else 0.0,
                samples=sorted((run / "samples").glob("*.png")),
                wall=time.monotonic() - self._t0,
            )
            if code is None:
                s.state = "running"
            elif code == 0 and (run / MODEL_FILE).is_file():
                s.state, s.step = "done", self._steps
            elif self._stopped:
                s.state = "stopped"
            else:
                s.state, s.message = "failed", _error_line(run / LOG_FILE)
            return s

    def stop(self, timeout: float = 60.0) -> None:
        """Stop a running training as Ctrl-C would (it saves a checkpoint first)."""
        with self._lock:
            proc = self._proc
            if proc is None or proc.poll() is not None:
                return
            self._stopped = True
            proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def wait(self, timeout: float) -> TrainStatus:
        """Wait until the training ends or ``timeout`` seconds pass; the status then."""
        end = time.monotonic() + timeout
        while time.monotonic() < end and self.status().state == "running":
            time.sleep(0.2)
        return self.status()


def _check_image(path: Path, what: str) -> tuple[int, int]:
    """``(height, width)`` of a readable image; :class:`UploadError` naming ``what`` otherwise."""
    if path.suffix.lower() not in IMAGE_EXTENSIONS:
        raise UploadError(f"{what} ({path.name}) must be an image: {', '.join(IMAGE_EXTENSIONS)}")
    try:
        return read_rgb(path).shape[:2]
    except ImageReadError:
        raise UploadError(f"{what} ({path.name}) is not an image vidstyle can read") from None
