"""The training-recipe search behind docs/recipe.md: short `vidstyle train` runs, each
measured with the bundled-model metric (benchmarks/_sintel.py).

    python benchmarks/recipe.py                  # run the experiments not yet run, then report
    python benchmarks/recipe.py --only NAME ...  # run (or rerun, with --force) these
    python benchmarks/recipe.py --report         # rewrite docs/recipe_runs.md and the picture

Each experiment is the command line a user would type (`vidstyle train ...`), run with
``OMP_NUM_THREADS=2`` into ``runs/recipe/NAME``. Its figures (e_stab, style and content
distance on the 13 shared Sintel pairs at 1024x436, steps, seconds per step) are kept in
``docs/recipe_runs.json`` so the report survives a lost ``runs/``. Times are wall-clock on
the machine that ran them (stated in the JSON).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time

from _sintel import DATA, REPO, STYLES, SintelBench, look_inputs, look_strip, save_jpeg

RUNS = REPO / "runs" / "recipe"
RESULTS = REPO / "docs" / "recipe_runs.json"
PICTURES = REPO / "docs" / "recipe"  # one JPEG per run: 1:1 crops of a Sintel frame and a photo
PHOTOS = f"photos:{DATA / 'photos'}"
BASE = ["--data", PHOTOS, "--size", "256", "--batch-size", "1", "--workers", "1", "--val-every", "50"]

# name -> (style, what it tests, extra `vidstyle train` arguments)
EXPERIMENTS: dict[str, tuple[str, str, list[str]]] = {
    "warm-s512-t5": (
        "candy", "warm start from bundled candy; style image at 512 px; style x5, temporal x5",
        ["--init", "candy", "--style-size", "512", "--style-weight", "5e-5",
         "--temporal-weight", "25000", "--lr", "1e-3", "--steps", "200"]),
    "warm-s512-t15": (
        "candy", "as warm-s512-t5 with temporal x15",
        ["--init", "candy", "--style-size", "512", "--style-weight", "5e-5",
         "--temporal-weight", "75000", "--lr", "1e-3", "--steps", "200"]),
    "warm-s512-t5-tv": (
        "candy", "as warm-s512-t5 with TV weight x10",
        ["--init", "candy", "--style-size", "512", "--style-weight", "5e-5",
         "--temporal-weight", "25000", "--tv-weight", "10", "--lr", "1e-3", "--steps", "200"]),
}


def run(name: str, force: bool) -> None:
    style, _, extra = EXPERIMENTS[name]
    out = RUNS / name
    if (out / "model.pt").is_file() and not force:
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "vidstyle.cli", "train", "--style", str(STYLES / STYLE_FILE[style]),
           "--preset", "reconet", "-o", str(out), "--overwrite", *BASE, *extra]
    print("$", " ".join(cmd), flush=True)
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "2"))
    subprocess.run(cmd, check=True, env=env)


def measure(name: str, bench: SintelBench) -> dict:
    import torch

    from vidstyle.models import load_checkpoint

    style = EXPERIMENTS[name][0]
    model, ckpt = load_checkpoint(RUNS / name / "model.pt")
    with torch.no_grad():
        r = bench.measure(model, STYLES / STYLE_FILE[style])
        strip = look_strip(model, look_inputs(bench))
    PICTURES.mkdir(exist_ok=True)
    save_jpeg(strip, PICTURES / f"{name}.jpg")
    meta = ckpt["meta"]
    return {"name": name, "style": style, "what": EXPERIMENTS[name][1],
            "args": EXPERIMENTS[name][2], "e_stab": round(r["e_stab"], 4),
            "style_dist": round(r["style"], 4), "content_dist": round(r["content"], 4),
            "steps": meta["steps"], "train_seconds": meta["train_seconds"],
            "s_per_step": round(meta["train_seconds"] / max(1, meta["steps"]), 2),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
                       f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '2')}",
            "measured": time.strftime("%Y-%m-%d")}


STYLE_FILE = {"candy": "candy.jpg", "mosaic": "mosaic.jpg", "udnie": "picabia_udnie.jpg",
              "the_scream": "munch_the_scream.jpg"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="+", choices=sorted(EXPERIMENTS))
    ap.add_argument("--force", action="store_true", help="rerun experiments that have a model")
    ap.add_argument("--report", action="store_true", help="only rewrite the report")
    ap.add_argument("--remeasure", action="store_true",
                    help="measure the trained models again (figures and pictures), train nothing")
    args = ap.parse_args()
    results = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    if not args.report:
        import torch

        torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
        bench = None
        for name in args.only or EXPERIMENTS:
            if args.remeasure:
                if not (RUNS / name / "model.pt").is_file():
                    continue
            elif name in results and not args.force and not args.only:
                continue
            else:
                run(name, args.force)
            bench = bench or SintelBench()
            results[name] = measure(name, bench)
            print(json.dumps(results[name]), flush=True)
            RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    report(results)


def report(results: dict) -> None:
    lines = [
        "Generated by `python benchmarks/recipe.py` (figures in docs/recipe_runs.json): short "
        "`vidstyle train` runs from the same base (reconet preset, photos with synthetic motion, "
        f"`{' '.join(BASE[2:])}`), measured on the 13 shared Sintel pairs at 1024x436.",
        "",
        "| run | style | what it tests | steps | s/step | style dist. | e_stab | content dist. |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results.values():
        lines.append(f"| {r['name']} | {r['style']} | {r['what']} | {r['steps']} | {r['s_per_step']} | "
                     f"{r['style_dist']:.3f} | {r['e_stab']:.4f} | {r['content_dist']:.3f} |")
    (REPO / "docs" / "recipe_runs.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
