"""The measurement behind the lite architecture: model-only CPU speed of ReCoNet-family
variants at 640x360, PyTorch eager and onnxruntime, batch 1, random weights.

    python benchmarks/lite_search.py            # writes docs/lite_search.md

One factor at a time around the chosen ``lite`` network (widths 8/16/32, two
standard residual blocks, 5x5 outer kernels, nearest upsampling), plus the full
network for scale. Speed does not depend on the weights, so untrained networks
are timed; the chosen one's quality is measured after training
(``benchmarks/cpu_fps.py``). Run it on an otherwise idle machine: each cell is
the median of several rounds, interleaved so that a slow moment hits every
candidate alike.
"""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from _report import median_fps, write_markdown

from vidstyle.backends.onnx import OnnxStylizer, physical_cores
from vidstyle.models.reconet import MODEL_SIZES, ReCoNet, ReCoNetConfig

REPO = Path(__file__).resolve().parents[1]
LITE = MODEL_SIZES["lite"]


def candidates() -> dict[str, ReCoNetConfig]:
    return {
        "lite (8/16/32, 2 std blocks, k5, nearest)": LITE,
        "widths 8/16/48": replace(LITE, widths=(8, 16, 48)),
        "widths 8/24/48": replace(LITE, widths=(8, 24, 48)),
        "widths 16/32/64": replace(LITE, widths=(16, 32, 64)),
        "3 residual blocks": replace(LITE, res_blocks=3),
        "4 separable residual blocks": replace(LITE, res_blocks=4, residual="separable"),
        "outer kernel 3": replace(LITE, outer_kernel=3),
        "outer kernel 9": replace(LITE, outer_kernel=9),
        "bilinear upsampling": replace(LITE, upsample="bilinear"),
        "16/32/64, 4 separable blocks": ReCoNetConfig(widths=(16, 32, 64), outer_kernel=5,
                                                      residual="separable"),
        "full (32/64/128, 4 std blocks, k9)": MODEL_SIZES["full"],
    }


def conv_macs(model: torch.nn.Module, x: torch.Tensor) -> int:
    """Multiply-accumulates of the convolutions for input ``x``."""
    total = 0

    def hook(m, _inp, out):
        nonlocal total
        total += out.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    with torch.inference_mode():
        model(x)
    for h in handles:
        h.remove()
    return total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="640x360")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--reps", type=int, default=5, help="timed calls per candidate and round")
    ap.add_argument("--threads", type=int, default=physical_cores())
    ap.add_argument("--out", default=str(REPO / "docs"))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    w, h = (int(v) for v in args.size.lower().split("x"))
    x = torch.rand(1, 3, h, w, generator=torch.Generator().manual_seed(0))
    xn = x.numpy()

    torch.manual_seed(0)
    cands = {name: ReCoNet(cfg).eval() for name, cfg in candidates().items()}
    with tempfile.TemporaryDirectory() as tmp:
        onnx = {name: OnnxStylizer(m, threads=args.threads, cache_dir=tmp) for name, m in cands.items()}
        speed: dict[str, list[tuple[float, float]]] = {n: [] for n in cands}
        for r in range(args.rounds):
            for name, m in cands.items():
                with torch.inference_mode():
                    ft = median_fps(lambda m=m: m(x), args.reps)
                s = onnx[name]
                fo = median_fps(lambda s=s: s.session.run(None, {s._input: xn}), args.reps)
                speed[name].append((ft, fo))
                print(f"round {r + 1}: {name:44s} torch {ft:6.2f}  onnxruntime {fo:6.2f} FPS", flush=True)

    lines = [
        f"Measured by `python benchmarks/lite_search.py` at {w}x{h}, batch 1, {args.threads} threads, "
        f"median over {args.rounds} interleaved rounds of {args.reps} calls (model-only FPS).",
        "",
        "| candidate | params | GMAC/frame | torch FPS | onnxruntime FPS |",
        "|---|---|---|---|---|",
    ]
    for name, m in cands.items():
        v = np.array(speed[name])
        params = sum(p.numel() for p in m.parameters())
        macs = conv_macs(m, x) / 1e9
        lines.append(f"| {name} | {params / 1e3:.0f}k | {macs:.2f} | {np.median(v[:, 0]):.2f} | "
                     f"{np.median(v[:, 1]):.2f} |")
    write_markdown(args.out, "lite_search.md", lines)


if __name__ == "__main__":
    main()
