"""Shared helpers for pair datasets: random crops and flips that keep flow exact."""

from __future__ import annotations

import numpy as np
import torch

from vidstyle.errors import VidstyleError


def crop_pair(
    item: dict[str, torch.Tensor], size: tuple[int, int], rng: np.random.Generator,
    *, flip: bool = True, source: str = "frames",
) -> dict[str, torch.Tensor]:
    """Random ``size`` crop (same window in both frames) and random horizontal flip.

    A common crop window leaves flow vectors unchanged; a horizontal flip mirrors
    the field and negates its x component.

    Args:
        item: ``prev``, ``cur`` ``(3, H, W)``, ``flow`` ``(2, H, W)``, ``mask`` ``(1, H, W)``.
    """
    h, w = item["cur"].shape[-2:]
    ch, cw = size
    if h < ch or w < cw:
        raise VidstyleError(f"{source}: frames of {w}x{h} are smaller than the {cw}x{ch} crop")
    y0 = int(rng.integers(0, h - ch + 1))
    x0 = int(rng.integers(0, w - cw + 1))
    out = {k: v[..., y0 : y0 + ch, x0 : x0 + cw] for k, v in item.items()}
    if flip and rng.random() < 0.5:
        out = {k: v.flip(-1) for k, v in out.items()}
        out["flow"] = out["flow"] * torch.tensor([-1.0, 1.0]).view(2, 1, 1)
    return {k: v.contiguous().float() for k, v in out.items()}
