"""Optical flow: file I/O, backward warping, occlusion masks, estimation, pictures."""

from vidstyle.flow.estimate import (
    FLOW_METHODS,
    estimate_flow,
    estimate_flow_pair,
    estimated_occlusion,
)
from vidstyle.flow.io import flo_to_tensor, read_flo, write_flo
from vidstyle.flow.occlusion import (
    consistency_mask,
    forward_backward_error,
    motion_boundary_mask,
    occlusion_mask,
)
from vidstyle.flow.viz import flow_to_color
from vidstyle.flow.warp import inside_mask, resize_flow, resize_mask, warp

__all__ = [
    "FLOW_METHODS",
    "consistency_mask",
    "estimate_flow",
    "estimate_flow_pair",
    "estimated_occlusion",
    "flo_to_tensor",
    "flow_to_color",
    "forward_backward_error",
    "inside_mask",
    "motion_boundary_mask",
    "occlusion_mask",
    "read_flo",
    "resize_flow",
    "resize_mask",
    "warp",
    "write_flo",
]
