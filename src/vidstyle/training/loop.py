"""The two-frame training loop (reads top to bottom).

One step: a batch of frame pairs ``(prev, cur, flow cur->prev, mask)`` goes through
the network as one batch of ``2B`` images; perceptual losses act on every output,
temporal losses on the pair (ReCoNet eq. 1). Checkpoints hold the model, the
optimizer, the step, RNG states and the config; ``resume`` continues bit for bit
because batch ``k`` is a deterministic function of the seed and ``k``.

Runs as one process, or under ``torchrun --nproc_per_node=N`` with
DistributedDataParallel (NCCL on GPUs, gloo on CPU); only rank 0 writes files.

The parts: :mod:`~vidstyle.training.setup` (checks, resume, device, model, data),
:mod:`~vidstyle.training.step` (losses, schedule, one update),
:mod:`~vidstyle.training.runlog` (``log.csv``, progress, validation, samples).
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import torch
import torch.distributed as dist

from vidstyle.models.checkpoint import save_checkpoint
from vidstyle.training.config import TrainConfig
from vidstyle.training.runlog import LOG, LOG_COLUMNS, RunLog, Validator
from vidstyle.training.setup import (
    CHECKPOINT,
    MODEL,
    Run,
    StepBatches,
    check_inputs,
    init_model_config,
    load_resume_state,
    resolve_device,
    setup_run,
)
from vidstyle.training.step import LOSS_NAMES, Losses, lr_at, run_fraction, shared, step_cap, train_step


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
    run = setup_run(cfg, Path(out_dir), device=device, resume=resume, overwrite=overwrite)
    cfg, out, model = run.cfg, run.out, run.model
    sample_batch = {k: v.unsqueeze(0) for k, v in run.dataset[10**8].items()} if run.is_main else None

    def elapsed() -> float:
        return run.elapsed0 + time.perf_counter() - t0

    def save(step: int) -> None:
        if run.is_main:
            seconds = elapsed()
            _save_state(run, step, seconds, _meta(cfg, step, meta, elapsed()))

    log = (RunLog(cfg, out, model, run.losses, run.style, sample_batch, run.start, run.dev, elapsed,
                  progress=progress) if run.is_main else None)
    step = run.start
    t0 = time.perf_counter()
    try:
        for batch in run.loader:
            batch = {k: v.to(run.dev, non_blocking=True) for k, v in batch.items()}
            if run.memory_format is torch.channels_last:
                batch = {k: v.contiguous(memory_format=run.memory_format) for k, v in batch.items()}
            frac = (shared(run_fraction(cfg, step, elapsed()), run.world) if cfg.minutes
                    else run_fraction(cfg, step, 0))
            lr = lr_at(cfg, frac)
            terms = train_step(run.net, run.losses, run.optimizer, run.scaler, batch, lr,
                               use_amp=run.use_amp)
            step += 1
            last = step >= step_cap(cfg) or (
                cfg.minutes > 0 and shared(run_fraction(cfg, step, elapsed()), run.world) >= 1.0)
            if log is not None:
                log.record(step, lr, terms, last)
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
        if log is not None:
            log.note(f"interrupted at step {step}; checkpoint saved, continue with --resume")
        raise
    finally:
        if log is not None:
            log.close()
    save(step)
    return _finish(run, step, _meta(cfg, step, meta, elapsed()))


def _save_state(run: Run, step: int, seconds: float, meta: dict) -> None:
    """The resumable training state (``checkpoint.pt``)."""
    train_state = {
        "seconds": seconds,
        "optimizer": run.optimizer.state_dict(),
        "step": step,
        "rng": {"torch": torch.get_rng_state()},
        "config": run.cfg.to_dict(),
        "scaler": run.scaler.state_dict(),
    }
    save_checkpoint(run.out / CHECKPOINT, run.model, meta=meta, train_state=train_state)


def _finish(run: Run, step: int, final_meta: dict) -> Path:
    """Write the final model (rank 0) after checking that every rank holds the same
    weights; end the process group."""
    final_meta["world_size"] = run.world
    if run.world > 1:
        # Record every rank's weight digest: DDP must have kept them identical.
        digests: list[str | None] = [None] * run.world
        dist.all_gather_object(digests, weights_digest(run.model))
        final_meta["rank_weight_sha256"] = digests
        if len(set(digests)) != 1:
            raise RuntimeError(f"ranks ended with different weights: {digests}")
    if run.is_main:
        save_checkpoint(run.out / MODEL, run.model, meta=final_meta)
    if run.world > 1:
        dist.barrier()
        dist.destroy_process_group()
    return run.out / MODEL


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


__all__ = [
    "CHECKPOINT",
    "LOG",
    "LOG_COLUMNS",
    "LOSS_NAMES",
    "MODEL",
    "Losses",
    "StepBatches",
    "Validator",
    "check_inputs",
    "init_model_config",
    "load_resume_state",
    "resolve_device",
    "train",
    "weights_digest",
]
