"""Occlusion masks from a pair of flows (forward-backward consistency).

After Sundaram, Brox & Keutzer, "Dense point trajectories by GPU-accelerated
large displacement optical flow" (ECCV 2010), with the thresholds used by Ruder,
Dosovitskiy & Brox, "Artistic style transfer for videos" (GCPR 2016).

Every mask here follows the package convention: ``(B, 1, H, W)``, 1 = valid,
0 = invalid (occluded, out of frame, or on a motion boundary).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from vidstyle._checks import check_shape
from vidstyle.flow.warp import inside_mask, warp

# Thresholds of Sundaram et al. 2010 / Ruder et al. 2016 (see DESIGN.md).
CONSISTENCY_REL = 0.01
CONSISTENCY_ABS = 0.5  # px^2
BOUNDARY_REL = 0.01
BOUNDARY_ABS = 0.002


def _check_pair(fn: str, flow_fw: torch.Tensor, flow_bw: torch.Tensor) -> None:
    dims: dict[str, int] = {}
    check_shape(f"{fn}: flow_fw", flow_fw, ("B", 2, "H", "W"), dims)
    check_shape(f"{fn}: flow_bw", flow_bw, ("B", 2, "H", "W"), dims)


def consistency_mask(flow_fw: torch.Tensor, flow_bw: torch.Tensor) -> torch.Tensor:
    """Forward-backward consistency of a flow pair, on the grid of ``flow_fw``.

    With ``w = flow_fw`` and ``w~ = warp(flow_bw, flow_fw)`` (the backward flow
    sampled, bilinearly, where each pixel lands), a pixel is inconsistent where
    ``|w + w~|^2 > 0.01 (|w|^2 + |w~|^2) + 0.5``: following the flow there and
    back does not return to the start, so the pixel is occluded in the other frame
    (or the flow is wrong). Pixels whose ``p + w(p)`` leaves the frame are also 0.

    Args:
        flow_fw: ``(B, 2, H, W)`` flow from frame A to frame B on A's grid.
        flow_bw: ``(B, 2, H, W)`` flow from frame B to frame A on B's grid.

    Returns:
        ``(B, 1, H, W)`` mask on A's grid, 1 = consistent and landing inside B.
    """
    _check_pair("consistency_mask", flow_fw, flow_bw)
    w = flow_fw
    w_back = warp(flow_bw, flow_fw)
    lhs = _fb_error(w, w_back)
    rhs = CONSISTENCY_REL * (w.pow(2).sum(1, keepdim=True) + w_back.pow(2).sum(1, keepdim=True))
    consistent = (lhs <= rhs + CONSISTENCY_ABS).to(flow_fw.dtype)
    return consistent * inside_mask(flow_fw)


def _fb_error(w: torch.Tensor, w_back: torch.Tensor) -> torch.Tensor:
    return (w + w_back).pow(2).sum(1, keepdim=True)


def forward_backward_error(flow_fw: torch.Tensor, flow_bw: torch.Tensor) -> torch.Tensor:
    """``|w + w~|^2`` in px^2, ``(B, 1, H, W)`` on the grid of ``flow_fw``.

    ``w = flow_fw`` and ``w~ = warp(flow_bw, flow_fw)``: how far following the flow
    there and back misses the start. 0 for a perfectly consistent pair; the quantity
    :func:`consistency_mask` thresholds.

    Args:
        flow_fw: ``(B, 2, H, W)`` flow from frame A to frame B on A's grid.
        flow_bw: ``(B, 2, H, W)`` flow from frame B to frame A on B's grid.
    """
    _check_pair("forward_backward_error", flow_fw, flow_bw)
    return _fb_error(flow_fw, warp(flow_bw, flow_fw))


def flow_gradient_sq(flow: torch.Tensor) -> torch.Tensor:
    """``|grad u|^2 + |grad v|^2`` of a flow field, ``(B, 1, H, W)``.

    Central differences ``(f(x+1) - f(x-1)) / 2`` in x and y (the 3-tap derivative
    of Ruder et al.'s consistency checker), with the border replicated, so the
    first and last row/column get half the one-sided difference.
    """
    check_shape("flow_gradient_sq: flow", flow, ("B", 2, "H", "W"))
    padded = F.pad(flow, (1, 1, 1, 1), mode="replicate")
    dx = (padded[:, :, 1:-1, 2:] - padded[:, :, 1:-1, :-2]) / 2
    dy = (padded[:, :, 2:, 1:-1] - padded[:, :, :-2, 1:-1]) / 2
    return (dx.pow(2) + dy.pow(2)).sum(1, keepdim=True)


def motion_boundary_mask(flow: torch.Tensor) -> torch.Tensor:
    """Mask of pixels *not* on a motion boundary of ``flow`` (1 = valid).

    A pixel is on a motion boundary where ``|grad u|^2 + |grad v|^2 > 0.01 |w|^2
    + 0.002``, with ``w = (u, v) = flow`` and the gradients of
    :func:`flow_gradient_sq`. Near such edges the flow of either frame is
    unreliable, so Ruder et al. exclude them from the temporal loss.

    This is only *part* of a validity mask. An image of motion boundaries must
    not be used as the occlusion mask on its own (a known bug of public ReCoNet
    ports): it misses every occluded region away from the edges. Use
    :func:`occlusion_mask`.

    Args:
        flow: ``(B, 2, H, W)`` in pixels.

    Returns:
        ``(B, 1, H, W)``, 0 on motion boundaries, 1 elsewhere.
    """
    check_shape("motion_boundary_mask: flow", flow, ("B", 2, "H", "W"))
    grad_sq = flow_gradient_sq(flow)
    mag_sq = flow.pow(2).sum(1, keepdim=True)
    return (grad_sq <= BOUNDARY_REL * mag_sq + BOUNDARY_ABS).to(flow.dtype)


def occlusion_mask(
    flow_fw: torch.Tensor, flow_bw: torch.Tensor, *, motion_boundaries: bool = True
) -> torch.Tensor:
    """Validity mask of frame A's pixels given the flows both ways (1 = valid).

    ``flow_fw`` is the flow from frame A to frame B on A's grid: the one passed to
    ``warp(B, flow_fw)`` to bring B onto A (Sintel's forward flow of frame A, or
    ``estimate_flow(A, B)``). ``flow_bw`` is the flow from B to A on B's grid.
    The returned mask lives on A's grid and says where ``warp(B, flow_fw)`` can be
    trusted to equal A.

    A pixel is 0 when any of these holds:

    * forward-backward inconsistency, ``|w + w~|^2 > 0.01 (|w|^2 + |w~|^2) + 0.5``
      with ``w = flow_fw`` and ``w~ = warp(flow_bw, flow_fw)`` (see
      :func:`consistency_mask`): the pixel is occluded in B;
    * ``p + w(p)`` lands outside the frame (:func:`~vidstyle.flow.warp.inside_mask`);
    * if ``motion_boundaries``, it lies on a motion boundary of ``w``,
      ``|grad u|^2 + |grad v|^2 > 0.01 |w|^2 + 0.002`` (central differences, see
      :func:`motion_boundary_mask`). DESIGN.md writes this test on ``w^``; like
      Ruder et al.'s released consistency checker we take the gradients of the
      forward flow ``w`` itself, whose edges are where A's pixels are unreliable.

    The motion-boundary test alone is not an occlusion mask; using it as one is a
    known bug of public ReCoNet ports.

    Args:
        flow_fw: ``(B, 2, H, W)`` flow A -> B on A's grid, pixels, channel 0 = x.
        flow_bw: ``(B, 2, H, W)`` flow B -> A on B's grid.
        motion_boundaries: also invalidate motion boundaries of ``flow_fw``.

    Returns:
        ``(B, 1, H, W)`` mask on A's grid, same dtype as ``flow_fw``.
    """
    _check_pair("occlusion_mask", flow_fw, flow_bw)
    mask = consistency_mask(flow_fw, flow_bw)
    if motion_boundaries:
        mask = mask * motion_boundary_mask(flow_fw)
    return mask
