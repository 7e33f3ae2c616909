"""Python API: load a model, stylize images, frame folders and videos."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from vidstyle.errors import VidstyleError
from vidstyle.methods.feedforward import FEEDFORWARD_METHODS, FeedForwardStylizer
from vidstyle.models.checkpoint import load_checkpoint
from vidstyle.models.reconet import ReCoNet
from vidstyle.pretrained import resolve_model

if TYPE_CHECKING:
    from vidstyle.backends.onnx import OnnxStylizer


def load_model(name_or_path: str | os.PathLike, method: str = "reconet") -> ReCoNet:
    """A bundled style name (``"candy"``) or a checkpoint path -> a network in eval mode
    that maps ``(B, 3, H, W)`` in [0, 1] to the same shape and range."""
    if method not in FEEDFORWARD_METHODS:
        raise ValueError(f"load_model: method must be one of {FEEDFORWARD_METHODS}, got {method!r}")
    model, _ = load_checkpoint(resolve_model(name_or_path, method))
    return model


def make_stylizer(style: str | os.PathLike, method: str = "reconet", *,
                  device: str = "auto", half: bool = False, backend: str = "torch",
                  threads: int | None = None) -> FeedForwardStylizer | OnnxStylizer:
    """A stylizer for ``method`` with the model of ``style`` on ``device``.

    ``backend`` is ``"torch"`` (PyTorch eager) or ``"onnx"`` (onnxruntime; ``style``
    may then also be an exported ``.onnx`` file, and checkpoints are exported once to
    a cache). ``threads`` sets onnxruntime's intra-op threads (default: physical
    cores); PyTorch's are process-wide, see ``torch.set_num_threads``. ``half`` applies
    on CUDA only.
    """
    from vidstyle.backends import BACKENDS

    if backend not in BACKENDS:
        raise VidstyleError(f"unknown backend {backend!r}: use {' or '.join(BACKENDS)}")
    if backend == "onnx":
        from vidstyle.backends.onnx import CUDA, OnnxStylizer, providers_for

        if method not in FEEDFORWARD_METHODS:
            raise ValueError(f"make_stylizer: method must be one of {FEEDFORWARD_METHODS}, got {method!r}")
        providers = providers_for(device)
        return OnnxStylizer(style, method=method, threads=threads, providers=providers,
                            half=half and providers[0] == CUDA)

    if str(style).lower().endswith(".onnx"):
        raise VidstyleError(f"{style} is an ONNX model: use the onnx backend (--backend onnx)")
    from vidstyle.training.loop import resolve_device

    dev = resolve_device(device)
    return FeedForwardStylizer(load_model(style, method), dev, half=half and dev.type == "cuda")


def stylize_tensor(model: ReCoNet, x: torch.Tensor) -> torch.Tensor:
    """Stylize ``(B, 3, H, W)`` in [0, 1] on the model's device (no gradients)."""
    with torch.inference_mode():
        return model(x).clamp(0, 1)


def stylize_video(
    src: str | os.PathLike,
    dst: str | os.PathLike | None = None,
    *,
    style: str | os.PathLike = "candy",
    method: str = "reconet",
    device: str = "auto",
    half: bool = False,
    **options,
):
    """Stylize a video file, an image or a folder of frames into ``dst``.

    ``dst`` defaults to ``INPUT.STYLE.EXT`` (or ``FOLDER.STYLE``). ``options`` are
    those of :func:`vidstyle.pipeline.stylize_path` (``max_size``, ``batch_size``,
    ``crf``, ``start``, ``duration``, ``overwrite``, ``progress``). Returns a
    :class:`~vidstyle.pipeline.StylizeReport`.
    """
    from vidstyle.pipeline import default_output, stylize_path

    src = Path(src)
    tag = Path(style).stem if str(style).endswith(".pt") else str(style)
    out = Path(dst) if dst is not None else default_output(src, tag)
    stylizer = make_stylizer(style, method, device=device, half=half)
    options.setdefault("progress", False)
    return stylize_path(src, out, stylizer, **options)


__all__ = ["load_model", "make_stylizer", "stylize_tensor", "stylize_video"]
