"""The e_stab floor of optimising Ruder's method at a reduced working size.

    python benchmarks/ruder_mask_floor.py [--max-size 512] [--sizes 192 256]

For every shared Sintel pair (at ``--max-size``), take the candy per-frame model's
output of the *previous* frame, shrink it to the working size, and build the
current frame's result as that image exactly warped (working-size flow) wherever
the working-size mask allows, the per-frame output elsewhere: the best a
working-size optimisation with a perfect temporal term could do. Both results are
upscaled as ``RuderStylizer`` does and scored with e_stab at ``--max-size``, once
with the mask min-pooled to the working size (valid only if the whole footprint
is) and once area-averaged (soft), which is what ``RuderStylizer`` uses.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from vidstyle.api import load_model
from vidstyle.data.sintel import load_pair, sintel_pairs
from vidstyle.eval.metrics import e_stab, pair_stability_error
from vidstyle.flow.warp import resize_flow, resize_mask, warp
from vidstyle.image import fit_long_side, resize_images

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--max-size", type=int, default=512)
    ap.add_argument("--sizes", type=int, nargs="+", default=[192, 256])
    args = ap.parse_args()
    torch.set_grad_enabled(False)
    model = load_model("candy", "per-frame")
    pairs = [load_pair(p, max_size=args.max_size) for p in sintel_pairs(DATA / "sintel", "final")]
    styled = [(model(d["frame1"]).clamp(0, 1), model(d["frame2"]).clamp(0, 1)) for d in pairs]
    for ws in args.sizes:
        res = {}
        for soft in (False, True):
            errs = []
            for d, (s1, s2) in zip(pairs, styled):
                H, W = s1.shape[-2:]
                size = fit_long_side(H, W, ws)
                prev = resize_images(s2, size)
                mask = resize_mask(d["mask"], size, soft=soft)
                cur = mask * warp(prev, resize_flow(d["flow"], size)) + (1 - mask) * resize_images(s1, size)
                errs.append(pair_stability_error(resize_images(cur, (H, W)), resize_images(prev, (H, W)),
                                                 d["flow"], d["mask"]))
            res[soft] = e_stab(errs)
        print(f"working size {ws}: e_stab floor {res[False]:.4f} with min-pooled masks, "
              f"{res[True]:.4f} with area-averaged masks ({len(pairs)} pairs at {args.max_size})")


if __name__ == "__main__":
    main()
