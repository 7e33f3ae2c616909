"""Temporal losses of ReCoNet (Gao et al. 2018, Sec. 3.2) and Huang et al. (2017).

All take the flow from the *current* frame ``t`` to the *previous* frame ``t-1``
(so that ``warp(prev, flow)`` brings ``t-1`` onto ``t``) and a mask that is 1
where the current pixel is visible in the previous frame.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from vidstyle._checks import at_least_float32, check_shape
from vidstyle.flow.warp import resize_flow, resize_mask, warp
from vidstyle.image import luminance


def _masked_mean(sq: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``(1/D) sum M * sq`` where D is the number of elements of ``sq`` (ReCoNet's
    normalisation: by all elements, not only the valid ones)."""
    return (sq * mask).sum() / sq.numel()


def weight_near_occlusions(mask: torch.Tensor, weight: float, radius: int = 8) -> torch.Tensor:
    """``mask`` with its valid pixels within ``radius`` px of a left-out one (occluded, or
    flowing out of the frame) weighted ``weight`` times the others, rescaled per item so
    that the mean weight of the valid pixels stays that of ``mask``: the temporal terms'
    attention moves to where things move against their surroundings, their size does not.

    In the Sintel benchmark most of a trained model's flicker beyond its input's lies there
    (``benchmarks/estab_regions.py``, docs/recipe.md).

    Args:
        mask: ``(B, 1, H, W)`` in [0, 1], 1 = valid.
        weight: > 0; 1 returns ``mask`` itself.
    """
    check_shape("weight_near_occlusions: mask", mask, ("B", 1, "H", "W"), {})
    if not weight > 0:
        raise ValueError(f"weight_near_occlusions: weight must be > 0, got {weight}")
    if weight == 1.0:
        return mask
    m = at_least_float32(mask)
    near = F.max_pool2d((m <= 0).to(m.dtype), 2 * radius + 1, stride=1, padding=radius)
    weighted = m * (1.0 + (weight - 1.0) * near)
    total, new = m.sum(dim=(1, 2, 3), keepdim=True), weighted.sum(dim=(1, 2, 3), keepdim=True)
    return weighted * (total / new.clamp_min(1e-12))


def masked_temporal_loss(x: torch.Tensor, warped: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``(1/D) sum_p M(p) * ||x(p) - warped(p)||^2``, ``D`` = number of elements of ``x``.

    The short-term temporal loss of Ruder et al. (2016) on an image being optimised,
    and Huang et al.'s output temporal loss (:func:`plain_output_temporal_loss`) once
    the previous output is warped. Pixels with ``M = 0`` (occluded, out of frame)
    contribute nothing, not even gradient. ``warped`` is taken as given, so a caller
    that evaluates the loss many times against one earlier frame warps it once.

    Args:
        x: ``(B, C, H, W)`` the current image.
        warped: ``(B, C, H, W)`` the earlier image warped onto ``x``'s frame.
        mask: ``(B, 1, H, W)`` weights ``M`` in [0, 1].
    """
    dims: dict[str, int] = {}
    check_shape("masked_temporal_loss: x", x, ("B", "C", "H", "W"), dims)
    check_shape("masked_temporal_loss: warped", warped, ("B", "C", "H", "W"), dims)
    check_shape("masked_temporal_loss: mask", mask, ("B", 1, "H", "W"), dims)
    return _masked_mean((x - warped).pow(2), mask)


def feature_temporal_loss(
    feat_cur: torch.Tensor,
    feat_prev: torch.Tensor,
    flow: torch.Tensor,
    mask: torch.Tensor,
) -> torch.Tensor:
    """``L_temp_f = (1/D) sum M_t * ||F_t - W_t(F_{t-1})||^2``.

    The flow and mask are given at image resolution; they are resized to the
    feature map (flow vectors scaled by the same factor, mask min-pooled).

    Args:
        feat_cur, feat_prev: encoder outputs ``(B, C, h, w)``.
        flow: ``(B, 2, H, W)`` flow from frame t to t-1, in image pixels.
        mask: ``(B, 1, H, W)`` validity of frame t's pixels.
    """
    dims: dict[str, int] = {}
    check_shape("feature_temporal_loss: feat_cur", feat_cur, ("B", "C", "h", "w"), dims)
    check_shape("feature_temporal_loss: feat_prev", feat_prev, ("B", "C", "h", "w"), dims)
    check_shape("feature_temporal_loss: flow", flow, ("B", 2, "H", "W"), dims)
    check_shape("feature_temporal_loss: mask", mask, ("B", 1, "H", "W"), dims)
    size = feat_cur.shape[-2:]
    flow_s = resize_flow(at_least_float32(flow), size)
    mask_s = resize_mask(at_least_float32(mask), size)
    diff = at_least_float32(feat_cur) - warp(at_least_float32(feat_prev), flow_s)
    return _masked_mean(diff**2, mask_s)


def output_temporal_loss(
    out_cur: torch.Tensor,
    out_prev: torch.Tensor,
    in_cur: torch.Tensor,
    in_prev: torch.Tensor,
    flow: torch.Tensor,
    mask: torch.Tensor,
) -> torch.Tensor:
    """ReCoNet's output temporal loss with the relative-luminance term:

    ``L_temp_o = (1/D) sum_c M_t * ((O_t - W_t(O_{t-1}))_c - (I_t - W_t(I_{t-1}))_Y)^2``

    The output is allowed to change exactly as much as the input's relative
    luminance changes (lighting, shading), and no more.

    Args:
        out_cur, out_prev, in_cur, in_prev: ``(B, 3, H, W)`` in [0, 1].
        flow: ``(B, 2, H, W)`` from frame t to t-1. mask: ``(B, 1, H, W)``.
    """
    dims: dict[str, int] = {}
    for name, t in (("out_cur", out_cur), ("out_prev", out_prev), ("in_cur", in_cur),
                    ("in_prev", in_prev)):
        check_shape(f"output_temporal_loss: {name}", t, ("B", 3, "H", "W"), dims)
    check_shape("output_temporal_loss: flow", flow, ("B", 2, "H", "W"), dims)
    check_shape("output_temporal_loss: mask", mask, ("B", 1, "H", "W"), dims)
    d_out = at_least_float32(out_cur) - warp(at_least_float32(out_prev), flow)
    d_in = luminance(at_least_float32(in_cur) - warp(at_least_float32(in_prev), flow))  # (B, 1, H, W)
    return _masked_mean((d_out - d_in) ** 2, mask)


def plain_output_temporal_loss(
    out_cur: torch.Tensor,
    out_prev: torch.Tensor,
    flow: torch.Tensor,
    mask: torch.Tensor,
) -> torch.Tensor:
    """Huang et al. (2017) output temporal loss without the luminance term:
    ``(1/D) sum M_t * ||O_t - W_t(O_{t-1})||^2``."""
    dims: dict[str, int] = {}
    check_shape("plain_output_temporal_loss: out_cur", out_cur, ("B", 3, "H", "W"), dims)
    check_shape("plain_output_temporal_loss: out_prev", out_prev, ("B", 3, "H", "W"), dims)
    check_shape("plain_output_temporal_loss: flow", flow, ("B", 2, "H", "W"), dims)
    check_shape("plain_output_temporal_loss: mask", mask, ("B", 1, "H", "W"), dims)
    return masked_temporal_loss(at_least_float32(out_cur), warp(at_least_float32(out_prev), flow), mask)
