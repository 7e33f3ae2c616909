"""Optical flow: file I/O, backward warping, occlusion masks, estimation, pictures."""

from vidstyle.flow.warp import inside_mask, resize_flow, resize_mask, warp

__all__ = ["inside_mask", "resize_flow", "resize_mask", "warp"]
