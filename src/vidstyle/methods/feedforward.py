"""Feed-forward stylization (per-frame, huang, reconet): one network pass per frame."""

from __future__ import annotations

import torch

from vidstyle._checks import check_image
from vidstyle.models.reconet import ReCoNet


class FeedForwardStylizer:
    """Applies a :class:`ReCoNet` to batches of frames on a device.

    Args:
        model: the network (moved to ``device``, put in eval mode).
        device: where to run.
        half: run in fp16 (CUDA only; inputs and outputs stay float32).
    """

    def __init__(self, model: ReCoNet, device: torch.device | str = "cpu", half: bool = False):
        self.device = torch.device(device)
        if half and self.device.type != "cuda":
            raise ValueError("half precision needs a CUDA device")
        self.dtype = torch.float16 if half else torch.float32
        fmt = torch.channels_last if self.device.type == "cuda" else torch.contiguous_format
        self.memory_format = fmt
        self.model = model.to(self.device, self.dtype).eval().to(memory_format=fmt)

    def reset(self) -> None:
        """Forget the previous frames (nothing to forget for a feed-forward method)."""

    @torch.inference_mode()
    def __call__(self, frames: torch.Tensor) -> torch.Tensor:
        """Stylize ``(B, 3, H, W)`` float frames in [0, 1]; returns the same shape on the CPU."""
        check_image("stylize: frames", frames)
        x = frames.to(self.device, self.dtype, non_blocking=True).contiguous(
            memory_format=self.memory_format
        )
        return self.model(x).float().clamp_(0, 1).cpu()
