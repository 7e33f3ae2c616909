"""Train the bundled models and copy them into the package as fp16.

Rerun to reproduce them (each run resumes from its checkpoint if one exists):

    python scripts/train_bundled.py                      # all, one after another
    python scripts/train_bundled.py --only candy.reconet --only mosaic.reconet
    OMP_NUM_THREADS=1 python scripts/train_bundled.py --only candy.huang &   # in parallel

Data: the shared photos (synthetic camera and layer motion, exact flow) and the
shared clips (DIS flow, forward-backward mask), mixed 70:30. Run folders go to
``runs/<style>.<method>/`` (log.csv, samples/, checkpoints). The ``-lite`` models are
distilled from the bundled full model of their style, so train those first.
"""

from __future__ import annotations

import argparse
import platform
import sys
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
PRETRAINED = REPO / "src" / "vidstyle" / "pretrained"

# name, style image (shared/data/styles), preset, step stages. A run with several
# stages trains to the first (cosine schedule over it), then resumes to the next:
# the candy models were first trained 700 steps, then extended to 1000.
MODELS = [
    ("candy", "candy.jpg", "reconet", (700, 1000)),
    ("candy", "candy.jpg", "per-frame", (700, 1000)),
    ("candy", "candy.jpg", "huang", (700, 1000)),
    ("mosaic", "mosaic.jpg", "reconet", (450,)),
    ("starry_night", "vangogh_starry_night.jpg", "reconet", (450,)),
    ("great_wave", "hokusai_great_wave.jpg", "reconet", (450,)),
    # Lite models (MODEL_SIZES["lite"]): the reconet losses plus distillation from
    # the full model of the same style (train those first).
    ("candy-lite", "candy.jpg", "reconet", (1500,)),
    ("mosaic-lite", "mosaic.jpg", "reconet", (700,)),
    ("starry_night-lite", "vangogh_starry_night.jpg", "reconet", (700,)),
    ("great_wave-lite", "hokusai_great_wave.jpg", "reconet", (700,)),
]
DISTILL = 1000.0  # weight of the lite models' distillation term (MSE on [0, 1] images)
# Where each style image comes from (see shared/data/SOURCES.md).
STYLE_SOURCES = {
    "candy.jpg": "pytorch/examples fast_neural_style/images/style-images/candy.jpg "
    "(BSD-3 repository; artist unknown)",
    "mosaic.jpg": "pytorch/examples fast_neural_style/images/style-images/mosaic.jpg "
    "(BSD-3 repository; artist unknown)",
    "vangogh_starry_night.jpg": "Vincent van Gogh, The Starry Night (1889), public domain; "
    "file from jcjohnson/neural-style (MIT)",
    "hokusai_great_wave.jpg": "Katsushika Hokusai, The Great Wave off Kanagawa (c.1831), "
    "public domain; file from jcjohnson/fast-neural-style",
}
WIDTHS = (32, 64, 128)  # narrower than the paper's 48/96/192: ~2x faster on a CPU
SIZE = 128
BATCH = 1
LR = 2e-3


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", action="append", help="NAME.METHOD to train (repeatable)")
    ap.add_argument("--runs", default=str(REPO / "runs"))
    ap.add_argument("--steps", type=int, help="override every model's step count")
    ap.add_argument("--no-export", action="store_true")
    args = ap.parse_args()

    import torch

    from vidstyle.models import load_checkpoint, model_size_config, save_checkpoint
    from vidstyle.training import preset_config
    from vidstyle.training.loop import CHECKPOINT, MODEL, train

    todo = [m for m in MODELS if not args.only or f"{m[0]}.{m[2]}" in args.only]
    if args.only and len(todo) != len(args.only):
        known = ", ".join(f"{m[0]}.{m[2]}" for m in MODELS)
        print(f"unknown model in --only; known: {known}", file=sys.stderr)
        return 1
    for name, style, preset, stages in todo:
        run = Path(args.runs) / f"{name}.{preset}"
        run.parent.mkdir(parents=True, exist_ok=True)
        lite = name.endswith("-lite")
        model = model_size_config("lite") if lite else replace(preset_config(preset).model, widths=WIDTHS)
        for steps in ([args.steps] if args.steps else stages):
            cfg = preset_config(
                preset,
                style=str(DATA / "styles" / style),
                data=(f"photos:{DATA / 'photos'}", f"clip:{DATA / 'videos'}"),
                data_weights=(0.7, 0.3),
                steps=steps,
                size=SIZE,
                batch_size=BATCH,
                lr=LR,
                num_workers=1,
                log_every=10,
                sample_every=50,
                checkpoint_every=50,
                model=model,
                teacher=name.removesuffix("-lite") if lite else "",
            )
            if lite:
                cfg = replace(cfg, weights=replace(cfg.weights, distill=DISTILL))
            done = 0
            if (run / CHECKPOINT).is_file():
                done = torch.load(run / CHECKPOINT, weights_only=True)["train_state"]["step"]
            if done >= steps and (run / MODEL).is_file():
                continue
            print(f"== {name}.{preset}: {done} -> {steps} steps in {run}", flush=True)
            train(cfg, run, resume=done > 0, device="auto")
        if args.no_export:
            continue
        model, ckpt = load_checkpoint(run / MODEL)
        meta = dict(ckpt["meta"])
        meta.update(
            name=name,
            method=preset,
            style_source=STYLE_SOURCES.get(style, ""),
            trained_on=f"{platform.machine()} CPU, torch threads per process: see log",
        )
        dst = PRETRAINED / f"{name}.{preset}.pt"
        save_checkpoint(dst, model, meta=meta, half=True)
        print(f"exported {dst} ({dst.stat().st_size / 1e6:.1f} MB)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
