"""Backward warping and flow resizing (pixel-unit flow, channel 0 = x)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from vidstyle._checks import check_shape


def _base_grid(h: int, w: int, like: torch.Tensor) -> torch.Tensor:
    """Pixel coordinates ``(1, 2, H, W)``: channel 0 = x (column), channel 1 = y (row)."""
    ys = torch.arange(h, device=like.device, dtype=like.dtype)
    xs = torch.arange(w, device=like.device, dtype=like.dtype)
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack((gx, gy)).unsqueeze(0)


def warp(
    x: torch.Tensor,
    flow: torch.Tensor,
    *,
    mode: str = "bilinear",
    padding_mode: str = "border",
) -> torch.Tensor:
    """Backward-warp ``x`` with ``flow``: ``out(p) = x(p + flow(p))``.

    To bring frame ``t-1`` onto frame ``t``, pass the flow from ``t`` to ``t-1``.
    Coordinates are pixel centres (``align_corners=True``): pixel ``(0, 0)`` is the
    centre of the top-left pixel and ``(W-1, H-1)`` of the bottom-right one.
    Samples that land outside the frame take the nearest border value
    (``padding_mode="border"``, or ``"zeros"``); use :func:`inside_mask` to
    exclude them from losses and metrics.

    Args:
        x: ``(B, C, H, W)`` float tensor (any number of channels).
        flow: ``(B, 2, H, W)`` float tensor in pixels, channel 0 = x.
        mode: ``"bilinear"`` or ``"nearest"``.
        padding_mode: ``"border"`` or ``"zeros"``.

    Returns:
        ``(B, C, H, W)`` tensor, the same dtype as ``x``.
    """
    dims: dict[str, int] = {}
    check_shape("warp: x", x, ("B", None, "H", "W"), dims)
    check_shape("warp: flow", flow, ("B", 2, "H", "W"), dims)
    _, _, h, w = x.shape
    coords = _base_grid(h, w, flow) + flow  # (B, 2, H, W), absolute pixel positions
    # Normalise to [-1, 1] with align_corners=True: -1 -> pixel 0, +1 -> pixel size-1.
    scale = torch.tensor(
        [2.0 / max(w - 1, 1), 2.0 / max(h - 1, 1)], device=flow.device, dtype=flow.dtype
    ).view(1, 2, 1, 1)
    grid = (coords * scale - 1.0).permute(0, 2, 3, 1)  # (B, H, W, 2), (x, y) order
    return F.grid_sample(
        x, grid.to(x.dtype), mode=mode, padding_mode=padding_mode, align_corners=True
    )


def inside_mask(flow: torch.Tensor) -> torch.Tensor:
    """``(B, 1, H, W)`` mask, 1 where ``p + flow(p)`` lands inside the frame.

    "Inside" means within ``[0, W-1] x [0, H-1]`` in pixel-centre coordinates.
    """
    check_shape("inside_mask: flow", flow, ("B", 2, "H", "W"))
    _, _, h, w = flow.shape
    coords = _base_grid(h, w, flow) + flow
    ok_x = (coords[:, 0] >= 0) & (coords[:, 0] <= w - 1)
    ok_y = (coords[:, 1] >= 0) & (coords[:, 1] <= h - 1)
    return (ok_x & ok_y).unsqueeze(1).to(flow.dtype)


def resize_flow(flow: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Resize a flow field to ``size = (H', W')`` and scale its vectors to match.

    The x component is multiplied by ``W'/W`` and the y component by ``H'/H``, so a
    displacement of ``d`` pixels at the old resolution becomes the same physical
    displacement at the new one. Values are resampled with bilinear interpolation
    (area averaging when shrinking), which is what the feature temporal loss of
    ReCoNet needs when the flow is brought to the encoder's resolution.

    Args:
        flow: ``(B, 2, H, W)`` in pixels.
        size: target ``(H', W')``.

    Returns:
        ``(B, 2, H', W')`` in pixels of the new resolution.
    """
    check_shape("resize_flow: flow", flow, ("B", 2, "H", "W"))
    h, w = flow.shape[-2:]
    nh, nw = int(size[0]), int(size[1])
    if nh <= 0 or nw <= 0:
        raise ValueError(f"resize_flow: size must be positive, got {size}")
    if (nh, nw) == (h, w):
        return flow.clone()
    mode = "area" if nh <= h and nw <= w else "bilinear"
    kwargs = {} if mode == "area" else {"align_corners": False}
    out = F.interpolate(flow, size=(nh, nw), mode=mode, **kwargs)
    scale = torch.tensor([nw / w, nh / h], device=flow.device, dtype=flow.dtype)
    return out * scale.view(1, 2, 1, 1)


def resize_mask(mask: torch.Tensor, size: tuple[int, int], *, soft: bool = False) -> torch.Tensor:
    """Resize a ``(B, 1, H, W)`` validity mask (nearest when enlarging).

    When shrinking, a pixel stays valid only if its whole footprint was valid
    (min-pooling); with ``soft`` it gets the valid fraction of its footprint
    (area averaging), a weight in [0, 1] for losses that accept soft masks.
    """
    check_shape("resize_mask: mask", mask, ("B", 1, "H", "W"))
    h, w = mask.shape[-2:]
    nh, nw = int(size[0]), int(size[1])
    if (nh, nw) == (h, w):
        return mask.clone()
    if nh <= h and nw <= w:
        if soft:
            return F.adaptive_avg_pool2d(mask, (nh, nw))
        # 1 - maxpool(1 - m): any invalid pixel under the footprint invalidates it.
        return 1.0 - F.adaptive_max_pool2d(1.0 - mask, (nh, nw))
    return F.interpolate(mask, size=(nh, nw), mode="nearest")
