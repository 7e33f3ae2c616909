"""Small helpers shared by the benchmark scripts (timing and writing their tables)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np


def median_fps(fn: Callable[[], object], reps: int, warmup: int = 1) -> float:
    """Calls per second of ``fn``: the median of ``reps`` timed calls after ``warmup`` untimed ones."""
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return 1.0 / float(np.median(ts))


def write_markdown(out_dir: str | Path, name: str, lines: Sequence[str]) -> str:
    """Write ``lines`` to ``out_dir/name`` (folder created if needed), print and return the text."""
    text = "\n".join(lines) + "\n"
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / name).write_text(text)
    print(text)
    return text
