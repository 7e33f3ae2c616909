"""Ruder et al.'s multi-pass algorithm (IJCV 2018, Sec. 3.3) over a whole clip.

Multi-pass, as we read it: pass 1 stylizes every frame independently; then passes
alternate direction (forward, backward, ...). In a pass, frame ``i`` is initialised
with ``x' = d c w(x_n) + (1 - d c) x_i`` (``x_n`` the neighbour already processed
in this pass, ``x_i`` the frame's result from the previous pass, ``d`` =
``pass_blend``, ``c`` the neighbour's validity mask) and optimised for
``iterations`` steps with the temporal term toward the neighbour(s) in the pass
direction.

Simplifications: every pass, the first included, gives each frame the same budget
(``iterations``); the long-term term, when set, looks back along the pass
direction; no convergence test ends the passes early.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import torch

from vidstyle.flow.warp import warp
from vidstyle.image import resize_images
from vidstyle.methods.ruder.optimize import TemporalReference, long_term_masks

if TYPE_CHECKING:
    from vidstyle.methods.ruder.stylizer import RuderStylizer


def multi_pass(
    st: RuderStylizer, clip: list[torch.Tensor]
) -> tuple[list[torch.Tensor], list[float]]:
    """Run ``st.config.passes`` passes over ``clip`` (``(1, 3, H, W)`` frames in [0, 1]).

    Returns:
        The results ``(1, 3, H, W)`` on the CPU at the input size, in frame order,
        and the seconds spent on each frame over all passes.
    """
    cfg = st.config
    n = len(clip)
    times = [0.0] * n
    items = [st.frame(f) for f in clip]
    flows: dict[tuple[int, int], tuple[torch.Tensor, torch.Tensor]] = {}

    def refs_for(i: int, step: int) -> list[TemporalReference]:
        """References of frame ``i`` toward frames ``i + step * k`` (k in offsets)."""
        js = [i + step * k for k in cfg.offsets if 0 <= i + step * k < n]
        for j in js:
            if (i, j) not in flows:
                flows[(i, j)] = st.flow(items[i], items[j])
        masks = long_term_masks([flows[(i, j)][1] for j in js])
        return [
            TemporalReference(warp(items[j].result, flows[(i, j)][0]), m)
            for j, m in zip(js, masks)
        ]

    # Pass 1: every frame on its own.
    for i, it in enumerate(items):
        t0 = time.perf_counter()
        init = st.random_init(it.work, i) if cfg.init == "random" else it.work
        it.result = st.optimize(it.work, init, [], cfg.iterations, i)
        times[i] += time.perf_counter() - t0
    # Later passes alternate direction; the neighbour is already updated in this pass.
    for p in range(1, cfg.passes):
        step = -1 if p % 2 == 1 else 1  # forward pass looks back (i - k), backward ahead
        order = range(n) if step == -1 else range(n - 1, -1, -1)
        for i in order:
            t0 = time.perf_counter()
            it = items[i]
            refs = refs_for(i, step)
            init = it.result
            if refs:  # refs[0] is the nearest neighbour; its long-term mask is its own c
                a = cfg.pass_blend * refs[0].mask
                init = a * refs[0].warped + (1 - a) * it.result
            use = refs if cfg.temporal_weight > 0 else []
            it.result = st.optimize(it.work, init, use, cfg.iterations, i)
            times[i] += time.perf_counter() - t0
    return [resize_images(it.result.cpu(), tuple(it.full.shape[-2:])) for it in items], times
