"""The stylizer: each frame optimised at a working resolution, warm-started from the
warped previous result and tied to it by the temporal term; streaming, or a whole
clip at once in multi-pass; and :func:`stylize_sequence` for a clip in memory."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import torch

from vidstyle._checks import check_image, check_shape
from vidstyle.flow.warp import resize_flow, resize_mask, warp
from vidstyle.image import fit_long_side, resize_images
from vidstyle.losses.vgg import LAYER_NAMES, VGG19
from vidstyle.methods.base import FlowFn, flow_to_previous
from vidstyle.methods.ruder.config import RuderConfig
from vidstyle.methods.ruder.multipass import multi_pass
from vidstyle.methods.ruder.optimize import (
    TemporalReference,
    long_term_masks,
    optimize_image,
    style_targets,
)

# progress(frame_index, iteration, loss): iteration counts loss evaluations from 1.
ProgressFn = Callable[[int, int, float], None]


@dataclass
class Frame:
    """One input frame at full and working resolution (both on the CPU) and its result."""

    full: torch.Tensor  # (1, 3, H, W)
    work: torch.Tensor  # (1, 3, h, w)
    result: torch.Tensor | None = None  # (1, 3, h, w) on the device


class RuderStylizer:
    """Stateful streaming stylizer: optimizes each frame with Ruder's temporal loss.

    Same interface as :class:`~vidstyle.methods.feedforward.FeedForwardStylizer`:
    frames arrive in order in ``(B, 3, H, W)`` batches and are processed one after
    the other; :meth:`reset` between videos. ``frame_times`` records the seconds
    spent on each frame (flow + optimization).

    With ``config.passes > 1`` (multi-pass) the stylizer needs the whole clip before
    its first result: :attr:`whole_clip` is then true and one call takes every frame
    of the clip (:func:`~vidstyle.methods.ruder.multipass.multi_pass`).

    Args:
        style_image: ``(1, 3, H, W)`` in [0, 1].
        config: :class:`RuderConfig`.
        device: where VGG and the optimization run (flow is estimated on the CPU).
        vgg: a loss network built at least up to the deepest layer used; built if None.
        flow_fn: ``flow_fn(cur, prev)`` -> flow cur -> prev, or ``(flow, mask)``, at the
            input resolution (see :mod:`vidstyle.methods.base`); default: DIS with a
            forward-backward mask, estimated at the working resolution. With
            ``long_term`` (and in multi-pass, where ``prev`` may come *after*
            ``cur``) it is asked for non-adjacent pairs too.
        progress: ``progress(frame_index, iteration, loss)`` after every loss evaluation.
    """

    def __init__(
        self,
        style_image: torch.Tensor,
        config: RuderConfig | None = None,
        device: torch.device | str = "cpu",
        *,
        vgg: VGG19 | None = None,
        flow_fn: FlowFn | None = None,
        progress: ProgressFn | None = None,
    ):
        check_shape("RuderStylizer: style_image", style_image, (1, 3, None, None))
        self.config = config or RuderConfig()
        if not isinstance(self.config, RuderConfig):
            raise TypeError(f"config must be a RuderConfig, got {type(self.config).__name__}")
        if flow_fn is not None and not callable(flow_fn):
            raise TypeError(f"flow_fn must be callable, got {type(flow_fn).__name__}")
        self.device = torch.device(device)
        deepest = self.config.deepest_layer
        if vgg is None:
            vgg = VGG19(last_layer=deepest)
        elif LAYER_NAMES.index(vgg.last_layer) < LAYER_NAMES.index(deepest):
            raise ValueError(f"vgg is built up to {vgg.last_layer} but the loss needs {deepest}")
        self.vgg = vgg.to(self.device)
        self.style_image = style_image.detach().to("cpu", torch.float32)
        self.flow_fn = flow_fn
        self.progress = progress
        self.frame_times: list[float] = []
        self.last_terms: dict[str, float] = {}  # weighted loss terms at the last evaluation
        self._grams: dict[str, torch.Tensor] | None = None
        self._grams_size: tuple[int, int] | None = None
        self._history: list[Frame] = []  # the last max(offsets) frames, oldest first
        self._index = 0  # frames stylized since the last reset

    @property
    def whole_clip(self) -> bool:
        """True in multi-pass: :meth:`__call__` then takes the whole clip in one call."""
        return self.config.passes > 1

    def reset(self) -> None:
        """Forget the previous frames (the style targets are kept)."""
        self._history = []
        self._index = 0

    # ----------------------------------------------------------------- building blocks

    def style_grams(self, size: tuple[int, int]) -> dict[str, torch.Tensor]:
        """Gram targets of the style image scaled to ``style_scale`` times the working
        long side ``max(size)``; computed once per working size."""
        if self._grams is None or self._grams_size != size:
            target = round(self.config.style_scale * max(size))
            style_size = fit_long_side(*self.style_image.shape[-2:], target, enlarge=True)
            style = resize_images(self.style_image, style_size)
            self._grams = style_targets(self.vgg, style.to(self.device), self.config.style_layers)
            self._grams_size = size
        return self._grams

    def frame(self, full: torch.Tensor) -> Frame:
        """A :class:`Frame` of ``full`` ``(1, 3, H, W)`` with its working-size copy."""
        full = full.detach().to("cpu", torch.float32).clone()  # never an inference tensor
        size = fit_long_side(full.shape[-2], full.shape[-1], self.config.max_size)
        return Frame(full, resize_images(full, size))

    def flow(self, cur: Frame, other: Frame) -> tuple[torch.Tensor, torch.Tensor]:
        """Flow ``cur -> other`` and ``cur``'s validity mask at the working resolution,
        on the device."""
        if self.flow_fn is None:
            ftp = flow_to_previous(cur.work, other.work, method=self.config.flow_method)
            return ftp.flow.to(self.device), ftp.mask.to(self.device)
        ftp = flow_to_previous(cur.full, other.full, flow_fn=self.flow_fn)
        # Soft: a working pixel is tied to the warped previous result in proportion to
        # the valid part of its footprint. With min-pooling (valid only if the whole
        # footprint is) every pixel touching a motion boundary was left free, and after
        # upscaling those pixels dominated e_stab (docs/timings.md).
        size = tuple(cur.work.shape[-2:])
        flow, mask = resize_flow(ftp.flow, size), resize_mask(ftp.mask, size, soft=True)
        return flow.to(self.device), mask.to(self.device)

    def references(self, cur: Frame, earlier: Sequence[Frame]) -> list[TemporalReference]:
        """Temporal references toward ``earlier`` frames (closest first), with
        long-term masks."""
        flows = [self.flow(cur, e) for e in earlier]
        masks = long_term_masks([m for _, m in flows])
        return [
            TemporalReference(warp(e.result, f), m) for e, (f, _), m in zip(earlier, flows, masks)
        ]

    def random_init(self, like: torch.Tensor, index: int) -> torch.Tensor:
        """Uniform noise shaped like ``like`` for frame ``index``, seeded by the config."""
        g = torch.Generator().manual_seed(self.config.seed * 100003 + index)
        return torch.rand(like.shape, generator=g).to(self.device)

    def optimize(
        self,
        content: torch.Tensor,
        init: torch.Tensor,
        references: Sequence[TemporalReference],
        iterations: int,
        frame_index: int,
    ) -> torch.Tensor:
        """:func:`~vidstyle.methods.ruder.optimize.optimize_image` for one frame at the
        working resolution, with this stylizer's style targets, progress callback and
        :attr:`last_terms`; returns ``(1, 3, h, w)`` in [0, 1] on the device."""
        content = content.to(self.device)
        progress = None
        if self.progress is not None:
            report = self.progress

            def progress(evaluation: int, loss: float) -> None:
                report(frame_index, evaluation, loss)

        result = optimize_image(
            content, self.style_grams(tuple(content.shape[-2:])), init, vgg=self.vgg,
            config=self.config, references=references, iterations=iterations, progress=progress,
        )
        self.last_terms = result.terms
        return result.image

    # ----------------------------------------------------------------- streaming

    def _stylize_one(self, full: torch.Tensor) -> torch.Tensor:
        start = time.perf_counter()
        cfg = self.config
        cur = self.frame(full)
        if self._history and self._history[-1].work.shape != cur.work.shape:
            raise ValueError(
                "RuderStylizer: frame size changed from "
                f"{tuple(self._history[-1].full.shape[-2:])} "
                f"to {tuple(full.shape[-2:])}; call reset() between videos"
            )
        # Earlier frames at the temporal offsets, closest first.
        earlier = [self._history[-k] for k in cfg.offsets if k <= len(self._history)]
        refs = self.references(cur, earlier) if earlier and cfg.temporal_weight > 0 else []
        first = self._index == 0
        if cfg.init == "random":
            init = self.random_init(cur.work, self._index)
        elif cfg.init == "warped" and not first:
            if refs:
                init = refs[0].warped
            else:  # temporal term off: still warm-start from the warped previous result
                flow, _ = self.flow(cur, self._history[-1])
                init = warp(self._history[-1].result, flow)
        else:
            init = cur.work
        iterations = cfg.first_iterations if first else cfg.iterations
        cur.result = self.optimize(cur.work, init, refs, iterations, self._index)
        self._history = (self._history + [cur])[-max(cfg.offsets) :]
        self._index += 1
        out = resize_images(cur.result.cpu(), tuple(full.shape[-2:]))
        self.frame_times.append(time.perf_counter() - start)
        return out

    def _stylize_clip(self, clip: list[torch.Tensor]) -> torch.Tensor:
        if self._index:
            raise ValueError(
                "RuderStylizer: multi-pass stylizes a whole clip in one call; "
                "call reset() before the next clip"
            )
        outs, times = multi_pass(self, clip)
        self._index = len(clip)
        self.frame_times += times
        return torch.cat(outs)

    def __call__(self, frames: torch.Tensor) -> torch.Tensor:
        """Stylize ``(B, 3, H, W)`` float frames in [0, 1], the next ``B`` frames of the
        video (in multi-pass, the whole clip); returns ``(B, 3, H, W)`` float32 on the
        CPU at the input size.

        Works even when called under ``torch.inference_mode``/``no_grad``: the
        optimization re-enables gradients for itself."""
        check_image("stylize: frames", frames)
        with torch.inference_mode(False), torch.enable_grad():
            frames = frames.clone()  # a normal tensor even if the caller's is an inference one
            clip = [frames[i : i + 1] for i in range(frames.shape[0])]
            if self.whole_clip:
                return self._stylize_clip(clip)
            return torch.cat([self._stylize_one(f) for f in clip])


# --------------------------------------------------------------------------- sequences


def _as_frames(frames: torch.Tensor | Iterable[torch.Tensor]) -> list[torch.Tensor]:
    dims: dict[str, int] = {}
    if isinstance(frames, torch.Tensor):
        check_shape("stylize_sequence: frames", frames, (None, 3, "H", "W"), dims)
        out = list(frames.split(1))
    else:
        out = [
            check_shape(f"stylize_sequence: frames[{i}]", f, (1, 3, "H", "W"), dims)
            for i, f in enumerate(frames)
        ]
    if not out:
        raise ValueError("stylize_sequence: no frames given")
    return out


def stylize_sequence(
    frames: torch.Tensor | Iterable[torch.Tensor],
    style: torch.Tensor,
    config: RuderConfig | None = None,
    device: torch.device | str = "cpu",
    *,
    vgg: VGG19 | None = None,
    flow_fn: FlowFn | None = None,
    progress: ProgressFn | None = None,
    frame_times: list[float] | None = None,
) -> list[torch.Tensor]:
    """Stylize a whole clip with Ruder's method, single- or multi-pass.

    Args:
        frames: ``(T, 3, H, W)`` or a sequence of ``(1, 3, H, W)`` frames in [0, 1].
        style: ``(1, 3, H, W)`` style image in [0, 1].
        config: :class:`RuderConfig`; ``passes > 1`` runs the multi-pass algorithm.
        device, vgg, flow_fn, progress: as for :class:`RuderStylizer`.
        frame_times: if given, the seconds spent per frame (summed over passes) are
            appended to it.

    Returns:
        ``T`` tensors ``(1, 3, H, W)`` on the CPU, in frame order.
    """
    cfg = config or RuderConfig()
    clip = _as_frames(frames)
    st = RuderStylizer(style, cfg, device, vgg=vgg, flow_fn=flow_fn, progress=progress)
    if st.whole_clip:
        outs = list(st(torch.cat(clip)).split(1))
    else:
        outs = [st(f) for f in clip]
    if frame_times is not None:
        frame_times += st.frame_times
    return outs
