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


def bin_errors(e_in: torch.Tensor, e_out: torch.Tensor, into: dict[str, torch.Tensor]) -> None:
    """Add the pixel counts and error sums of one pair to ``into`` (tensors over the bins)."""
    for b in range(len(EDGES) - 1):
        sel = (e_in >= EDGES[b]) & (e_in < EDGES[b + 1])
        into["n"][b] += sel.sum()
        into["in"][b] += e_in[sel].sum()
        into["out"][b] += e_out[sel].sum()


def main() -> None:
    torch.set_grad_enabled(False)
    names = sys.argv[1:]
    if not names:
        sys.exit("usage: err_by_input.py MODEL [MODEL ...] (bundled style name or .pt)")
    bench = SintelBench()
    models = {n: load_checkpoint(resolve_model(n))[0].float() for n in names}
    k = len(EDGES) - 1
    acc = {n: {"n": torch.zeros(k), "in": torch.zeros(k), "out": torch.zeros(k)} for n in names}
    for d in bench.loaded:
        valid = d["mask"][:, 0] > 0.5
        e_in = (d["frame1"] - warp(d["frame2"], d["flow"])).pow(2).mean(1)[valid]
        for n, m in models.items():
            o1, o2 = m(d["frame1"]).clamp(0, 1), m(d["frame2"]).clamp(0, 1)
            e_out = (o1 - warp(o2, d["flow"])).pow(2).mean(1)[valid]
            bin_errors(e_in, e_out, acc[n])
    first = acc[names[0]]
    print("| input error bin | pixels | mean e_in | " + " | ".join(
        f"{n}: e_out (gain, share)" for n in names) + " |")
    print("|---" * (3 + len(names)) + "|")
    for b in range(k):
        hi = "inf" if EDGES[b + 1] == float("inf") else f"{EDGES[b + 1]:.0e}"
        mean_in = first["in"][b] / first["n"][b]
        cells = []
        for n in names:
            a = acc[n]
            mean_out = a["out"][b] / a["n"][b]
            cells.append(f"{mean_out:.4f} ({mean_out / mean_in:.1f}x, {a['out'][b] / a['out'].sum():.0%})")
        print(f"| [{EDGES[b]:.0e}, {hi}) | {first['n'][b] / first['n'].sum():.1%} | {mean_in:.5f} | "
              + " | ".join(cells) + " |")
    print("| all valid pixels | 100% | " + f"{first['in'].sum() / first['n'].sum():.5f} | " + " | ".join(
        f"{acc[n]['out'].sum() / acc[n]['n'].sum():.4f}" for n in names) + " |")


if __name__ == "__main__":
    main()
