"""Device names, parsed in one place: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.

``auto`` means CUDA when PyTorch sees a GPU, else the CPU. The PyTorch stylizers,
training and the evaluation turn a name into a :class:`torch.device` with
:func:`resolve_device`; the onnxruntime backend, which has no torch device, reads
the same names through :func:`check_device` and :func:`runs_on_cpu`. PyTorch is
imported only when a function needs it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vidstyle.errors import VidstyleError

if TYPE_CHECKING:
    import torch

DEVICES = ("auto", "cpu", "cuda")  # and cuda:N


def check_device(device: str) -> str:
    """Return ``device`` if it names a device (``auto``, ``cpu``, ``cuda``, ``cuda:N``),
    else raise :class:`VidstyleError` naming the accepted ones."""
    index = device.removeprefix("cuda:") if isinstance(device, str) else ""
    if device in DEVICES or (device != index and index.isdigit()):
        return device
    raise VidstyleError(f"unknown device {device!r}: use auto, cpu or cuda", option="device")


def cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def runs_on_cpu(device: str) -> bool:
    """Whether ``device`` means the CPU: ``cpu``, or ``auto`` where CUDA is not available."""
    device = check_device(device)
    return device == "cpu" or (device == "auto" and not cuda_available())


def resolve_device(device: str) -> torch.device:
    """``auto`` picks CUDA when available; ``cuda`` without CUDA is an error."""
    import torch

    device = check_device(device)
    if device == "auto":
        return torch.device("cuda" if cuda_available() else "cpu")
    if device.startswith("cuda") and not cuda_available():
        raise VidstyleError("--device cuda was asked for but CUDA is not available")
    return torch.device(device)


__all__ = ["DEVICES", "check_device", "cuda_available", "resolve_device", "runs_on_cpu"]
