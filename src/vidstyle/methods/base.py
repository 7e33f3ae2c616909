"""What the flow-guided methods (chen, ruder) share: the flow to a previous frame
and where it can be trusted.

A *flow function* ``flow_fn(cur, prev)`` takes two ``(1, 3, H, W)`` frames in
[0, 1] and returns the flow from ``cur`` to ``prev`` on ``cur``'s grid, ``(1, 2,
H, W)`` in pixels (so ``warp(prev, flow) ~ cur``), or a pair ``(flow, mask)``
whose ``(1, 1, H, W)`` mask is 1 where ``cur``'s pixel is visible in ``prev``
(ground truth, e.g. Sintel). When it returns no mask, it is called a second time
the other way round and the mask comes from forward-backward consistency, as for
the default estimator (OpenCV DIS).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from vidstyle._checks import check_image, check_shape
from vidstyle.flow.estimate import FLOW_METHODS, estimate_flow_pair
from vidstyle.flow.occlusion import forward_backward_error, occlusion_mask

# flow_fn(cur, prev) -> flow cur -> prev, or (flow, mask)
FlowFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor | tuple[torch.Tensor, torch.Tensor]]


@dataclass(frozen=True)
class FlowToPrevious:
    """Flow from the current frame to an earlier one, with its reliability.

    Attributes:
        flow: ``(B, 2, H, W)`` flow cur -> prev on cur's grid, pixels.
        mask: ``(B, 1, H, W)`` 1 where ``warp(prev, flow)`` can be trusted to match
            cur (not occluded, not on a motion boundary, landing inside the frame).
        fb_error: ``(B, 1, H, W)`` forward-backward error ``|w + w~|^2`` in px^2
            (see :func:`~vidstyle.flow.occlusion.consistency_mask`), or None when
            the mask was given (ground truth).
    """

    flow: torch.Tensor
    mask: torch.Tensor
    fb_error: torch.Tensor | None


def check_flow_method(method: str) -> str:
    """Return ``method`` if it names a flow estimator, else raise ``ValueError``."""
    if method not in FLOW_METHODS:
        raise ValueError(f"unknown flow method {method!r}; known: {', '.join(FLOW_METHODS)}")
    return method


def call_flow_fn(
    flow_fn: FlowFn, cur: torch.Tensor, prev: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Call ``flow_fn`` and check what it returned: ``(flow, mask or None)``, float32 CPU."""
    res = flow_fn(cur, prev)
    mask = None
    if isinstance(res, (tuple, list)):
        if len(res) != 2:
            raise ValueError(f"flow_fn must return a flow or (flow, mask), got {len(res)} items")
        res, mask = res
    dims = {"B": cur.shape[0], "H": cur.shape[-2], "W": cur.shape[-1]}
    flow = check_shape("flow_fn result: flow", res, ("B", 2, "H", "W"), dims)
    flow = flow.detach().to("cpu", torch.float32)
    if mask is not None:
        mask = check_shape("flow_fn result: mask", mask, ("B", 1, "H", "W"), dims, floating=False)
        mask = mask.detach().to("cpu", torch.float32)
        if not bool(((mask >= 0) & (mask <= 1)).all()):
            raise ValueError("flow_fn result: mask must hold values in [0, 1] (1 = valid)")
    return flow, mask


def flow_to_previous(
    cur: torch.Tensor,
    prev: torch.Tensor,
    *,
    method: str = "dis",
    flow_fn: FlowFn | None = None,
) -> FlowToPrevious:
    """Flow from ``cur`` to ``prev`` and its validity, on the CPU in float32.

    Args:
        cur, prev: ``(B, 3, H, W)`` frames in [0, 1] (the *input* frames).
        method: estimator when ``flow_fn`` is None (``"dis"`` or ``"farneback"``).
        flow_fn: optional flow function (see the module docstring).

    Returns:
        :class:`FlowToPrevious` with ``flow`` ``(B, 2, H, W)``, ``mask`` ``(B, 1,
        H, W)`` and the forward-backward error (None if ``flow_fn`` gave a mask).
    """
    dims: dict[str, int] = {}
    check_image("flow_to_previous: cur", cur, dims)
    check_image("flow_to_previous: prev", prev, dims)
    cur = cur.detach().to("cpu", torch.float32)
    prev = prev.detach().to("cpu", torch.float32)
    if flow_fn is None:
        flow, back = estimate_flow_pair(cur, prev, method)
    else:
        flow, mask = call_flow_fn(flow_fn, cur, prev)
        if mask is not None:
            return FlowToPrevious(flow, mask, None)
        back, _ = call_flow_fn(flow_fn, prev, cur)
    return FlowToPrevious(flow, occlusion_mask(flow, back), forward_backward_error(flow, back))
