"""Image files and colour: loading/saving RGB frames, uint8 <-> float batches,
fitting and resizing, relative luminance.

Sizes are ``(h, w)`` everywhere in this module, as in a tensor's ``shape[-2:]``.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps, UnidentifiedImageError

from vidstyle._checks import check_shape
from vidstyle.atomic import atomic_write
from vidstyle.errors import ImageReadError, first_line

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")

# Rec. 709 / sRGB relative luminance weights (ReCoNet, Gao et al. 2018, Sec. 3.2).
LUMINANCE_WEIGHTS = (0.2126, 0.7152, 0.0722)

try:  # littlecms: in every Pillow wheel, but optional when Pillow is built from source
    from PIL import ImageCms

    _SRGB = ImageCms.createProfile("sRGB")
except ImportError:
    ImageCms = None


def luminance(x: torch.Tensor) -> torch.Tensor:
    """Relative luminance ``Y = 0.2126 R + 0.7152 G + 0.0722 B``.

    Args:
        x: ``(B, 3, H, W)`` RGB.

    Returns:
        ``(B, 1, H, W)``.
    """
    check_shape("luminance: x", x, ("B", 3, "H", "W"))
    w = torch.tensor(LUMINANCE_WEIGHTS, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    return (x * w).sum(dim=1, keepdim=True)


def read_rgb(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as a ``(H, W, 3)`` uint8 sRGB array, the way a viewer shows it.

    * Orientation: the EXIF orientation tag is applied (all eight values), so phone
      photos come out upright.
    * Colour: an embedded ICC profile is converted to sRGB; grey, bilevel, palette,
      CMYK and YCbCr images are converted to RGB.
    * High bit depth: integer grey (modes ``I;16*`` and ``I``, i.e. 16-bit PNG and
      TIFF) is taken as 0-65535 and float grey (mode ``F``) as 0-1, both scaled to
      0-255 (values outside are clipped).
    * Transparency (RGBA, LA, a palette or grey with a transparent colour) is
      composited over white, as a viewer shows it on a page: the network works on
      RGB, so the alpha channel is not kept.

    Only the first frame of an animated or multi-page file is read.
    """
    p = Path(path)
    if not p.is_file():
        raise ImageReadError(f"image not found: {p}")
    try:
        with Image.open(p) as im:
            return np.asarray(_to_srgb(im), dtype=np.uint8).copy()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as e:
        raise ImageReadError(f"cannot read image {p}: {first_line(e)}") from e


def _to_srgb(im: Image.Image) -> Image.Image:
    """An opened image -> an upright RGB image (see :func:`read_rgb`)."""
    im = ImageOps.exif_transpose(im)
    if im.mode in ("I", "F") or im.mode.startswith("I;16"):
        a = np.asarray(im).astype(np.float64)
        a = a * 255.0 if im.mode == "F" else a / 257.0
        grey = np.clip(np.round(np.nan_to_num(a)), 0, 255).astype(np.uint8)
        return Image.fromarray(grey).convert("RGB")
    if im.mode in ("RGBA", "RGBa", "LA", "La", "PA") or "transparency" in im.info:
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    icc = im.info.get("icc_profile")
    if icc and ImageCms is not None and im.mode in ("RGB", "CMYK", "L"):
        try:
            return ImageCms.profileToProfile(im, ImageCms.ImageCmsProfile(io.BytesIO(icc)),
                                             _SRGB, outputMode="RGB")
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # a damaged profile: the plain conversion below is the best guess
    return im.convert("RGB")


def _from_uint8(t: torch.Tensor) -> torch.Tensor:
    """uint8 values -> float32 in [0, 1], whatever the layout."""
    return t.float() / 255.0


def to_float_batch(rgb: np.ndarray) -> torch.Tensor:
    """``(N, H, W, 3)`` uint8 RGB -> ``(N, 3, H, W)`` float32 in [0, 1].

    The one place where frames on disk become the package's image tensors (with
    :func:`to_tensor`, its form for one image). The result is a permuted view of
    the frames' memory (channels last), as it always was: PyTorch picks the memory
    format of some operations' outputs from it.
    """
    if not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8 or rgb.ndim != 4 or rgb.shape[3] != 3:
        got = f"{rgb.shape} {rgb.dtype}" if isinstance(rgb, np.ndarray) else type(rgb).__name__
        raise ValueError(f"expected a (N, H, W, 3) uint8 array, got {got}")
    return _from_uint8(torch.from_numpy(np.ascontiguousarray(rgb)).permute(0, 3, 1, 2))


def to_uint8_batch(x: torch.Tensor) -> np.ndarray:
    """``(N, 3, H, W)`` float in [0, 1] -> ``(N, H, W, 3)`` uint8 RGB (clamped, rounded),
    on the CPU. The inverse of :func:`to_float_batch` up to rounding."""
    check_shape("to_uint8_batch: x", x, (None, 3, None, None))
    arr = (x.detach().float().clamp(0, 1) * 255.0).round().to(torch.uint8)
    return arr.permute(0, 2, 3, 1).cpu().numpy()


def to_tensor(rgb: np.ndarray) -> torch.Tensor:
    """``(H, W, 3)`` uint8 -> ``(1, 3, H, W)`` float32 in [0, 1] (:func:`to_float_batch`
    for one image)."""
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected a (H, W, 3) uint8 array, got {rgb.shape} {rgb.dtype}")
    # Built as it always was (batch dimension added last): its strides, and so the
    # memory format F.interpolate picks for its output, stay those of earlier versions.
    return _from_uint8(torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1).unsqueeze(0))


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """``(1, 3, H, W)`` or ``(3, H, W)`` float in [0, 1] -> ``(H, W, 3)`` uint8 (clamped,
    rounded; :func:`to_uint8_batch` of one image)."""
    if x.dim() == 4:
        if x.shape[0] != 1:
            raise ValueError(f"to_uint8 takes one image, got a batch of {x.shape[0]}")
        x = x[0]
    check_shape("to_uint8: x", x, (3, None, None))
    return to_uint8_batch(x[None])[0]


def fit_long_side(
    h: int, w: int, long_side: int | None, *, enlarge: bool = False
) -> tuple[int, int]:
    """``(h, w)`` scaled, keeping the aspect ratio, so that the long side is ``long_side``.

    By default only shrinks: a size whose long side is already at most
    ``long_side`` (or ``long_side=None``) is returned as it is; ``enlarge=True``
    scales small sizes up too. Each side is rounded to the nearest pixel, at least 1.
    """
    if long_side is None or (max(h, w) <= long_side and not enlarge):
        return h, w
    s = long_side / max(h, w)
    return max(1, round(h * s)), max(1, round(w * s))


# Resamplers for uint8 frames. "area" (OpenCV INTER_AREA) for video frames: fast and
# alias-free when shrinking; "lanczos" (Pillow) for still images loaded from files;
# "cubic" (OpenCV INTER_CUBIC) for enlarging photos.
RGB_RESAMPLERS = ("area", "lanczos", "cubic")


def resize_rgb(rgb: np.ndarray, size: tuple[int, int], resample: str = "area") -> np.ndarray:
    """Resize one ``(H, W, 3)`` uint8 image to ``size = (h, w)`` (returned as is when
    it already has that size).

    Args:
        rgb: ``(H, W, 3)`` uint8 RGB.
        size: ``(h, w)`` in pixels.
        resample: one of :data:`RGB_RESAMPLERS`.
    """
    if resample not in RGB_RESAMPLERS:
        raise ValueError(f"unknown resampler {resample!r}; known: {', '.join(RGB_RESAMPLERS)}")
    h, w = size
    if rgb.shape[:2] == (h, w):
        return rgb
    if resample == "lanczos":
        return np.array(Image.fromarray(rgb).resize((w, h), Image.LANCZOS))
    import cv2  # not at module level: the CLI starts without OpenCV

    flag = cv2.INTER_AREA if resample == "area" else cv2.INTER_CUBIC
    return cv2.resize(rgb, (w, h), interpolation=flag)


def resize_images(x: torch.Tensor, size: tuple[int, int], resample: str = "smooth") -> torch.Tensor:
    """Resize ``(B, C, H, W)`` float images to ``size = (h, w)`` on their device
    (returned as is when they already have that size).

    ``resample="smooth"``: antialiased bilinear when shrinking, bicubic (clamped to
    [0, 1]) otherwise, for images that go down to a working size and back up
    (ruder); ``"area"``: area averaging.
    """
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    if resample == "area":
        return F.interpolate(x, size=size, mode="area")
    if resample != "smooth":
        raise ValueError(f"unknown resampler {resample!r}; known: smooth, area")
    if size[0] <= x.shape[-2] and size[1] <= x.shape[-1]:
        return F.interpolate(x, size=size, mode="bilinear", antialias=True, align_corners=False)
    return F.interpolate(x, size=size, mode="bicubic", align_corners=False).clamp(0, 1)


def load_image(path: str | os.PathLike, max_size: int | None = None) -> torch.Tensor:
    """Load an image as a ``(1, 3, H, W)`` float32 tensor in [0, 1].

    ``max_size`` scales the image down (never up) so that its long side is at most
    that many pixels, keeping the aspect ratio.
    """
    rgb = read_rgb(path)
    size = fit_long_side(*rgb.shape[:2], max_size)
    return to_tensor(resize_rgb(rgb, size, "lanczos"))


def save_image(x: torch.Tensor | np.ndarray, path: str | os.PathLike) -> None:
    """Save a ``(1, 3, H, W)`` float image in [0, 1] (or ``(H, W, 3)`` uint8) atomically.

    The format follows the file extension.
    """
    rgb = x if isinstance(x, np.ndarray) else to_uint8(x)
    fmt = Image.registered_extensions().get(Path(path).suffix.lower())
    if fmt is None:
        raise ValueError(f"unsupported image extension: {Path(path).suffix!r}")
    atomic_write(path, lambda tmp: Image.fromarray(rgb).save(tmp, format=fmt))


def list_images(folder: str | os.PathLike) -> list[Path]:
    """Image files directly inside ``folder``, sorted by name."""
    d = Path(folder)
    return sorted(p for p in d.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
