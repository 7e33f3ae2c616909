"""End-to-end FPS of `vidstyle stylize` (decode + model + encode) on the shared clips.

    python benchmarks/stylize_fps.py [--methods reconet per-frame] [--clips N] [--device cpu]

Each run is a separate process running ``vidstyle stylize`` that reports its own
peak RSS (``ru_maxrss``) at exit; FPS = frames / wall time of the
whole command, start-up included. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CLIPS = REPO.parent / "shared" / "data" / "videos"


def run_one(clip: Path, method: str, style: str, device: str, extra: list[str]) -> dict:
    from vidstyle.video import probe

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / f"out{clip.suffix}"
        cmd = [sys.executable, "-c", _CHILD, "stylize", str(clip), "-o", str(out),
               "-s", style, "--method", method, "--device", device, "-q", *extra]
        t0 = time.perf_counter()
        r = subprocess.run(cmd, check=True, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        peak_kb = int(r.stderr.rsplit("PEAK_RSS_KB", 1)[1].split()[0])
        frames = probe(out)["frames"]
    return {"frames": frames, "seconds": wall, "fps": frames / wall, "peak_rss_mb": peak_kb / 1024}


# Runs the CLI and prints the process's own peak RSS to stderr at exit.
_CHILD = (
    "import resource, sys; from vidstyle.cli import main; rc = main(sys.argv[1:]); "
    "print('PEAK_RSS_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr); "
    "sys.exit(rc)"
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--methods", nargs="+", default=["reconet", "per-frame", "huang"])
    ap.add_argument("--style", default="candy")
    ap.add_argument("--clips", type=int, default=5, help="how many of the shared clips")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--extra", nargs=argparse.REMAINDER, default=[],
                    help="extra stylize options, e.g. --extra --backend onnx")
    args = ap.parse_args()
    import torch

    clips = sorted(CLIPS.glob("*.mp4"))[: args.clips]
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPU(s), "
          f"torch {torch.__version__}, device {args.device}, style {args.style}, "
          f"extra {' '.join(args.extra) or '-'}")
    print("| method | clip | frames | seconds | FPS | peak RSS (MB) |")
    print("|---|---|---|---|---|---|")
    for method in args.methods:
        total_f = total_s = 0.0
        for clip in clips:
            r = run_one(clip, method, args.style, args.device, args.extra)
            total_f += r["frames"]
            total_s += r["seconds"]
            print(f"| {method} | {clip.stem} | {r['frames']} | {r['seconds']:.1f} | "
                  f"{r['fps']:.2f} | {r['peak_rss_mb']:.0f} |", flush=True)
        print(f"| {method} | **all** | {total_f:.0f} | {total_s:.1f} | "
              f"**{total_f / total_s:.2f}** | |", flush=True)


if __name__ == "__main__":
    main()
