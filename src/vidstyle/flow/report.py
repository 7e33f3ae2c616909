"""Flow, occlusion and temporal error of two frames, as pictures and numbers
(``vidstyle flow``)."""

from __future__ import annotations

import os
from pathlib import Path

from vidstyle.errors import VidstyleError
from vidstyle.flow.estimate import estimated_occlusion
from vidstyle.flow.viz import flow_to_color
from vidstyle.flow.warp import warp
from vidstyle.image import load_image, save_image


def flow_report(
    frame1: str | os.PathLike,
    frame2: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    method: str = "dis",
    max_size: int | None = None,
    overwrite: bool = False,
) -> dict[str, str | float]:
    """Estimate the flow from ``frame1`` to ``frame2`` and write into ``out_dir``:
    ``flow.png`` (colour-coded flow), ``mask.png`` (forward-backward validity, white
    = valid), ``warped.png`` (frame2 warped onto frame1). Returns the mean end-point
    magnitude, the valid fraction, and the masked temporal error (mean squared
    difference over valid pixels, images in [0, 1]) with and without warping."""
    a = load_image(frame1, max_size=max_size)
    b = load_image(frame2, max_size=max_size)
    if a.shape != b.shape:
        raise VidstyleError(
            f"frames differ in size: {tuple(a.shape[-2:])} and {tuple(b.shape[-2:])}"
        )
    out = Path(out_dir)
    if not out.parent.is_dir():
        raise VidstyleError(f"output folder {out.parent} does not exist")
    files = {n: out / f"{n}.png" for n in ("flow", "mask", "warped")}
    if not overwrite and any(p.exists() for p in files.values()):
        raise VidstyleError(f"{out} already holds results", option="overwrite")
    flow, mask = estimated_occlusion(a, b, method)
    warped = warp(b, flow)
    out.mkdir(exist_ok=True)
    save_image(flow_to_color(flow), files["flow"])
    save_image(mask.expand(-1, 3, -1, -1), files["mask"])
    save_image(warped, files["warped"])
    valid = mask.sum().clamp_min(1.0) * 3
    return {
        "flow picture": str(files["flow"]),
        "mask picture": str(files["mask"]),
        "mean flow magnitude (px)": round(float(flow.norm(dim=1).mean()), 3),
        "valid fraction": round(float(mask.mean()), 4),
        "masked error, no warp": round(float((((a - b) ** 2) * mask).sum() / valid), 6),
        "masked error, warped": round(float((((a - warped) ** 2) * mask).sum() / valid), 6),
    }
