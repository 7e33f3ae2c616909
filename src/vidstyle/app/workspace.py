"""The app's working folder: one temporary folder per app process, one subfolder per run.

Everything the page uploads or produces lives under :attr:`Workspace.root`
(Gradio's upload cache included, see :mod:`vidstyle.app.page`): a run's input
copy, its result, preview frames and plots go to ``run-NNNN/``. Only the newest
``keep_runs`` run folders are kept (older results have been downloaded or
abandoned), and the whole folder is removed when the app stops.
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
import threading
from pathlib import Path

RUN_PREFIX = "run-"


class Workspace:
    """A private temporary folder (``vidstyle-app-XXXX``) with numbered run folders.

    Args:
        parent: where to create it (default: the system's temporary folder).
        keep_runs: how many run folders to keep; creating one more deletes the oldest.
    """

    def __init__(self, parent: str | Path | None = None, *, keep_runs: int = 6) -> None:
        if keep_runs < 1:
            raise ValueError(f"keep_runs must be at least 1, got {keep_runs}")
        self.root = Path(tempfile.mkdtemp(prefix="vidstyle-app-", dir=parent))
        self.keep_runs = keep_runs
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()

    def subfolder(self, name: str) -> Path:
        """A fixed subfolder (``gradio``, ``cache``, ``thumbnails``), created on demand."""
        d = self.root / name
        d.mkdir(exist_ok=True)
        return d

    def new_run(self) -> Path:
        """A new, empty ``run-NNNN`` folder; the oldest beyond ``keep_runs`` are removed."""
        with self._lock:
            run = self.root / f"{RUN_PREFIX}{next(self._numbers):04d}"
            run.mkdir()
            runs = sorted(p for p in self.root.iterdir() if p.name.startswith(RUN_PREFIX))
            for old in runs[: -self.keep_runs]:
                shutil.rmtree(old, ignore_errors=True)
        return run

    def close(self) -> None:
        """Remove the whole folder (idempotent)."""
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
