"""The bundled-model metric for any model files: e_stab, style and content distance on the 13
shared Sintel pairs at 1024x436 (ground-truth flow; benchmarks/_sintel.py), as
``benchmarks/eval_bundled.py`` measures the bundled ones. For candidates before they are bundled.

    python benchmarks/measure.py --style mosaic runs/s9/mosaic.reconet/model.pt [MODEL ...]
    python benchmarks/measure.py --style candy runs/a/model.pt --json docs/stage/candidates.json
    python benchmarks/measure.py old.pt new.pt --look crops.jpg     # pictures only
    python benchmarks/measure.py --style candy candy.pt --tone-gain 0.84   # contrast probe

``--style`` is a bundled style name (its painting in shared/data/styles) or a painting's path.
Prints one JSON line per model; ``--json`` also keeps them in a file (a model measured before,
with the same file digest, is not measured again). ``--look`` writes the models' 1:1 crops
(the look strip of eval_bundled.py: a Sintel frame and a photo at 1024 px), one row per model.
``--tone-gain K`` measures each model's outputs with their contrast scaled by ``K`` about the
painting's mean colour (``m + K * (out - m)``, a fixed linear map: e_stab scales by ``K``), to see
what the style and content distances make of contrast alone (docs/recipe.md).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from _sintel import STYLE_FILES, STYLES, SintelBench, look_inputs, look_strip, save_jpeg

from vidstyle.atomic import atomic_write
from vidstyle.files import file_digest
from vidstyle.image import load_image
from vidstyle.models import load_checkpoint


def style_path(style: str) -> Path:
    """A bundled style's painting, or the path given."""
    return STYLES / STYLE_FILES[style] if style in STYLE_FILES else Path(style)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="+", help="model files (checkpoints or exported models)")
    ap.add_argument("--style", help="bundled style name or painting path (to measure)")
    ap.add_argument("--look", help="write the models' 1:1 crops here (JPEG, a row per model)")
    ap.add_argument("--json", help="keep the figures in this file too (keyed by model path)")
    ap.add_argument("--max-size", type=int, default=1024)
    ap.add_argument("--tone-gain", type=float, default=1.0,
                    help="scale the outputs' contrast by this about the painting's mean colour")
    args = ap.parse_args()
    torch.set_grad_enabled(False)

    if not args.style and not args.look:
        raise SystemExit("nothing to do: give --style (to measure) and/or --look")
    painting = style_path(args.style) if args.style else None
    if painting and not painting.is_file():
        raise SystemExit(f"style painting not found: {painting}")
    if not 0.0 < args.tone_gain <= 1.0:
        raise SystemExit(f"--tone-gain must be in (0, 1], got {args.tone_gain}")
    if args.tone_gain != 1.0 and not painting:
        raise SystemExit("--tone-gain needs --style (the painting's mean colour is the pivot)")
    pivot = load_image(painting).mean(dim=(-2, -1), keepdim=True) if painting else None
    out = Path(args.json) if args.json else None
    known = json.loads(out.read_text()) if out and out.is_file() else {}
    bench = SintelBench(args.max_size)
    rows, look_in = [], look_inputs(bench) if args.look else None
    for path in args.models:
        model, ckpt = load_checkpoint(path)
        if args.look:
            rows.append(look_strip(model, look_in))
        if not painting:
            continue
        digest = file_digest(path)
        key = path if args.tone_gain == 1.0 else f"{path} --tone-gain {args.tone_gain:g}"
        row = known.get(key)
        if row is None or row.get("sha256") != digest:
            k = args.tone_gain
            fn = model if k == 1.0 else (lambda x, model=model, k=k: pivot + k * (model(x) - pivot))
            r = bench.measure(fn, painting)
            row = {"style": args.style, "steps": ckpt["meta"].get("steps"),
                   "e_stab": round(r["e_stab"], 4), "style_dist": round(r["style"], 4),
                   "content_dist": round(r["content"], 4), "sha256": digest}
            known[key] = row
            if out:
                out.parent.mkdir(parents=True, exist_ok=True)
                text = json.dumps(known, indent=1) + "\n"
                atomic_write(out, lambda tmp, text=text: Path(tmp).write_text(text))
        print(json.dumps({"model": key, **row}), flush=True)
    if args.look:
        save_jpeg(torch.cat(rows, dim=-2), Path(args.look))
        print(f"wrote {args.look}")


if __name__ == "__main__":
    main()
