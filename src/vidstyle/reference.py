"""What the user gave as a style, resolved once into a :class:`StyleRef`.

A style is given as a bundled style name (``candy``, ``candy-lite``), a checkpoint
(``runs/mine/model.pt``), an exported ONNX model (``candy.onnx``) or a style image
(``painting.jpg``, for the ruder method), together with a method and a model size.
:func:`resolve_style` turns that into one immutable :class:`StyleRef` at the edge
(the command line, :mod:`vidstyle.api`, the app); the code below it (backends,
export, the pipeline's output names, the webcam) takes the reference and never
interprets a string again.

The one rule for "is this a file?" (:func:`is_file_reference`): a name is a file
when its suffix is a model's or an image's (``.pt``, ``.onnx``, ``.jpg``, ...; in
any case), when it holds a path separator, or when it exists; anything else is a
bundled style name.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from pathlib import Path

from vidstyle import pretrained
from vidstyle.errors import VidstyleError
from vidstyle.image import IMAGE_EXTENSIONS
from vidstyle.methods.registry import METHODS, MethodSpec, get_method

KINDS = ("bundled", "checkpoint", "onnx", "image")
MODEL_SUFFIXES = {".pt": "checkpoint", ".onnx": "onnx"}


@dataclass(frozen=True)
class StyleRef:
    """A resolved style: which file a method runs, and how to name its results.

    Attributes:
        kind: ``"bundled"`` (a checkpoint shipped with vidstyle), ``"checkpoint"``
            (a user's ``.pt``), ``"onnx"`` (an exported ``.onnx``) or ``"image"``
            (a style image, for a method without a network).
        path: the file (it existed when resolved).
        name: the display name, used in default output names: the bundled style
            name at its size (``candy-lite``), else the file's stem.
        method: the method, a key of :data:`vidstyle.methods.METHODS`.
        size: the model size, ``"full"`` or ``"lite"``.
    """

    kind: str
    path: Path
    name: str
    method: str
    size: str = "full"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"StyleRef: kind must be one of {', '.join(KINDS)}, got {self.kind!r}")

    @property
    def spec(self) -> MethodSpec:
        return get_method(self.method)

    def checkpoint(self) -> Path:
        """The PyTorch checkpoint file; an ONNX model or an image raises :class:`VidstyleError`."""
        if self.kind in ("bundled", "checkpoint"):
            return self.path
        what = "an ONNX model" if self.kind == "onnx" else "an image"
        raise VidstyleError(f"{self.path} is {what}; a PyTorch checkpoint (.pt) is needed here",
                            option="style")


class StyleImageError(VidstyleError, ValueError):
    """A style *image* was given where a model is needed (``-s painting.jpg``)."""

    def __init__(self, path: str | os.PathLike) -> None:
        super().__init__(f"{path} is an image, not a style model: train a model on it first, "
                         "or stylize with it by optimisation (the ruder method)", option="style")
        self.path = path


def is_image_file(path: str | os.PathLike) -> bool:
    """Whether ``path`` is an image file, by its extension or, failing that, its content."""
    from PIL import Image, UnidentifiedImageError

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


def is_file_reference(style: str | os.PathLike) -> bool:
    """Whether ``style`` means a file rather than a bundled style name: a model's or an
    image's suffix (any case), a path separator, or a path that exists."""
    s = os.fspath(style)
    seps = [sep for sep in (os.sep, os.altsep) if sep]
    suffix = Path(s).suffix.lower()
    return (suffix in MODEL_SUFFIXES or suffix in IMAGE_EXTENSIONS or any(sep in s for sep in seps)
            or Path(s).exists())


def _file_kind(p: Path) -> str:
    """``checkpoint``, ``onnx`` or ``image``: by the suffix (any case), else by content."""
    suffix = p.suffix.lower()
    if suffix in MODEL_SUFFIXES:
        return MODEL_SUFFIXES[suffix]
    return "image" if is_image_file(p) else "checkpoint"


def _lite_methods() -> str:
    return " or ".join(n for n, s in METHODS.items() if s.lite)


def _unknown_style(name: str) -> VidstyleError:
    styles = pretrained.bundled_styles()
    near = difflib.get_close_matches(name, styles, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(near)}?" if near else f"; bundled: {', '.join(styles) or 'none'}"
    return VidstyleError(f"unknown style {name!r}{hint}")


def _bundled(name: str, spec: MethodSpec, size: str) -> StyleRef:
    """A bundled style name at ``size`` -> its checkpoint for ``spec``'s network."""
    if size == "lite":
        lite = pretrained.lite_styles()
        lite_name = name if pretrained.is_lite(name) else name + pretrained.LITE_SUFFIX
        if lite_name not in lite:
            base = name.removesuffix(pretrained.LITE_SUFFIX)
            if base not in pretrained.bundled_styles():
                raise _unknown_style(base)
            have = ", ".join(x.removesuffix(pretrained.LITE_SUFFIX) for x in lite) or "none"
            raise VidstyleError(f"style {base!r} has no bundled lite model (lite styles: {have})")
        name = lite_name
    models = pretrained.bundled_models()
    if (name, spec.network) in models:
        return StyleRef("bundled", models[(name, spec.network)], name, spec.name, size)
    if name in pretrained.bundled_styles():
        have = sorted(m for st, m in models if st == name)
        raise VidstyleError(f"style {name!r} has no bundled {spec.network!r} model "
                            f"(has: {', '.join(have)})")
    raise _unknown_style(name)


def _image(p: Path, spec: MethodSpec) -> StyleRef:
    if not p.is_file():
        raise VidstyleError(f"style image not found: {p}", option="style")
    return StyleRef("image", p, p.stem, spec.name)


def resolve_style(
    style: str | os.PathLike | StyleRef,
    method: str = "reconet",
    size: str = "full",
    *,
    style_image: str | os.PathLike | None = None,
) -> StyleRef:
    """Resolve what the user gave as a style, for ``method`` at model ``size``.

    Args:
        style: a bundled style name, a ``.pt`` checkpoint, an ``.onnx`` export or a
            style image (see :func:`is_file_reference`). A :class:`StyleRef` is
            returned as it is.
        method: a method of :data:`vidstyle.methods.METHODS`.
        size: ``"full"`` or ``"lite"``: with ``lite``, a bundled style name ``S``
            means the bundled lite network ``S-lite`` (for the methods whose spec
            has ``lite``); ``S-lite`` may also be given directly.
        style_image: for a method without a network (ruder), the image to use when
            ``style`` is not one (e.g. the painting of a bundled style).

    Returns:
        A :class:`StyleRef` whose file exists.

    Raises:
        VidstyleError: one line: an unknown method, size or style (with the nearest
        bundled names), a missing file, a lite size where it does not apply, an
        ONNX model for a method that onnxruntime does not run, an image given as a
        model (:class:`StyleImageError`) or a model given where an image is needed.
    """
    if isinstance(style, StyleRef):
        return style
    spec = get_method(method)
    if size not in pretrained.MODEL_SIZES:
        raise VidstyleError(f"unknown model size {size!r}; choose from "
                            f"{', '.join(pretrained.MODEL_SIZES)}", option="model_size")
    s = os.fspath(style)
    is_file = is_file_reference(s)
    if size == "lite":
        if not spec.lite:
            have = ", ".join(pretrained.lite_styles()) or "none"
            raise VidstyleError(f"there is no lite {method} model: lite models are ReCoNet "
                                f"networks, for method {_lite_methods()} (bundled: {have})",
                                option="method")
        if is_file:
            raise VidstyleError(f"the lite model size applies to bundled style names, not to "
                                f"model files ({s}); use the full size with the lite model's "
                                "file itself", option="model_size")
    if spec.network is None:  # optimises against a style image
        if is_file and _file_kind(Path(s)) == "image":
            return _image(Path(s), spec)
        if style_image is not None:
            return _image(Path(style_image), spec)
        raise VidstyleError(f"the {method} method optimises against a style image: give an "
                            "image file as the style", option="style")
    if not is_file:
        return _bundled(s, spec, size)
    p = Path(s)
    kind = _file_kind(p)
    if kind == "image":
        raise StyleImageError(p)
    if kind == "onnx" and not spec.onnx:
        runs = ", ".join(n for n, m in METHODS.items() if m.onnx)
        raise VidstyleError(f"{p} is an ONNX model: the {method} method needs a PyTorch "
                            f"checkpoint (.pt); ONNX models run {runs}", option="style")
    if not p.is_file():
        raise VidstyleError(f"model file not found: {p}")
    return StyleRef(kind, p, p.stem, method, size)


__all__ = ["KINDS", "StyleImageError", "StyleRef", "is_file_reference", "is_image_file",
           "resolve_style"]
