"""Live stylization from a webcam: OpenCV capture, optional Tk preview window, file output.

OpenCV's ``VideoCapture`` reads the camera on every platform (V4L2, AVFoundation,
Media Foundation). The preview window uses Tk (the Python standard library's GUI)
when a display exists; keys ``1``-``9`` switch between the given styles, ``n``/``p``
cycle through them, ``q`` or ``Esc`` quits. Without a display the stream goes to a
file only. Frames are timestamped with the wall clock, so the file plays at the
speed the camera delivered.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
import torch

from vidstyle.errors import VideoError
from vidstyle.image import to_tensor, to_uint8

if TYPE_CHECKING:
    from vidstyle.reference import StyleRef


class WebcamSource:
    """Frames from camera ``index`` as ``(rgb uint8 (H, W, 3), seconds since start)``."""

    def __init__(self, index: int, *, width: int | None = None, height: int | None = None):
        self.index = index
        self.cap = cv2.VideoCapture(index)
        if not self.cap.isOpened():
            raise VideoError(f"cannot open webcam {index} (no such camera, or it is busy)")
        if width:
            self.cap.set(cv2.CAP_PROP_FRAME_WIDTH, width)
        if height:
            self.cap.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        ok, bgr = self.cap.read()
        if not ok or bgr is None:
            self.cap.release()
            raise VideoError(f"webcam {index} opened but delivered no frame")
        self._first = bgr
        self.height, self.width = bgr.shape[:2]
        fps = self.cap.get(cv2.CAP_PROP_FPS)
        self.fps = Fraction(fps).limit_denominator(1001) if fps and fps > 0 else Fraction(30)

    def frames(self) -> Iterator[tuple[np.ndarray, float]]:
        t0 = time.perf_counter()
        bgr = self._first
        while bgr is not None:
            yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), time.perf_counter() - t0
            ok, bgr = self.cap.read()
            if not ok:
                break

    def close(self) -> None:
        self.cap.release()


def has_display() -> bool:
    """True when a window can be shown (Windows/macOS, or an X/Wayland display)."""
    if sys.platform in ("win32", "darwin"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


class TkPreview:
    """A Tk window showing frames; collects key presses."""

    def __init__(self, title: str):
        import tkinter as tk

        from PIL import ImageTk  # noqa: F401  (fail early if Pillow has no Tk support)

        self.root = tk.Tk()
        self.root.title(title)
        self.label = tk.Label(self.root)
        self.label.pack()
        self.keys: list[str] = []
        self.closed = False
        self.root.bind("<Key>", lambda e: self.keys.append(e.keysym))
        self.root.protocol("WM_DELETE_WINDOW", self._close)
        self._photo = None

    def _close(self) -> None:
        self.closed = True

    def show(self, rgb: np.ndarray, caption: str) -> list[str]:
        from PIL import Image, ImageTk

        self._photo = ImageTk.PhotoImage(Image.fromarray(rgb))
        self.label.configure(image=self._photo)
        self.root.title(caption)
        self.root.update()
        keys, self.keys = self.keys, []
        return ["q"] if self.closed else keys

    def close(self) -> None:
        try:
            self.root.destroy()
        except Exception:  # noqa: BLE001 - the window may already be gone
            pass


def run_live(
    source,
    stylizers: Sequence[tuple[str, Callable[[torch.Tensor], torch.Tensor]]],
    *,
    writer=None,
    preview=None,
    duration: float | None = None,
    max_frames: int | None = None,
    on_frame: Callable[[int, float], None] | None = None,
) -> int:
    """Stylize frames from ``source`` until it ends, ``q`` is pressed, ``duration``
    seconds or ``max_frames`` frames have passed. ``stylizers`` is a list of
    ``(name, stylizer)``; the preview's keys switch between them. Returns the
    number of frames processed."""
    if not stylizers:
        raise VideoError("no style to apply")
    current = 0
    n = 0
    for rgb, t in source.frames():
        if duration is not None and t > duration:
            break
        name, stylize = stylizers[current]
        out = to_uint8(stylize(to_tensor(rgb)))
        if writer is not None:
            writer.write(out, t)
        n += 1
        if on_frame is not None:
            on_frame(n, t)
        if preview is not None:
            chosen = current
            for key in preview.show(out, f"vidstyle - {name} ({n / max(t, 1e-6):.1f} FPS)"):
                if key in ("q", "Escape"):
                    return n
                if key.isdigit() and 1 <= int(key) <= len(stylizers):
                    chosen = int(key) - 1
                elif key == "n":
                    chosen = (chosen + 1) % len(stylizers)
                elif key == "p":
                    chosen = (chosen - 1) % len(stylizers)
            if chosen != current:
                current = chosen
                getattr(stylizers[current][1], "reset", lambda: None)()  # stateful methods
        if max_frames is not None and n >= max_frames:
            break
    return n


def default_webcam_output(ref: StyleRef) -> Path:
    """``webcam.STYLE.mp4`` in the working folder, ``STYLE`` the style's display name."""
    return Path.cwd() / f"webcam.{ref.name}.mp4"
