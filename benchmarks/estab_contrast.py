"""e_stab against the output's contrast: how much of a model's flicker is its contrast.

On the 13 shared Sintel pairs (1024x436, final pass, ground-truth flow; benchmarks/_sintel.py),
for the input frames and each model:

* ``e_stab`` (ReCoNet's stability error, as eval_bundled.py measures it);
* ``contrast``: the output's standard deviation per channel over a frame, averaged over the
  channels and the 26 frames;
* ``e_stab / contrast``, also as a multiple of the input frames' own ratio. A network that
  maps its input through a fixed tone curve of slope ``a`` scales both by ``a``, so its ratio
  is the input's; a stylization whose texture follows the scene as well as the frames do
  stays near it whatever its contrast;
* ``aligned``: e_stab when, on the pixels the metric uses, frame 1 is replaced by frame 2
  warped onto it (ground-truth flow), so the two inputs agree there exactly: what is left
  comes from the network (texture that does not move with the picture, what changes in the
  occluded and out-of-frame parts of its receptive field) and from resampling the output.

    python benchmarks/estab_contrast.py candy src/vidstyle/pretrained/candy.per-frame.pt \\
        mosaic --out docs/estab_contrast
    python benchmarks/estab_contrast.py candy --input-scale 0.5     # frames darkened first

Models are bundled style names (their reconet model) or model files. ``--input-scale S``
multiplies every frame by ``S`` (clipped to [0, 1]) before anything is measured. Writes
``estab_contrast.md`` and ``.json`` under ``--out`` when given.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import torch
from _report import write_markdown
from _sintel import SintelBench, input_and_models

from vidstyle.eval.metrics import e_stab, pair_stability_error
from vidstyle.flow.warp import warp


def contrast(x: torch.Tensor) -> float:
    """Standard deviation over the pixels of each channel of ``(1, 3, H, W)``, averaged."""
    return x.std(dim=(-2, -1)).mean().item()


@torch.no_grad()
def measure(fn, bench: SintelBench, scale: float) -> dict:
    errs, aligned, stds = [], [], []
    for d in bench.loaded:
        f1, f2 = (d["frame1"] * scale).clamp(0, 1), (d["frame2"] * scale).clamp(0, 1)
        flow, mask = d["flow"], d["mask"]
        # frame 2 seen from frame 1's grid on the metric's pixels; frame 1 elsewhere
        f1_aligned = torch.where(mask > 0, warp(f2, flow), f1)
        o1, o2, o1a = (fn(x).clamp(0, 1) for x in (f1, f2, f1_aligned))
        errs.append(pair_stability_error(o1, o2, flow, mask))
        aligned.append(pair_stability_error(o1a, o2, flow, mask))
        stds += [contrast(o1), contrast(o2)]
    c = sum(stds) / len(stds)
    es = e_stab(errs)
    return {"e_stab": round(es, 4), "contrast": round(c, 4), "ratio": round(es / c, 4),
            "aligned": round(e_stab(aligned), 4)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="+", help="bundled style names or model files")
    ap.add_argument("--input-scale", type=float, default=1.0,
                    help="multiply the frames by this first (clipped to [0, 1])")
    ap.add_argument("--out", help="folder for estab_contrast.md and .json")
    args = ap.parse_args()
    torch.set_grad_enabled(False)
    if not math.isfinite(args.input_scale) or args.input_scale <= 0:
        raise SystemExit(f"--input-scale must be > 0, got {args.input_scale}")

    bench = SintelBench()
    rows = {}
    for name, fn in input_and_models(args.models):
        rows[name] = measure(fn, bench, args.input_scale)
        print(json.dumps({"model": name, **rows[name]}), flush=True)

    base = rows["input frames"]["ratio"]
    for r in rows.values():
        r["ratio_vs_input"] = round(r["ratio"] / base, 3)
    scale = "" if args.input_scale == 1.0 else f", frames x{args.input_scale:g}"
    lines = [
        f"e_stab and output contrast on the 13 shared Sintel pairs (1024x436{scale}); "
        "`python benchmarks/estab_contrast.py` (docs/recipe.md, \"e_stab against the output's contrast\").",
        "",
        "| model | e_stab | contrast (std) | e_stab / contrast | vs input frames | aligned inputs |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in rows.items():
        lines.append(f"| {name} | {r['e_stab']:.4f} | {r['contrast']:.3f} | {r['ratio']:.3f} | "
                     f"{r['ratio_vs_input']:.2f}x | {r['aligned']:.4f} |")
    if args.out:
        write_markdown(args.out, "estab_contrast.md", lines)
        payload = {"input_scale": args.input_scale, "rows": rows}
        (Path(args.out) / "estab_contrast.json").write_text(json.dumps(payload, indent=1) + "\n")
    else:
        print("\n".join(lines))


if __name__ == "__main__":
    main()
