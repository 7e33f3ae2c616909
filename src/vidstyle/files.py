"""Helpers on files that several parts of vidstyle share.

* :func:`file_digest`: the hex digest of a file's bytes, read in chunks (the ONNX
  cache key and the ``checkpoint_sha256`` of an export).
"""

from __future__ import annotations

import hashlib
import os


def file_digest(path: str | os.PathLike, algorithm: str = "sha256", chunk: int = 1 << 20) -> str:
    """The hex digest of the bytes of ``path`` (``hashlib`` ``algorithm``), read ``chunk``
    bytes at a time so that a large file never sits in memory whole."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


__all__ = ["file_digest"]
