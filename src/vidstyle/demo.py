"""``vidstyle demo``: stylize the bundled clip and show per-frame against ReCoNet.

Writes into the output folder:

* ``demo.<style>.mp4``: the clip stylized with the ReCoNet model,
* ``demo.side_by_side.mp4``: input | per-frame | reconet, frame by frame,
* ``demo.strip.png``: a few frames of each, one row per method,

and prints the flicker (mean absolute difference of consecutive frames) and the
warping error (Lai et al. 2018, DIS flow) of both methods. With ``model_size="lite"``
the ReCoNet column is the style's lite model (``demo.<style>-lite.mp4``); the
per-frame baseline stays the full per-frame network (there is no lite one).
"""

from __future__ import annotations

import importlib.resources
import os
from pathlib import Path

import numpy as np
import torch

from vidstyle.api import create_stylizer
from vidstyle.errors import VidstyleError
from vidstyle.eval.metrics import mean_abs_frame_difference, warping_error
from vidstyle.image import save_image, to_float_batch, to_uint8_batch
from vidstyle.pretrained import bundled_models
from vidstyle.reference import resolve_style
from vidstyle.video import VideoReader, VideoWriter


def demo_clip() -> Path:
    """Path of the bundled demo clip (Tears of Steel excerpt, CC BY 3.0; see NOTICE)."""
    return Path(str(importlib.resources.files("vidstyle") / "assets" / "demo.mp4"))


def _stylize_all(stylizer, frames: torch.Tensor, batch: int = 8) -> torch.Tensor:
    return torch.cat([stylizer(frames[i : i + batch]) for i in range(0, len(frames), batch)])


def run_demo(out_dir: str | os.PathLike, style: str = "candy", *, device: str = "auto",
             model_size: str = "full", overwrite: bool = False) -> dict[str, object]:
    out = Path(out_dir)
    if not out.parent.is_dir():
        raise VidstyleError(f"output folder {out.parent} does not exist")
    reconet = resolve_style(style, "reconet", model_size)
    refs = {"reconet": reconet}
    if reconet.kind == "bundled" and (style, "per-frame") in bundled_models():
        refs = {"per-frame": resolve_style(style, "per-frame"), **refs}  # the baseline column
    files = {
        "stylized": out / f"demo.{reconet.name}.mp4",
        "side_by_side": out / "demo.side_by_side.mp4",
        "strip": out / "demo.strip.png",
    }
    if not overwrite and any(p.exists() for p in files.values()):
        raise VidstyleError(f"{out} already holds demo results", option="overwrite")
    methods = list(refs)
    stylizers = {m: create_stylizer(ref, device=device) for m, ref in refs.items()}
    out.mkdir(exist_ok=True)

    reader = VideoReader(demo_clip())
    with reader:
        pairs = list(reader.frames())
    frames = to_float_batch(np.stack([f for f, _ in pairs]))
    times = [t for _, t in pairs]
    results = {m: _stylize_all(s, frames) for m, s in stylizers.items()}

    h, w = frames.shape[-2:]
    main = results["reconet"]
    with VideoWriter(files["stylized"], fps=reader.fps, width=w, height=h) as vw:
        for rgb, t in zip(to_uint8_batch(main), times):
            vw.write(rgb, t)
    columns = [frames] + [results[m] for m in methods]
    side = torch.cat(columns, dim=-1)  # (T, 3, H, W * (1 + methods))
    with VideoWriter(files["side_by_side"], fps=reader.fps, width=side.shape[-1], height=h) as vw:
        for rgb, t in zip(to_uint8_batch(side), times):
            vw.write(rgb, t)
    picks = np.linspace(0, len(frames) - 1, 4).round().astype(int)
    rows = [torch.cat([c[i] for i in picks], dim=-1) for c in columns]  # one row per column
    save_image(torch.cat(rows, dim=-2).unsqueeze(0), files["strip"])

    report: dict[str, object] = {k: str(v) for k, v in files.items()}
    report["frames"] = len(frames)
    for m in methods:
        seq = [r.unsqueeze(0) for r in results[m]]
        report[f"{m} flicker (mean |O_t - O_t-1|)"] = round(
            float(np.mean(mean_abs_frame_difference(results[m]))), 4)
        report[f"{m} warping error"] = round(
            warping_error(seq, [f.unsqueeze(0) for f in frames]), 5)
    return report
