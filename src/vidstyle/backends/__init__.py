"""Inference backends for the feed-forward methods.

* ``torch``: :class:`vidstyle.methods.feedforward.FeedForwardStylizer` (PyTorch eager).
* ``onnx``: :class:`vidstyle.backends.onnx.OnnxStylizer` (onnxruntime on an exported
  graph; needs the ``onnx`` extra: ``pip install 'vidstyle[onnx]'``).

Both follow the stylizer interface of :mod:`vidstyle.pipeline`: ``reset()``,
``__call__(frames (B, 3, H, W) float in [0, 1]) -> (B, 3, H, W)`` float32 on the CPU,
and ``stateful``. Importing this package imports neither backend's runtime.
"""

from __future__ import annotations

BACKENDS = ("torch", "onnx")

__all__ = ["BACKENDS"]
