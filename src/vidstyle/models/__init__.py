"""Image transformation networks and their checkpoints."""

from vidstyle.models.checkpoint import load_checkpoint, read_checkpoint, save_checkpoint
from vidstyle.models.reconet import MODEL_SIZES, ReCoNet, ReCoNetConfig, model_size_config

__all__ = [
    "MODEL_SIZES",
    "ReCoNet",
    "ReCoNetConfig",
    "load_checkpoint",
    "model_size_config",
    "read_checkpoint",
    "save_checkpoint",
]
