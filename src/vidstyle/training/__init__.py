"""Two-frame training of the feed-forward methods (per-frame, huang, reconet)."""

from vidstyle.training.config import PRESETS, LossWeights, TrainConfig, preset_config

__all__ = ["PRESETS", "LossWeights", "TrainConfig", "preset_config"]
