"""Inference backends for the methods that are one network pass per frame (those
with ``onnx`` in their :class:`~vidstyle.methods.registry.MethodSpec`).

* ``torch``: the method's own stylizer (:data:`vidstyle.methods.METHODS`), PyTorch eager.
* ``onnx``: :class:`vidstyle.backends.onnx.OnnxStylizer` (onnxruntime on an exported
  graph; ``onnx`` and ``onnxruntime`` are dependencies of vidstyle).
* ``auto`` (the default): :func:`choose_backend` picks one of the two.

Both follow the :class:`~vidstyle.methods.registry.Stylizer` protocol. Importing
this package imports neither backend's runtime.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vidstyle.device import runs_on_cpu

if TYPE_CHECKING:
    from vidstyle.reference import StyleRef

BACKENDS = ("auto", "torch", "onnx")


def onnx_available() -> bool:
    """Whether the onnx backend can run here (``onnx`` and ``onnxruntime`` import)."""
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def choose_backend(ref: StyleRef, device: str = "auto") -> str:
    """The backend ``auto`` stands for: ``"onnx"`` or ``"torch"``.

    * an exported ``.onnx`` model (``ref.kind == "onnx"``): ``onnx``, the only
      backend that reads one;
    * a method that onnxruntime runs (``onnx`` in its spec: ``reconet``,
      ``per-frame``, ``huang``) on the CPU (``device`` ``cpu``, or ``auto`` without
      CUDA): ``onnx`` when onnxruntime is importable, else ``torch``. Measured by
      ``benchmarks/cpu_paths.py`` on a 2-core CPU at 640x360 (network only, 2
      threads): the full network runs at 2.26 frames/s under onnxruntime against
      2.02 in PyTorch eager, the lite one at 25.9 against 19.8. ``torch.compile`` is
      faster once compiled (2.47 and 31.8) but its first call takes 9-26 s per frame
      size and needs a C++ compiler, so it is not the default;
    * on CUDA, and for ``chen`` and ``ruder`` (PyTorch code around the network, or no
      network at all): ``torch``.
    """
    if ref.kind == "onnx":
        return "onnx"
    if not ref.spec.onnx:
        return "torch"
    return "onnx" if runs_on_cpu(device) and onnx_available() else "torch"


__all__ = ["BACKENDS", "choose_backend", "onnx_available"]
