"""Middlebury ``.flo`` files (the format of MPI Sintel's ground-truth flow).

Layout, all little-endian: the 4 bytes ``b"PIEH"`` (the float32 ``202021.25``),
int32 width, int32 height, then ``height * width * 2`` float32 values in row
order, x (u) before y (v) for each pixel.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from vidstyle.atomic import atomic_write
from vidstyle.errors import FlowFileError

FLO_MAGIC = 202021.25  # b"PIEH" read as a little-endian float32
_HEADER_BYTES = 12
# Larger than any real frame (16K video is 15360 wide); a bigger header is garbage.
_MAX_SIDE = 1 << 16


def read_flo(path: str | os.PathLike) -> np.ndarray:
    """Read a Middlebury ``.flo`` file.

    Returns:
        ``(H, W, 2)`` float32 array in pixels, ``[..., 0]`` = x displacement.

    Raises:
        FlowFileError: the file is missing, not a ``.flo`` file (wrong magic
            number), has an implausible size in its header, or is shorter or
            longer than its header says.
    """
    p = Path(path)
    if not p.is_file():
        raise FlowFileError(f"flow file not found: {p}")
    data = p.read_bytes()
    if len(data) < _HEADER_BYTES:
        raise FlowFileError(
            f"{p}: truncated .flo file ({len(data)} bytes, the header alone is {_HEADER_BYTES})"
        )
    magic = np.frombuffer(data, dtype="<f4", count=1, offset=0)[0]
    if magic != np.float32(FLO_MAGIC):
        raise FlowFileError(
            f"{p}: not a Middlebury .flo file (starts with {data[:4]!r}, expected b'PIEH')"
        )
    w, h = (int(v) for v in np.frombuffer(data, dtype="<i4", count=2, offset=4))
    if not (0 < w <= _MAX_SIDE and 0 < h <= _MAX_SIDE):
        raise FlowFileError(f"{p}: implausible flow size {w}x{h} in the header")
    expected = _HEADER_BYTES + h * w * 2 * 4
    if len(data) != expected:
        what = "truncated" if len(data) < expected else "has trailing data"
        raise FlowFileError(f"{p}: {what}: {len(data)} bytes, a {w}x{h} flow needs {expected}")
    flow = np.frombuffer(data, dtype="<f4", offset=_HEADER_BYTES).reshape(h, w, 2)
    return flow.astype(np.float32)  # native byte order, writable copy


def as_flow_array(flow: np.ndarray | torch.Tensor, name: str = "flow") -> np.ndarray:
    """A single flow field as a ``(H, W, 2)`` float32 numpy array.

    Accepts ``(H, W, 2)`` numpy arrays and ``(1, 2, H, W)`` or ``(2, H, W)`` tensors.
    """
    if isinstance(flow, torch.Tensor):
        t = flow.detach()
        if t.dim() == 4 and t.shape[0] == 1:
            t = t[0]
        if t.dim() != 3 or t.shape[0] != 2:
            raise ValueError(
                f"{name} tensor must have shape (1, 2, H, W) or (2, H, W), got {tuple(flow.shape)}"
            )
        return t.permute(1, 2, 0).to("cpu", torch.float32).numpy()
    if isinstance(flow, np.ndarray):
        if flow.ndim != 3 or flow.shape[2] != 2:
            raise ValueError(f"{name} array must have shape (H, W, 2), got {flow.shape}")
        if not np.issubdtype(flow.dtype, np.number):
            raise TypeError(f"{name} array must be numeric, got {flow.dtype}")
        return flow.astype(np.float32, copy=False)
    raise TypeError(f"{name} must be a numpy array or torch.Tensor, got {type(flow).__name__}")


def write_flo(path: str | os.PathLike, flow: np.ndarray | torch.Tensor) -> None:
    """Write one flow field as a Middlebury ``.flo`` file, atomically.

    Args:
        path: destination; an existing file is replaced only once the new one is
            complete.
        flow: ``(H, W, 2)`` numpy array, or ``(1, 2, H, W)`` / ``(2, H, W)`` tensor,
            in pixels with x first.
    """
    arr = as_flow_array(flow)
    h, w = arr.shape[:2]
    if h == 0 or w == 0:
        raise ValueError(f"write_flo: flow is empty, got shape {arr.shape}")
    header = np.array([FLO_MAGIC], dtype="<f4").tobytes() + np.array([w, h], "<i4").tobytes()
    body = np.ascontiguousarray(arr, dtype="<f4").tobytes()

    def _write(tmp: str) -> None:
        with open(tmp, "wb") as f:
            f.write(header)
            f.write(body)

    atomic_write(path, _write)


def flo_to_tensor(arr: np.ndarray) -> torch.Tensor:
    """``(H, W, 2)`` flow array -> ``(1, 2, H, W)`` float32 tensor (a copy)."""
    a = as_flow_array(arr, "flo_to_tensor: arr")
    return (
        torch.from_numpy(np.array(a, dtype=np.float32)).permute(2, 0, 1).unsqueeze(0).contiguous()
    )
