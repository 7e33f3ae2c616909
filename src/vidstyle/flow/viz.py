"""Flow pictures with the Middlebury colour coding (Baker et al., IJCV 2011).

Hue gives the direction of motion and saturation its length: zero flow is white,
a vector of length ``max_flow`` is a fully saturated colour, longer ones are
darkened. Directions (image coordinates, y down): right = red, down = orange-yellow,
left = cyan-blue, up = blue-violet.
"""

from __future__ import annotations

import numpy as np
import torch

from vidstyle.flow.io import as_flow_array

# Number of hues between consecutive primaries/secondaries on the wheel, chosen by
# Baker et al. to make the perceived colour change roughly uniform around it.
_SEGMENTS = (
    ("red", "yellow", 15),
    ("yellow", "green", 6),
    ("green", "cyan", 4),
    ("cyan", "blue", 11),
    ("blue", "magenta", 13),
    ("magenta", "red", 6),
)
_PRIMARIES = {
    "red": (255, 0, 0),
    "yellow": (255, 255, 0),
    "green": (0, 255, 0),
    "cyan": (0, 255, 255),
    "blue": (0, 0, 255),
    "magenta": (255, 0, 255),
}


def color_wheel() -> np.ndarray:
    """The ``(55, 3)`` float RGB wheel in [0, 255], from red round to just before red."""
    rows = []
    for start, end, n in _SEGMENTS:
        c0 = np.array(_PRIMARIES[start], dtype=np.float64)
        c1 = np.array(_PRIMARIES[end], dtype=np.float64)
        t = np.arange(n, dtype=np.float64)[:, None] / n
        rows.append(c0 + t * (c1 - c0))
    return np.concatenate(rows)


def flow_to_color(flow: np.ndarray | torch.Tensor, max_flow: float | None = None) -> np.ndarray:
    """Colour-code one flow field.

    Args:
        flow: ``(H, W, 2)`` numpy array, or ``(1, 2, H, W)`` / ``(2, H, W)`` tensor,
            in pixels with x first. Non-finite vectors (unknown flow) are drawn black.
        max_flow: length drawn fully saturated; default the largest finite length
            in ``flow`` (zero flow stays white).

    Returns:
        ``(H, W, 3)`` uint8 RGB image.
    """
    arr = as_flow_array(flow, "flow_to_color: flow").astype(np.float64)
    u, v = arr[..., 0], arr[..., 1]
    known = np.isfinite(u) & np.isfinite(v)
    u = np.where(known, u, 0.0)
    v = np.where(known, v, 0.0)
    rad = np.hypot(u, v)
    if max_flow is None:
        max_flow = float(rad.max()) if rad.size else 0.0
    elif max_flow <= 0:
        raise ValueError(f"flow_to_color: max_flow must be positive, got {max_flow}")
    rad = rad / max_flow if max_flow > 0 else np.zeros_like(rad)

    wheel = color_wheel() / 255.0
    n = len(wheel)
    # Angle in [0, 1) turns, 0 = pointing right, increasing towards +y (down).
    turns = (np.arctan2(v, u) / (2 * np.pi)) % 1.0
    pos = turns * n
    i0 = np.floor(pos).astype(np.int64) % n
    i1 = (i0 + 1) % n
    frac = (pos - np.floor(pos))[..., None]
    col = (1 - frac) * wheel[i0] + frac * wheel[i1]  # (H, W, 3), fully saturated hue

    r = rad[..., None]
    inside = r <= 1
    # Desaturate towards white for short vectors; darken vectors beyond max_flow.
    col = np.where(inside, 1 - r * (1 - col), col * 0.75)
    col = np.where(known[..., None], col, 0.0)
    return np.clip(np.round(col * 255), 0, 255).astype(np.uint8)
