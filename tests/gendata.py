"""Generated test data: photos, a painting, exact-flow pairs and a Sintel-style tree.

Made on the fly, so that a fresh clone runs the whole suite without ``../shared/data``
(the tests that need the real Sintel frames or paintings carry the ``data`` marker).
Everything is deterministic (seeded) and small:

* :func:`photo`: a photo-like image: smooth colour fields at several scales, a few
  soft-edged shapes and fine grain, so that VGG features, DIS flow and the training
  pair generator all have texture to work with.
* :func:`painting`: a procedurally drawn "painting" (bold strokes in a small saturated
  palette), a style image whose Gram statistics are far from a photo's.
* :func:`exact_pair`: two frames with exact flow and occlusion from the project's own
  pair generator, :func:`vidstyle.data.synthetic.make_pair`.
* :func:`pan_clip`: frames of a photo seen through a window that moves a fraction of a
  pixel per frame (exact, constant flow; a clip with real motion for DIS).
* :func:`write_sintel`: those in the layout of MPI Sintel's training folder.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from vidstyle.data.synthetic import MotionConfig, make_pair
from vidstyle.flow.io import write_flo

# Motion of the exact pairs: a little more than the training default, so that standing
# still is clearly worse than following the flow even on small frames.
PAIR_MOTION = MotionConfig(max_shift=0.08, layer_shift=0.1)
PAN_STEP = (1.5, 0.75)  # (dx, dy) px per frame of pan_clip: content moves left and up


def photo(seed: int = 0, height: int = 96, width: int = 128) -> np.ndarray:
    """A photo-like ``(height, width, 3)`` uint8 RGB image."""
    rng = np.random.default_rng(seed)
    img = np.zeros((height, width, 3), np.float32)
    for cells, amp in ((3, 1.0), (6, 0.5), (12, 0.3), (24, 0.2)):
        coarse = rng.random((cells, cells, 3)).astype(np.float32)
        img += amp * cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    mix = np.eye(3, dtype=np.float32) * 0.6 + rng.random((3, 3)).astype(np.float32) * 0.4
    img = img @ mix  # correlated channels, like natural colour
    img = (img - img.min()) / (img.max() - img.min())
    for _ in range(6):  # objects with soft edges
        colour = rng.random(3).tolist()
        centre = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        axes = (int(rng.integers(4, width // 4)), int(rng.integers(4, height // 4)))
        cv2.ellipse(img, centre, axes, float(rng.uniform(0, 180)), 0, 360, colour, -1)
    img = cv2.GaussianBlur(img, (0, 0), 0.8)
    img += rng.normal(0, 0.02, img.shape).astype(np.float32)  # grain
    return (np.clip(0.05 + 0.9 * img, 0, 1) * 255).round().astype(np.uint8)


def painting(seed: int = 0, size: int = 128) -> np.ndarray:
    """A ``(size, size, 3)`` uint8 RGB "painting": bold strokes and dots in five colours."""
    rng = np.random.default_rng(seed)
    palette = [(230, 40, 60), (250, 200, 30), (30, 90, 220), (20, 170, 90), (250, 120, 200)]
    img = np.full((size, size, 3), (40, 20, 70), np.uint8)
    for _ in range(size // 2):
        colour = palette[int(rng.integers(len(palette)))]
        x0, y0 = rng.integers(0, size, 2)
        angle = rng.uniform(0, np.pi)
        length = rng.uniform(0.1, 0.4) * size
        x1, y1 = int(x0 + length * np.cos(angle)), int(y0 + length * np.sin(angle))
        cv2.line(img, (int(x0), int(y0)), (x1, y1), colour, int(rng.integers(2, 7)), cv2.LINE_AA)
    for _ in range(size // 8):
        colour = palette[int(rng.integers(len(palette)))]
        cv2.circle(img, tuple(int(v) for v in rng.integers(0, size, 2)), int(rng.integers(2, 6)),
                   colour, -1, cv2.LINE_AA)
    return img


def save(path: str | Path, rgb: np.ndarray) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rgb).save(path)
    return path


def write_photos(folder: str | Path, n: int = 4, height: int = 96, width: int = 128) -> Path:
    """``n`` photos ``photo_0.png`` ... in ``folder`` (seeds 0 .. n-1)."""
    for i in range(n):
        save(Path(folder) / f"photo_{i}.png", photo(i, height, width))
    return Path(folder)


def exact_pair(seed: int = 0, height: int = 64, width: int = 96, *,
               photometric: bool = False) -> dict[str, np.ndarray]:
    """Frames ``t`` and ``t+1`` with exact flow, Sintel's convention.

    Returns ``frame1``, ``frame2`` (uint8 ``(H, W, 3)``), ``flow`` (float32 ``(H, W, 2)``,
    ``t -> t+1`` on frame ``t``'s grid: ``warp(frame2, flow) ~ frame1``) and ``occluded``
    (bool ``(H, W)``: pixels of frame ``t`` hidden in ``t+1`` or next to a layer edge; as in
    Sintel, pixels that only leave the frame are not marked).
    """
    rng = np.random.default_rng(seed)
    background = photo(1000 + seed, int(height * 1.5), int(width * 1.5))
    layers = [photo(2000 + seed, height, width), photo(3000 + seed, height, width)]
    # make_pair's flow goes from its current frame to its previous one: that is
    # Sintel's t -> t+1 with t = "cur" and t+1 = "prev".
    p = make_pair(background, layers, (height, width), rng, PAIR_MOTION, photometric)
    ys, xs = np.mgrid[0:height, 0:width]
    tx, ty = xs + p["flow"][..., 0], ys + p["flow"][..., 1]
    inside = (tx >= 0) & (tx <= width - 1) & (ty >= 0) & (ty <= height - 1)
    return {
        "frame1": (p["cur"] * 255).round().astype(np.uint8),
        "frame2": (p["prev"] * 255).round().astype(np.uint8),
        "flow": p["flow"],
        "occluded": (p["mask"] < 0.5) & inside,
    }


def pan_clip(n: int = 4, height: int = 64, width: int = 96, seed: int = 0,
             step: tuple[float, float] = PAN_STEP) -> list[np.ndarray]:
    """``n`` uint8 frames: frame ``t`` is the photo at offset ``t * step``, so that
    ``frame_t(p) = frame_{t+1}(p - step)``: the flow ``t -> t+1`` is ``-step`` everywhere."""
    big = photo(seed, height + 16, width + 16)
    frames = []
    for t in range(n):
        m = np.float32([[1, 0, 4 + t * step[0]], [0, 1, 4 + t * step[1]]])
        frames.append(cv2.warpAffine(big, m, (width, height),
                                     flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP))
    return frames


def write_sintel(root: str | Path, height: int = 64, width: int = 96) -> Path:
    """A small tree in the layout :mod:`vidstyle.data.sintel` reads, with exact flow.

    * ``pan_1``: a 4-frame :func:`pan_clip` in both passes (``final`` adds the grain a
      render pass would), flows at ``t = 1`` and ``3``;
    * ``layers_2``: two :func:`exact_pair` pairs with moving, occluding layers, frames
      ``1-2`` (both passes) and ``3-4`` (final pass only); their invalid masks mark the
      top-left 4x4 pixels.
    """
    root = Path(root)
    rng = np.random.default_rng(7)
    clip = pan_clip(4, height, width)
    pan_flow = np.empty((height, width, 2), np.float32)
    pan_flow[..., 0], pan_flow[..., 1] = -PAN_STEP[0], -PAN_STEP[1]
    for t, frame in enumerate(clip, start=1):
        save(root / "clean" / "pan_1" / f"frame_{t:04d}.png", frame)
        grain = rng.normal(0, 2.0, frame.shape)
        save(root / "final" / "pan_1" / f"frame_{t:04d}.png",
             np.clip(frame + grain, 0, 255).round().astype(np.uint8))
    none = np.zeros((height, width), bool)
    for t in (1, 3):
        _flow_files(root, "pan_1", t, pan_flow, none, none)
    corner = none.copy()
    corner[:4, :4] = True
    for t, seed in ((1, 0), (3, 1)):
        clean = exact_pair(seed, height, width)
        final = exact_pair(seed, height, width, photometric=True)  # same geometry
        passes = {"final": final} if t == 3 else {"clean": clean, "final": final}
        for pass_name, pair in passes.items():
            save(root / pass_name / "layers_2" / f"frame_{t:04d}.png", pair["frame1"])
            save(root / pass_name / "layers_2" / f"frame_{t + 1:04d}.png", pair["frame2"])
        _flow_files(root, "layers_2", t, clean["flow"], clean["occluded"], corner)
    return root


def _flow_files(root: Path, scene: str, t: int, flow: np.ndarray, occluded: np.ndarray,
                invalid: np.ndarray) -> None:
    name = f"frame_{t:04d}"
    (root / "flow" / scene).mkdir(parents=True, exist_ok=True)
    write_flo(root / "flow" / scene / f"{name}.flo", flow)
    save(root / "occlusions" / scene / f"{name}.png", occluded.astype(np.uint8) * 255)
    save(root / "invalid" / scene / f"{name}.png", invalid.astype(np.uint8) * 255)
