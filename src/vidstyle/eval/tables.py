"""The comparison's tables: ``results.csv`` (one row per method, e_stab per scene)
and ``results.md`` (the same with ratios against per-frame and each method's
settings)."""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from vidstyle.eval.metrics import e_stab

if TYPE_CHECKING:
    from vidstyle.eval.compare import MethodResult


def _size(results: dict[str, MethodResult]) -> str:
    h, w = next(iter(results.values())).frame_size
    return f"{w}x{h}"


def write_results_csv(out: Path, results: dict[str, MethodResult], scenes: list[str]) -> None:
    """``out/results.csv``, written whole or not at all."""
    fields = ["method", *[f"e_stab_{s}" for s in scenes], "e_stab", "warping_error",
              "style_distance", "content_distance", "fps", "frame_h", "frame_w"]
    tmp = out / ".results.csv.tmp"
    with open(tmp, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(fields)
        for r in results.values():
            w.writerow([r.method, *[f"{e_stab(r.scene_errors[s]):.5f}" for s in scenes],
                        f"{r.e_stab:.5f}", f"{r.warping_error:.6f}", f"{r.style_distance:.4f}",
                        f"{r.content_distance:.4f}", f"{r.fps:.3f}", *r.frame_size])
    os.replace(tmp, out / "results.csv")


def write_results_md(out: Path, results: dict[str, MethodResult], scenes: list[str], *,
                     style: str, flow: str, device: str) -> None:
    """``out/results.md``: the table with ratios against per-frame, then the settings."""
    base = results.get("per-frame")
    lines = [
        f"Style `{style}`, Sintel flow `{flow}` for chen and ruder, Sintel frames at "
        f"{_size(results)}, device `{device}`, {torch.get_num_threads()} torch thread(s). "
        "e_stab per scene (lower is better), ratios against per-frame; FPS over the Sintel "
        "frames (model, and flow or optimisation where the method needs it).",
        "",
        "| method | " + " | ".join(scenes) + " | e_stab (all) | vs per-frame | warping error | "
        "style dist. | content dist. | FPS |",
        "|---|" + "---|" * (len(scenes) + 6),
    ]
    for r in results.values():
        ratio = f"{r.e_stab / base.e_stab:.2f}x" if base else ""
        sratio = f" ({r.style_distance / base.style_distance:.2f}x)" if base else ""
        lines.append(
            f"| {r.method} | " + " | ".join(f"{e_stab(r.scene_errors[s]):.4f}" for s in scenes)
            + f" | {r.e_stab:.4f} | {ratio} | {r.warping_error:.5f} | "
            f"{r.style_distance:.3f}{sratio} | {r.content_distance:.3f} | {r.fps:.2f} |"
        )
    notes = [f"{r.method}: {r.settings}." for r in results.values() if r.settings]
    if notes:
        lines += ["", *notes]
    (out / "results.md").write_text("\n".join(lines) + "\n")
