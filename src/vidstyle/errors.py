"""Exceptions raised by vidstyle. The CLI turns each into one readable line."""

from __future__ import annotations


class VidstyleError(Exception):
    """Base class of every error vidstyle raises on bad input or bad files."""


class FlowFileError(VidstyleError, ValueError):
    """A ``.flo`` file is missing, truncated or not in Middlebury format."""


class CheckpointError(VidstyleError, ValueError):
    """A checkpoint file is missing, corrupt, or not a vidstyle checkpoint."""


class ImageReadError(VidstyleError, ValueError):
    """An image file is missing or cannot be decoded."""


class VideoError(VidstyleError, ValueError):
    """A video cannot be opened, decoded or written."""
