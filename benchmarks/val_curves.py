"""Validation-crop style distance against training minutes, from the runs' own logs.

    python benchmarks/val_curves.py docs/runs/*.csv [--out docs/recipe_val.png]

``vidstyle train --val-every N`` writes the style distance of a fixed validation crop to the
``val_style`` column of the run's ``log.csv`` (the ``style_d`` of the progress line). This
script draws those columns against wall-clock minutes, one line per log; a log whose first
line is ``# after NAME`` continues the run of ``NAME.csv`` (a second phase started with
``--init`` from its checkpoint) and is drawn from where that one ended. It costs no model
evaluation, unlike ``benchmarks/curve.py`` (Sintel pairs, e_stab), so it can follow every run.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path


def read_log(path: Path) -> tuple[str | None, list[tuple[float, float]]]:
    """``(name of the log this one continues or None, [(minutes, val_style), ...])``."""
    lines = path.read_text().splitlines()
    after = None
    if lines and lines[0].startswith("# after "):
        after, lines = lines[0][len("# after "):].strip(), lines[1:]
    points = [(float(r["seconds"]) / 60, float(r["val_style"]))
              for r in csv.DictReader(lines) if r.get("val_style")]
    return after, points


def curves(paths: list[Path]) -> dict[str, list[tuple[float, float]]]:
    """Each log's points, shifted by the minutes of the logs it continues."""
    logs = {p.stem: read_log(p) for p in paths}
    out: dict[str, list[tuple[float, float]]] = {}

    def offset(name: str) -> float:
        after, _ = logs[name]
        if after is None or after not in logs:
            return 0.0
        before = logs[after][1]
        return offset(after) + (before[-1][0] if before else 0.0)

    for name, (_, pts) in logs.items():
        shift = offset(name)
        out[name] = [(m + shift, v) for m, v in pts]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("logs", nargs="+", type=Path)
    ap.add_argument("--out", type=Path,
                    default=Path(__file__).resolve().parents[1] / "docs" / "recipe_val.png")
    args = ap.parse_args()

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    for name, pts in curves(args.logs).items():
        ax.plot([m for m, _ in pts], [v for _, v in pts], "o-", ms=3, label=name)
        print(f"{name:28s} " + "  ".join(f"{m:5.1f} min {v:.3f}" for m, v in pts[:: max(1, len(pts) // 6)]
                                         + pts[-1:]))
    ax.set(xlabel="training minutes (2 CPU cores)", ylabel="validation-crop style distance")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
