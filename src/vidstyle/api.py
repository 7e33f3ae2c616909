"""Python API: load a model, stylize images, frame folders and videos."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from vidstyle.methods.feedforward import FEEDFORWARD_METHODS, FeedForwardStylizer
from vidstyle.models.checkpoint import load_checkpoint
from vidstyle.models.reconet import ReCoNet
from vidstyle.pretrained import resolve_model


def load_model(name_or_path: str | os.PathLike, method: str = "reconet") -> ReCoNet:
    """A bundled style name (``"candy"``) or a checkpoint path -> a network in eval mode
    that maps ``(B, 3, H, W)`` in [0, 1] to the same shape and range."""
    if method not in FEEDFORWARD_METHODS:
        raise ValueError(f"load_model: method must be one of {FEEDFORWARD_METHODS}, got {method!r}")
    model, _ = load_checkpoint(resolve_model(name_or_path, method))
    return model


def make_stylizer(style: str | os.PathLike, method: str = "reconet", *,
                  device: str = "auto", half: bool = False) -> FeedForwardStylizer:
    """A stylizer for ``method`` with the model of ``style`` on ``device``."""
    from vidstyle.training.loop import resolve_device

    dev = resolve_device(device)
    return FeedForwardStylizer(load_model(style, method), dev, half=half and dev.type == "cuda")


def stylize_tensor(model: ReCoNet, x: torch.Tensor) -> torch.Tensor:
    """Stylize ``(B, 3, H, W)`` in [0, 1] on the model's device (no gradients)."""
    with torch.inference_mode():
        return model(x).clamp(0, 1)


def _default_output(src: Path, style: str) -> Path:
    tag = Path(style).stem if str(style).endswith(".pt") else str(style)
    if src.is_dir():
        return src.with_name(f"{src.name}.{tag}")
    return src.with_name(f"{src.stem}.{tag}{src.suffix}")


__all__ = ["load_model", "make_stylizer", "stylize_tensor"]
