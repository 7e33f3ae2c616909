"""Everything a training run needs before its first step: the checks, the resumed
state, the process group and device, the model, optimizer, losses and data."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset, Sampler

from vidstyle.data.mixture import build_dataset
from vidstyle.data.synthetic import MotionConfig
from vidstyle.device import resolve_device
from vidstyle.errors import CheckpointError, VidstyleError
from vidstyle.image import load_image
from vidstyle.models.checkpoint import load_checkpoint, model_from_checkpoint, read_checkpoint
from vidstyle.models.reconet import ReCoNet, ReCoNetConfig, retarget_output
from vidstyle.pretrained import resolve_model
from vidstyle.training.config import TrainConfig
from vidstyle.training.step import Losses, step_cap

CHECKPOINT = "checkpoint.pt"  # latest training state (resumable)
MODEL = "model.pt"  # final model, no optimizer state


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
        if not can_grow(init_cfg, cfg.model):
            raise VidstyleError(
                f"the init model {cfg.init} is a different network ({_arch(init_cfg)}) from this "
                f"run's ({_arch(cfg.model)}); train with its architecture (more residual blocks "
                "may be added) or start from scratch")
    if cfg.fit not in FITS:
        raise VidstyleError(f"unknown --fit {cfg.fit!r}; choose from {', '.join(FITS)}")
    if cfg.fit == "norm" and not cfg.init:
        raise VidstyleError("--fit norm trains only the normalisation of a trained network: "
                            "give it one with --init MODEL")
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


def can_grow(init: ReCoNetConfig, target: ReCoNetConfig) -> bool:
    """Whether a model of ``init``'s architecture can start a run of ``target``'s: the same
    network, or the same with more residual blocks, either with another output activation
    or contrast setting (see :func:`load_grown`)."""
    init = replace(init, output=target.output, contrast=target.contrast, pivot=target.pivot)
    return init == target or (replace(init, res_blocks=target.res_blocks) == target
                              and target.res_blocks > init.res_blocks)


def load_grown(model: ReCoNet, init: ReCoNet) -> None:
    """Load ``init``'s weights into ``model``, which may have more residual blocks.

    The blocks ``init`` lacks follow its own ones in the encoder and start as the
    identity (the affine scale and shift of their last instance norm are zero), so the
    grown network computes exactly what ``init`` does until training moves it. Where
    ``model`` has another output activation, its last convolution is rescaled to give
    ``init``'s picture (:func:`~vidstyle.models.reconet.retarget_output`).
    """
    first_new = len(init.encoder)  # the encoder ends with the residual blocks
    new_blocks = list(model.encoder)[first_new:]
    new_keys = tuple(f"encoder.{first_new + i}." for i in range(len(new_blocks)))
    missing, unexpected = model.load_state_dict(init.state_dict(), strict=False)
    if unexpected or any(not k.startswith(new_keys) for k in missing):
        raise CheckpointError(f"cannot grow the init model: unexpected {unexpected}, missing {missing}")
    with torch.no_grad():
        for block in new_blocks:
            last_norm = [m for m in block.body.modules() if isinstance(m, torch.nn.InstanceNorm2d)][-1]
            last_norm.weight.zero_()
            last_norm.bias.zero_()
    if init.config.output != model.config.output:
        retarget_output(model.output_conv, init.config.output, model.config.output)


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


@dataclass
class Run:
    """A training run ready for its first step (see :func:`setup_run`)."""

    cfg: TrainConfig  # the resumed run's own config when resuming
    out: Path
    dev: torch.device
    rank: int
    world: int
    model: ReCoNet  # the weights (what checkpoints hold)
    net: torch.nn.Module  # what the step runs: the model, or DDP around it
    optimizer: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    losses: Losses
    style: torch.Tensor  # (1, 3, H, W) on the device
    dataset: Dataset
    loader: DataLoader
    start: int  # the step this process starts at
    elapsed0: float  # training seconds before this process (resumed runs)
    memory_format: torch.memory_format
    use_amp: bool

    @property
    def is_main(self) -> bool:
        """Rank 0: the process that writes files."""
        return self.rank == 0


FITS = ("all", "norm")


def trainable(model: torch.nn.Module, fit: str) -> list[torch.nn.Parameter]:
    """The parameters a run trains: all of them, or (``fit="norm"``) only the scales and
    shifts of the instance norms; the others are frozen (no gradient is computed for them)."""
    norm = {id(p) for m in model.modules() if isinstance(m, torch.nn.InstanceNorm2d)
            for p in m.parameters(recurse=False)}
    for p in model.parameters():
        p.requires_grad_(fit == "all" or id(p) in norm)
    return [p for p in model.parameters() if p.requires_grad]


def setup_run(cfg: TrainConfig, out: Path, *, device: str, resume: bool, overwrite: bool) -> Run:
    """Check the inputs, read the resumed state, start the process group and build
    the run on its device. Nothing is written before the data have been checked."""
    rank, world, local_rank = _dist_info()
    check_inputs(cfg, out, resume=resume, overwrite=overwrite)
    ckpt = None
    if resume:
        cfg, ckpt = load_resume_state(cfg, out)

    # The data are checked (and clip flow cached) before anything is written.
    motion = MotionConfig(blur=cfg.frame_blur, motion_blur=cfg.frame_motion_blur,
                          shading=cfg.frame_shading, jitter=cfg.frame_jitter,
                          deform=cfg.frame_deform)
    motion = motion.moving(cfg.frame_motion, cfg.frame_layers)
    dataset = build_dataset(cfg.data, cfg.data_weights, (cfg.size, cfg.size), cfg.seed, motion)

    if world > 1 and not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() and device != "cpu" else "gloo"
        dist.init_process_group(backend)
    dev = resolve_device(device)
    if dev.type == "cuda" and world > 1:
        dev = torch.device("cuda", local_rank)
        torch.cuda.set_device(dev)
    cuda = dev.type == "cuda"
    if rank == 0:
        out.mkdir(exist_ok=True)
        (out / "samples").mkdir(exist_ok=True)

    torch.manual_seed(cfg.seed)
    model = ReCoNet(cfg.model)
    if cfg.init and ckpt is None:  # warm start (a resumed run has its own weights)
        load_grown(model, load_checkpoint(resolve_model(cfg.init))[0])
    optimizer = torch.optim.Adam(trainable(model, cfg.fit), lr=cfg.lr)
    start = 0
    elapsed0 = 0.0
    if ckpt is not None:
        model = model_from_checkpoint(ckpt, str(out / CHECKPOINT))
        optimizer = torch.optim.Adam(trainable(model, cfg.fit), lr=cfg.lr)
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
        batch_sampler=StepBatches(start, step_cap(cfg), cfg.batch_size, rank, world),
        num_workers=cfg.num_workers,
        pin_memory=cuda,
        persistent_workers=False,
        prefetch_factor=4 if cfg.num_workers > 0 else None,
    )
    use_amp = cuda and cfg.amp
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    if ckpt is not None and use_amp and "scaler" in ckpt["train_state"]:
        scaler.load_state_dict(ckpt["train_state"]["scaler"])
    return Run(cfg, out, dev, rank, world, model, net, optimizer, scaler, losses, style, dataset,
               loader, start, elapsed0, fmt, use_amp)
