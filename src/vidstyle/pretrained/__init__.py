"""Bundled models: ``<style>.<method>.pt`` files (fp16) shipped with the package.

Besides the full-size networks, some styles have a *lite* ReCoNet (the ``lite``
architecture of :data:`vidstyle.models.reconet.MODEL_SIZES`, several times faster
on a CPU), bundled as the style ``<style>-lite`` (``candy-lite.reconet.pt``).
:func:`sized_style` maps a style name and a model size to the bundled name.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

from vidstyle.errors import VidstyleError

PRETRAINED_DIR = Path(__file__).resolve().parent

MODEL_SIZES = ("full", "lite")
LITE_SUFFIX = "-lite"
# The methods that run a bundled ``reconet`` network: the only ones with lite models.
LITE_METHODS = ("reconet", "chen")


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


def _is_model_file(s: str) -> bool:
    """Whether ``s`` is meant as a file rather than a bundled style name."""
    p = Path(s)
    seps = [sep for sep in (os.sep, os.altsep) if sep]
    return p.suffix.lower() in (".pt", ".onnx") or any(sep in s for sep in seps) or p.exists()


def sized_style(style: str | os.PathLike, size: str = "full", method: str = "reconet"):
    """The bundled style name for ``style`` at model ``size``.

    ``full`` returns ``style`` unchanged (any name or file). ``lite`` maps a bundled
    style name ``S`` to its lite model ``S-lite`` (a name that already ends in
    ``-lite`` is kept); lite models are ReCoNet networks, so this works for the
    methods that run one (``reconet``, ``chen``). Raises :class:`VidstyleError` with
    one line for a model file, a method or a style without a lite model.
    """
    if size not in MODEL_SIZES:
        raise VidstyleError(f"unknown model size {size!r}; choose from {', '.join(MODEL_SIZES)}")
    if size == "full":
        return style
    lite = lite_styles()
    have = ", ".join(lite) or "none"
    if method not in LITE_METHODS:
        raise VidstyleError(f"there is no lite {method} model: lite models are ReCoNet networks, for "
                            f"method {' or '.join(LITE_METHODS)} (bundled: {have})",
                            option="method")
    s = str(style)
    if _is_model_file(s):
        raise VidstyleError(f"the lite model size applies to bundled style names, not to model "
                            f"files ({s}); use the full size with the lite model's file itself",
                            option="model_size")
    name = s if is_lite(s) else s + LITE_SUFFIX
    if name in lite:
        return name
    base = s.removesuffix(LITE_SUFFIX)
    if base not in bundled_styles():
        resolve_model(base, "reconet")  # unknown style: raises with the nearest names
    raise VidstyleError(f"style {base!r} has no bundled lite model (lite styles: "
                        f"{', '.join(x.removesuffix(LITE_SUFFIX) for x in lite) or 'none'})")


class StyleImageError(VidstyleError, ValueError):
    """A style *image* was given where a model is needed (``-s painting.jpg``)."""

    def __init__(self, path: str | os.PathLike) -> None:
        super().__init__(f"{path} is an image, not a style model: train a model on it first, "
                         "or stylize with it by optimisation (the ruder method)", option="style")
        self.path = path


def is_image_file(path: str | os.PathLike) -> bool:
    """Whether ``path`` is an image file, by its extension or, failing that, its content."""
    from PIL import Image, UnidentifiedImageError

    from vidstyle.image import IMAGE_EXTENSIONS

    p = Path(path)
    if p.suffix.lower() in IMAGE_EXTENSIONS:
        return True
    if not p.is_file():
        return False

    try:
        with Image.open(p):
            return True
    except (UnidentifiedImageError, OSError, ValueError):
        return False


def resolve_model(name_or_path: str | os.PathLike, method: str = "reconet") -> Path:
    """A bundled style name (with ``method``) or a path to a ``.pt`` checkpoint -> file path.

    Unknown names get the nearest bundled names suggested; an image file raises
    :class:`StyleImageError` (a style image needs training or the ruder method).
    """
    from vidstyle.image import IMAGE_EXTENSIONS

    s = str(name_or_path)
    p = Path(s)
    if p.suffix.lower() in IMAGE_EXTENSIONS:
        raise StyleImageError(p)
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
