"""The style distance layer by layer, against what the training loss weighs in each layer.

The bundled-model metric (benchmarks/_sintel.py) averages over relu1_2..relu4_3 the relative
Gram distance ``||G_l(O) - G_l(S)|| / ||G_l(S)||`` (style image at 512 px): every layer counts
alike. The training loss (``vidstyle.losses.style_loss``) sums ``||G_l(O) - G_l(T)||^2 / C_l^2``
over the same layers, with ``T`` the style image at the training size (``--style-size``):
each layer there weighs as its Gram matrix is large. For the input frames and each model, on
the first frame of the 13 shared Sintel pairs (1024x436, final pass), this prints per layer:

* ``dist``: the metric's relative distance (its mean over the layers is the style distance);
* ``loss``: the training loss's term at ``--style-size``, and its share of their sum;
* ``target``: how far the style image's Grams at ``--style-size`` are from those at 512 px
  (the part of a layer's distance that matching the training target cannot remove);

and the **relative layer weights**, ``C_l^2 / ||G_l(T)||^2`` scaled to relu3_3's 1: with these
as ``vidstyle train --style-layer-weights``, each layer's term is its squared relative
distance, as the metric counts it.

    python benchmarks/style_layers.py candy --models candy src/vidstyle/pretrained/candy.per-frame.pt
    python benchmarks/style_layers.py mosaic --models mosaic --out docs/style_layers

``STYLE`` is a bundled style's name (its painting in shared/data/styles); models are bundled
style names (their reconet model) or model files. Writes ``style_layers_STYLE.md`` and
``.json`` under ``--out`` when given.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from _report import write_markdown
from _sintel import STYLE_EVAL_SIZE, STYLE_FILES, STYLES, SintelBench, input_and_models

from vidstyle.image import load_image
from vidstyle.losses.perceptual import STYLE_LAYERS, gram_matrix


def style_grams(bench: SintelBench, style: str, size: int) -> dict[str, torch.Tensor]:
    feats = bench.vgg(load_image(STYLES / STYLE_FILES[style], max_size=size), STYLE_LAYERS)
    return {n: gram_matrix(feats[n]) for n in STYLE_LAYERS}


@torch.no_grad()
def per_layer(fn, bench: SintelBench, metric: dict, train: dict) -> dict:
    dist = {n: 0.0 for n in STYLE_LAYERS}
    loss = {n: 0.0 for n in STYLE_LAYERS}
    k = len(bench.loaded)
    for d in bench.loaded:
        feats = bench.vgg(fn(d["frame1"]).clamp(0, 1), STYLE_LAYERS)
        for n in STYLE_LAYERS:
            g = gram_matrix(feats[n])
            dist[n] += ((g - metric[n]).norm() / metric[n].norm()).item() / k
            loss[n] += ((g - train[n]) ** 2).mean().item() / k
    total = sum(loss.values())
    return {
        "style": round(sum(dist.values()) / len(dist), 4),
        "layers": {n: {"dist": round(dist[n], 4), "loss": float(f"{loss[n]:.4g}"),
                       "loss_share": round(loss[n] / total, 3)} for n in STYLE_LAYERS},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("style", choices=sorted(STYLE_FILES), help="the style the models are measured against")
    ap.add_argument("--models", nargs="*", default=[], help="bundled style names or model files")
    ap.add_argument("--style-size", type=int, default=384, help="the training style size (default 384)")
    ap.add_argument("--out", help="folder for style_layers_STYLE.md and .json")
    args = ap.parse_args()
    torch.set_grad_enabled(False)

    bench = SintelBench()
    metric = style_grams(bench, args.style, STYLE_EVAL_SIZE)
    train = style_grams(bench, args.style, args.style_size)
    target = {n: round(((train[n] - metric[n]).norm() / metric[n].norm()).item(), 4) for n in STYLE_LAYERS}
    rel = {n: g.shape[-1] ** 2 / g.norm().item() ** 2 for n, g in train.items()}
    relative_weights = {n: float(f"{rel[n] / rel['relu3_3']:.3g}") for n in STYLE_LAYERS}
    rows = {}
    for name, fn in input_and_models(args.models):
        rows[name] = per_layer(fn, bench, metric, train)
        print(json.dumps({"model": name, **rows[name]}), flush=True)

    head = " | ".join(f"{n} dist / loss share" for n in STYLE_LAYERS)
    lines = [
        f"Style distance to {args.style} layer by layer on the first frames of the 13 shared Sintel "
        f"pairs (1024x436); training loss terms at style size {args.style_size}; "
        "`python benchmarks/style_layers.py` (docs/recipe.md, \"The style loss layer by layer\").",
        "",
        f"| model | style dist. | {head} |",
        "|---|---|" + "---|" * len(STYLE_LAYERS),
    ]
    for name, r in rows.items():
        cells = " | ".join(f"{r['layers'][n]['dist']:.3f} / {r['layers'][n]['loss_share']:.2f}"
                           for n in STYLE_LAYERS)
        lines.append(f"| {name} | {r['style']:.3f} | {cells} |")
    lines += [
        f"| style image at {args.style_size} px (the training target) | | "
        + " | ".join(f"{target[n]:.3f} / -" for n in STYLE_LAYERS) + " |",
        "",
        "Relative layer weights (`--style-layer-weights`, each term its squared relative distance): "
        + ",".join(f"{relative_weights[n]:g}" for n in STYLE_LAYERS) + ".",
    ]
    if args.out:
        write_markdown(args.out, f"style_layers_{args.style}.md", lines)
        payload = {"style": args.style, "style_size": args.style_size, "target_vs_metric": target,
                   "relative_weights": relative_weights, "rows": rows}
        (Path(args.out) / f"style_layers_{args.style}.json").write_text(json.dumps(payload, indent=1) + "\n")
    else:
        print("\n".join(lines))


if __name__ == "__main__":
    main()
