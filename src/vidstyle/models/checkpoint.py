"""Checkpoints that rebuild their own model.

A checkpoint is a ``torch.save``d dict::

    {
        "format": "vidstyle-checkpoint", "version": 1,
        "arch": "reconet", "model_config": {...},   # ReCoNetConfig.to_dict()
        "model_state": {...},                       # state_dict (fp32 or fp16)
        "meta": {...},                              # style, method, training summary
        # optional training state, present in training checkpoints only:
        "train_state": {"optimizer": ..., "step": ..., "rng": ..., "config": ...},
    }

Loading uses ``weights_only=True``: a checkpoint can hold only tensors and plain
Python data, never code.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from vidstyle.atomic import atomic_write
from vidstyle.errors import CheckpointError, first_line
from vidstyle.models.reconet import ReCoNet, ReCoNetConfig

FORMAT = "vidstyle-checkpoint"
VERSION = 1
ARCHITECTURES = {"reconet": (ReCoNet, ReCoNetConfig)}


def save_checkpoint(
    path: str | os.PathLike,
    model: ReCoNet,
    *,
    meta: dict[str, Any] | None = None,
    train_state: dict[str, Any] | None = None,
    half: bool = False,
) -> None:
    """Write ``model`` (and optional training state) to ``path`` atomically.

    ``half=True`` stores floating weights as fp16 (for bundled models); they are
    restored to fp32 on load.
    """
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    if half:
        state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    ckpt: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "arch": "reconet",
        "model_config": model.config.to_dict(),
        "model_state": state,
        "meta": dict(meta or {}),
    }
    if train_state is not None:
        ckpt["train_state"] = train_state
    dst = Path(path)
    if not dst.parent.is_dir():
        raise CheckpointError(f"cannot write checkpoint {dst}: folder {dst.parent} does not exist")
    atomic_write(dst, lambda tmp: torch.save(ckpt, tmp))


def read_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict:
    """Read and validate a checkpoint dict (no model is built)."""
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"checkpoint not found: {p}")
    try:
        ckpt = torch.load(p, map_location=map_location, weights_only=True)
    except Exception as e:  # pickle, zip and torch errors of many types
        from vidstyle.reference import StyleImageError, is_image_file

        if is_image_file(p):
            raise StyleImageError(p) from e
        raise CheckpointError(f"{p} is not a readable checkpoint ({first_line(e, 120)})") from e
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise CheckpointError(f"{p} is not a vidstyle checkpoint")
    if ckpt.get("version", 0) > VERSION:
        raise CheckpointError(
            f"{p} has checkpoint version {ckpt.get('version')}; this vidstyle reads <= {VERSION}"
        )
    for key in ("arch", "model_config", "model_state"):
        if key not in ckpt:
            raise CheckpointError(f"{p} is a corrupt vidstyle checkpoint (no {key!r})")
    return ckpt


def model_from_checkpoint(ckpt: dict, source: str = "checkpoint") -> ReCoNet:
    """Rebuild the model described by a checkpoint dict and load its weights (fp32)."""
    arch = ckpt["arch"]
    if arch not in ARCHITECTURES:
        raise CheckpointError(f"{source}: unknown architecture {arch!r}")
    cls, cfg_cls = ARCHITECTURES[arch]
    try:
        model = cls(cfg_cls.from_dict(ckpt["model_config"]))
        state = {
            k: v.float() if v.is_floating_point() else v for k, v in ckpt["model_state"].items()
        }
        model.load_state_dict(state)
    except (ValueError, TypeError, RuntimeError) as e:
        raise CheckpointError(f"{source}: weights do not match the stored config "
                              f"({first_line(e, 160)})") from e
    return model


def load_checkpoint(
    path: str | os.PathLike, map_location: str | torch.device = "cpu"
) -> tuple[ReCoNet, dict]:
    """Rebuild the model from ``path`` alone; returns ``(model in eval mode, checkpoint dict)``."""
    ckpt = read_checkpoint(path, map_location)
    model = model_from_checkpoint(ckpt, str(path)).eval()
    return model, ckpt
