"""Which CPU path is fastest for vidstyle's networks: threads, channels_last,
torch.compile and onnxruntime, model-only at 640x360, batch 1.

    python benchmarks/cpu_paths.py              # writes docs/cpu_paths.md
    python benchmarks/cpu_paths.py --no-compile # skip torch.compile (needs a C++ compiler)

The default of ``vidstyle stylize --backend auto`` follows this table.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
from _report import median_fps, write_markdown

from vidstyle.backends.onnx import OnnxStylizer, physical_cores
from vidstyle.models import load_checkpoint
from vidstyle.pretrained import resolve_model

REPO = Path(__file__).resolve().parents[1]


def paths(model_name: str, x: torch.Tensor, cores: int, compile_: bool, tmp: str):
    """``(label, callable)`` for every path of one model."""
    model, _ = load_checkpoint(resolve_model(model_name))
    xn = x.numpy()

    def torch_path(threads: int, channels_last: bool = False, compiled: bool = False):
        def setup():
            torch.set_num_threads(threads)
            m = model
            xi = x
            if channels_last:
                m = model.to(memory_format=torch.channels_last)
                xi = x.contiguous(memory_format=torch.channels_last)
            else:
                m = model.to(memory_format=torch.contiguous_format)
            if compiled:
                m = torch.compile(m)
            return lambda: m(xi)
        return setup

    def ort_path(threads: int, spinning: bool):
        def setup():
            s = OnnxStylizer(model, threads=threads, cache_dir=tmp)
            if spinning:  # rebuild the session with onnxruntime's default busy-wait
                import onnxruntime as ort

                o = ort.SessionOptions()
                o.intra_op_num_threads = threads
                o.log_severity_level = 3
                from vidstyle.export import onnx_model_bytes

                s.session = ort.InferenceSession(onnx_model_bytes(model), o,
                                                 providers=["CPUExecutionProvider"])
            return lambda: s.session.run(None, {s._input: xn})
        return setup

    out = [
        ("torch eager, 1 thread", torch_path(1)),
        (f"torch eager, {cores} threads", torch_path(cores)),
        (f"torch eager, {cores} threads, channels_last", torch_path(cores, channels_last=True)),
    ]
    if compile_:
        out.append((f"torch.compile, {cores} threads", torch_path(cores, compiled=True)))
    out += [
        ("onnxruntime, 1 thread", ort_path(1, False)),
        (f"onnxruntime, {cores} threads (vidstyle: no spin-wait)", ort_path(cores, False)),
        (f"onnxruntime, {cores} threads, default spin-wait", ort_path(cores, True)),
    ]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=["candy", "candy-lite"])
    ap.add_argument("--size", default="640x360")
    ap.add_argument("--reps", type=int, default=8)
    ap.add_argument("--no-compile", action="store_true")
    ap.add_argument("--out", default=str(REPO / "docs"))
    args = ap.parse_args()
    cores = physical_cores()
    w, h = (int(v) for v in args.size.lower().split("x"))
    x = torch.rand(1, 3, h, w, generator=torch.Generator().manual_seed(0))
    results: dict[str, dict[str, str]] = {}
    with tempfile.TemporaryDirectory() as tmp, torch.inference_mode():
        for name in args.models:
            for label, setup in paths(name, x, cores, not args.no_compile, tmp):
                t0 = time.perf_counter()
                try:
                    fn = setup()
                    fn()  # first call: compilation for torch.compile
                    first = time.perf_counter() - t0
                    fps = median_fps(fn, args.reps, warmup=2)
                    cell = f"{fps:.2f}" + (f" (first call {first:.0f} s)" if "compile" in label else "")
                except Exception as e:  # noqa: BLE001 - e.g. no C++ compiler for torch.compile
                    cell = f"failed: {str(e).splitlines()[0][:60]}"
                results.setdefault(label, {})[name] = cell
                print(f"{name:12s} {label:50s} {cell}", flush=True)
    torch.set_num_threads(cores)
    lines = [
        f"Measured by `python benchmarks/cpu_paths.py` at {w}x{h}, batch 1, model-only FPS "
        f"(median of {args.reps} calls), {cores} physical cores.",
        "",
        "| path | " + " | ".join(args.models) + " |",
        "|---|" + "---|" * len(args.models),
    ]
    for label, cells in results.items():
        lines.append(f"| {label} | " + " | ".join(cells.get(m, "") for m in args.models) + " |")
    write_markdown(args.out, "cpu_paths.md", lines)


if __name__ == "__main__":
    main()
