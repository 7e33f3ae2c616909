"""Seconds per training step on this machine: where a step's time goes and what it costs.

    python benchmarks/train_step.py [--steps 8] [--out docs/train_step.md]

One step of `vidstyle train` with the reconet preset (batch of 1 frame pair, the full
network, Adam), timed after two warm-up steps, median of ``--steps``; variants change one
factor each: the depth of the VGG loss network (stopped at relu4_3, the deepest layer the
losses use, or the whole VGG-19), PyTorch threads, channels_last memory format, crop size,
network size. Run it on a quiet machine: the figures go to docs/recipe.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import torch

from vidstyle.losses import VGG19
from vidstyle.losses.perceptual import STYLE_LAYERS, StyleLoss
from vidstyle.models import MODEL_SIZES, ReCoNet
from vidstyle.training import preset_config
from vidstyle.training.loop import Losses

REPO = Path(__file__).resolve().parents[1]


def step_seconds(size: int, *, model_size: str = "full", vgg_last: str = "relu4_3",
                 channels_last: bool = False, threads: int = 2, steps: int = 8) -> float:
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    cfg = preset_config("reconet", model=MODEL_SIZES[model_size], size=size, batch_size=1)
    style = torch.rand(1, 3, 256, 256)
    losses = Losses(cfg, style)
    if vgg_last != "relu4_3":  # the same losses on a deeper (unused) network
        losses.vgg = VGG19(last_layer=vgg_last)
        losses.style = StyleLoss(losses.vgg, style, STYLE_LAYERS)
    model = ReCoNet(cfg.model).train()
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model.to(memory_format=fmt)
    losses.vgg.to(memory_format=fmt)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(0)
    batch = {
        "prev": torch.rand(1, 3, size, size, generator=g).contiguous(memory_format=fmt),
        "cur": torch.rand(1, 3, size, size, generator=g).contiguous(memory_format=fmt),
        "flow": torch.randn(1, 2, size, size, generator=g),
        "mask": torch.ones(1, 1, size, size),
    }
    times = []
    for k in range(steps + 2):
        t = time.perf_counter()
        terms = losses(model, batch)
        opt.zero_grad(set_to_none=True)
        terms["total"].backward()
        opt.step()
        if k >= 2:
            times.append(time.perf_counter() - t)
    return statistics.median(times)


VARIANTS = [
    ("default: 256x256, full network, VGG to relu4_3, 2 threads", {}),
    ("VGG-19 to relu5_4 (not stopped at the deepest used layer)", {"vgg_last": "relu5_4"}),
    ("channels_last", {"channels_last": True}),
    ("1 thread", {"threads": 1}),
    ("crop 192x192", {"size": 192}),
    ("crop 128x128", {"size": 128}),
    ("lite network", {"model_size": "lite"}),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--out", default=str(REPO / "docs" / "train_step.md"))
    args = ap.parse_args()
    lines = [
        f"Measured by `python benchmarks/train_step.py --steps {args.steps}` "
        f"({os.cpu_count()} cores, torch {torch.__version__}; median of {args.steps} steps after 2 "
        "warm-up steps; reconet preset, batch of 1 frame pair, Adam).",
        "",
        "| variant | s/step |",
        "|---|---|",
    ]
    for name, kw in VARIANTS:
        kw = {"size": 256, **kw}
        s = step_seconds(steps=args.steps, **kw)
        lines.append(f"| {name} | {s:.2f} |")
        print(lines[-1], flush=True)
    Path(args.out).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
