"""Optical flow estimation with OpenCV (DIS or Farneback), on the CPU.

Direction: ``estimate_flow(a, b)`` is OpenCV's ``calcOpticalFlow(prev=a, next=b)``,
the flow from ``a`` to ``b`` on ``a``'s grid, ``a(p) ~ b(p + flow(p))``. So
``warp(b, estimate_flow(a, b)) ~ a``: to bring frame ``t-1`` onto frame ``t``,
call ``estimate_flow(frame_t, frame_t_minus_1)``.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import torch

from vidstyle._checks import check_shape
from vidstyle.flow.occlusion import occlusion_mask
from vidstyle.image import to_uint8_batch

FLOW_METHODS = ("dis", "farneback")
DIS_PRESETS = {
    "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
    "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
    "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
}
# Farneback parameters: a 5-level pyramid halving each level (handles ~tens of
# pixels of motion at video resolutions), 15 px Gaussian-weighted window, 3
# iterations, polynomial expansion over 5x5 neighbourhoods with sigma 1.1 (the
# pairing recommended in the OpenCV documentation).
_FARNEBACK = {
    "pyr_scale": 0.5,
    "levels": 5,
    "winsize": 15,
    "iterations": 3,
    "poly_n": 5,
    "poly_sigma": 1.1,
    "flags": cv2.OPTFLOW_FARNEBACK_GAUSSIAN,
}

Frames = torch.Tensor | np.ndarray


def _to_gray(name: str, x: Frames) -> tuple[list[np.ndarray], torch.device]:
    """Frames as a list of ``(H, W)`` uint8 grey images, and the device to return on."""
    if isinstance(x, np.ndarray):
        if x.dtype != np.uint8 or x.ndim != 3 or x.shape[2] != 3:
            raise ValueError(f"{name} array must be (H, W, 3) uint8 RGB, got {x.shape} {x.dtype}")
        return [cv2.cvtColor(np.ascontiguousarray(x), cv2.COLOR_RGB2GRAY)], torch.device("cpu")
    check_shape(name, x, ("B", 3, "H", "W"))
    rgb = to_uint8_batch(x)  # (B, H, W, 3)
    return [cv2.cvtColor(np.ascontiguousarray(im), cv2.COLOR_RGB2GRAY) for im in rgb], x.device


def _dis_for(h: int, w: int, preset: str) -> cv2.DISOpticalFlow:
    """A DIS instance for ``h`` x ``w`` frames, adjusted so OpenCV cannot crash on them.

    OpenCV picks the coarsest pyramid level as
    ``min(int(log2(max(h, w) / (4 p)) + 0.5), int(log2(min(h, w) // p)))`` with
    ``p`` the patch size. When that is below the preset's finest level, OpenCV
    re-derives the levels from the width alone, which on wide, short frames
    (e.g. 10x40 "medium", 31x100 "fast") reads out of bounds and segfaults
    (checked with opencv-python 5.0.0). So in that case we lower the finest level to
    the coarsest one ourselves; frames too small for a single patch level are refused.
    """
    dis = cv2.DISOpticalFlow_create(DIS_PRESETS[preset])
    p = dis.getPatchSize()
    short, long = min(h, w), max(h, w)
    coarsest = -1
    if short >= p:
        # Same expression and rounding as OpenCV's C++ (math.log is C's log).
        coarsest = min(
            int(math.log(long / (4.0 * p)) / math.log(2.0) + 0.5),
            int(math.log(short // p) / math.log(2.0)),
        )
    if coarsest < 0:
        raise ValueError(
            f"estimate_flow: {h}x{w} frames are too small for DIS (preset {preset!r} needs "
            f"{p} px on the short side and {math.ceil(math.sqrt(2) * p)} on the long side); "
            "use method='farneback'"
        )
    if coarsest < dis.getFinestScale():
        dis.setFinestScale(coarsest)
    return dis


def _flow_one(a: np.ndarray, b: np.ndarray, method: str, preset: str) -> np.ndarray:
    """``(H, W, 2)`` float32 flow from grey image ``a`` to grey image ``b``."""
    if method == "dis":
        return _dis_for(*a.shape, preset).calc(a, b, None)
    return cv2.calcOpticalFlowFarneback(a, b, None, **_FARNEBACK)


def estimate_flow(
    a: Frames, b: Frames, method: str = "dis", *, preset: str = "medium"
) -> torch.Tensor:
    """Estimate the optical flow from ``a`` to ``b``, so that ``warp(b, flow) ~ a``.

    Colour is converted to grey (OpenCV's BT.601 weights) before estimation.

    Args:
        a: ``(B, 3, H, W)`` float RGB tensor in [0, 1], or one ``(H, W, 3)`` uint8 RGB
            array.
        b: same kind and shape as ``a``.
        method: ``"dis"`` (``cv2.DISOpticalFlow``, Kroeger et al. 2016) or
            ``"farneback"`` (``cv2.calcOpticalFlowFarneback``).
        preset: DIS speed/quality preset, ``"ultrafast"``, ``"fast"`` or
            ``"medium"``; ignored by Farneback.

    Returns:
        ``(B, 2, H, W)`` float32 flow in pixels (channel 0 = x), on the device of
        ``a`` (CPU for numpy input).
    """
    if method not in FLOW_METHODS:
        raise ValueError(f"unknown flow method {method!r}; known: {', '.join(FLOW_METHODS)}")
    if method == "dis" and preset not in DIS_PRESETS:
        raise ValueError(f"unknown DIS preset {preset!r}; known: {', '.join(DIS_PRESETS)}")
    if isinstance(a, np.ndarray) != isinstance(b, np.ndarray):
        raise TypeError(
            "estimate_flow: a and b must both be tensors or both be numpy arrays, got "
            f"{type(a).__name__} and {type(b).__name__}"
        )
    gray_a, device = _to_gray("estimate_flow: a", a)
    gray_b, _ = _to_gray("estimate_flow: b", b)
    shape_a = tuple(a.shape)
    shape_b = tuple(b.shape)
    if shape_a != shape_b:
        raise ValueError(
            f"estimate_flow: a and b must have the same shape, got {shape_a} and {shape_b}"
        )
    flows = [_flow_one(ga, gb, method, preset) for ga, gb in zip(gray_a, gray_b)]
    out = torch.from_numpy(np.stack(flows)).permute(0, 3, 1, 2).contiguous()  # (B, 2, H, W)
    return out.to(device=device, dtype=torch.float32)


def estimate_flow_pair(
    a: Frames, b: Frames, method: str = "dis", *, preset: str = "medium"
) -> tuple[torch.Tensor, torch.Tensor]:
    """Flows both ways: ``(flow_ab on a's grid, flow_ba on b's grid)``, each ``(B, 2, H, W)``."""
    return (
        estimate_flow(a, b, method, preset=preset),
        estimate_flow(b, a, method, preset=preset),
    )


def estimated_occlusion(
    a: Frames,
    b: Frames,
    method: str = "dis",
    *,
    preset: str = "medium",
    motion_boundaries: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Flow from ``a`` to ``b`` and its forward-backward validity mask on ``a``'s grid.

    Returns:
        ``(flow_ab, mask_a)``: ``(B, 2, H, W)`` and ``(B, 1, H, W)``; ``mask_a`` is 1
        where ``warp(b, flow_ab)`` can be trusted to match ``a`` (see
        :func:`~vidstyle.flow.occlusion.occlusion_mask`).
    """
    flow_ab, flow_ba = estimate_flow_pair(a, b, method, preset=preset)
    return flow_ab, occlusion_mask(flow_ab, flow_ba, motion_boundaries=motion_boundaries)
