"""The comparison's plots: e_stab against frames per second, and the flicker curve
of the first clip."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vidstyle.eval.compare import MethodResult



def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_estab_vs_fps(out: Path, results: dict[str, MethodResult]) -> None:
    """``out/estab_vs_fps.png``: each method's e_stab against its FPS (log scale)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 4))
    for r in results.values():
        ax.scatter(r.fps, r.e_stab)
        ax.annotate(r.method, (r.fps, r.e_stab), textcoords="offset points", xytext=(5, 5))
    ax.set_xscale("log")
    ax.set_xlabel("frames per second (log)")
    ax.set_ylabel("e_stab (Sintel, lower is better)")
    ax.set_title("Temporal error vs speed")
    fig.tight_layout()
    fig.savefig(out / "estab_vs_fps.png", dpi=100)
    plt.close(fig)


def plot_flicker(out: Path, results: dict[str, MethodResult], input_flicker: list[float]) -> None:
    """``out/flicker.png``: mean absolute frame difference along the first clip, per
    method and for the input."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.5))
    if input_flicker:
        ax.plot(input_flicker, label="input", color="black", linewidth=1)
    for r in results.values():
        if r.flicker:
            ax.plot(r.flicker, label=r.method, linewidth=1)
    ax.set_xlabel("frame")
    ax.set_ylabel("mean |O_t - O_t-1|")
    ax.set_title("Flicker on the first clip")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "flicker.png", dpi=100)
    plt.close(fig)
