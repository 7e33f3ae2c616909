"""The styles the page offers: the bundled ones and those trained in the "your own style" tab.

A :class:`Style` is resolved once from the gallery's choice; :meth:`Style.reference`
turns it, with a method and a model size, into the
:class:`~vidstyle.reference.StyleRef` that :func:`vidstyle.api.create_stylizer`
takes, or one clear error line.

Each gallery tile shows the painting above the style applied to a frame of the
bundled demo clip (:func:`tile`), drawn once per app process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from vidstyle.errors import VidstyleError
from vidstyle.methods import METHODS
from vidstyle.pretrained import LITE_SUFFIX, bundled_models, lite_styles
from vidstyle.reference import StyleRef, resolve_style

PAINTINGS = Path(__file__).resolve().parent / "paintings"
# A trained style's run folder holds these two files (see vidstyle.app.training).
MODEL_FILE = "model.pt"
PAINTING_STEM = "painting"
TILE_WIDTH = 192


@dataclass(frozen=True)
class Style:
    """A style of the gallery.

    ``model`` is ``None`` for a bundled style (its networks are found by ``name``)
    and the trained network's file for an own style; ``painting`` is the style
    image (the ruder method optimises against it), ``None`` if unknown.
    """

    name: str
    painting: Path | None
    model: Path | None = None

    @property
    def bundled(self) -> bool:
        return self.model is None

    @property
    def has_lite(self) -> bool:
        return self.bundled and self.name + LITE_SUFFIX in lite_styles()

    def methods(self) -> tuple[str, ...]:
        """The methods this style can run, reconet first, then in the registry's order:
        those whose network it has (an own style is a reconet network), and those
        without a network (ruder) when its painting is known."""
        if self.bundled:
            networks = {m for s, m in bundled_models() if s == self.name}
        else:
            networks = {"reconet"}
        out = [name for name, spec in METHODS.items()
               if (spec.network in networks if spec.network else self.painting is not None)]
        return tuple(sorted(out, key=lambda name: name != "reconet"))

    def reference(self, method: str, model_size: str) -> StyleRef:
        """The resolved style for ``method`` at ``model_size``.

        A method without a network (ruder) takes the painting, so ``model_size`` does
        not apply; an own style is its trained file whatever ``model_size`` says.
        """
        if method not in self.methods():
            raise VidstyleError(f"{self.name} cannot run {method}; it runs {', '.join(self.methods())}")
        spec = METHODS[method]
        if spec.network is None:
            return resolve_style(self.painting, method)
        if not self.bundled:
            return resolve_style(self.model, method)
        if model_size == "lite":
            if not spec.lite:
                lite = " or ".join(name for name, s in METHODS.items() if s.lite)
                raise VidstyleError(f"lite models are ReCoNet networks: with model size lite pick "
                                    f"{lite}, not {method}")
            if not self.has_lite:
                raise VidstyleError(f"{self.name} has no lite model; pick model size full")
        return resolve_style(self.name, method, model_size)

    def tag(self, method: str, model_size: str) -> str:
        """Used in output file names: ``candy-lite``, ``candy.huang``, ``my_style.ruder``."""
        ref = self.reference(method, model_size)
        base = ref.name if self.bundled and ref.kind == "bundled" else self.name
        return base if method == "reconet" else f"{base}.{method}"


def bundled_gallery() -> list[Style]:
    """The bundled full-size styles (their lite models are a model size, not a tile)."""
    names = sorted({s for s, _ in bundled_models() if not s.endswith(LITE_SUFFIX)})
    out = []
    for name in names:
        painting = PAINTINGS / f"{name}.jpg"
        out.append(Style(name, painting if painting.is_file() else None))
    return out


def trained_gallery(styles_dir: str | os.PathLike) -> list[Style]:
    """The finished own styles in ``styles_dir``: every ``NAME/model.pt`` with its painting."""
    root = Path(styles_dir)
    if not root.is_dir():
        return []
    out = []
    for run in sorted(p for p in root.iterdir() if (p / MODEL_FILE).is_file()):
        paintings = sorted(run.glob(f"{PAINTING_STEM}.*"))
        out.append(Style(run.name, paintings[0] if paintings else None, run / MODEL_FILE))
    return out


def gallery(styles_dir: str | os.PathLike | None) -> list[Style]:
    """Bundled styles first, then own styles."""
    return bundled_gallery() + (trained_gallery(styles_dir) if styles_dir is not None else [])


def _fit_width(rgb: np.ndarray, width: int) -> np.ndarray:
    h = max(1, round(rgb.shape[0] * width / rgb.shape[1]))
    return np.array(Image.fromarray(rgb).resize((width, h), Image.LANCZOS))


def _cover(rgb: np.ndarray, width: int, height: int) -> np.ndarray:
    """The centre of ``rgb`` cropped to the aspect ``width:height`` and resized to it."""
    h, w = rgb.shape[:2]
    s = min(w / width, h / height)
    cw, ch = round(width * s), round(height * s)
    x, y = (w - cw) // 2, (h - ch) // 2
    return np.array(Image.fromarray(rgb[y : y + ch, x : x + cw]).resize((width, height), Image.LANCZOS))


@torch.no_grad()
def tile(style: Style, frame: np.ndarray, width: int = TILE_WIDTH) -> np.ndarray:
    """The painting above the style applied to ``frame``: a gallery tile, ``(H, width, 3)`` uint8.

    ``frame`` is ``(H, W, 3)`` uint8; the painting's centre is cropped to the frame's
    aspect. The frame is stylized by the style's reconet network (full size) in
    PyTorch, which needs no ONNX export for a one-off.
    """
    from vidstyle.api import create_stylizer
    from vidstyle.image import read_rgb, to_tensor, to_uint8

    small = _fit_width(frame, width)
    stylizer = create_stylizer(style.reference("reconet", "full"), backend="torch", device="cpu")
    stylized = to_uint8(stylizer(to_tensor(small)))
    if style.painting is None:
        return stylized
    painting = _cover(read_rgb(style.painting), *stylized.shape[1::-1])
    gap = np.full((4, stylized.shape[1], 3), 255, np.uint8)
    return np.concatenate([painting, gap, stylized], axis=0)
