"""Frame pairs from real video clips, with DIS flow and a forward-backward mask.

Frames are decoded once, scaled so that their long side is ``work_size``, and for
each pair ``(t - stride, t)`` the flow from ``t`` to ``t - stride`` and the mask of
``t`` (forward-backward consistency + motion boundaries, Ruder et al. 2016) are
estimated with OpenCV's DIS and cached on disk as ``.npz`` (keyed by the clip's
path, size, modification time and the settings), so later runs start at once.
"""

from __future__ import annotations

import hashlib
import math
import os
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from vidstyle.cache import cache_dir
from vidstyle.data.pairs import crop_pair
from vidstyle.errors import VidstyleError
from vidstyle.flow.estimate import estimated_occlusion
from vidstyle.image import fit_long_side, resize_rgb, to_float_batch


def default_cache_dir() -> Path:
    """Where clip pairs are cached (:func:`vidstyle.cache.cache_dir`)."""
    return cache_dir("clip_pairs")


def _frames(path: Path, work_size: int):
    """Decoded frames (uint8 RGB, long side scaled to ``work_size``) and the source's
    frame-count estimate (None when unknown)."""
    from vidstyle.video import open_source

    src = open_source(path)

    def gen():
        with src:
            for rgb, _ in src.frames():
                yield resize_rgb(rgb, fit_long_side(*rgb.shape[:2], work_size), "area")

    return gen(), getattr(src, "frame_count", None)


def build_clip_cache(path: str | os.PathLike, *, work_size: int = 384, stride: int = 1,
                     max_pairs: int = 120, cache_dir: str | os.PathLike | None = None) -> Path:
    """Estimate and cache up to ``max_pairs`` pairs of one clip, spread evenly over it
    (streaming: only ``stride + 1`` frames are held at a time); returns the ``.npz``."""
    src = Path(path)
    if not src.exists():
        raise VidstyleError(f"clip not found: {src}")
    st = src.stat()
    key = hashlib.sha1(
        f"{src.resolve()}|{st.st_size}|{st.st_mtime_ns}|{work_size}|{stride}|{max_pairs}".encode()
    ).hexdigest()[:16]
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    out = cache / f"{src.stem}.{key}.npz"
    if out.is_file():
        return out
    frames, count = _frames(src, work_size)
    # Take a pair every `every` frames so that max_pairs cover the whole clip.
    every = max(1, ((count or 0) - stride) // max_pairs) if count else 1
    window: list[np.ndarray] = []
    prev, cur, flows, masks = [], [], [], []
    n = 0
    for n, rgb in enumerate(frames, start=1):
        window = (window + [rgb])[-(stride + 1):]
        t = n - 1
        if len(window) < stride + 1 or (t - stride) % every or len(cur) >= max_pairs:
            continue
        a, b = window[-1], window[0]  # current, previous
        f_cp, m = estimated_occlusion(a, b)  # (1, 2, H, W) current -> previous, (1, 1, H, W)
        prev.append(b)
        cur.append(a)
        flows.append(f_cp[0].permute(1, 2, 0).numpy().astype(np.float16))
        masks.append(m[0, 0].numpy().astype(np.uint8))
    if not cur:
        raise VidstyleError(f"{src}: {n} frame(s), need at least {stride + 1} for a pair")
    cache.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f"{out.stem}.{os.getpid()}.tmp.npz")  # unique: parallel runs
    np.savez(tmp, prev=np.stack(prev), cur=np.stack(cur), flow=np.stack(flows), mask=np.stack(masks))
    os.replace(tmp, out)
    return out


class ClipPairs(Dataset):
    """Pairs from one clip file or frame folder (or every clip in a folder of clips).

    Items are random crops of ``size`` (with random horizontal flips) of a cached
    pair chosen by ``(seed, i)``. Frames are scaled to a long side of ``work_size``, or more
    where that leaves the short side under the crop.
    """

    VIDEO_EXTENSIONS = (".mp4", ".mkv", ".mov", ".webm", ".avi", ".m4v")

    def __init__(self, path: str | os.PathLike, size: tuple[int, int], *, seed: int = 0,
                 work_size: int = 384, stride: int = 1, max_pairs: int = 120,
                 cache_dir: str | os.PathLike | None = None):
        p = Path(path)
        if p.is_dir() and any(c.suffix.lower() in self.VIDEO_EXTENSIONS for c in p.iterdir()):
            clips = sorted(c for c in p.iterdir() if c.suffix.lower() in self.VIDEO_EXTENSIONS)
        else:
            clips = [p]
        self.size = size
        self.seed = seed
        self.data = []
        for c in clips:
            self.data.append(self._load(c, size, work_size, stride, max_pairs, cache_dir))
        self.index = [(k, j) for k, d in enumerate(self.data) for j in range(len(d["cur"]))]

    @staticmethod
    def _load(clip: Path, size: tuple[int, int], work_size: int, stride: int, max_pairs: int,
              cache_dir) -> dict[str, np.ndarray]:
        """One clip's cached pairs at ``work_size``, or at the least long side whose frames
        hold the crop (a 256x256 crop of a 16:9 clip needs a long side of 456, not 384)."""
        from vidstyle.video import open_source

        if clip.exists():
            with open_source(clip) as src:
                w, h = src.width, src.height
            need = max(size[0] / h, size[1] / w) * max(w, h)  # long side at which the crop fits
            work_size = max(work_size, math.ceil(need) + 1)
        z = np.load(build_clip_cache(clip, work_size=work_size, stride=stride,
                                     max_pairs=max_pairs, cache_dir=cache_dir))
        h, w = z["cur"].shape[1:3]
        if h < size[0] or w < size[1]:
            raise VidstyleError(f"{clip}: frames of {w}x{h} (after scaling to {work_size}) are "
                                f"smaller than the {size[1]}x{size[0]} crop")
        return {k: z[k] for k in ("prev", "cur", "flow", "mask")}

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng((self.seed, 31, int(i)))
        k, j = self.index[int(i) % len(self.index)]
        d = self.data[k]
        item = {
            "prev": to_float_batch(d["prev"][j : j + 1])[0],
            "cur": to_float_batch(d["cur"][j : j + 1])[0],
            "flow": torch.from_numpy(d["flow"][j].astype(np.float32)).permute(2, 0, 1),
            "mask": torch.from_numpy(d["mask"][j]).unsqueeze(0).float(),
        }
        return crop_pair(item, self.size, rng, source="clip")
