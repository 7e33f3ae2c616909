"""Bundled models: ``<style>.<method>.pt`` files (fp16) shipped with the package."""

from __future__ import annotations

import difflib
import os
from pathlib import Path

from vidstyle.errors import VidstyleError

PRETRAINED_DIR = Path(__file__).resolve().parent


def bundled_models() -> dict[tuple[str, str], Path]:
    """``{(style, method): path}`` of every bundled model."""
    out = {}
    for p in sorted(PRETRAINED_DIR.glob("*.pt")):
        style, _, method = p.stem.rpartition(".")
        if style:
            out[(style, method)] = p
    return out


def bundled_styles() -> list[str]:
    return sorted({s for s, _ in bundled_models()})


def resolve_model(name_or_path: str | os.PathLike, method: str = "reconet") -> Path:
    """A bundled style name (with ``method``) or a path to a ``.pt`` checkpoint -> file path.

    Unknown names get the nearest bundled names suggested.
    """
    s = str(name_or_path)
    p = Path(s)
    if p.suffix == ".pt" or os.sep in s or p.exists():
        if not p.is_file():
            raise VidstyleError(f"model file not found: {p}")
        return p
    models = bundled_models()
    if (s, method) in models:
        return models[(s, method)]
    styles = bundled_styles()
    if s in styles:
        have = sorted(m for st, m in models if st == s)
        raise VidstyleError(f"style {s!r} has no bundled {method!r} model (has: {', '.join(have)})")
    near = difflib.get_close_matches(s, styles, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(near)}?" if near else f"; bundled: {', '.join(styles) or 'none'}"
    raise VidstyleError(f"unknown style {s!r}{hint}")
