"""Training data specs and weighted mixtures of pair datasets.

Every pair dataset yields dicts of tensors ``prev``, ``cur`` ``(3, H, W)``,
``flow`` ``(2, H, W)`` from cur to prev, ``mask`` ``(1, H, W)``; item ``i`` is a
deterministic function of the seed and ``i``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch.utils.data import Dataset

from vidstyle.errors import VidstyleError

if TYPE_CHECKING:
    from vidstyle.data.synthetic import MotionConfig

SPEC_KINDS = ("photos", "clip", "sintel")


def parse_spec(spec: str) -> tuple[str, str]:
    """``"photos:DIR"`` -> ``("photos", "DIR")``. A bare path means photos."""
    kind, sep, path = spec.partition(":")
    if not sep or kind not in SPEC_KINDS:
        return "photos", spec
    if not path:
        raise VidstyleError(f"data spec {spec!r} has no path")
    return kind, path


def build_source(spec: str, size: tuple[int, int], seed: int,
                 motion: MotionConfig | None = None) -> Dataset:
    """One pair dataset from a spec (see :data:`SPEC_KINDS`); ``motion`` configures the
    synthetic pairs made from photos (default: :class:`MotionConfig`'s defaults)."""
    kind, path = parse_spec(spec)
    if kind == "photos":
        from vidstyle.data.synthetic import MotionConfig, SyntheticMotionPairs

        return SyntheticMotionPairs(path, size, seed=seed, motion=motion or MotionConfig())
    if kind == "clip":
        from vidstyle.data.clips import ClipPairs

        return ClipPairs(path, size, seed=seed)
    from vidstyle.data.sintel import SintelTrainPairs

    return SintelTrainPairs(path, size, seed=seed)


class Mixture(Dataset):
    """Draws item ``i`` from source ``k`` with probability ``weights[k]``.

    The choice and the index inside the source depend only on ``(seed, i)``.
    """

    def __init__(self, sources: Sequence[Dataset], weights: Sequence[float] | None = None,
                 seed: int = 0, length: int = 10**9):
        if not sources:
            raise VidstyleError("no training data given")
        w = np.asarray(weights if weights else [1.0] * len(sources), dtype=np.float64)
        if len(w) != len(sources) or (w < 0).any() or w.sum() <= 0:
            raise VidstyleError(f"data weights {list(w)} do not fit {len(sources)} source(s)")
        self.sources = list(sources)
        self.p = w / w.sum()
        self.seed = seed
        self.length = length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng((self.seed, 7919, int(i)))
        k = int(rng.choice(len(self.sources), p=self.p))
        src = self.sources[k]
        j = int(rng.integers(0, len(src))) if len(src) < 10**9 else int(i)
        return src[j]


def build_dataset(specs: Sequence[str], weights: Sequence[float], size: tuple[int, int],
                  seed: int, motion: MotionConfig | None = None) -> Dataset:
    """The training mixture of ``specs`` with ``weights``; a single source is returned as is."""
    sources = [build_source(s, size, seed + 1000 * n, motion) for n, s in enumerate(specs)]
    if len(sources) == 1 and not weights:
        return sources[0]
    return Mixture(sources, weights, seed)
