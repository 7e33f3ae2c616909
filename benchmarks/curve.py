"""Style distance and e_stab against training minutes: every model kept along a run.

    python benchmarks/curve.py runs/candy.reconet --style candy.jpg [--out docs/recipe_curve]
    git show a5151d7:src/vidstyle/pretrained/candy.reconet.pt > candy-before.pt
    python benchmarks/curve.py runs/candy.reconet --style candy.jpg --start candy-before.pt

Measures each ``snapshots/*.pt`` (``vidstyle train --snapshot-every N``), each ``snap_*.pt``
checkpoint copy, the ``--init`` model the run started from (minute 0) and the final
``model.pt`` with the bundled-model metric (13 shared Sintel pairs at 1024x436, ground-truth
flow; benchmarks/_sintel.py). Writes ``OUT.json`` (figures) and ``OUT.png`` (plot); a
later call with ``--plot-only`` redraws the plot from the JSON.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path

from _sintel import STYLES, SintelBench


def models_of(run: Path, every: int = 1) -> list[Path]:
    """The run's kept models in order (every ``every``-th snapshot), then its final model."""
    found = sorted(run.glob("snapshots/*.pt")) + sorted(run.glob("snap_*.pt"))
    found = found[every - 1::every]
    return found + ([run / "model.pt"] if (run / "model.pt").is_file() else [])


def measure_run(run: Path, style: str, bench: SintelBench, known: list[dict],
                start: str | None = None, every: int = 1) -> Iterator[list[dict]]:
    """Yield the run's points measured so far after each model (so an interrupted call keeps them)."""
    import torch

    from vidstyle.models import load_checkpoint
    from vidstyle.pretrained import resolve_model

    done = {p["model"]: p for p in known}  # measured before: not again
    points = []
    paths = models_of(run, every)
    init = start or (load_checkpoint(paths[-1])[1]["meta"]["train_config"].get("init") if paths else "")
    # The final model first (the figure most wanted), then minute 0, then the rest in order.
    todo = [(p, None) for p in paths[-1:]] + ([(Path(resolve_model(init)), 0.0)] if init else []) \
        + [(p, None) for p in paths[:-1]]
    for path, minutes in todo:
        if str(path) in done and path.name != "model.pt":
            points.append(done[str(path)])
            yield points
            continue
        model, ckpt = load_checkpoint(path)
        meta = ckpt["meta"]
        with torch.no_grad():
            r = bench.measure(model, STYLES / style)
        points.append({
            "model": str(path), "minutes": minutes if minutes is not None
            else round(meta["train_seconds"] / 60, 1),
            "steps": 0 if minutes is not None else meta["steps"],
            "e_stab": round(r["e_stab"], 4), "style_dist": round(r["style"], 4),
            "content_dist": round(r["content"], 4)})
        print(json.dumps(points[-1]), flush=True)
        yield points


def plot(curves: dict[str, list[dict]], path: Path,
         targets: tuple[float | None, float | None] = (None, None)) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.6))
    for name, pts in curves.items():
        pts = sorted(pts, key=lambda p: p["minutes"])
        m = [p["minutes"] for p in pts]
        a.plot(m, [p["style_dist"] for p in pts], "o-", label=name)
        b.plot(m, [p["e_stab"] for p in pts], "o-", label=name)
    a.set(xlabel="training minutes (2 CPU cores)", ylabel="style distance (lower = stronger)")
    b.set(xlabel="training minutes (2 CPU cores)", ylabel="e_stab (lower = steadier)")
    for ax, target in zip((a, b), targets):
        if target is not None:
            ax.axhline(target, color="grey", ls="--", lw=1, label=f"target {target:g}")
        ax.grid(alpha=0.3)
    a.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="*", type=Path)
    ap.add_argument("--style", nargs="+", default=[], help="style image file (in shared/data/styles), "
                    "one per run or one for all")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "docs" / "recipe_curve")
    ap.add_argument("--plot-only", action="store_true")
    ap.add_argument("--start", help="the model the run started from (minute 0), when its --init file "
                    "has since been replaced (a bundled model retrained in place)")
    ap.add_argument("--every", type=int, default=1, help="measure every N-th snapshot only")
    ap.add_argument("--style-target", type=float, help="draw this style distance target")
    ap.add_argument("--estab-target", type=float, help="draw this e_stab target")
    args = ap.parse_args()
    js = args.out.with_suffix(".json")
    curves = json.loads(js.read_text()) if js.is_file() else {}
    if not args.plot_only:
        bench = SintelBench()
        js.parent.mkdir(parents=True, exist_ok=True)
        for k, run in enumerate(args.runs):
            style = args.style[k] if len(args.style) > 1 else args.style[0]
            for points in measure_run(run, style, bench, curves.get(run.name, []), args.start,
                                      args.every):
                curves[run.name] = points
                js.write_text(json.dumps(curves, indent=1) + "\n")
        js.write_text(json.dumps(curves, indent=1) + "\n")
    plot(curves, args.out.with_suffix(".png"), (args.style_target, args.estab_target))


if __name__ == "__main__":
    main()
