"""The two-frame training loop (reads top to bottom).

One step: a batch of frame pairs ``(prev, cur, flow cur->prev, mask)`` goes through
the network as one batch of ``2B`` images; perceptual losses act on every output,
temporal losses on the pair (ReCoNet eq. 1). Checkpoints hold the model, the
optimizer, the step, RNG states and the config; ``resume`` continues bit for bit
because batch ``k`` is a deterministic function of the seed and ``k``.

Runs as one process, or under ``torchrun --nproc_per_node=N`` with
DistributedDataParallel (NCCL on GPUs, gloo on CPU); only rank 0 writes files.
"""

from __future__ import annotations

import csv
import hashlib
import math
import os
import time
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import replace
from pathlib import Path

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Sampler

from vidstyle.atomic import atomic_write
from vidstyle.data.mixture import build_dataset
from vidstyle.device import resolve_device
from vidstyle.errors import CheckpointError, VidstyleError
from vidstyle.image import load_image, save_image
from vidstyle.losses import (
    CONTENT_LAYERS,
    STYLE_LAYERS,
    VGG19,
    StyleLoss,
    content_loss,
    feature_temporal_loss,
    output_temporal_loss,
    plain_output_temporal_loss,
    tv_loss,
)
from vidstyle.models.checkpoint import (
    load_checkpoint,
    model_from_checkpoint,
    read_checkpoint,
    save_checkpoint,
)
from vidstyle.models.reconet import ReCoNet, ReCoNetConfig
from vidstyle.pretrained import resolve_model
from vidstyle.training.config import TrainConfig

CHECKPOINT = "checkpoint.pt"  # latest training state (resumable)
MODEL = "model.pt"  # final model, no optimizer state
LOG = "log.csv"
LOSS_NAMES = ("total", "content", "style", "tv", "temp_f", "temp_o", "distill")
LOG_COLUMNS = ("step", "lr", *LOSS_NAMES, "seconds", "val_style")


class StepBatches(Sampler[list[int]]):
    """Batch indices for steps ``start..steps-1``: step ``k`` on rank ``r`` of ``W``
    gets items ``((k * W + r) * B) ... + B - 1``. Deterministic, so resuming at step
    ``k`` sees exactly the batches an uninterrupted run would have seen."""

    def __init__(self, start: int, steps: int, batch: int, rank: int = 0, world: int = 1):
        self.start, self.steps, self.batch, self.rank, self.world = start, steps, batch, rank, world

    def __iter__(self) -> Iterator[list[int]]:
        for k in range(self.start, self.steps):
            base = (k * self.world + self.rank) * self.batch
            yield list(range(base, base + self.batch))

    def __len__(self) -> int:
        return max(0, self.steps - self.start)


def _dist_info() -> tuple[int, int, int]:
    """(rank, world size, local rank) from torchrun's environment."""
    return (int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)),
            int(os.environ.get("LOCAL_RANK", 0)))


def _progress(cfg: TrainConfig, step: int, seconds: float) -> float:
    """Fraction of the run done: of the wall-clock budget with ``minutes``, else of the steps."""
    if cfg.minutes > 0:
        return min(1.0, seconds / (60.0 * cfg.minutes))
    return min(1.0, step / max(1, cfg.steps - 1))


def _step_cap(cfg: TrainConfig) -> int:
    """The last step: ``steps``, or unbounded when a time budget ends the run."""
    return 10**12 if cfg.minutes > 0 else cfg.steps


def _lr_at(cfg: TrainConfig, progress: float) -> float:
    """Cosine decay from ``lr`` to ``lr_final`` over the run (``progress`` in [0, 1])."""
    return cfg.lr_final + 0.5 * (cfg.lr - cfg.lr_final) * (1 + math.cos(math.pi * progress))


class Losses(torch.nn.Module):
    """All loss terms of one step; the style target is computed once."""

    def __init__(self, cfg: TrainConfig, style: torch.Tensor):
        super().__init__()
        self.w = cfg.weights
        # VGG-19 is the costliest part of a step: pure distillation runs without it.
        self.perceptual = self.w.content > 0 or self.w.style > 0
        if self.perceptual:
            self.vgg = VGG19(last_layer="relu4_3")
            self.style = StyleLoss(self.vgg, style, STYLE_LAYERS)
        self.teacher = None
        if self.w.distill > 0:
            teacher, _ = load_checkpoint(resolve_model(cfg.teacher), map_location=style.device)
            self.teacher = teacher.float().eval().requires_grad_(False)

    def forward(self, model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        prev, cur, flow, mask = batch["prev"], batch["cur"], batch["flow"], batch["mask"]
        b = prev.shape[0]
        x = torch.cat([prev, cur])  # (2B, 3, H, W): frame t-1 then frame t
        out, feat = model(x, return_features=True)
        w = self.w
        # Means over the 2B outputs; x2 makes it the sum over i in {t-1, t} of eq. 1.
        terms = {"tv": 2 * w.tv * tv_loss(out.float())}
        if self.perceptual:
            with torch.no_grad():
                target = self.vgg(x, CONTENT_LAYERS)
            f_out = self.vgg(out, set(STYLE_LAYERS) | set(CONTENT_LAYERS))
            terms["content"] = 2 * w.content * sum(content_loss(f_out[n], target[n]) for n in CONTENT_LAYERS)
            terms["style"] = 2 * w.style * self.style(f_out)
        if self.teacher is not None:
            with torch.no_grad():
                teacher_out = self.teacher(x.float())
            terms["distill"] = 2 * w.distill * torch.mean((out.float() - teacher_out) ** 2)
        if w.temporal_feature > 0:
            terms["temp_f"] = w.temporal_feature * feature_temporal_loss(feat[b:], feat[:b], flow, mask)
        if w.temporal_output > 0:
            if w.luminance:
                lo = output_temporal_loss(out[b:], out[:b], cur, prev, flow, mask)
            else:
                lo = plain_output_temporal_loss(out[b:], out[:b], flow, mask)
            terms["temp_o"] = w.temporal_output * lo
        terms["total"] = sum(terms.values())
        return terms


def check_inputs(cfg: TrainConfig, out_dir: Path, *, resume: bool, overwrite: bool) -> None:
    """Every check that can fail before training starts, each one clear line."""
    if not cfg.style:
        raise VidstyleError("no style image given (--style IMAGE)")
    load_image(cfg.style)  # raises ImageReadError naming the file
    if cfg.weights.distill > 0:
        if not cfg.teacher:
            raise VidstyleError("a distillation weight needs a teacher model (--teacher MODEL)")
        resolve_model(cfg.teacher)  # raises, naming the missing model
    if cfg.init:
        init_cfg = init_model_config(cfg.init)
        if init_cfg != cfg.model:
            raise VidstyleError(
                f"the init model {cfg.init} is a different network ({_arch(init_cfg)}) from this "
                f"run's ({_arch(cfg.model)}); train with its architecture or start from scratch")
    if cfg.minutes < 0:
        raise VidstyleError(f"the time budget must be positive, got {cfg.minutes} minutes")
    if cfg.val_every < 0 or cfg.snapshot_every < 0:
        raise VidstyleError("val_every and snapshot_every must be >= 0")
    if not cfg.data:
        raise VidstyleError("no training data given (--data photos:DIR, clip:FILE, sintel:ROOT)")
    if cfg.size < 16 or cfg.size % 4:
        raise VidstyleError(f"--size must be a multiple of 4 and at least 16, got {cfg.size}")
    if cfg.steps < 1 or cfg.batch_size < 1:
        raise VidstyleError("--steps and --batch-size must be at least 1")
    parent = out_dir if out_dir.exists() else out_dir.parent
    if out_dir.exists() and not out_dir.is_dir():
        raise VidstyleError(f"output {out_dir} exists and is not a folder")
    if not parent.is_dir():
        raise VidstyleError(f"cannot create output folder {out_dir}: {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise VidstyleError(f"output folder {parent} is not writable")
    if not resume and not overwrite and (out_dir / MODEL).exists():
        raise VidstyleError(f"{out_dir / MODEL} exists; pass --overwrite to replace it or --resume")
    if not resume and not overwrite and (out_dir / CHECKPOINT).exists():
        raise VidstyleError(f"{out_dir / CHECKPOINT} exists; pass --resume to continue it or --overwrite")


def init_model_config(init: str) -> ReCoNetConfig:
    """The architecture of the model ``init`` (bundled style name or ``.pt``) names."""
    return ReCoNetConfig.from_dict(read_checkpoint(resolve_model(init))["model_config"])


def _arch(c: ReCoNetConfig) -> str:
    k = c.outer_kernel
    return f"widths {'/'.join(map(str, c.widths))}, {c.res_blocks} blocks, {k}x{k} outer"


def load_resume_state(cfg: TrainConfig, out_dir: Path) -> tuple[TrainConfig, dict]:
    """Read the training checkpoint of ``out_dir`` and check it belongs to this run."""
    path = out_dir / CHECKPOINT
    if not path.is_file():
        raise CheckpointError(f"--resume: no {CHECKPOINT} in {out_dir}")
    ckpt = read_checkpoint(path)
    ts = ckpt.get("train_state")
    if not ts:
        raise CheckpointError(f"--resume: {path} holds no training state")
    saved = TrainConfig.from_dict(ts["config"])
    if saved.preset != cfg.preset:
        raise CheckpointError(
            f"--resume: {path} was trained with preset {saved.preset!r}, not {cfg.preset!r}"
        )
    # The run continues with the saved config; only the step or time budget may grow.
    return replace(saved, steps=max(cfg.steps, saved.steps), minutes=max(cfg.minutes, saved.minutes)), ckpt


def train(
    cfg: TrainConfig,
    out_dir: str | os.PathLike,
    *,
    device: str = "auto",
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = True,
    meta: dict | None = None,
) -> Path:
    """Train and return the path of the final model (``out_dir/model.pt``)."""
    out = Path(out_dir)
    rank, world, local_rank = _dist_info()
    check_inputs(cfg, out, resume=resume, overwrite=overwrite)
    ckpt = None
    if resume:
        cfg, ckpt = load_resume_state(cfg, out)

    # The data are checked (and clip flow cached) before anything is written.
    dataset = build_dataset(cfg.data, cfg.data_weights, (cfg.size, cfg.size), cfg.seed)

    if world > 1 and not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() and device != "cpu" else "gloo"
        dist.init_process_group(backend)
    dev = resolve_device(device)
    if dev.type == "cuda" and world > 1:
        dev = torch.device("cuda", local_rank)
        torch.cuda.set_device(dev)
    cuda = dev.type == "cuda"
    is_main = rank == 0
    if is_main:
        out.mkdir(exist_ok=True)
        (out / "samples").mkdir(exist_ok=True)

    torch.manual_seed(cfg.seed)
    model = ReCoNet(cfg.model)
    if cfg.init and ckpt is None:  # warm start (a resumed run has its own weights)
        model.load_state_dict(load_checkpoint(resolve_model(cfg.init))[0].state_dict())
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    start = 0
    elapsed0 = 0.0  # training seconds before this process (resumed runs)
    if ckpt is not None:
        model = model_from_checkpoint(ckpt, str(out / CHECKPOINT))
        optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
        optimizer.load_state_dict(ckpt["train_state"]["optimizer"])
        start = int(ckpt["train_state"]["step"])
        elapsed0 = float(ckpt["train_state"].get("seconds", 0.0))
        torch.set_rng_state(ckpt["train_state"]["rng"]["torch"])
    model.to(dev).train()
    fmt = torch.channels_last if cuda and cfg.channels_last else torch.contiguous_format
    model.to(memory_format=fmt)
    # Optimizer state follows the parameters to the device.
    for state in optimizer.state.values():
        for k, v in state.items():
            if isinstance(v, torch.Tensor):
                state[k] = v.to(dev)

    style = load_image(cfg.style, max_size=cfg.style_size).to(dev)
    losses = Losses(cfg, style).to(dev)
    net = DistributedDataParallel(model, device_ids=[dev.index] if cuda else None) if world > 1 else model

    loader = DataLoader(
        dataset,
        batch_sampler=StepBatches(start, _step_cap(cfg), cfg.batch_size, rank, world),
        num_workers=cfg.num_workers,
        pin_memory=cuda,
        persistent_workers=False,
        prefetch_factor=4 if cfg.num_workers > 0 else None,
    )
    use_amp = cuda and cfg.amp
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    if ckpt is not None and use_amp and "scaler" in ckpt["train_state"]:
        scaler.load_state_dict(ckpt["train_state"]["scaler"])
    sample_batch = {k: v.unsqueeze(0) for k, v in dataset[10**8].items()} if is_main else None

    def elapsed() -> float:
        return elapsed0 + time.perf_counter() - t0

    def save(step: int) -> None:
        if not is_main:
            return
        train_state = {
            "seconds": elapsed(),
            "optimizer": optimizer.state_dict(),
            "step": step,
            "rng": {"torch": torch.get_rng_state()},
            "config": cfg.to_dict(),
            "scaler": scaler.state_dict(),
        }
        save_checkpoint(out / CHECKPOINT, model, meta=_meta(cfg, step, meta, elapsed()),
                        train_state=train_state)

    log_file, writer = (_open_log(out / LOG, start) if is_main else (None, None))
    validator = Validator(cfg, style, sample_batch["cur"], losses, dev) if is_main and cfg.val_every else None

    bar = None
    if is_main and progress:
        from tqdm import tqdm

        # A time-budgeted run does not know its step count: the bar counts steps, the ETA is the budget's.
        bar = tqdm(total=None if cfg.minutes else cfg.steps, initial=start, unit="step",
                   dynamic_ncols=True, desc=f"train {cfg.preset}")
    step = start
    t0 = time.perf_counter()
    val_style = float("nan")
    try:
        for batch in loader:
            batch = {k: v.to(dev, non_blocking=True) for k, v in batch.items()}
            if fmt is torch.channels_last:
                batch = {k: v.contiguous(memory_format=fmt) for k, v in batch.items()}
            frac = _shared(_progress(cfg, step, elapsed()), world) if cfg.minutes else _progress(cfg, step, 0)
            lr = _lr_at(cfg, frac)
            for g in optimizer.param_groups:
                g["lr"] = lr
            with torch.autocast("cuda", dtype=torch.float16) if use_amp else nullcontext():
                terms = losses(net, batch)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(terms["total"]).backward()
            scaler.step(optimizer)
            scaler.update()
            step += 1
            last = step >= _step_cap(cfg) or (
                cfg.minutes > 0 and _shared(_progress(cfg, step, elapsed()), world) >= 1.0)
            if is_main:
                vals = {k: float(terms[k].detach()) if k in terms else 0.0 for k in LOSS_NAMES}
                if step == start + 1 and bar is not None:
                    bar.write("step-0 weighted terms: " + ", ".join(
                        f"{k}={v:.4g}" for k, v in vals.items() if k != "total"))
                measured = validator is not None and (step % cfg.val_every == 0 or last)
                if measured:
                    val_style = validator(model)
                if step % cfg.log_every == 0 or last or measured:
                    writer.writerow({"step": step, "lr": f"{lr:.3e}", "seconds": f"{elapsed():.1f}",
                                     "val_style": f"{val_style:.4f}" if measured else "",
                                     **{k: f"{v:.6g}" for k, v in vals.items()}})
                    log_file.flush()
                if bar is not None:
                    post = {k: f"{v:.3g}" for k, v in vals.items() if v}
                    if validator is not None:
                        post["style_d"] = f"{val_style:.3f}"
                    if cfg.minutes:
                        post["left"] = f"{max(0.0, cfg.minutes - elapsed() / 60):.1f}min"
                    bar.set_postfix(post, refresh=False)
                    bar.update(1)
                if step % cfg.sample_every == 0 or last:
                    _write_sample(model, sample_batch, out / "samples" / f"step_{step:06d}.png", dev)
                if step % cfg.checkpoint_every == 0 and not last:
                    save(step)
                if cfg.snapshot_every and step % cfg.snapshot_every == 0:
                    (out / "snapshots").mkdir(exist_ok=True)
                    save_checkpoint(out / "snapshots" / f"step_{step:06d}.pt", model,
                                    meta=_meta(cfg, step, meta, elapsed()), half=True)
            if last:
                break
    except KeyboardInterrupt:
        save(step)  # Ctrl-C: keep the work done so far, then stop
        if bar is not None:
            bar.write(f"interrupted at step {step}; checkpoint saved, continue with --resume")
        raise
    finally:
        if bar is not None:
            bar.close()
        if log_file is not None:
            log_file.close()
    save(step)
    final_meta = _meta(cfg, step, meta, elapsed())
    final_meta["world_size"] = world
    if world > 1:
        # Record every rank's weight digest: DDP must have kept them identical.
        digests: list[str | None] = [None] * world
        dist.all_gather_object(digests, weights_digest(model))
        final_meta["rank_weight_sha256"] = digests
        if len(set(digests)) != 1:
            raise RuntimeError(f"ranks ended with different weights: {digests}")
    if is_main:
        save_checkpoint(out / MODEL, model, meta=final_meta)
    if world > 1:
        dist.barrier()
        dist.destroy_process_group()
    return out / MODEL


def _shared(value: float, world: int) -> float:
    """Rank 0's ``value`` on every rank (time-budgeted runs: all ranks follow rank 0's clock)."""
    if world == 1:
        return value
    t = torch.tensor([value], dtype=torch.float64)
    dist.broadcast(t, 0)
    return float(t)


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


def weights_digest(model: torch.nn.Module) -> str:
    """SHA-256 of the model's state (names and bytes), to compare ranks or runs."""
    h = hashlib.sha256()
    for k, v in sorted(model.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def _meta(cfg: TrainConfig, step: int, extra: dict | None, seconds: float) -> dict:
    m = {
        "train_seconds": round(seconds, 1),
        "method": "reconet" if cfg.preset == "debug" else cfg.preset,
        "preset": cfg.preset,
        "style_image": Path(cfg.style).name,
        "steps": step,
        "size": cfg.size,
        "train_config": cfg.to_dict(),
    }
    m.update(extra or {})
    return m


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
