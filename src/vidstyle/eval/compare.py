"""Compare the five methods on the same frames (``vidstyle evaluate`` without a folder).

For each method and one style: stylize every Sintel pair (ground-truth flow) and
the first frames of each clip, then report per scene e_stab, warping error on the
clips (DIS flow, forward-backward mask), style and content distance, and frames
per second at the frame size used. Writes ``results.md``, ``results.csv``,
``estab_vs_fps.png`` and ``flicker.png`` to the output folder.

Sintel pairs are fed to the stateful methods in reverse order (frame t+1, then
frame t), so that the *current* frame is t and the ground-truth forward flow
t -> t+1 is exactly the flow to the previous frame that chen and ruder need (with
``--flow gt``); e_stab compares O_t with O_{t+1} warped by that flow either way.
"""

from __future__ import annotations

import csv
import math
import os
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from vidstyle.data.sintel import load_pair, sintel_pairs
from vidstyle.errors import OptionError, VidstyleError
from vidstyle.eval.metrics import (
    StyleReference,
    content_distances,
    e_stab,
    mean_abs_frame_difference,
    pair_stability_error,
    warping_error,
)
from vidstyle.flow.estimate import estimate_flow
from vidstyle.image import load_image
from vidstyle.losses.vgg import VGG19
from vidstyle.methods import METHODS

ALL_METHODS = tuple(METHODS)  # every registered method, in the registry's order
# Published e_stab (ReCoNet Table 2, candy, MPI Sintel) and FPS on the authors' GPU.
PAPER = {
    "chen": ({"alley_2": 0.0934, "ambush_5": 0.1352, "bandage_2": 0.0715, "market_6": 0.1030,
              "temple_2": 0.1094}, 22.5),
    "reconet": ({"alley_2": 0.0846, "ambush_5": 0.0819, "bandage_2": 0.0662, "market_6": 0.0862,
                 "temple_2": 0.0831}, 235.3),
    "huang": ({"alley_2": 0.0439, "ambush_5": 0.0675, "bandage_2": 0.0304, "market_6": 0.0553,
               "temple_2": 0.0513}, 216.8),
    "ruder": ({"alley_2": 0.0252, "ambush_5": 0.0512, "bandage_2": 0.0195, "market_6": 0.0407,
               "temple_2": 0.0361}, 0.8),
}


@dataclass
class MethodResult:
    method: str
    scene_errors: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    style_distance: float = math.nan
    content_distance: float = math.nan
    warping_error: float = math.nan
    seconds: float = 0.0
    frames: int = 0
    frame_size: tuple[int, int] = (0, 0)
    flicker: list[float] = field(default_factory=list)
    settings: str = ""  # how the method ran, where it has settings of its own

    @property
    def e_stab(self) -> float:
        return e_stab([e for errs in self.scene_errors.values() for e in errs])

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else math.nan


class _GroundTruth:
    """A flow function whose answer is set before each Sintel pair; outside a pair
    (clips) it estimates the flow with DIS, and the caller derives the mask from
    forward-backward consistency."""

    def __init__(self) -> None:
        self.flow: torch.Tensor | None = None
        self.mask: torch.Tensor | None = None

    def __call__(self, cur: torch.Tensor, prev: torch.Tensor):
        if self.flow is None:
            return estimate_flow(cur, prev)
        return self.flow, self.mask


def build_method(method: str, style: str, *, style_image: Path | None, device: str,
                 flow_fn=None, ruder_iters: int | None = None, ruder_size: int | None = None,
                 ruder_temporal: float | None = None):
    """A stylizer for ``method`` (see :func:`vidstyle.api.make_stylizer`)."""
    from vidstyle.api import make_stylizer

    kwargs = {}
    if METHODS[method].flow_guided:
        kwargs["flow_fn"] = flow_fn
    if method == "ruder":
        kwargs["style_image"] = style_image
        opts: dict = {} if ruder_size is None else {"max_size": ruder_size}
        if ruder_iters is not None:  # later frames N, the first frame (no warm start) 2N
            opts.update(iterations=ruder_iters, first_iterations=2 * ruder_iters)
        if ruder_temporal is not None:
            opts["temporal_weight"] = ruder_temporal
        kwargs["config"] = opts
    # PyTorch for every method, so that the frames per second compare the methods
    # rather than runtimes (chen and ruder run in PyTorch only).
    return make_stylizer(style, method, device=device, backend="torch", **kwargs)


def compare_methods(
    out_dir: str | os.PathLike,
    *,
    methods: tuple[str, ...] = ALL_METHODS,
    style: str = "candy",
    style_image: str | os.PathLike | None = None,
    sintel: str | os.PathLike | None = None,
    scenes: list[str] | None = None,
    pass_name: str = "final",
    clips: list[str | os.PathLike] = (),
    clip_frames: int = 48,
    clip_size: int = 320,
    max_size: int | None = None,
    flow: str = "gt",
    ruder_iters: int | None = None,
    ruder_size: int | None = None,
    ruder_temporal: float | None = None,
    device: str = "auto",
    overwrite: bool = False,
    log=print,
) -> dict[str, MethodResult]:
    from vidstyle.device import resolve_device

    device = str(resolve_device(device))
    unknown = [m for m in methods if m not in ALL_METHODS]
    if unknown:
        raise VidstyleError(f"unknown method(s) {', '.join(unknown)}; choose from {', '.join(ALL_METHODS)}")
    if flow not in ("gt", "dis"):
        raise OptionError("flow", f"must be gt or dis, got {flow!r}")
    out = Path(out_dir)
    if not out.parent.is_dir():
        raise VidstyleError(f"output folder {out.parent} does not exist")
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise VidstyleError(f"{out} is not empty", option="overwrite")
    style_img_path = Path(style_image) if style_image else None
    if style_img_path is not None and not style_img_path.is_file():
        raise VidstyleError(f"style image not found: {style_img_path}")
    if style_img_path is None:
        raise VidstyleError("a style image is needed for the style distance", option="style_image")
    if sintel is None and not clips:
        raise VidstyleError("nothing to evaluate: give a Sintel root and/or clips")
    pairs = sintel_pairs(sintel, pass_name, scenes=scenes) if sintel is not None else []
    for c in clips:
        if not Path(c).exists():
            raise VidstyleError(f"clip not found: {c}")
    out.mkdir(exist_ok=True)

    loaded = [(p, load_pair(p, max_size=max_size)) for p in pairs]
    vgg = VGG19(last_layer="relu4_3")
    ref = StyleReference(vgg, load_image(style_img_path, max_size=512))
    gt = _GroundTruth()
    clip_frames_list = [_read_clip(c, clip_frames, clip_size) for c in clips]

    results: dict[str, MethodResult] = {}
    for method in methods:
        log(f"== {method}")
        stylizer = build_method(method, style, style_image=style_img_path, device=device,
                                flow_fn=gt if flow == "gt" else None, ruder_iters=ruder_iters,
                                ruder_size=ruder_size, ruder_temporal=ruder_temporal)
        res = MethodResult(method)
        cfg = getattr(stylizer, "config", None)
        if method == "ruder" and cfg is not None:
            res.settings = (f"{cfg.optimizer}, {cfg.first_iterations} evaluations on a first frame and "
                            f"{cfg.iterations} on later ones, working size {cfg.max_size}, temporal "
                            f"weight {cfg.temporal_weight:g}, content {cfg.content_weight:g}, style "
                            f"{cfg.style_weight:g}")
        outs, ins = [], []
        for pair, d in loaded:
            stylizer.reset()
            gt.flow, gt.mask = d["flow"], d["mask"]
            t0 = time.perf_counter()
            o2 = stylizer(d["frame2"])  # previous frame: t+1
            o1 = stylizer(d["frame1"])  # current frame: t
            res.seconds += time.perf_counter() - t0
            res.frames += 2
            res.frame_size = tuple(d["frame1"].shape[-2:])
            err = pair_stability_error(o1, o2, d["flow"], d["mask"])
            res.scene_errors[pair.scene].append(err)
            outs.append(o1)
            ins.append(d["frame1"])
            log(f"   {pair.name}: err {err:.5f}")
        gt.flow = gt.mask = None
        wes = []
        for k, frames in enumerate(clip_frames_list):
            stylizer.reset()
            styl = []
            for f in frames:
                t0 = time.perf_counter()
                styl.append(stylizer(f))
                if not loaded:  # FPS is measured on the Sintel frames when there are any
                    res.seconds += time.perf_counter() - t0
                    res.frames += 1
                    res.frame_size = tuple(f.shape[-2:])
            wes.append(warping_error(styl, frames))
            if k == 0:
                res.flicker = mean_abs_frame_difference(torch.cat(styl))
            outs.append(styl[len(styl) // 2])
            ins.append(frames[len(frames) // 2])
        if wes:
            res.warping_error = float(np.mean(wes))
        res.style_distance = float(np.mean(ref.distances(outs)))
        res.content_distance = float(np.mean(content_distances(outs, ins, vgg)))
        results[method] = res
        log(f"   e_stab {res.e_stab:.4f}  warping {res.warping_error:.5f}  style "
            f"{res.style_distance:.3f}  content {res.content_distance:.3f}  {res.fps:.2f} FPS")
    input_flicker = mean_abs_frame_difference(torch.cat(clip_frames_list[0])) if clips else []
    _write_outputs(out, results, pairs, input_flicker, style, max_size, flow, device)
    return results


def _read_clip(path, n: int, size: int) -> list[torch.Tensor]:
    import cv2

    from vidstyle.video import open_source

    frames = []
    with open_source(path) as src:
        for rgb, _ in src.frames():
            h, w = rgb.shape[:2]
            s = size / max(h, w)
            if s < 1:
                rgb = cv2.resize(rgb, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
            frames.append(torch.from_numpy(rgb).permute(2, 0, 1).unsqueeze(0).float() / 255)
            if len(frames) >= n:
                break
    if len(frames) < 2:
        raise VidstyleError(f"{path}: fewer than 2 frames")
    return frames


def _size(results: dict[str, MethodResult]) -> str:
    h, w = next(iter(results.values())).frame_size
    return f"{w}x{h}"


def _write_outputs(out: Path, results: dict[str, MethodResult], pairs, input_flicker,
                   style: str, max_size, flow: str, device: str) -> None:
    scenes = sorted({p.scene for p in pairs})
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

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

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
