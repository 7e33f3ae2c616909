"""Where a model's temporal error lives: the valid pixels of the 13 shared Sintel pairs
(1024x436, final pass, ground-truth flow and occlusion) binned by the *input's* own
warping error, and the model's output error in each bin.

    python benchmarks/err_by_input.py candy runs/probe/model.pt ...

Per pixel, ``e_in = mean_c (I_t - W(I_{t+1}))^2`` and ``e_out`` the same of the outputs
(what err_t averages). For each bin of ``e_in`` the table gives the share of pixels, the
mean ``e_in``, and for each model the mean ``e_out``, its gain over ``e_in`` and the bin's
share of the model's whole error. A model that only passes the input's changes through
has a gain of 1; one that stylizes more amplifies them.
"""

from __future__ import annotations

import sys

import torch
from _sintel import SintelBench

from vidstyle.flow.warp import warp
from vidstyle.models import load_checkpoint
from vidstyle.pretrained import resolve_model

EDGES = (0.0, 1e-4, 1e-3, 4e-3, 1e-2, 4e-2, float("inf"))


def main() -> None:
    torch.set_grad_enabled(False)
    names = sys.argv[1:]
    if not names:
        sys.exit("usage: err_by_input.py MODEL [MODEL ...] (bundled style name or .pt)")
    bench = SintelBench()
    models = {n: load_checkpoint(resolve_model(n))[0].float() for n in names}
    k = len(EDGES) - 1
    inner = torch.tensor(EDGES[1:-1])
    count, sum_in = torch.zeros(k), torch.zeros(k)  # per bin: pixels and the input's error
    sum_out = {n: torch.zeros(k) for n in names}  # per bin: each model's error
    for d in bench.loaded:
        valid = d["mask"][:, 0] > 0.5
        e_in = (d["frame1"] - warp(d["frame2"], d["flow"])).pow(2).mean(1)[valid]
        bins = torch.bucketize(e_in, inner, right=True)  # EDGES[b] <= e_in < EDGES[b + 1]
        count += torch.bincount(bins, minlength=k)
        sum_in += torch.bincount(bins, weights=e_in, minlength=k)
        for n, m in models.items():
            o1, o2 = m(d["frame1"]).clamp(0, 1), m(d["frame2"]).clamp(0, 1)
            e_out = (o1 - warp(o2, d["flow"])).pow(2).mean(1)[valid]
            sum_out[n] += torch.bincount(bins, weights=e_out, minlength=k)
    print("| input error bin | pixels | mean e_in | " + " | ".join(
        f"{n}: e_out (gain, share)" for n in names) + " |")
    print("|---" * (3 + len(names)) + "|")
    for b in range(k):
        hi = "inf" if EDGES[b + 1] == float("inf") else f"{EDGES[b + 1]:.0e}"
        mean_in = sum_in[b] / count[b]
        cells = []
        for n in names:
            mean_out, share = sum_out[n][b] / count[b], sum_out[n][b] / sum_out[n].sum()
            cells.append(f"{mean_out:.4f} ({mean_out / mean_in:.1f}x, {share:.0%})")
        print(f"| [{EDGES[b]:.0e}, {hi}) | {count[b] / count.sum():.1%} | {mean_in:.5f} | "
              + " | ".join(cells) + " |")
    print("| all valid pixels | 100% | " + f"{sum_in.sum() / count.sum():.5f} | " + " | ".join(
        f"{sum_out[n].sum() / count.sum():.4f}" for n in names) + " |")


if __name__ == "__main__":
    main()
