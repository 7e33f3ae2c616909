"""Measure the bundled models on the shared Sintel pairs: e_stab (ground-truth flow),
style distance and content distance, next to the per-frame model and the raw input.

    python benchmarks/eval_bundled.py [--max-size 1024] [--out docs]

Writes ``<out>/bundled_models.md`` (the table in README) and
``<out>/contact_sheet.png`` (one row per model on three Sintel frames and a photo).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from vidstyle.data.sintel import load_pair, sintel_pairs
from vidstyle.eval.metrics import StyleReference, content_distances, e_stab, pair_stability_error
from vidstyle.image import load_image, save_image
from vidstyle.losses.vgg import VGG19
from vidstyle.models import load_checkpoint
from vidstyle.pretrained import bundled_models

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
STYLE_FILES = {
    "candy": "candy.jpg", "mosaic": "mosaic.jpg",
    "starry_night": "vangogh_starry_night.jpg", "great_wave": "hokusai_great_wave.jpg",
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--max-size", type=int, default=1024, help="evaluate at this long side")
    ap.add_argument("--out", default=str(REPO / "docs"))
    ap.add_argument("--pass-name", default="final")
    ap.add_argument("--styles", nargs="+", help="only these bundled styles")
    args = ap.parse_args()
    torch.set_grad_enabled(False)

    pairs = sintel_pairs(DATA / "sintel", args.pass_name)
    loaded = [load_pair(p, max_size=args.max_size) for p in pairs]
    vgg = VGG19(last_layer="relu4_3")
    photo = load_image(DATA / "photos" / "style_transfer_content" / "tubingen.jpg", max_size=384)

    def measure(fn):
        errs, outs, ins = [], [], []
        for d in loaded:
            o1, o2 = fn(d["frame1"]), fn(d["frame2"])
            errs.append(pair_stability_error(o1, o2, d["flow"], d["mask"]))
            outs.append(o1)
            ins.append(d["frame1"])
        return errs, outs, ins

    rows = []
    raw_errs, _, _ = measure(lambda x: x)
    rows.append(("input frames", "-", e_stab(raw_errs), None, None, None))
    sheet = []
    models = bundled_models()
    for (name, method), path in sorted(models.items()):
        if args.styles and name not in args.styles:
            continue
        model, ckpt = load_checkpoint(path)
        errs, outs, ins = measure(lambda x, m=model: m(x).clamp(0, 1))
        style_file = STYLE_FILES[name.removesuffix("-lite")]
        ref = StyleReference(vgg, load_image(DATA / "styles" / style_file, max_size=512))
        sd = sum(ref.distances(outs)) / len(outs)
        cd = sum(content_distances(outs, ins, vgg)) / len(outs)
        rows.append((name, method, e_stab(errs), sd, cd, ckpt["meta"]))
        picks = [outs[i] for i in (0, len(outs) // 2, len(outs) - 1)] + [model(photo).clamp(0, 1)]
        sheet.append(picks)
        print(f"{name:14s} {method:10s} e_stab={e_stab(errs):.4f} style={sd:.3f} "
              f"content={cd:.3f}", flush=True)

    out = Path(args.out)
    out.mkdir(exist_ok=True)
    h = 160
    def fit(x):
        return torch.nn.functional.interpolate(x, size=(h, round(x.shape[-1] * h / x.shape[-2])),
                                               mode="area")
    ins = [loaded[0]["frame1"], loaded[len(loaded) // 2]["frame1"], loaded[-1]["frame1"], photo]
    grid = [torch.cat([fit(x) for x in ins], dim=-1)] + [
        torch.cat([fit(x) for x in row], dim=-1) for row in sheet]
    save_image(torch.cat(grid, dim=-2), out / "contact_sheet.png")

    lines = [
        f"Measured by `python benchmarks/eval_bundled.py --max-size {args.max_size}` on "
        f"{len(pairs)} shared Sintel pairs ({args.pass_name} pass where present), "
        "ground-truth flow and occlusion; style distance = mean over relu1_2..relu4_3 of "
        "||G(O)-G(S)||/||G(S)||; content distance = ||F(O)-F(I)||/||F(I)|| at relu4_2.",
        "",
        "| model | method | e_stab | vs per-frame | style dist. | content dist. | steps | "
        "train time |",
        "|---|---|---|---|---|---|---|---|",
    ]
    pf = {r[0]: r[2] for r in rows if r[1] == "per-frame"}
    pf_sd = {r[0]: r[3] for r in rows if r[1] == "per-frame"}
    for name, method, es, sd, cd, meta in rows:
        if meta is None:
            lines.append(f"| {name} | - | {es:.4f} | | | | | |")
            continue
        base = name.removesuffix("-lite")  # a lite model compares with its full per-frame model
        ratio = f"{es / pf[base]:.2f}x" if base in pf else ""
        if base in pf_sd and (method != "per-frame" or base != name):
            ratio += f" (style {sd / pf_sd[base]:.2f}x)"
        lines.append(
            f"| {name} | {method} | {es:.4f} | {ratio} | {sd:.3f} | {cd:.3f} | "
            f"{meta.get('steps')} | {meta.get('train_seconds', 0) / 60:.0f} min |"
        )
    (out / "bundled_models.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
