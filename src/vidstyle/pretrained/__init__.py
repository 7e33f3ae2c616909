"""Bundled models: ``<style>.<method>.pt`` files (fp16) shipped with the package.

Besides the full-size networks, some styles have a *lite* ReCoNet (the ``lite``
architecture of :data:`vidstyle.models.reconet.MODEL_SIZES`, several times faster
on a CPU), bundled as the style ``<style>-lite`` (``candy-lite.reconet.pt``).
A style name, a model size and a method are resolved into a file by
:func:`vidstyle.reference.resolve_style`; this module only lists what is bundled.
"""

from __future__ import annotations

import os
from pathlib import Path

PRETRAINED_DIR = Path(__file__).resolve().parent

MODEL_SIZES = ("full", "lite")
LITE_SUFFIX = "-lite"


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


def is_lite(style: str | os.PathLike) -> bool:
    """Whether ``style`` names a bundled lite model (``candy-lite``)."""
    return str(style).endswith(LITE_SUFFIX)


def lite_styles() -> list[str]:
    """The bundled lite models' style names (``["candy-lite", ...]``)."""
    return sorted({s for s, m in bundled_models() if is_lite(s) and m == "reconet"})


def resolve_model(name_or_path: str | os.PathLike, method: str = "reconet") -> Path:
    """The checkpoint file of a bundled style name (for ``method``'s network) or a
    ``.pt`` path: :func:`vidstyle.reference.resolve_style` for callers that need the
    file only (training's ``--init`` and ``--teacher``, scripts)."""
    from vidstyle.reference import resolve_style  # it imports this module

    return resolve_style(name_or_path, method).checkpoint()
