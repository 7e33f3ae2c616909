"""Inference backends for the feed-forward methods.

* ``torch``: :class:`vidstyle.methods.feedforward.FeedForwardStylizer` (PyTorch eager).
* ``onnx``: :class:`vidstyle.backends.onnx.OnnxStylizer` (onnxruntime on an exported
  graph; ``onnx`` and ``onnxruntime`` are dependencies of vidstyle).
* ``auto`` (the default): :func:`choose_backend` picks one of the two.

Both follow the stylizer interface of :mod:`vidstyle.pipeline`: ``reset()``,
``__call__(frames (B, 3, H, W) float in [0, 1]) -> (B, 3, H, W)`` float32 on the CPU.
Importing this package imports neither backend's runtime.
"""

from __future__ import annotations

import os

BACKENDS = ("auto", "torch", "onnx")
# The methods the onnx backend runs: one pass of a network per frame.
ONNX_METHODS = ("reconet", "per-frame", "huang")


def onnx_available() -> bool:
    """Whether the onnx backend can run here (``onnx`` and ``onnxruntime`` import)."""
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def choose_backend(method: str, device: str = "auto", style: str | os.PathLike | None = None) -> str:
    """The backend ``auto`` stands for: ``"onnx"`` or ``"torch"``.

    * an exported ``.onnx`` model (``style``): ``onnx``, the only backend that reads one;
    * a feed-forward method (``reconet``, ``per-frame``, ``huang``) on the CPU
      (``device`` ``cpu``, or ``auto`` without CUDA): ``onnx`` when onnxruntime is
      importable, else ``torch``. Measured by ``benchmarks/cpu_paths.py`` on a 2-core
      CPU at 640x360 (network only, 2 threads): the full network runs at 2.26 frames/s
      under onnxruntime against 2.02 in PyTorch eager, the lite one at 25.9 against
      19.8. ``torch.compile`` is faster once compiled (2.47 and 31.8) but its first call
      takes 9-26 s per frame size and needs a C++ compiler, so it is not the default;
    * on CUDA, and for ``chen`` and ``ruder`` (PyTorch code around the network, or no
      network at all): ``torch``.
    """
    if style is not None and str(style).lower().endswith(".onnx"):
        return "onnx"
    if method not in ONNX_METHODS:
        return "torch"
    if device == "cpu":
        on_cpu = True
    elif device == "auto":
        import torch

        on_cpu = not torch.cuda.is_available()
    else:
        on_cpu = False  # cuda, cuda:N; an unknown device is refused by the torch path
    return "onnx" if on_cpu and onnx_available() else "torch"


__all__ = ["BACKENDS", "ONNX_METHODS", "choose_backend", "onnx_available"]
