"""Where vidstyle keeps files it can rebuild (ONNX exports, clip flow): one rule.

``$VIDSTYLE_CACHE/KIND`` when that variable is set and not empty, else
``$XDG_CACHE_HOME/vidstyle/KIND``, else ``~/.cache/vidstyle/KIND``. Nothing is
created here: callers make the folder when they first write into it.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir(kind: str) -> Path:
    """The cache folder for one kind of file, e.g. ``cache_dir("onnx")``."""
    base = os.environ.get("VIDSTYLE_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "vidstyle"
    )
    return Path(base) / kind
