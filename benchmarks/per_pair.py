"""Per-pair temporal error err_t of models on the 13 shared Sintel pairs (1024x436, final
pass, ground-truth flow): which pairs make e_stab.

    python benchmarks/per_pair.py candy runs/candy.reconet/model.pt ...

The first column is the input frames themselves. e_stab = sqrt(mean of a column); the last
rows give each column's largest pair, its share of the column's sum, and e_stab without it.
"""

from __future__ import annotations

import math
import sys

import torch
from _sintel import SintelBench

from vidstyle.eval.metrics import pair_stability_error
from vidstyle.models import load_checkpoint
from vidstyle.pretrained import resolve_model


def main() -> None:
    torch.set_grad_enabled(False)
    bench = SintelBench()
    fns = {"input": lambda x: x}
    for name in sys.argv[1:]:
        fns[name] = load_checkpoint(resolve_model(name))[0]
    cols = {k: [] for k in fns}
    print("| pair | " + " | ".join(fns) + " |")
    print("|---" * (len(fns) + 1) + "|")
    for pair, d in zip(bench.pairs, bench.loaded):
        for k, f in fns.items():
            o1, o2 = f(d["frame1"]).clamp(0, 1), f(d["frame2"]).clamp(0, 1)
            cols[k].append(pair_stability_error(o1, o2, d["flow"], d["mask"]))
        print(f"| {pair.name} | " + " | ".join(f"{cols[k][-1]:.5f}" for k in fns) + " |", flush=True)
    print("| e_stab | " + " | ".join(f"{math.sqrt(sum(v) / len(v)):.4f}" for v in cols.values()) + " |")
    # How much one pair weighs: each column's largest err_t, its share of the column's sum,
    # and e_stab over the other pairs.
    names = [pair.name for pair in bench.pairs]
    top = {k: max(range(len(v)), key=v.__getitem__) for k, v in cols.items()}
    print("| largest pair (share of sum) | " + " | ".join(
        f"{names[top[k]]} ({v[top[k]] / sum(v):.0%})" for k, v in cols.items()) + " |")
    print("| e_stab without it | " + " | ".join(
        f"{math.sqrt((sum(v) - v[top[k]]) / (len(v) - 1)):.4f}" for k, v in cols.items()) + " |")


if __name__ == "__main__":
    main()
