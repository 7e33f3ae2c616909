"""Image transformation networks and their checkpoints."""

from vidstyle.models.checkpoint import load_checkpoint, read_checkpoint, save_checkpoint
from vidstyle.models.reconet import ReCoNet, ReCoNetConfig

__all__ = ["ReCoNet", "ReCoNetConfig", "load_checkpoint", "read_checkpoint", "save_checkpoint"]
