"""What a run reports as it goes (rank 0 only): ``log.csv`` rows, the progress
bar, the validation style distance and sample pictures."""

from __future__ import annotations

import csv
import math
from collections.abc import Callable
from pathlib import Path

import torch

from vidstyle.atomic import atomic_write
from vidstyle.image import save_image
from vidstyle.losses import STYLE_LAYERS, VGG19
from vidstyle.models.reconet import ReCoNet
from vidstyle.training.config import TrainConfig
from vidstyle.training.step import LOSS_NAMES, Losses

LOG = "log.csv"
LOG_COLUMNS = ("step", "lr", *LOSS_NAMES, "seconds", "val_style")


class RunLog:
    """The reports of one run, written by the main process.

    Args:
        cfg: the run's config (``log_every``, ``val_every``, ``sample_every``).
        out: the run folder (``log.csv``, ``samples/``).
        model: the network being trained (validated and sampled in eval mode).
        losses: the step's losses (their VGG is reused for validation).
        style: ``(1, 3, H, W)`` style image on ``dev``.
        sample_batch: one fixed pair ``{"prev", "cur"}`` of ``(1, 3, h, w)``.
        start: the step the run starts at (a resumed log keeps the rows up to it).
        dev: the run's device.
        elapsed: the run's clock, training seconds so far.
        progress: show a progress bar.
    """

    def __init__(self, cfg: TrainConfig, out: Path, model: ReCoNet, losses: Losses,
                 style: torch.Tensor, sample_batch: dict[str, torch.Tensor], start: int,
                 dev: torch.device, elapsed: Callable[[], float], *, progress: bool):
        self.cfg, self.out, self.model, self.dev = cfg, out, model, dev
        self.sample_batch = sample_batch
        self.start = start
        self.elapsed = elapsed
        self.file, self.writer = _open_log(out / LOG, start)
        self.validator = Validator(cfg, style, sample_batch["cur"], losses, dev) if cfg.val_every else None
        self.val_style = math.nan
        self.bar = None
        if progress:
            from tqdm import tqdm

            # A time-budgeted run does not know its step count: the bar counts steps, the ETA is the budget's.
            self.bar = tqdm(total=None if cfg.minutes else cfg.steps, initial=start, unit="step",
                            dynamic_ncols=True, desc=f"train {cfg.preset}")

    def record(self, step: int, lr: float, terms: dict[str, torch.Tensor], last: bool) -> None:
        """After step ``step``: the step-0 terms line, validation every ``val_every``
        steps, a ``log.csv`` row every ``log_every``, the bar, a sample every
        ``sample_every`` (and all of them at the last step)."""
        cfg = self.cfg
        vals = {k: float(terms[k].detach()) if k in terms else 0.0 for k in LOSS_NAMES}
        if step == self.start + 1 and self.bar is not None:
            self.bar.write("step-0 weighted terms: " + ", ".join(
                f"{k}={v:.4g}" for k, v in vals.items() if k != "total"))
        measured = self.validator is not None and (step % cfg.val_every == 0 or last)
        if measured:
            self.val_style = self.validator(self.model)
        if step % cfg.log_every == 0 or last or measured:
            self.writer.writerow({"step": step, "lr": f"{lr:.3e}", "seconds": f"{self.elapsed():.1f}",
                                  "val_style": f"{self.val_style:.4f}" if measured else "",
                                  **{k: f"{v:.6g}" for k, v in vals.items()}})
            self.file.flush()
        if self.bar is not None:
            post = {k: f"{v:.3g}" for k, v in vals.items() if v}
            if self.validator is not None:
                post["style_d"] = f"{self.val_style:.3f}"
            if cfg.minutes:
                post["left"] = f"{max(0.0, cfg.minutes - self.elapsed() / 60):.1f}min"
            self.bar.set_postfix(post, refresh=False)
            self.bar.update(1)
        if step % cfg.sample_every == 0 or last:
            _write_sample(self.model, self.sample_batch, self.out / "samples" / f"step_{step:06d}.png",
                          self.dev)

    def note(self, line: str) -> None:
        """A line under the progress bar (nothing without one)."""
        if self.bar is not None:
            self.bar.write(line)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        self.file.close()


def _open_log(path: Path, start: int):
    """Open ``log.csv`` for appending rows of :data:`LOG_COLUMNS` from step ``start + 1``.

    A resumed run keeps the rows up to its checkpoint's step and drops later ones
    (written after that checkpoint by the interrupted run), so no step appears twice.
    Older logs keep their own columns.
    """
    columns: list[str] = list(LOG_COLUMNS)
    rows: list[dict] = []
    if start > 0 and path.exists():
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            columns = list(reader.fieldnames or LOG_COLUMNS)
            rows = [r for r in reader if r.get("step", "").isdigit() and int(r["step"]) <= start]
    def write(tmp: str) -> None:  # the kept rows replace the log whole, or not at all
        with open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)

    atomic_write(path, write)
    f = open(path, "a", newline="")
    return f, csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")


class Validator:
    """Style distance (:class:`~vidstyle.eval.metrics.StyleReference`) of the model's output
    on one fixed validation crop: the number the progress line shows every ``val_every`` steps."""

    def __init__(self, cfg: TrainConfig, style: torch.Tensor, image: torch.Tensor, losses: Losses,
                 dev: torch.device):
        from vidstyle.eval.metrics import StyleReference

        vgg = losses.vgg if losses.perceptual else VGG19(last_layer="relu4_3").to(dev)
        self.reference = StyleReference(vgg, style, STYLE_LAYERS)
        self.image = image.to(dev)  # (1, 3, H, W)

    @torch.no_grad()
    def __call__(self, model: ReCoNet) -> float:
        was_training = model.training
        model.eval()
        d = self.reference.distance(model(self.image).float())
        model.train(was_training)
        return d


@torch.no_grad()
def _write_sample(model: ReCoNet, batch: dict[str, torch.Tensor], path: Path, dev: torch.device) -> None:
    """Save ``prev | output(prev) | cur | output(cur)`` side by side."""
    was_training = model.training
    model.eval()
    x = torch.cat([batch["prev"], batch["cur"]]).to(dev)
    y = model(x).float().cpu()
    x = x.float().cpu()
    row = torch.cat([x[0], y[0], x[1], y[1]], dim=-1).unsqueeze(0)
    save_image(row, path)
    model.train(was_training)
