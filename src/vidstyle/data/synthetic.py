"""Frame pairs with exact flow and occlusion, made from still photos.

A photo is the "world". Each frame views it through a homography (camera-like
pan, zoom, rotation and a little perspective); one or more textured layers cut
from other photos move independently on top and occlude the background. Because
every pixel's world position is known in both frames, the flow from the current
frame to the previous one and the occlusion mask are exact, with no estimator.
Small global brightness/contrast changes between the frames give the
relative-luminance term of ReCoNet's output temporal loss something to learn,
and mild noise keeps the network from relying on pixel-exact repetition. On request
(``MotionConfig.blur``, ``MotionConfig.motion_blur``, ``MotionConfig.shading``,
``MotionConfig.jitter``) each frame is also blurred by its own amount, isotropically or
along its own motion, the current one shaded by a smooth gain field, and the current one
shifted by a smooth displacement that the flow does not include: the changes that real
footage has between frames besides motion (defocus and motion blur, light, flow that
misses the pixels by a little), which a stylization network otherwise amplifies into
flicker (docs/recipe.md).

Coordinates are pixel centres, x right, y down; a 3x3 matrix ``H`` maps frame
pixels to source-image pixels (``cv2.WARP_INVERSE_MAP`` semantics).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from vidstyle.errors import VidstyleError
from vidstyle.image import IMAGE_EXTENSIONS, read_rgb, resize_rgb


@dataclass(frozen=True)
class MotionConfig:
    """Ranges of the random motion, relative to the crop size where stated."""

    max_shift: float = 0.04  # camera translation, fraction of the crop side
    max_rotate_deg: float = 3.0  # camera rotation
    max_zoom: float = 0.04  # camera zoom, relative
    max_perspective: float = 2e-4  # homography perspective terms (per pixel of crop)
    layers: tuple[int, int] = (1, 2)  # min/max number of independently moving layers
    layer_size: tuple[float, float] = (0.2, 0.5)  # layer diameter, fraction of crop side
    layer_shift: float = 0.06  # layer translation, fraction of crop side
    layer_rotate_deg: float = 6.0
    # max displacement (px) of a smooth non-rigid deformation of each layer between the
    # frames, which the flow includes: bodies that bend and stretch as they move
    deform: float = 0.0
    brightness: float = 0.06  # additive change of the current frame, +-
    contrast: float = 0.06  # multiplicative change of the current frame, 1 +-
    noise: float = 0.01  # std of Gaussian noise added to each frame
    blur: float = 0.0  # max sigma (px) of a Gaussian blur drawn for each frame on its own
    # max length of a frame's motion blur as a multiple of its motion to the other frame
    # (drawn for each frame on its own; 0.5 is a half-open shutter at constant speed)
    motion_blur: float = 0.0
    shading: float = 0.0  # amplitude of a smooth multiplicative gain field on the current frame
    jitter: float = 0.0  # max shift (px) of the current frame by a smooth field the flow omits

    def moving(self, scale: float = 1.0, max_layers: int | None = None) -> MotionConfig:
        """This config with every motion range (camera and layer shift, rotation, zoom,
        perspective) times ``scale`` and up to ``max_layers`` moving layers (at least one):
        more and larger occlusions between the frames of a pair."""
        if scale < 0 or (max_layers is not None and max_layers < 1):
            raise ValueError(f"motion scale must be >= 0 and max_layers >= 1, got {scale}, {max_layers}")
        layers = self.layers if max_layers is None else (min(self.layers[0], max_layers), max_layers)
        return replace(
            self, max_shift=self.max_shift * scale, max_rotate_deg=self.max_rotate_deg * scale,
            max_zoom=self.max_zoom * scale, max_perspective=self.max_perspective * scale,
            layer_shift=self.layer_shift * scale, layer_rotate_deg=self.layer_rotate_deg * scale,
            layers=layers,
        )


def find_images(folder: str | os.PathLike) -> list[Path]:
    """All image files under ``folder`` (recursively), sorted."""
    root = Path(folder)
    if not root.exists():
        raise VidstyleError(f"photo folder not found: {root}")
    if root.is_file():
        return [root]
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS)
    if not files:
        raise VidstyleError(f"no images (png/jpg/...) found under {root}")
    return files


def _affine(tx: float, ty: float, angle_deg: float, scale: float, cx: float, cy: float) -> np.ndarray:
    """3x3 matrix: rotate by ``angle`` and scale by ``scale`` about ``(cx, cy)``, then translate."""
    a = np.deg2rad(angle_deg)
    c, s = np.cos(a) * scale, np.sin(a) * scale
    return np.array(
        [[c, -s, cx - c * cx + s * cy + tx], [s, c, cy - s * cx - c * cy + ty], [0, 0, 1]],
        dtype=np.float64,
    )


def _apply(h: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Apply homography ``h`` to pixel coordinate arrays."""
    w = h[2, 0] * xs + h[2, 1] * ys + h[2, 2]
    return (h[0, 0] * xs + h[0, 1] * ys + h[0, 2]) / w, (h[1, 0] * xs + h[1, 1] * ys + h[1, 2]) / w


def _render(src: np.ndarray, h: np.ndarray, size: tuple[int, int], interp=cv2.INTER_LINEAR) -> np.ndarray:
    hh, ww = size
    return cv2.warpPerspective(
        src, h, (ww, hh), flags=interp | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REFLECT
    )


def _remap(src: np.ndarray, x: np.ndarray, y: np.ndarray, interp=cv2.INTER_LINEAR) -> np.ndarray:
    """``src`` sampled at the source coordinates ``x``, ``y`` (one per output pixel), as
    :func:`_render` samples along a homography."""
    return cv2.remap(src, x.astype(np.float32), y.astype(np.float32), interp,
                     borderMode=cv2.BORDER_REFLECT)


def _shape_mask(rng: np.random.Generator, side: int) -> np.ndarray:
    """A random filled ellipse or polygon in a ``side x side`` uint8 image (1 inside)."""
    m = np.zeros((side, side), np.uint8)
    c = side / 2
    if rng.random() < 0.5:
        axes = (int(c * rng.uniform(0.6, 0.95)), int(c * rng.uniform(0.6, 0.95)))
        cv2.ellipse(m, (int(c), int(c)), axes, float(rng.uniform(0, 180)), 0, 360, 1, -1)
    else:
        n = int(rng.integers(3, 8))
        ang = np.sort(rng.uniform(0, 2 * np.pi, n))
        rad = c * rng.uniform(0.5, 0.95, n)
        pts = np.stack([c + rad * np.cos(ang), c + rad * np.sin(ang)], 1).astype(np.int32)
        cv2.fillPoly(m, [pts], 1)
    return m


def make_pair(
    background: np.ndarray,
    layer_sources: list[np.ndarray],
    size: tuple[int, int],
    rng: np.random.Generator,
    motion: MotionConfig = MotionConfig(),
    photometric: bool = True,
) -> dict[str, np.ndarray]:
    """One synthetic pair.

    Args:
        background: ``(Hs, Ws, 3)`` uint8 photo, at least ``size``.
        layer_sources: photos to cut moving layers from (one used per layer).
        size: ``(H, W)`` of the frames.
        photometric: apply the brightness/contrast change and noise.

    Returns:
        dict of float32 arrays: ``prev``, ``cur`` ``(H, W, 3)`` in [0, 1]; ``flow``
        ``(H, W, 2)`` from cur to prev in pixels; ``mask`` ``(H, W)`` 1 where the
        current pixel is visible in the previous frame.
    """
    hh, ww = size
    hs, ws = background.shape[:2]
    if hs < hh or ws < ww:
        raise VidstyleError(f"photo of {ws}x{hs} is smaller than the {ww}x{hh} crop")
    side = min(hh, ww)
    cx, cy = (ww - 1) / 2, (hh - 1) / 2

    # Camera of the previous frame: a random crop at a random scale.
    scale = rng.uniform(1.0, min(hs / hh, ws / ww)) * rng.uniform(0.75, 1.0)
    scale = max(scale, 1.0)
    ox = rng.uniform(0, ws - ww * scale)
    oy = rng.uniform(0, hs - hh * scale)
    cam_prev = np.array([[scale, 0, ox], [0, scale, oy], [0, 0, 1]], dtype=np.float64)
    # Camera motion from prev to cur, in frame coordinates.
    m = motion
    move = _affine(
        rng.uniform(-1, 1) * m.max_shift * side,
        rng.uniform(-1, 1) * m.max_shift * side,
        rng.uniform(-1, 1) * m.max_rotate_deg,
        1.0 + rng.uniform(-1, 1) * m.max_zoom,
        cx, cy,
    )
    move[2, :2] = rng.uniform(-1, 1, 2) * m.max_perspective
    cam_cur = cam_prev @ move

    ys, xs = np.mgrid[0:hh, 0:ww].astype(np.float64)
    prev = _render(background, cam_prev, size).astype(np.float32) / 255.0
    cur = _render(background, cam_cur, size).astype(np.float32) / 255.0
    # Background flow: world point of each cur pixel, seen from the prev camera.
    wx, wy = _apply(cam_cur, xs, ys)
    px, py = _apply(np.linalg.inv(cam_prev), wx, wy)
    flow = np.stack([px - xs, py - ys], -1)
    # The prev frame must be able to see where each cur pixel came from. Sampling is
    # bilinear, so require a 1-pixel margin.
    valid = (px >= 0) & (px <= ww - 1) & (py >= 0) & (py <= hh - 1)
    layer_stack: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []

    n_layers = int(rng.integers(m.layers[0], m.layers[1] + 1)) if layer_sources else 0
    for k in range(n_layers):
        src = layer_sources[k % len(layer_sources)]
        d = int(side * rng.uniform(*m.layer_size))
        d = max(8, min(d, min(src.shape[:2])))
        ty0, tx0 = int(rng.integers(0, src.shape[0] - d + 1)), int(rng.integers(0, src.shape[1] - d + 1))
        tex = src[ty0 : ty0 + d, tx0 : tx0 + d]
        alpha = _shape_mask(rng, d)
        # Layer placement in prev: frame -> texture coords.
        px0, py0 = rng.uniform(-d / 3, ww - 2 * d / 3), rng.uniform(-d / 3, hh - 2 * d / 3)
        lay_prev = np.linalg.inv(_affine(px0, py0, rng.uniform(-20, 20), 1.0, 0, 0))
        lmove = _affine(
            rng.uniform(-1, 1) * m.layer_shift * side,
            rng.uniform(-1, 1) * m.layer_shift * side,
            rng.uniform(-1, 1) * m.layer_rotate_deg,
            1.0 + rng.uniform(-1, 1) * m.max_zoom,
            px0 + d / 2, py0 + d / 2,
        )
        lay_cur = lay_prev @ np.linalg.inv(lmove)  # layer moves by lmove in frame coords
        # Texture point of each pixel of cur: the layer's motion, then (on request) a
        # smooth deformation of the layer that prev does not have.
        if m.deform > 0:
            tx, ty = _apply(lay_cur, xs + _smooth_field(rng, size, m.deform),
                            ys + _smooth_field(rng, size, m.deform))
            a_cur = _remap(alpha, tx, ty, cv2.INTER_NEAREST).astype(bool)
            t_cur = _remap(tex, tx, ty).astype(np.float32) / 255.0
        else:
            tx, ty = _apply(lay_cur, xs, ys)
            a_cur = _render(alpha, lay_cur, size, cv2.INTER_NEAREST).astype(bool)
            t_cur = _render(tex, lay_cur, size).astype(np.float32) / 255.0
        a_prev = _render(alpha, lay_prev, size, cv2.INTER_NEAREST).astype(bool)
        # Sampling reflects at the border; a layer must not repeat outside its own square.
        a_prev &= _inside_square(lay_prev, xs, ys, d)
        a_cur &= (tx >= 0) & (tx <= d - 1) & (ty >= 0) & (ty <= d - 1)
        t_prev = _render(tex, lay_prev, size).astype(np.float32) / 255.0
        prev[a_prev] = t_prev[a_prev]
        cur[a_cur] = t_cur[a_cur]
        layer_stack.append((lay_prev, lay_cur, a_prev, a_cur))
        # Flow on this layer's pixels of cur: texture point seen in prev.
        lx, ly = _apply(np.linalg.inv(lay_prev), tx, ty)
        flow[a_cur] = np.stack([lx - xs, ly - ys], -1)[a_cur]
        # Layer pixels of cur are valid if the same texture point is visible in prev:
        # inside the frame and inside this layer's shape there.
        inside = (lx >= 0) & (lx <= ww - 1) & (ly >= 0) & (ly <= hh - 1)
        lxi = np.clip(np.rint(lx), 0, ww - 1).astype(int)
        lyi = np.clip(np.rint(ly), 0, hh - 1).astype(int)
        on_layer_prev = a_prev[lyi, lxi] & inside
        valid = np.where(a_cur, on_layer_prev, valid)

    # Background pixels of cur whose source in prev is hidden by a layer are occluded;
    # so are layer pixels whose source in prev is hidden by a *later* (higher) layer.
    fx = np.clip(np.rint(xs + flow[..., 0]), 0, ww - 1).astype(int)
    fy = np.clip(np.rint(ys + flow[..., 1]), 0, hh - 1).astype(int)
    top = -np.ones((hh, ww), int)  # index of the top layer at each cur pixel
    for k, (_, _, _, a_cur) in enumerate(layer_stack):
        top[a_cur] = k
    top_prev = -np.ones((hh, ww), int)
    for k, (_, _, a_prev, _) in enumerate(layer_stack):
        top_prev[a_prev] = k
    valid &= top_prev[fy, fx] == top  # the visible surface at the source is the same one
    # Pixels next to a layer edge mix two surfaces under bilinear sampling: drop them.
    edge_cur = _edges(top)
    edge_prev = _edges(top_prev)[fy, fx]
    valid &= ~edge_cur & ~edge_prev

    if m.motion_blur > 0:  # in the camera: streaks along each frame's own motion
        motion_prev = _prev_motion(cam_prev, cam_cur, layer_stack, xs, ys)
        prev = _motion_blur(prev, motion_prev, rng.uniform(0.0, m.motion_blur))
        cur = _motion_blur(cur, flow, rng.uniform(0.0, m.motion_blur))
    if m.jitter > 0:  # after the flow is fixed: the flow misses this shift
        cur = _jitter(cur, rng, m.jitter)
    if photometric:
        gain = 1.0 + rng.uniform(-1, 1) * m.contrast
        bias = rng.uniform(-1, 1) * m.brightness
        cur = np.clip((cur - 0.5) * gain + 0.5 + bias, 0.0, 1.0)
        if m.shading > 0:
            cur = np.clip(cur * _gain_field(rng, (hh, ww), m.shading)[..., None], 0.0, 1.0)
        if m.blur > 0:
            prev, cur = (_random_blur(f, rng, m.blur) for f in (prev, cur))
        if m.noise > 0:
            prev = np.clip(prev + rng.normal(0, m.noise, prev.shape), 0.0, 1.0)
            cur = np.clip(cur + rng.normal(0, m.noise, cur.shape), 0.0, 1.0)
    return {
        "prev": prev.astype(np.float32),
        "cur": cur.astype(np.float32),
        "flow": flow.astype(np.float32),
        "mask": valid.astype(np.float32),
    }


def _smooth_field(rng: np.random.Generator, size: tuple[int, int], amplitude: float) -> np.ndarray:
    """A smooth random ``(H, W)`` field in ``+-amplitude``: a random 4x4 grid upsampled
    bicubically."""
    grid = rng.uniform(-1, 1, (4, 4)) * amplitude
    field = cv2.resize(grid, (size[1], size[0]), interpolation=cv2.INTER_CUBIC)
    return np.clip(field, -amplitude, amplitude)


def _gain_field(rng: np.random.Generator, size: tuple[int, int], amplitude: float) -> np.ndarray:
    """A smooth ``(H, W)`` field of gains in ``1 +- amplitude`` (local shading and light
    changes between frames)."""
    return 1.0 + _smooth_field(rng, size, amplitude)


def _jitter(frame: np.ndarray, rng: np.random.Generator, max_shift: float) -> np.ndarray:
    """``frame`` resampled along a smooth random displacement field (each component a
    :func:`_smooth_field` in ``+-max_shift`` px): the small misalignment that estimated
    flow, motion blur and non-rigid motion leave between warped real frames."""
    hh, ww = frame.shape[:2]
    ys, xs = np.mgrid[0:hh, 0:ww]
    dx, dy = (_smooth_field(rng, (hh, ww), max_shift) for _ in range(2))
    return cv2.remap(frame, (xs + dx).astype(np.float32), (ys + dy).astype(np.float32),
                     cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def _prev_motion(cam_prev: np.ndarray, cam_cur: np.ndarray, layer_stack: list, xs: np.ndarray,
                 ys: np.ndarray) -> np.ndarray:
    """``(H, W, 2)``: for each pixel of prev, where the surface it shows is in prev minus
    where it is in cur (the same sense as the flow of cur): the background's camera motion,
    or that of the top layer there."""
    bx, by = _apply(np.linalg.inv(cam_cur), *_apply(cam_prev, xs, ys))
    motion = np.stack([xs - bx, ys - by], -1)
    for lay_prev, lay_cur, a_prev, _ in layer_stack:
        lx, ly = _apply(np.linalg.inv(lay_cur), *_apply(lay_prev, xs, ys))
        motion[a_prev] = np.stack([xs - lx, ys - ly], -1)[a_prev]
    return motion


def _motion_blur(frame: np.ndarray, motion: np.ndarray, amount: float) -> np.ndarray:
    """``frame`` averaged along a streak of ``amount`` times each pixel's ``motion``
    (``(H, W, 2)`` px), centred on the pixel: a shutter open while the scene moves. No
    blur for streaks under half a pixel."""
    streak = motion * amount
    length = float(np.abs(streak).max(initial=0.0))
    if length < 0.5:
        return frame
    hh, ww = frame.shape[:2]
    ys, xs = np.mgrid[0:hh, 0:ww].astype(np.float32)
    sx, sy = streak[..., 0].astype(np.float32), streak[..., 1].astype(np.float32)
    n = int(min(24, np.ceil(length) + 1))
    out = np.zeros_like(frame)
    for t in np.linspace(-0.5, 0.5, n, dtype=np.float32):
        out += cv2.remap(frame, xs + t * sx, ys + t * sy, cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REFLECT)
    return out / n


def _random_blur(frame: np.ndarray, rng: np.random.Generator, max_sigma: float) -> np.ndarray:
    """``frame`` blurred by a Gaussian of sigma drawn in ``[0, max_sigma]`` (no blur below
    0.3 px): defocus and motion blur that differ between two frames."""
    sigma = rng.uniform(0.0, max_sigma)
    if sigma < 0.3:
        return frame
    return cv2.GaussianBlur(frame, (0, 0), sigmaX=sigma, borderType=cv2.BORDER_REFLECT)


def _check_photo_sizes(paths: list[Path], size: tuple[int, int]) -> None:
    """Refuse photos smaller than the crop (either orientation), reading headers only."""
    from PIL import Image, UnidentifiedImageError

    hh, ww = size
    small = []
    for p in paths:
        try:
            with Image.open(p) as im:
                w, h = im.size
        except (UnidentifiedImageError, OSError) as e:
            raise VidstyleError(f"cannot read photo {p}: {e}") from e
        if min(w, h) < min(hh, ww) or max(w, h) < max(hh, ww):
            small.append((p, w, h))
    if small:
        p, w, h = small[0]
        more = f" (and {len(small) - 1} more)" if len(small) > 1 else ""
        raise VidstyleError(
            f"photo {p} is {w}x{h}, smaller than the {ww}x{hh} training crop{more}; "
            "use larger photos or a smaller crop size", option="size"
        )


def _inside_square(h: np.ndarray, xs: np.ndarray, ys: np.ndarray, d: int) -> np.ndarray:
    tx, ty = _apply(h, xs, ys)
    return (tx >= 0) & (tx <= d - 1) & (ty >= 0) & (ty <= d - 1)


def _edges(labels: np.ndarray) -> np.ndarray:
    """Pixels whose 3x3 neighbourhood holds more than one label."""
    lab = labels.astype(np.float32)
    k = np.ones((3, 3), np.uint8)
    return cv2.dilate(lab, k) != cv2.erode(lab, k)


class SyntheticMotionPairs(Dataset):
    """Endless, deterministic dataset of synthetic pairs from a folder of photos.

    Item ``i`` is generated from ``np.random.default_rng((seed, i))``, so the data
    are the same whatever the number of workers or processes.

    Each item is a dict of tensors: ``prev``, ``cur`` ``(3, H, W)``, ``flow``
    ``(2, H, W)`` (cur -> prev), ``mask`` ``(1, H, W)``.
    """

    def __init__(
        self,
        photos: str | os.PathLike | list[Path],
        size: tuple[int, int],
        *,
        seed: int = 0,
        motion: MotionConfig = MotionConfig(),
        length: int = 10**9,
        photometric: bool = True,
    ):
        self.paths = photos if isinstance(photos, list) else find_images(photos)
        self.size = (int(size[0]), int(size[1]))
        _check_photo_sizes(self.paths, self.size)
        self.seed = seed
        self.motion = motion
        self.length = length
        self.photometric = photometric

    def __len__(self) -> int:
        return self.length

    def _photo(self, path: Path, rng: np.random.Generator) -> np.ndarray:
        img = read_rgb(path)
        hh, ww = self.size
        h, w = img.shape[:2]
        # A photo just the size of the crop leaves the camera no room to move: enlarge it
        # a little (photos smaller than the crop were refused in __init__).
        need = max(hh / h, ww / w) * 1.15
        if need > 1.0:
            img = resize_rgb(img, (int(np.ceil(h * need)), int(np.ceil(w * need))), "cubic")
        if rng.random() < 0.5:
            img = img[:, ::-1]
        return np.ascontiguousarray(img)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng((self.seed, int(i)))
        idx = rng.integers(0, len(self.paths), 3)
        bg = self._photo(self.paths[idx[0]], rng)
        layers = [read_rgb(self.paths[j]) for j in idx[1:]]
        pair = make_pair(bg, layers, self.size, rng, self.motion, self.photometric)
        return {
            "prev": torch.from_numpy(pair["prev"]).permute(2, 0, 1),
            "cur": torch.from_numpy(pair["cur"]).permute(2, 0, 1),
            "flow": torch.from_numpy(pair["flow"]).permute(2, 0, 1),
            "mask": torch.from_numpy(pair["mask"]).unsqueeze(0),
        }
