"""One training step: the loss terms of ReCoNet eq. 1 on a batch of frame pairs,
the learning-rate schedule, and the optimizer update."""

from __future__ import annotations

import math
from contextlib import nullcontext

import torch
import torch.distributed as dist

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
    weight_near_occlusions,
)
from vidstyle.models.checkpoint import load_checkpoint
from vidstyle.pretrained import resolve_model
from vidstyle.training.config import TrainConfig

LOSS_NAMES = ("total", "content", "style", "tv", "temp_f", "temp_o", "distill")


def run_fraction(cfg: TrainConfig, step: int, seconds: float) -> float:
    """Fraction of the run done: of the wall-clock budget with ``minutes``, else of the steps."""
    if cfg.minutes > 0:
        return min(1.0, seconds / (60.0 * cfg.minutes))
    return min(1.0, step / max(1, cfg.steps - 1))


def step_cap(cfg: TrainConfig) -> int:
    """The last step: ``steps``, or unbounded when a time budget ends the run."""
    return 10**12 if cfg.minutes > 0 else cfg.steps


def lr_at(cfg: TrainConfig, progress: float) -> float:
    """Cosine decay from ``lr`` to ``lr_final`` over the run (``progress`` in [0, 1])."""
    return cfg.lr_final + 0.5 * (cfg.lr - cfg.lr_final) * (1 + math.cos(math.pi * progress))


def shared(value: float, world: int) -> float:
    """Rank 0's ``value`` on every rank (time-budgeted runs: all ranks follow rank 0's clock)."""
    if world == 1:
        return value
    t = torch.tensor([value], dtype=torch.float64)
    dist.broadcast(t, 0)
    return float(t)


class Losses(torch.nn.Module):
    """All loss terms of one step; the style target is computed once."""

    def __init__(self, cfg: TrainConfig, style: torch.Tensor):
        super().__init__()
        self.w = cfg.weights
        # VGG-19 is the costliest part of a step: pure distillation runs without it.
        self.perceptual = self.w.content > 0 or self.w.style > 0
        if self.perceptual:
            self.vgg = VGG19(last_layer="relu4_3")
            self.style = StyleLoss(self.vgg, style, STYLE_LAYERS, self.w.style_layers)
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
        if w.temporal_feature > 0 or w.temporal_output > 0:
            mask = weight_near_occlusions(mask, w.occlusion)
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


def train_step(
    net: torch.nn.Module,
    losses: Losses,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler,
    batch: dict[str, torch.Tensor],
    lr: float,
    *,
    use_amp: bool,
) -> dict[str, torch.Tensor]:
    """One optimizer update at learning rate ``lr`` on ``batch`` (already on the
    device); returns the loss terms (:data:`LOSS_NAMES`, those that apply)."""
    for g in optimizer.param_groups:
        g["lr"] = lr
    with torch.autocast("cuda", dtype=torch.float16) if use_amp else nullcontext():
        terms = losses(net, batch)
    optimizer.zero_grad(set_to_none=True)
    scaler.scale(terms["total"]).backward()
    scaler.step(optimizer)
    scaler.update()
    return terms
