"""Where in the frame a model's flicker is: e_stab split over regions of the metric's pixels.

On the 13 shared Sintel pairs (1024x436, final pass, ground-truth flow; benchmarks/_sintel.py)
``e_stab**2`` is the mean over pairs of ``err_t``, the mean over the metric's valid pixels of the
squared difference between frame 1's output and frame 2's warped onto it
(vidstyle.eval.metrics.pair_stability_error). This script splits each ``err_t`` into the sums
over three disjoint sets of those valid pixels, so the parts add up to ``e_stab**2``:

* ``near occlusions``: within ``--radius`` px (default 8) of a pixel the metric leaves out
  (occluded, invalid, or flowing out of the frame). In Sintel these are the parts that move
  fast against their surroundings: the edges of moving characters and their motion-blurred,
  non-rigid bodies;
* ``border``: within ``--radius`` px of the frame's edge and not near an occlusion;
* ``interior``: the rest.

For the input frames and each model it gives each part, its share of ``e_stab**2`` and its
multiple of the input frames' same part. Divided by the squared output contrast (per-channel
standard deviation, as in benchmarks/estab_contrast.py) relative to the input's, that multiple is
the part's flicker per unit of contrast: 1.0 where the model flickers there as its input does
scaled by its contrast.

    python benchmarks/estab_regions.py candy udnie --out docs/estab_regions
    python benchmarks/estab_regions.py candy --map cave_2 --out docs/estab_regions/map

Models are bundled style names (their reconet model) or model files. Writes
``estab_regions.md`` and ``.json`` under ``--out`` when given, and with ``--map SCENE`` also
``map.jpg``: for the first pair of that scene, a row for the input frames and for each model
of frame 1's output and its error against frame 2's warped output (the square root of the
per-pixel ``err_t`` term, x4, black where the metric leaves pixels out), the middle 512 columns
at full size.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
import torch.nn.functional as F
from _report import write_markdown
from _sintel import SintelBench, input_and_models, save_jpeg
from estab_contrast import contrast

from vidstyle.eval.metrics import stability_error_map

REGIONS = ("near occlusions", "border", "interior")


def regions(valid: torch.Tensor, radius: int) -> dict[str, torch.Tensor]:
    """The three disjoint sets of the pixels where ``valid > 0`` (``(1, 1, H, W)`` bool each;
    see the doc)."""
    left_out = (valid <= 0).float()
    near = F.max_pool2d(left_out, 2 * radius + 1, stride=1, padding=radius) > 0
    edge = torch.ones_like(valid, dtype=torch.bool)
    edge[..., radius:-radius, radius:-radius] = False
    on = valid > 0
    return {"near occlusions": on & near, "border": on & edge & ~near, "interior": on & ~edge & ~near}


@torch.no_grad()
def measure(fn, bench: SintelBench, radius: int) -> dict:
    parts = dict.fromkeys(REGIONS, 0.0)
    pixels = dict.fromkeys(REGIONS, 0.0)
    stds = []
    for d in bench.loaded:
        flow, mask = d["flow"], d["mask"]
        o1, o2 = (fn(x).clamp(0, 1) for x in (d["frame1"], d["frame2"]))
        d2, weight = stability_error_map(o1, o2, flow, mask)
        n = weight.sum().item()
        for name, region in regions(weight, radius).items():
            parts[name] += torch.where(region, weight * d2, 0.0).sum().item() / n / len(bench.loaded)
            pixels[name] += region.sum().item() / n / len(bench.loaded)
        stds += [contrast(o1), contrast(o2)]
    total = sum(parts.values())
    return {"e_stab": round(total ** 0.5, 4), "contrast": round(sum(stds) / len(stds), 4),
            "parts": {k: round(v, 6) for k, v in parts.items()},
            "shares": {k: round(v / total, 3) for k, v in parts.items()},
            "pixel_shares": {k: round(v, 3) for k, v in pixels.items()}}


@torch.no_grad()
def map_row(fn, d: dict) -> torch.Tensor:
    """Frame 1's output beside its error map (see the doc), the middle 512 columns:
    ``(1, 3, H, 1024)``."""
    flow, mask = d["flow"], d["mask"]
    o1, o2 = (fn(x).clamp(0, 1) for x in (d["frame1"], d["frame2"]))
    d2, weight = stability_error_map(o1, o2, flow, mask)
    err = torch.where(weight > 0, d2.sqrt() * weight, 0.0).to(o1.dtype)
    row = torch.cat([o1, (4 * err).clamp(0, 1).expand_as(o1)], dim=-1)
    w = o1.shape[-1]
    left = max(0, (w - 512) // 2)
    return torch.cat([row[..., left:left + 512], row[..., w + left:w + left + 512]], dim=-1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="+", help="bundled style names or model files")
    ap.add_argument("--radius", type=int, default=8, help="px around a left-out pixel or the edge")
    ap.add_argument("--out", help="folder for estab_regions.md and .json")
    ap.add_argument("--map", metavar="SCENE", help="also write map.jpg for this scene's first pair")
    args = ap.parse_args()
    torch.set_grad_enabled(False)
    if args.radius < 1:
        raise SystemExit(f"--radius must be >= 1, got {args.radius}")

    if args.map and not args.out:
        raise SystemExit("--map needs --out (the folder for map.jpg)")
    bench = SintelBench()
    pair = None
    if args.map:
        pair = next((d for p, d in zip(bench.pairs, bench.loaded) if p.scene == args.map), None)
        if pair is None:
            raise SystemExit(f"no pair of scene {args.map!r}: {sorted({p.scene for p in bench.pairs})}")
    rows, maps = {}, []
    for name, fn in input_and_models(args.models):
        rows[name] = measure(fn, bench, args.radius)
        print(json.dumps({"model": name, **rows[name]}), flush=True)
        if pair is not None:
            maps.append(map_row(fn, pair))

    base = rows["input frames"]
    for r in rows.values():
        c2 = (r["contrast"] / base["contrast"]) ** 2
        r["vs_input"] = {k: round(r["parts"][k] / base["parts"][k], 2) for k in REGIONS}
        r["vs_input_per_contrast"] = {k: round(v / c2, 2) for k, v in r["vs_input"].items()}

    px = base["pixel_shares"]
    lines = [
        f"e_stab split over the metric's pixels on the 13 shared Sintel pairs (1024x436), "
        f"regions {args.radius} px wide; `python benchmarks/estab_regions.py` "
        "(docs/recipe.md, \"Where the flicker is\"). Each cell: the part of e_stab^2, its share, "
        "its multiple of the input frames' part, and that multiple per unit of squared contrast.",
        "",
        "| model | e_stab | contrast | " + " | ".join(
            f"{k} ({px[k]:.0%} of pixels)" for k in REGIONS) + " |",
        "|---|---|---|" + "---|" * len(REGIONS),
    ]
    for name, r in rows.items():
        cells = [f"{r['parts'][k]:.5f} ({r['shares'][k]:.0%}), {r['vs_input'][k]:.2f}x, "
                 f"{r['vs_input_per_contrast'][k]:.2f}x" for k in REGIONS]
        lines.append(f"| {name} | {r['e_stab']:.4f} | {r['contrast']:.3f} | " + " | ".join(cells) + " |")
    if args.out:
        write_markdown(args.out, "estab_regions.md", lines)
        payload = {"radius": args.radius, "rows": rows}
        (Path(args.out) / "estab_regions.json").write_text(json.dumps(payload, indent=1) + "\n")
        if maps:
            save_jpeg(torch.cat(maps, dim=-2), Path(args.out) / "map.jpg")
    else:
        print("\n".join(lines))


if __name__ == "__main__":
    main()
