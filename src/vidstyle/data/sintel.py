"""MPI Sintel frame pairs with ground-truth flow, occlusion and invalid masks.

Expected layout (that of ``MPI-Sintel-complete/training``, a subset is fine)::

    ROOT/{clean,final}/SCENE/frame_%04d.png     frames, uint8 RGB
    ROOT/flow/SCENE/frame_%04d.flo              forward flow t -> t+1, on frame t's grid
    ROOT/occlusions/SCENE/frame_%04d.png        255 = pixel of t not visible in t+1
    ROOT/invalid/SCENE/frame_%04d.png           255 = flow undefined (optional)

A *pair* is one ``.flo`` file ``t`` whose frames ``t`` and ``t+1`` both exist. It
is what the e_stab metric of ReCoNet (Gao et al. 2018, Table 2) is computed on:
warp the output of frame ``t+1`` onto frame ``t`` with the flow and compare where
the mask is 1.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from vidstyle.errors import ImageReadError, VidstyleError
from vidstyle.flow.io import flo_to_tensor, read_flo
from vidstyle.flow.warp import inside_mask, resize_flow, resize_mask
from vidstyle.image import load_image

PASSES: tuple[str, ...] = ("clean", "final")
_FLO_NAME = re.compile(r"^frame_(\d{4,})\.flo$")


@dataclass(frozen=True)
class SintelPair:
    """One Sintel frame pair ``(t, t+1)`` and the files that describe it.

    Attributes:
        scene: scene name, e.g. ``"cave_2"``.
        pass_name: the render pass the frames come from (``"clean"`` or
            ``"final"``); the *requested* pass unless :func:`sintel_pairs` fell
            back to the other one for this pair.
        t: frame number of the first frame (Sintel numbers frames from 1).
        frame1: path of frame ``t``.
        frame2: path of frame ``t+1``.
        flow: ``.flo`` file, forward flow ``t -> t+1`` on frame ``t``'s grid.
        occlusions: occlusion png (255 = occluded), or None if absent.
        invalid: invalid-flow png (255 = invalid), or None if absent.
    """

    scene: str
    pass_name: str
    t: int
    frame1: Path
    frame2: Path
    flow: Path
    occlusions: Path | None
    invalid: Path | None

    @property
    def name(self) -> str:
        """Short label, e.g. ``"cave_2/final/0002"``."""
        return f"{self.scene}/{self.pass_name}/{self.t:04d}"


def _frame(root: Path, pass_name: str, scene: str, t: int) -> Path:
    return root / pass_name / scene / f"frame_{t:04d}.png"


def _optional(path: Path) -> Path | None:
    return path if path.is_file() else None


def sintel_pairs(
    root: str | os.PathLike,
    pass_name: str = "final",
    scenes: list[str] | tuple[str, ...] | None = None,
    *,
    fallback: bool = True,
) -> list[SintelPair]:
    """Every Sintel pair under ``root`` for which a flow file and both frames exist.

    Pass fallback: the frames of a pair are taken from ``pass_name`` when both
    exist there; otherwise, if ``fallback`` is true, from the other pass when both
    exist there (some scenes of a partial copy are rendered in one pass only); the
    pass actually used is recorded in :attr:`SintelPair.pass_name`. Pairs whose
    frames exist in neither pass are skipped.

    Args:
        root: Sintel training root (contains ``flow/`` and ``clean/`` or ``final/``).
        pass_name: ``"clean"`` or ``"final"``.
        scenes: restrict to these scenes (each must have a ``flow/SCENE`` folder);
            default all scenes, sorted by name.
        fallback: allow the other pass when a pair's frames are missing in ``pass_name``.

    Returns:
        Pairs sorted by scene, then frame number.

    Raises:
        VidstyleError: ``root`` or its ``flow/`` folder is missing, a requested
            scene does not exist, or no pair was found.
        ValueError: unknown ``pass_name``.
    """
    if pass_name not in PASSES:
        raise ValueError(f"sintel_pairs: pass_name must be one of {PASSES}, got {pass_name!r}")
    base = Path(root)
    if not base.is_dir():
        raise VidstyleError(f"Sintel root not found: {base}")
    flow_dir = base / "flow"
    if not flow_dir.is_dir():
        raise VidstyleError(f"not a Sintel root (no flow/ folder): {base}")
    available = sorted(p.name for p in flow_dir.iterdir() if p.is_dir())
    if scenes is None:
        chosen = available
    else:
        if isinstance(scenes, str):
            raise TypeError("sintel_pairs: scenes must be a list of names, not a str")
        missing = [s for s in scenes if s not in available]
        if missing:
            raise VidstyleError(
                f"Sintel scene(s) {missing} not found under {flow_dir}; "
                f"available: {', '.join(available) or 'none'}"
            )
        chosen = list(dict.fromkeys(scenes))  # keep order, drop duplicates
    other = PASSES[1 - PASSES.index(pass_name)]
    tries = (pass_name, other) if fallback else (pass_name,)

    pairs: list[SintelPair] = []
    for scene in chosen:
        for flo in sorted((flow_dir / scene).iterdir()):
            m = _FLO_NAME.match(flo.name)
            if m is None or not flo.is_file():
                continue
            t = int(m.group(1))
            for p in tries:
                f1, f2 = _frame(base, p, scene, t), _frame(base, p, scene, t + 1)
                if f1.is_file() and f2.is_file():
                    pairs.append(
                        SintelPair(
                            scene=scene,
                            pass_name=p,
                            t=t,
                            frame1=f1,
                            frame2=f2,
                            flow=flo,
                            occlusions=_optional(
                                base / "occlusions" / scene / f"frame_{t:04d}.png"
                            ),
                            invalid=_optional(base / "invalid" / scene / f"frame_{t:04d}.png"),
                        )
                    )
                    break
    if not pairs:
        raise VidstyleError(
            f"no Sintel pairs (flow + frames t, t+1) in {base} for pass {pass_name!r}"
            + (f" and scenes {list(chosen)}" if scenes is not None else "")
        )
    return pairs


def _read_binary_png(path: Path, size: tuple[int, int]) -> torch.Tensor:
    """A 0/255 Sintel mask png as a ``(1, 1, H, W)`` float tensor, 1 where the value is >= 128."""
    try:
        with Image.open(path) as im:
            arr = np.asarray(im.convert("L"))
    except (UnidentifiedImageError, OSError, ValueError) as e:
        raise ImageReadError(f"cannot read mask {path}: {e}") from e
    if arr.shape != size:
        raise VidstyleError(
            f"{path}: mask is {arr.shape[1]}x{arr.shape[0]}, frame is {size[1]}x{size[0]}"
        )
    return torch.from_numpy(arr >= 128).float().view(1, 1, *size)


def _image_size(path: Path) -> tuple[int, int]:
    """``(width, height)`` of an image file, read from its header."""
    try:
        with Image.open(path) as im:
            return im.size
    except (UnidentifiedImageError, OSError, ValueError) as e:
        raise ImageReadError(f"cannot read image {path}: {e}") from e


def load_pair(pair: SintelPair, max_size: int | None = None) -> dict[str, torch.Tensor]:
    """Load a pair's frames, ground-truth flow and validity mask as tensors.

    The mask is 1 where the flow is usable for a temporal metric: not occluded
    (occlusion png != 255), not invalid (invalid png != 255, when the file
    exists), and ``p + flow(p)`` lands inside frame ``t+1``.

    Args:
        pair: from :func:`sintel_pairs`.
        max_size: if given, scale down (never up) so the long side is at most this
            many pixels. Frames are resampled with Lanczos (as
            :func:`vidstyle.image.load_image`), the flow with
            :func:`~vidstyle.flow.warp.resize_flow` (vectors rescaled), and the mask
            conservatively with :func:`~vidstyle.flow.warp.resize_mask` (a pixel stays
            valid only if its whole footprint was valid), then intersected with the
            in-frame test of the resized flow.

    Returns:
        ``{"frame1": (1, 3, H, W), "frame2": (1, 3, H, W), "flow": (1, 2, H, W),
        "mask": (1, 1, H, W)}``, float32; ``flow`` is the forward flow ``t -> t+1``
        in pixels of the returned size, so ``warp(frame2, flow) ~ frame1`` on the mask.

    Raises:
        VidstyleError: a file is missing or unreadable, the occlusion png is absent,
            or the files disagree in size.
    """
    if max_size is not None and max_size < 1:
        raise ValueError(f"load_pair: max_size must be >= 1, got {max_size}")
    flow = flo_to_tensor(read_flo(pair.flow))  # (1, 2, H, W)
    h, w = flow.shape[-2:]
    for path in (pair.frame1, pair.frame2):
        fw, fh = _image_size(path)
        if (fh, fw) != (h, w):
            raise VidstyleError(f"{path}: frame is {fw}x{fh}, flow {pair.flow} is {w}x{h}")
    if pair.occlusions is None:
        raise VidstyleError(f"no occlusion mask for Sintel pair {pair.name}")
    mask = 1.0 - _read_binary_png(pair.occlusions, (h, w))
    if pair.invalid is not None:
        mask = mask * (1.0 - _read_binary_png(pair.invalid, (h, w)))
    mask = mask * inside_mask(flow)

    frame1 = load_image(pair.frame1, max_size)
    frame2 = load_image(pair.frame2, max_size)
    size = (frame1.shape[-2], frame1.shape[-1])
    if size != (h, w):
        flow = resize_flow(flow, size)
        mask = resize_mask(mask, size) * inside_mask(flow)
    return {"frame1": frame1, "frame2": frame2, "flow": flow, "mask": mask}


class SintelTrainPairs(torch.utils.data.Dataset):
    """Sintel pairs as training pairs, reversed so that the flow maps the *current*
    frame into the previous one: ``cur`` = frame t, ``prev`` = frame t+1, ``flow`` =
    GT forward flow t -> t+1, ``mask`` = visible-in-t+1 mask of frame t. Frames are
    loaded once at ``max_size`` and served as random crops with random flips."""

    def __init__(self, root: str | os.PathLike, size: tuple[int, int], *, seed: int = 0,
                 pass_name: str = "final", max_size: int = 512):
        from vidstyle.data.pairs import crop_pair

        self._crop = crop_pair
        self.size = size
        self.seed = seed
        self.items = []
        for pair in sintel_pairs(root, pass_name):
            d = load_pair(pair, max_size=max_size)
            self.items.append({"prev": d["frame2"][0], "cur": d["frame1"][0],
                               "flow": d["flow"][0], "mask": d["mask"][0]})

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng((self.seed, 37, int(i)))
        return self._crop(self.items[int(i) % len(self.items)], self.size, rng, source="sintel")
