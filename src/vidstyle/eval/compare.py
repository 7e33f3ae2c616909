"""Compare the five methods on the same frames (``vidstyle evaluate`` without a folder).

For each method and one style: stylize every Sintel pair (ground-truth flow) and
the first frames of each clip, then report per scene e_stab, warping error on the
clips (DIS flow, forward-backward mask), style and content distance, and frames
per second at the frame size used. Writes ``results.md``, ``results.csv``
(:mod:`vidstyle.eval.tables`), ``estab_vs_fps.png`` and ``flicker.png``
(:mod:`vidstyle.eval.plots`) to the output folder.

Sintel pairs are fed to the stateful methods in reverse order (frame t+1, then
frame t), so that the *current* frame is t and the ground-truth forward flow
t -> t+1 is exactly the flow to the previous frame that chen and ruder need (with
``--flow gt``, from :class:`GroundTruthFlow`); e_stab compares O_t with O_{t+1}
warped by that flow either way.
"""

from __future__ import annotations

import math
import os
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from vidstyle.data.sintel import SintelPair, load_pair, sintel_pairs
from vidstyle.errors import OptionError, VidstyleError
from vidstyle.eval.metrics import (
    StyleReference,
    content_distances,
    e_stab,
    mean_abs_frame_difference,
    pair_stability_error,
    warping_error,
)
from vidstyle.eval.plots import plot_estab_vs_fps, plot_flicker
from vidstyle.eval.tables import write_results_csv, write_results_md
from vidstyle.flow.estimate import estimate_flow
from vidstyle.image import fit_long_side, load_image, resize_rgb, to_tensor
from vidstyle.losses.vgg import VGG19
from vidstyle.methods import METHODS

ALL_METHODS = tuple(METHODS)  # every registered method, in the registry's order


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


@dataclass(frozen=True)
class GroundTruthFlow:
    """A flow function (see :mod:`vidstyle.methods.base`) that knows the ground truth
    of the given Sintel pairs: asked for the flow from a pair's ``frame1`` to its
    ``frame2`` (recognised by their pixels), it returns that pair's ground-truth flow
    and mask. For any other frames (the clips) it returns the DIS flow alone, and the
    caller derives the mask from forward-backward consistency.

    Attributes:
        pairs: loaded pairs (:func:`~vidstyle.data.sintel.load_pair`): ``frame1``,
            ``frame2`` ``(1, 3, H, W)``, ``flow`` ``(1, 2, H, W)``, ``mask`` ``(1, 1, H, W)``.
    """

    pairs: tuple[dict[str, torch.Tensor], ...]

    def __call__(self, cur: torch.Tensor, prev: torch.Tensor):
        for d in self.pairs:
            if torch.equal(cur, d["frame1"]) and torch.equal(prev, d["frame2"]):
                return d["flow"], d["mask"]
        return estimate_flow(cur, prev)


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
    """Run every method on the same frames and write the tables and plots into
    ``out_dir`` (see the module docstring); returns the results by method."""
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
    flow_fn = GroundTruthFlow(tuple(d for _, d in loaded)) if flow == "gt" else None
    clip_frames_list = [_read_clip(c, clip_frames, clip_size) for c in clips]

    results: dict[str, MethodResult] = {}
    for method in methods:
        log(f"== {method}")
        stylizer = build_method(method, style, style_image=style_img_path, device=device,
                                flow_fn=flow_fn, ruder_iters=ruder_iters,
                                ruder_size=ruder_size, ruder_temporal=ruder_temporal)
        results[method] = run_method(method, stylizer, loaded, clip_frames_list, ref, vgg, log)
    input_flicker = mean_abs_frame_difference(torch.cat(clip_frames_list[0])) if clips else []
    scene_names = sorted({p.scene for p in pairs})
    write_results_csv(out, results, scene_names)
    write_results_md(out, results, scene_names, style=style, flow=flow, device=device)
    plot_estab_vs_fps(out, results)
    plot_flicker(out, results, input_flicker)
    return results


def run_method(method: str, stylizer, pairs: list[tuple[SintelPair, dict[str, torch.Tensor]]],
               clips: list[list[torch.Tensor]], ref: StyleReference, vgg: VGG19,
               log: Callable[[str], object] = print) -> MethodResult:
    """Stylize the Sintel pairs and the clips with ``stylizer`` and measure it: e_stab
    per scene, warping error and flicker on the clips, style and content distance
    (over the pairs' current frames and each clip's middle frame), frames per second
    (over the Sintel frames when there are any, else over the clips)."""
    res = MethodResult(method, settings=_settings(method, stylizer))
    outs, ins = [], []
    for pair, d in pairs:
        stylizer.reset()
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
    wes = []
    for k, frames in enumerate(clips):
        stylizer.reset()
        styl = []
        for f in frames:
            t0 = time.perf_counter()
            styl.append(stylizer(f))
            if not pairs:  # FPS is measured on the Sintel frames when there are any
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
    log(f"   e_stab {res.e_stab:.4f}  warping {res.warping_error:.5f}  style "
        f"{res.style_distance:.3f}  content {res.content_distance:.3f}  {res.fps:.2f} FPS")
    return res


def _settings(method: str, stylizer) -> str:
    """How ``method`` ran, where it has settings of its own (ruder's budget and weights)."""
    cfg = getattr(stylizer, "config", None)
    if method != "ruder" or cfg is None:
        return ""
    return (f"{cfg.optimizer}, {cfg.first_iterations} evaluations on a first frame and "
            f"{cfg.iterations} on later ones, working size {cfg.max_size}, temporal "
            f"weight {cfg.temporal_weight:g}, content {cfg.content_weight:g}, style "
            f"{cfg.style_weight:g}")


def _read_clip(path, n: int, size: int) -> list[torch.Tensor]:
    from vidstyle.video import open_source

    frames = []
    with open_source(path) as src:
        for rgb, _ in src.frames():
            frames.append(to_tensor(resize_rgb(rgb, fit_long_side(*rgb.shape[:2], size), "area")))
            if len(frames) >= n:
                break
    if len(frames) < 2:
        raise VidstyleError(f"{path}: fewer than 2 frames")
    return frames
