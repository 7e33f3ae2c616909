"""The ``vidstyle`` command line: a thin layer over the library.

Every command is testable through :func:`main` (``main(["stylize", ...])``).
Exit codes: 0 success; 1 an error with one readable line on stderr (vidstyle's
own errors, including the ``ValueError`` of its config checks, OS errors,
running out of memory; ``--debug`` shows the traceback with its causes); 2 a
malformed command line (one line); 130 Ctrl-C; 143 SIGTERM, which unwinds like
Ctrl-C so that no temporary file is left. Any other exception is a bug and keeps
its traceback. Warnings are one line each.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
import time
import traceback
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path

from vidstyle import __version__
from vidstyle.backends import BACKENDS
from vidstyle.errors import OptionError, OutputExistsError, VidstyleError, first_line
from vidstyle.losses import STYLE_LAYERS
from vidstyle.methods import METHODS
from vidstyle.models.reconet import OUTPUT_ACTIVATIONS
from vidstyle.options import parse_option
from vidstyle.pretrained import MODEL_SIZES
from vidstyle.reference import StyleImageError, StyleRef

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 128 + signal.SIGTERM


def _positive_int(s: str) -> int:
    v = int(s)
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {s}")
    return v


def _nonnegative_int(s: str) -> int:
    v = int(s)
    if v < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {s}")
    return v


def _nonnegative_float(s: str) -> float:
    v = float(s)
    if not (v >= 0 and v != float("inf")):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {s}")
    return v


def _positive_float(s: str) -> float:
    v = _nonnegative_float(s)
    if v == 0:
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {s}")
    return v


def _layer_weights(s: str) -> tuple[float, ...]:
    """``W1,W2,W3,W4``: one finite weight >= 0 per style layer, not all 0."""
    parts = s.split(",")
    if len(parts) != len(STYLE_LAYERS):
        raise argparse.ArgumentTypeError(
            f"give {len(STYLE_LAYERS)} comma-separated weights, one per layer of "
            f"{', '.join(STYLE_LAYERS)}; got {s!r}")
    try:
        weights = tuple(_nonnegative_float(p) for p in parts)
    except (ValueError, argparse.ArgumentTypeError):
        raise argparse.ArgumentTypeError(f"must be finite numbers >= 0, got {s!r}") from None
    if not any(weights):
        raise argparse.ArgumentTypeError(f"at least one weight must be > 0, got {s!r}")
    return weights


def _option(name: str):
    """An argparse ``type`` that reads option ``name`` by the rule the Python API
    applies (:func:`vidstyle.options.check_option`)."""

    def parse(text: str) -> int | float:
        try:
            return parse_option(name, text)
        except OptionError as e:
            raise argparse.ArgumentTypeError(e.problem) from e

    parse.__name__ = name  # argparse names the type in some messages
    return parse


# ----------------------------------------------------------------------------- stylize


def _style_and_backend(args: argparse.Namespace) -> tuple[StyleRef, str]:
    """The style ``-s``, ``--method`` and ``--model-size`` name, resolved once, and the
    backend ``--backend`` stands for; sets PyTorch's threads to ``--threads`` when
    that backend is torch."""
    from vidstyle.backends import choose_backend
    from vidstyle.reference import resolve_style

    ref = resolve_style(args.style, args.method, args.model_size)
    backend = choose_backend(ref, args.device) if args.backend == "auto" else args.backend
    if args.threads and backend == "torch":
        import torch

        torch.set_num_threads(args.threads)
    return ref, backend


def _method_config(args: argparse.Namespace) -> dict:
    """The method's settings given on the command line (``--ruder-*`` for ruder)."""
    if args.method != "ruder":
        return {}
    return {k: v for k, v in (("iterations", args.ruder_iters), ("max_size", args.ruder_size),
                              ("temporal_weight", args.ruder_temporal),
                              ("passes", args.ruder_passes)) if v is not None}


def cmd_stylize(args: argparse.Namespace) -> int:
    from vidstyle.api import create_stylizer
    from vidstyle.pipeline import default_output, stylize_path

    if args.webcam is not None:
        return _stylize_webcam(args)
    if args.input is None:
        raise VidstyleError("give an INPUT (video, image or folder) or --webcam N")
    src = Path(args.input)
    if not src.exists():
        raise VidstyleError(f"input not found: {src}")
    ref, backend = _style_and_backend(args)
    dst = Path(args.output) if args.output else default_output(src, ref.name)
    progress = None if args.quiet or args.method != "ruder" else _RuderProgress()
    stylizer = create_stylizer(ref, device=args.device, half=args.half, backend=backend,
                               threads=args.threads, config=_method_config(args),
                               progress=progress)
    report = stylize_path(
        src, dst, stylizer, max_size=args.max_size, batch_size=args.batch_size, crf=args.crf,
        start=args.start, duration=args.duration, overwrite=args.overwrite,
        progress=not args.quiet,
    )
    if progress is not None:
        progress.finish()
    msg = f"wrote {report.output} ({report.frames} frame(s), {report.fps:.2f} frames/s)"
    if not args.output and dst.suffix.lower() != src.suffix.lower() and not src.is_dir():
        msg += f"; {dst.suffix[1:].upper()}, as vidstyle does not write {src.suffix} files"
    if report.decode_errors:
        msg += f"; {report.decode_errors} damaged packet(s) of the input could not be decoded"
    if report.ended_early:
        msg += "; the input ended before its declared duration (truncated?)"
    print(msg)
    return 0


class _RuderProgress:
    """One line per optimised frame: iterations and final loss (ruder is slow)."""

    def __init__(self) -> None:
        self.frame, self.iteration, self.loss, self.t0 = -1, 0, 0.0, time.perf_counter()

    def __call__(self, frame: int, iteration: int, loss: float) -> None:
        if frame != self.frame and self.frame >= 0:
            self._line()
        self.frame, self.iteration, self.loss = frame, iteration, loss

    def finish(self) -> None:
        if self.frame >= 0:
            self._line()

    def _line(self) -> None:
        dt = time.perf_counter() - self.t0
        self.t0 = time.perf_counter()
        print(f"ruder: frame {self.frame}: {self.iteration} iterations, loss {self.loss:.4g}, "
              f"{dt:.1f} s", file=sys.stderr)


def _stylize_webcam(args: argparse.Namespace) -> int:
    """Live: camera -> stylizer -> preview window (if a display exists) and/or a file."""
    from vidstyle.api import create_stylizer
    from vidstyle.pretrained import bundled_models, is_lite
    from vidstyle.reference import resolve_style
    from vidstyle.video import VideoWriter
    from vidstyle.video.webcam import (
        TkPreview,
        WebcamSource,
        default_webcam_output,
        has_display,
        run_live,
    )

    ref, backend = _style_and_backend(args)
    # The keys switch between the bundled styles of the same network and model size.
    lite = ref.kind == "bundled" and is_lite(ref.name)
    others = sorted(s for s, m in bundled_models() if m == ref.spec.network and is_lite(s) == lite
                    and not (ref.kind == "bundled" and s == ref.name))
    refs = [ref] + [resolve_style(s, ref.method) for s in others]
    stylizers = [(r.name, create_stylizer(r, device=args.device, half=args.half, backend=backend,
                                          threads=args.threads, config=_method_config(args)))
                 for r in refs]
    preview = None
    if has_display() and not args.no_window:
        try:
            preview = TkPreview("vidstyle")
        except Exception as e:  # noqa: BLE001 - no Tk, or the display refused: file only
            print(f"vidstyle: no preview window ({str(e).splitlines()[0]}); writing to a file")
    dst = Path(args.output) if args.output else (None if preview else default_webcam_output(ref))
    if dst is not None and dst.exists() and not args.overwrite:
        raise OutputExistsError(dst)
    source = WebcamSource(args.webcam)
    writer = None
    try:
        if dst is not None:
            writer = VideoWriter(dst, fps=source.fps, width=source.width, height=source.height,
                                 crf=args.crf)
        n = run_live(source, stylizers, writer=writer, preview=preview, duration=args.duration)
        if writer is not None:
            writer.close()
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    finally:
        source.close()
        if preview is not None:
            preview.close()
    print(f"stylized {n} webcam frame(s)" + (f"; wrote {dst}" if dst else ""))
    return 0


def _parameters(path: Path) -> str:
    """Parameter count of a checkpoint's network, e.g. ``1.7M``; ``?`` if unreadable."""
    from vidstyle.models.checkpoint import read_checkpoint

    try:
        state = read_checkpoint(path)["model_state"]
    except (VidstyleError, OSError):
        return "?"
    n = sum(v.numel() for v in state.values() if v.is_floating_point())
    return f"{n / 1e6:.2f}M" if n >= 1e5 else f"{n / 1e3:.0f}k"


def cmd_styles(args: argparse.Namespace) -> int:
    from vidstyle.pretrained import LITE_SUFFIX, bundled_models, lite_styles

    models = bundled_models()
    if not models:
        print("no bundled models")
        return 0
    by_style: dict[str, list[str]] = {}
    for style, method in models:
        by_style.setdefault(style, []).append(method)
    for style in sorted(by_style):
        methods = sorted(by_style[style])
        params = sorted({_parameters(models[(style, m)]) for m in methods})
        print(f"{style:24s} {', '.join(methods):28s} {'/'.join(params)} parameters")
    lite = lite_styles()
    if lite:
        base = lite[0].removesuffix(LITE_SUFFIX)
        print(f"lite models: -s {lite[0]}, or -s {base} --model-size lite (--method reconet or chen)")
    return 0


# ----------------------------------------------------------------------------- export


def cmd_export(args: argparse.Namespace) -> int:
    from vidstyle.export import export_onnx

    path = export_onnx(args.model, args.output, method=args.method, opset=args.opset,
                       half=args.half, overwrite=args.overwrite)
    size_mb = path.stat().st_size / 1e6
    print(f"wrote {path} (ONNX opset {args.opset}, dynamic batch/height/width, {size_mb:.1f} MB)")
    return 0


# ----------------------------------------------------------------------------- train


def cmd_train(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from vidstyle.models.reconet import model_size_config
    from vidstyle.training.config import RECIPE_INIT, preset_config
    from vidstyle.training.loop import init_model_config, train

    overrides = {
        k: v for k, v in {
            "style": args.style, "data": tuple(args.data or ()) or None,
            "data_weights": tuple(args.data_weights or ()) or None, "steps": args.steps,
            "size": args.size, "batch_size": args.batch_size, "lr": args.lr, "seed": args.seed,
            "num_workers": args.workers, "checkpoint_every": args.checkpoint_every,
            "sample_every": args.sample_every, "style_size": args.style_size,
            "minutes": args.minutes, "val_every": args.val_every, "snapshot_every": args.snapshot_every,
            "frame_blur": args.frame_blur, "frame_motion_blur": args.frame_motion_blur,
            "frame_deform": args.frame_deform,
            "frame_shading": args.frame_shading,
            "frame_jitter": args.frame_jitter, "frame_motion": args.frame_motion,
            "frame_layers": args.frame_layers, "fit": args.fit,
        }.items() if v is not None
    }
    custom_net = args.widths or args.res_blocks is not None
    if args.init == "none":  # from random weights
        init = ""
    elif args.init:  # a warm start trains the init model's own network
        if args.model_size or args.widths:
            raise VidstyleError("--init trains the init model's own network: drop --model-size "
                                "and --widths (--res-blocks may add residual blocks to it)")
        init = args.init
    elif args.preset == "debug" or custom_net:
        init = ""
    else:  # the recipe's warm start: the bundled model of this network size
        init = RECIPE_INIT[args.model_size or "full"]
    overrides["init"] = init
    if init:
        model = init_model_config(init)
    elif args.model_size:
        model = model_size_config(args.model_size)
    else:
        model = preset_config(args.preset).model
    if args.widths:
        model = replace(model, widths=tuple(args.widths))
    if args.res_blocks is not None:
        model = replace(model, res_blocks=args.res_blocks)
    if args.output_activation:
        model = replace(model, output=args.output_activation)
    # An exported model's contrast setting (ReCoNetConfig.contrast) is not trained: a run
    # trains the network itself, so a new style from such a model starts from its full contrast.
    model = model.without_contrast()
    overrides["model"] = model
    if args.teacher:
        overrides["teacher"] = args.teacher
    if args.teacher and args.distill is None:
        raise VidstyleError("--teacher needs --distill WEIGHT (e.g. --distill 10)")
    cfg = preset_config(args.preset, **overrides)
    for flag, value in (("--temporal-weight", args.temporal_weight),
                        ("--occlusion-weight", args.occlusion_weight)):
        if value and not cfg.weights.temporal_output:
            raise VidstyleError(f"the {args.preset} preset has no temporal loss: drop {flag}, "
                                "or train --preset huang or reconet")
    cfg = replace(cfg, weights=cfg.weights.scaled(
        content=args.content_weight, style=args.style_weight, tv=args.tv_weight,
        temporal=args.temporal_weight, distill=args.distill, occlusion=args.occlusion_weight,
        style_layers=args.style_layer_weights))
    path = train(cfg, args.output, device=args.device, resume=args.resume,
                 overwrite=args.overwrite, progress=not args.quiet)
    print(f"wrote {path}")
    return 0


# ----------------------------------------------------------------------------- evaluate


def cmd_evaluate(args: argparse.Namespace) -> int:
    if args.stylized is None:
        return _compare(args)
    from vidstyle.eval.folder import evaluate_folder

    results = evaluate_folder(
        args.stylized, inputs=args.inputs, style=args.style_image, sintel=args.sintel,
        scene=args.scene, pass_name=args.sintel_pass, max_size=args.max_size,
    )
    for k, v in results.items():
        print(f"{k:18s} {v:.5f}" if isinstance(v, float) else f"{k:18s} {v}")
    return 0


def _compare(args: argparse.Namespace) -> int:
    """All methods on the same Sintel pairs and clips: table, CSV and plots."""
    from vidstyle.eval.compare import compare_methods

    if args.sintel is None and not args.clips:
        raise VidstyleError("give --sintel ROOT (MPI Sintel with flow/ and occlusions/) and/or "
                            "--clips FILE ... to compare the methods on")
    compare_methods(
        args.output, methods=tuple(args.methods or METHODS), style=args.style,
        style_image=args.style_image, sintel=args.sintel, scenes=args.scenes,
        pass_name=args.sintel_pass, clips=args.clips or [], clip_frames=args.clip_frames,
        max_size=args.max_size, flow=args.flow, ruder_iters=args.ruder_iters,
        ruder_size=args.ruder_size, ruder_temporal=args.ruder_temporal,
        device=args.device, overwrite=args.overwrite,
        log=(lambda *a, **k: None) if args.quiet else print,
    )
    print(Path(args.output, "results.md").read_text())
    return 0


# ----------------------------------------------------------------------------- flow


def cmd_flow(args: argparse.Namespace) -> int:
    from vidstyle.flow.report import flow_report

    out = flow_report(args.frame1, args.frame2, args.output, method=args.method,
                      max_size=args.max_size, overwrite=args.overwrite)
    for k, v in out.items():
        print(f"{k:28s} {v}")
    return 0


# ----------------------------------------------------------------------------- demo


def cmd_demo(args: argparse.Namespace) -> int:
    from vidstyle.demo import run_demo

    report = run_demo(args.output, args.style, device=args.device, model_size=args.model_size,
                      overwrite=args.overwrite)
    for k, v in report.items():
        print(f"{k:34s} {v}")
    return 0


# ----------------------------------------------------------------------------- app


def cmd_app(args: argparse.Namespace) -> int:
    from vidstyle.app import AppConfig, start_app

    config = AppConfig(host=args.host, port=args.port, share_folder=args.share_folder,
                       styles_dir=Path(args.styles_dir), max_upload_mb=args.max_upload_mb)
    app = start_app(config)
    try:
        print(f"vidstyle app: {app.url} (Ctrl-C stops it; own styles go to {config.styles_dir})")
        app.block()
    finally:
        app.close()
    return 0


# ----------------------------------------------------------------------------- parser


class _Parser(argparse.ArgumentParser):
    """argparse with its errors on one line, ``vidstyle: error: ...``, and exit code 2."""

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"vidstyle: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="vidstyle", description="Temporally coherent video style transfer."
    )
    p.add_argument("--version", action="version", version=f"vidstyle {__version__}")
    p.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("stylize", help="stylize a video, an image or a folder of frames")
    s.add_argument("input", nargs="?", help="video file, image, or folder of PNG/JPG frames")
    s.add_argument("--ruder-iters", type=_option("ruder_iters"), help="ruder: iterations per frame")
    s.add_argument("--ruder-size", type=_option("ruder_size"),
                   help="ruder: working long side (default 256)")
    s.add_argument("--ruder-temporal", type=_option("ruder_temporal"),
                   help="ruder: weight of the temporal loss (default 3000)")
    s.add_argument("--ruder-passes", type=_option("ruder_passes"),
                   help="ruder: multi-pass count (Ruder et al.: alternate forward and backward "
                   "passes over the whole clip; needs every frame in memory; default 1)")
    s.add_argument("--webcam", type=_option("webcam"), metavar="N",
                   help="live from camera N: a window (keys 1-9/n/p switch style, q quits) "
                        "when a display exists, and/or -o FILE")
    s.add_argument("--no-window", action="store_true", help="webcam: no preview window")
    s.add_argument("-o", "--output", help="output path (default: INPUT.STYLE.EXT / FOLDER.STYLE)")
    s.add_argument("-s", "--style", default="candy",
                   help="bundled style name, model .pt or .onnx, or a style image (ruder)")
    s.add_argument("--model-size", choices=MODEL_SIZES, default="full",
                   help="full (default) or lite: a bundled style name S means its lite ReCoNet "
                        "S-lite (several times faster on a CPU; --method reconet or chen; "
                        "see `vidstyle styles`)")
    s.add_argument("--method", default="reconet", metavar="METHOD",
                   help=", ".join(f"{name} ({spec.summary})" for name, spec in METHODS.items())
                        + "; default reconet")
    s.add_argument("--max-size", type=_option("max_size"), help="scale the long side down to this")
    s.add_argument("--device", default="auto", help="auto, cpu or cuda")
    s.add_argument("--half", action="store_true", help="fp16 inference (CUDA)")
    s.add_argument("--backend", choices=BACKENDS, default="auto",
                   help="auto (default): onnx for reconet, per-frame and huang on a CPU when "
                        "onnxruntime imports (faster on a CPU: see benchmarks/cpu_paths.py), else "
                        "torch; "
                        "torch on CUDA and for chen/ruder. torch: PyTorch eager. onnx: "
                        "onnxruntime (-s may then be a .onnx file)")
    s.add_argument("--threads", type=_option("threads"),
                   help="CPU threads (onnx default: physical cores; torch: torch.set_num_threads)")
    s.add_argument("--batch-size", type=_option("batch_size"), default=4)
    s.add_argument("--crf", type=_option("crf"), default=18,
                   help="H.264 quality (0-51, lower is better)")
    s.add_argument("--start", type=_option("start"), help="start time in seconds (videos)")
    s.add_argument("--duration", type=_option("duration"), help="seconds to process (videos)")
    s.add_argument("--overwrite", action="store_true", help="replace an existing output")
    s.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    s.set_defaults(func=cmd_stylize)

    x = sub.add_parser("export", help="export a model for other runtimes (ONNX)")
    x.add_argument("model", help="bundled style name or model .pt")
    fmt = x.add_mutually_exclusive_group(required=True)
    fmt.add_argument("--onnx", action="store_true", help="ONNX, dynamic batch/height/width")
    x.add_argument("-o", "--output", required=True, help="output file (.onnx)")
    x.add_argument("--method", default="reconet",
                   help="the method whose bundled network a style name means (default reconet)")
    x.add_argument("--opset", type=_option("opset"), default=17, help="ONNX opset (13-20, default 17)")
    x.add_argument("--half", action="store_true", help="fp16 weights (for GPU runtimes)")
    x.add_argument("--overwrite", action="store_true", help="replace an existing output")
    x.set_defaults(func=cmd_export)

    st = sub.add_parser("styles", help="list the bundled styles and their methods")
    st.set_defaults(func=cmd_styles)

    t = sub.add_parser("train", help="train a model for a style image")
    t.add_argument("--style", required=True, help="style image")
    t.add_argument("--data", action="append", metavar="SPEC",
                   help="photos:DIR, clip:FILE_OR_DIR or sintel:ROOT (repeatable)")
    t.add_argument("--data-weights", type=float, nargs="+", help="mixture weights, one per --data")
    t.add_argument("--preset", default="reconet", help="per-frame, huang, reconet or debug")
    t.add_argument("-o", "--output", required=True, help="run folder (checkpoints, log, model)")
    t.add_argument("--steps", type=_positive_int)
    t.add_argument("--size", type=_positive_int,
                   help="training crop side (multiple of 4; default 256, docs/recipe.md)")
    t.add_argument("--batch-size", type=_positive_int, help="frame pairs per step (default 1)")
    t.add_argument("--lr", type=float, help="initial learning rate (default 1e-3, cosine to 1e-4)")
    t.add_argument("--seed", type=int)
    t.add_argument("--widths", type=_positive_int, nargs=3, help="network widths, e.g. 32 64 128")
    t.add_argument("--res-blocks", type=int,
                   help="residual blocks at 1/4 resolution; with --init, more than the init "
                        "model's adds blocks that start as the identity (a larger network)")
    t.add_argument("--output-activation", choices=OUTPUT_ACTIVATIONS,
                   help="what maps the last convolution to [0, 1] (default: the --init model's, "
                        "sigmoid for a new network); with --init, another one rescales the last "
                        "layer so training starts from the init model's picture")
    t.add_argument("--model-size", choices=("full", "lite"),
                   help="named architecture: full (32 64 128, 4 blocks) or lite (8 16 32, 2 blocks, "
                        "5x5 outer kernels; ~10x faster on a CPU)")
    t.add_argument("--init", metavar="MODEL",
                   help="start from this model's weights (bundled style name or .pt): a new style "
                        "from an existing one, or more training for a committed model. Default: "
                        "the bundled candy model of the chosen network size (candy, candy-lite); "
                        "'none' starts from random weights (also the default with --widths or "
                        "--res-blocks, and for the debug preset)")
    t.add_argument("--fit", choices=("all", "norm"),
                   help="what to train: all weights (default) or only the instance-norm scales and "
                        "shifts of the --init network (conditional instance normalisation; "
                        "docs/recipe.md)")
    t.add_argument("--minutes", type=_positive_float,
                   help="train for this wall-clock budget; the learning-rate schedule spans it and "
                        "the final model is written when it ends (--steps is then ignored)")
    t.add_argument("--content-weight", type=_nonnegative_float, help="weight of the content term")
    t.add_argument("--style-weight", type=_nonnegative_float, help="weight of the style term (default 3e-4)")
    t.add_argument("--style-layer-weights", type=_layer_weights, metavar="W1,W2,W3,W4",
                   help="each style layer's share of the style weight, for "
                        f"{', '.join(STYLE_LAYERS)} (default 1,1,1,1)")
    t.add_argument("--tv-weight", type=_nonnegative_float, help="weight of total variation")
    t.add_argument("--temporal-weight", type=_nonnegative_float,
                   help="weight of the output temporal term (reconet, huang: default 50000); the "
                        "feature term keeps the preset's ratio to it")
    t.add_argument("--occlusion-weight", type=_positive_float, metavar="W",
                   help="weight the temporal terms W times on pixels within 8 px of an occlusion "
                        "(where moving things meet what they uncover), their mean kept (default 1)")
    t.add_argument("--style-size", type=_positive_int,
                   help="long side the style image is scaled to: the stroke scale (larger = bigger "
                        "strokes; default 384)")
    t.add_argument("--frame-blur", type=_nonnegative_float, metavar="SIGMA",
                   help="photo pairs: blur each frame by a Gaussian of sigma drawn up to SIGMA px, "
                        "on its own, so the temporal loss sees defocus and motion blur change")
    t.add_argument("--frame-motion-blur", type=_nonnegative_float, metavar="X",
                   help="photo pairs: blur each frame along its own motion, by a streak of up to "
                        "X times that motion (drawn for each frame on its own; 0.5: a half-open "
                        "shutter), as fast-moving parts of real footage are")
    t.add_argument("--frame-deform", type=_nonnegative_float, metavar="PX",
                   help="photo pairs: bend each moving layer by a smooth field of up to PX px "
                        "that the flow includes (bodies that change shape as they move)")
    t.add_argument("--frame-shading", type=_nonnegative_float, metavar="A",
                   help="photo pairs: multiply the current frame by a smooth gain field in 1 +- A "
                        "(local light changes between frames)")
    t.add_argument("--frame-jitter", type=_nonnegative_float, metavar="PX",
                   help="photo pairs: shift the current frame by a smooth field of up to PX px "
                        "that the flow leaves out (the misalignment of real flow and motion blur)")
    t.add_argument("--frame-motion", type=_nonnegative_float, metavar="X",
                   help="photo pairs: scale the camera and layer motion by X (default 1: shifts "
                        "up to 4%% of the crop for the camera, 6%% for a layer)")
    t.add_argument("--frame-layers", type=_positive_int, metavar="N",
                   help="photo pairs: up to N moving layers (occluders) over the photo (default 2)")
    t.add_argument("--val-every", type=_nonnegative_int,
                   help="measure the style distance of a fixed crop every N steps (0: never)")
    t.add_argument("--snapshot-every", type=_positive_int, metavar="N",
                   help="keep the model of every N-th step in snapshots/ (fp16), e.g. for "
                        "benchmarks/curve.py")
    t.add_argument("--teacher", help="distil from this model (bundled style name or .pt)")
    t.add_argument("--distill", type=float,
                   help="weight of the mean squared difference to the teacher's output")
    t.add_argument("--workers", type=int, help="data loader processes")
    t.add_argument("--checkpoint-every", type=_positive_int)
    t.add_argument("--sample-every", type=_positive_int)
    t.add_argument("--device", default="auto")
    t.add_argument("--resume", action="store_true", help="continue the run in --output")
    t.add_argument("--overwrite", action="store_true", help="start afresh over an existing run")
    t.add_argument("-q", "--quiet", action="store_true")
    t.set_defaults(func=cmd_train)

    e = sub.add_parser(
        "evaluate",
        help="metrics of a folder of stylized frames, or (without a folder) compare the methods",
        description="With STYLIZED: e_stab (Sintel GT flow), warping error, style and content "
                    "distance of that folder. Without: stylize the Sintel pairs and clips with "
                    "every method and write results.md, results.csv and plots to -o.",
    )
    e.add_argument("stylized", nargs="?", help="folder of stylized frames (omit to compare methods)")
    e.add_argument("--inputs", help="folder of the input frames (same file names)")
    e.add_argument("--style-image",
                   help="style image (for the style distance and ruder; needed to compare)")
    e.add_argument("--sintel", help="Sintel root with flow/ and occlusions/ (for e_stab)")
    e.add_argument("--scene", help="folder mode: the Sintel scene the frames belong to")
    e.add_argument("--sintel-pass", default="final", help="clean or final (default final)")
    e.add_argument("--max-size", type=_positive_int, help="evaluate at this long side")
    e.add_argument("--methods", nargs="+", metavar="METHOD",
                   help=f"compare: a subset of {' '.join(METHODS)} (default: all)")
    e.add_argument("--style", default="candy", help="compare: bundled style name (default candy)")
    e.add_argument("--scenes", nargs="+", help="compare: restrict the Sintel scenes")
    e.add_argument("--clips", nargs="+", help="compare: video clips for warping error and flicker")
    e.add_argument("--clip-frames", type=_positive_int, default=48, help="frames per clip")
    e.add_argument("--flow", default="gt", help="compare: flow for chen/ruder on Sintel: gt or dis")
    e.add_argument("--ruder-iters", type=_positive_int,
                   help="compare: ruder iterations per frame (twice that on a first frame)")
    e.add_argument("--ruder-size", type=_positive_int, help="compare: ruder working long side")
    e.add_argument("--ruder-temporal", type=_nonnegative_float,
                   help="compare: ruder temporal loss weight (default 3000)")
    e.add_argument("-o", "--output", default="vidstyle-eval", help="compare: output folder")
    e.add_argument("--device", default="auto")
    e.add_argument("--overwrite", action="store_true")
    e.add_argument("-q", "--quiet", action="store_true")
    e.set_defaults(func=cmd_evaluate)

    d = sub.add_parser("demo", help="stylize the bundled clip: per-frame vs reconet")
    d.add_argument("-o", "--output", default="vidstyle-demo", help="output folder")
    d.add_argument("-s", "--style", default="candy", help="bundled style name")
    d.add_argument("--model-size", choices=MODEL_SIZES, default="full",
                   help="lite: the reconet column uses the style's lite model (per-frame stays full)")
    d.add_argument("--device", default="auto", help="auto, cpu or cuda")
    d.add_argument("--overwrite", action="store_true", help="replace earlier demo results")
    d.set_defaults(func=cmd_demo)

    f = sub.add_parser("flow", help="estimate flow and occlusion between two frames")
    f.add_argument("frame1")
    f.add_argument("frame2")
    f.add_argument("-o", "--output", required=True, help="output folder for the pictures")
    f.add_argument("--method", default="dis", help="dis or farneback")
    f.add_argument("--max-size", type=_positive_int)
    f.add_argument("--overwrite", action="store_true")
    f.set_defaults(func=cmd_flow)

    a = sub.add_parser("app", help="a local web page to stylize videos, photos and the webcam "
                                   '(needs pip install "vidstyle[app]")')
    a.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default 127.0.0.1: this computer only)")
    a.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    a.add_argument("--share-folder", type=Path, metavar="DIR",
                   help="offer the videos and photos of DIR on the page (read only)")
    a.add_argument("--styles-dir", default="vidstyle-styles",
                   help="where styles trained on the page are kept (default vidstyle-styles)")
    a.add_argument("--max-upload-mb", type=_positive_int, default=500,
                   help="refuse larger uploads (default 500)")
    a.set_defaults(func=cmd_app)
    return p


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised wherever the program is, so that it unwinds (deleting its
    temporaries, saving a training checkpoint) exactly as on Ctrl-C."""


@contextlib.contextmanager
def _sigterm_unwinds() -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`Terminated` (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_sigterm(signum, frame):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second one must not cut the cleanup
        raise Terminated

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _one_line_warnings(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"vidstyle: warning: {first_line(Warning(str(message)), 300)}", file=sys.stderr)


_FLAGS = {"dst": "-o", "style": "-s"}  # keyword arguments whose flag is not --keyword-name


def _flag(option: str) -> str:
    return _FLAGS.get(option, "--" + option.replace("_", "-"))


def _message(e: VidstyleError, args: argparse.Namespace) -> str:
    """The library's neutral message with the command line's hint added."""
    if isinstance(e, OptionError):
        return f"{_flag(e.option)} {e.problem}"
    if isinstance(e, StyleImageError):
        return (f"{e.path} is an image, not a style model: train a model on it with "
                f"`vidstyle train --style {e.path} --data photos:DIR -o runs/NAME`, or "
                f"stylize with it directly (slow) with `--method ruder -s {e.path}`")
    msg = first_line(e, 400)
    if e.option == "overwrite":
        return f"{msg}; pass --overwrite to replace it"
    if e.option == "dst":
        return msg if getattr(args, "output", None) else f"{msg}; give an output path with -o"
    if e.option is not None:
        return f"{msg} ({_flag(e.option)})"
    return msg


def _out_of_memory(e: BaseException) -> bool:
    torch = sys.modules.get("torch")
    oom = getattr(torch, "OutOfMemoryError", None) if torch is not None else None
    return isinstance(e, MemoryError) or (oom is not None and isinstance(e, oom))


_PACKAGE = Path(__file__).resolve().parent


def _raised_by_vidstyle(e: BaseException) -> bool:
    """Whether ``e`` was raised by vidstyle's own code (a check of its input, such as
    a config's ``ValueError``) rather than inside a dependency."""
    tb = e.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb is not None and _PACKAGE in Path(tb.tb_frame.f_code.co_filename).resolve().parents


def _error_line(e: Exception, args: argparse.Namespace) -> str | None:
    """The one line for an error the user can act on; ``None`` for a bug."""
    if isinstance(e, VidstyleError):
        return _message(e, args)
    if _out_of_memory(e):
        hint = "; try a smaller --batch-size or --max-size" if args.command == "stylize" else ""
        return f"out of memory ({first_line(e, 120)}){hint}"
    if isinstance(e, OSError) or (isinstance(e, ValueError) and _raised_by_vidstyle(e)):
        return first_line(e, 400)
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with _sigterm_unwinds(), warnings.catch_warnings():
            warnings.showwarning = _one_line_warnings
            return args.func(args)
    except Terminated:
        print("vidstyle: terminated", file=sys.stderr)
        return EXIT_TERMINATED
    except KeyboardInterrupt:
        print("vidstyle: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as e:
        msg = _error_line(e, args)
        if msg is None:
            raise  # anything else is a bug: keep its traceback
        if args.debug:
            traceback.print_exc()
        print(f"vidstyle: error: {msg}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
