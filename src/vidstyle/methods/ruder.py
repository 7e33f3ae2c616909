"""Optimization-based video style transfer after Ruder, Dosovitskiy & Brox,
"Artistic style transfer for videos" (GCPR 2016) and "Artistic style transfer for
videos and spherical images" (IJCV 2018).

Each frame ``x`` is found by minimising, over its pixels, Gatys et al.'s image
objective plus a temporal term::

    L(x) = a L_content(x, I_t) + b L_style(x, S) + g L_tv(x) + c L_temporal(x)

* ``L_content``: mean squared VGG-19 ``relu4_2`` feature difference to the frame;
* ``L_style``: Gram-matrix differences at ``relu1_1 .. relu5_1`` (Gatys et al.),
  Grams normalised by ``C*H*W`` (:func:`~vidstyle.losses.perceptual.gram_matrix`),
  the style's Grams computed once;
* ``L_tv``: total variation (:func:`~vidstyle.losses.perceptual.tv_loss`);
* ``L_temporal`` (short-term): ``(1/D) sum_p c(p) (x(p) - w(x_{t-1})(p))^2``
  with ``w(x_{t-1})`` the previous *result* warped onto frame ``t`` with the flow
  ``t -> t-1`` of the input frames and ``c`` the validity mask (forward-backward
  consistency, motion boundaries, out of frame; or ground truth), ``D = 3 H W``.
  See :func:`masked_temporal_loss`.
* Long-term, with ``long_term = J`` (e.g. ``(1, 2, 4)``): one such term
  per earlier frame ``t - j``, with masks ``c_long_j = max(c_j - sum_{k in J, k <
  j} c_k, 0)`` so that every pixel is tied to the *closest* earlier frame in which
  it is visible (:func:`long_term_masks`).

Frame 0 starts from the content frame (or noise); later frames from the warped
previous result (Ruder et al.'s initialisation from the warped previous frame),
which is both the key to consistency and a warm start: a frame needs far fewer
iterations than the first.

Multi-pass (Ruder et al. 2018, Sec. 3.3), as we read it, in :func:`stylize_sequence`:
pass 1 stylizes every frame independently; then passes alternate direction
(forward, backward, ...). In a pass, frame ``i`` is initialised with
``x' = d c w(x_n) + (1 - d c) x_i`` (``x_n`` the neighbour already processed in
this pass, ``x_i`` the frame's result from the previous pass, ``d`` =
``pass_blend``) and optimised for ``iterations`` steps with the temporal term
toward the neighbour(s) in the pass direction.

Simplifications versus the papers (see also :class:`RuderConfig`):

* Flow is OpenCV DIS (or a user ``flow_fn``, e.g. ground truth) instead of
  DeepFlow/EpicFlow; the masks come from our forward-backward test with the
  papers' thresholds (:func:`~vidstyle.flow.occlusion.occlusion_mask`). Long-term
  flows between non-adjacent frames are estimated directly, as in the paper.
* The default resolution and iteration budgets are far below the papers' (they
  optimised at full resolution for many hundreds of L-BFGS iterations per frame
  on a GPU): we work at ``max_size`` on the long side, warm-start every frame
  and upscale the result (bicubic) at the end, so fine style detail is coarser.
* Content/style/TV/temporal weights are recalibrated for our loss normalisation
  (pixels in [0, 1], Grams divided by ``C*H*W``), not the papers' values.
* A mask given at the input resolution (ground truth, or a user ``flow_fn``) is
  brought to the working resolution by area averaging, so that a working pixel
  whose footprint is partly occluded keeps a partial temporal weight. With
  min-pooling (valid only if the whole footprint is) every pixel touching a motion
  boundary was left free, and after upscaling those pixels dominated e_stab: on the
  shared Sintel pairs at 512x218 with a 192-pixel working size, a result equal to
  the exactly warped previous one wherever the mask allows scores e_stab 0.043 with
  min-pooled masks and 0.023 with area-averaged ones.
* Multi-pass: every pass, the first included, gives each frame the same budget
  (``iterations``); the long-term term, when set, looks back along the pass
  direction; no convergence test ends the passes early.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from vidstyle._checks import check_image, check_shape
from vidstyle.flow.estimate import estimate_flow
from vidstyle.flow.occlusion import occlusion_mask
from vidstyle.flow.warp import resize_flow, resize_mask, warp
from vidstyle.losses.perceptual import content_loss, gram_matrix, style_loss, tv_loss
from vidstyle.losses.vgg import LAYER_NAMES, VGG19
from vidstyle.methods.base import FlowFn, call_flow_fn, check_flow_method

OPTIMIZERS = ("lbfgs", "adam")
INITS = ("warped", "content", "random")
GATYS_STYLE_LAYERS: tuple[str, ...] = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")

# progress(frame_index, iteration, loss): iteration counts loss evaluations from 1.
ProgressFn = Callable[[int, int, float], None]


@dataclass(frozen=True)
class RuderConfig:
    """Settings of the optimization, with documented defaults.

    Term scales that set the default weights (kodim23 photo at 128x128, candy
    style, Caffe-scale VGG-19, x = content at the start):

    * start of frame 0: content 0, style ~8e6 raw (80 weighted), TV ~0.05;
    * after 100 L-BFGS evaluations: content ~6.4e5 raw (6.4 weighted), style
      ~2.3e5 raw (2.3 weighted), TV ~0.15: a clearly candy-styled image that
      still shows the parrots (content and style at 1:1 in these units; a 3:1
      content:style ratio keeps visibly more photo detail);
    * later frames (3 px pan, 30 evaluations from the warped previous result):
      temporal ~4e-4 raw (0.4 weighted, an RMS deviation of ~0.02 from the warped
      previous result over the valid pixels) while content+style stay within ~15%
      of frame 0's. On a 96x128 photo pair panned by 4 px (exact flow, 30
      evaluations) a temporal weight of 1000 cut the stability error ~9x
      against temporal weight 0 with the same warm start, 100 only ~1.6x.
      On the 13 shared Sintel pairs at 512x218 (ground-truth flow, 192-pixel
      working size, 60/30 evaluations): temporal weight 1000 gave e_stab 0.0342,
      3000 gave 0.0293, at the same style distance (0.631 and 0.632), hence 3000
      (``vidstyle evaluate --methods ruder --max-size 512 --ruder-iters 30
      --ruder-size 192 --ruder-temporal 1000`` resp. ``3000``).

    "Iterations" count loss evaluations (VGG forward + backward), the unit of
    cost: with ``line_search`` off, one L-BFGS step is one evaluation. Measured
    at 128x128 over 60 evaluations from the content image (total loss after
    10/30/60): L-BFGS 15.2/9.9/9.06, L-BFGS with strong-Wolfe line search
    17.5/10.1/9.03, Adam lr 0.05 18.8/11.9/9.88, Adam lr 0.02 18.8/12.0/10.25;
    hence L-BFGS without line search by default.

    Time per frame with the defaults on the shared 2-core development machine
    (load ~3.5 from other jobs, ``torch.set_num_threads(1)``, which was 3-6x
    faster than 2 threads under that load): 128x128, ~0.28 s per evaluation,
    first frame ~30 s, later frames ~9 s; 256x256, ~1.1 s per evaluation, first
    frame ~115 s, later frames ~34 s (DIS flow included).
    """

    content_weight: float = 1e-5  # a: relu4_2 feature MSE (Caffe scale)
    style_weight: float = 1e-5  # b: sum over style layers of mean squared Gram difference
    tv_weight: float = 1.0  # g: mean absolute neighbour difference, pixels in [0, 1]
    temporal_weight: float = 3000.0  # c: (1/D) sum c (x - warp(prev))^2, pixels in [0, 1]
    iterations: int = 30  # loss evaluations per frame after the first (warm start)
    first_iterations: int = 100  # loss evaluations for the first frame
    optimizer: str = "lbfgs"  # "lbfgs" (torch.optim.LBFGS) or "adam"
    # Adam step on [0, 1] pixels (L-BFGS uses lr 1). 0.05 converges faster on a first
    # frame, but Adam's first steps move every pixel by ~lr, which a warm start should not.
    lr: float = 0.02
    line_search: bool = False  # L-BFGS strong-Wolfe line search (more evaluations per step)
    history_size: int = 20  # L-BFGS memory
    content_layer: str = "relu4_2"  # Gatys et al.
    style_layers: tuple[str, ...] = GATYS_STYLE_LAYERS
    style_scale: float = 1.0  # style image long side = style_scale * working long side
    max_size: int | None = 256  # working long side in pixels (None = input size)
    init: str = "warped"  # frames after the first: "warped" previous result, "content", "random"
    long_term: tuple[int, ...] = ()  # frame offsets J for the long-term loss, e.g. (1, 2, 4)
    passes: int = 1  # multi-pass count in stylize_sequence (0 or 1 = single forward pass)
    pass_blend: float = 0.5  # d: weight of the warped neighbour in multi-pass initialisation
    flow_method: str = "dis"  # estimator when no flow_fn is given
    seed: int = 0  # random initialisation

    def __post_init__(self) -> None:
        for name in ("content_weight", "style_weight", "tv_weight", "temporal_weight"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                raise ValueError(f"RuderConfig: {name} must be a finite number >= 0, got {v!r}")
        for name in ("iterations", "first_iterations", "history_size"):
            v = getattr(self, name)
            if not (isinstance(v, int) and v >= 1):
                raise ValueError(f"RuderConfig: {name} must be an int >= 1, got {v!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(
                f"RuderConfig: unknown optimizer {self.optimizer!r}; known: {', '.join(OPTIMIZERS)}"
            )
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"RuderConfig: lr must be > 0, got {self.lr!r}")
        if self.init not in INITS:
            raise ValueError(f"RuderConfig: unknown init {self.init!r}; known: {', '.join(INITS)}")
        object.__setattr__(self, "style_layers", tuple(self.style_layers))
        for layer in (self.content_layer, *self.style_layers):
            if layer not in LAYER_NAMES:
                raise ValueError(f"RuderConfig: unknown VGG layer {layer!r}")
        if not self.style_layers:
            raise ValueError("RuderConfig: style_layers is empty")
        if not (math.isfinite(self.style_scale) and self.style_scale > 0):
            raise ValueError(f"RuderConfig: style_scale must be > 0, got {self.style_scale!r}")
        ms = self.max_size
        if ms is not None and not (isinstance(ms, int) and ms >= 16):
            raise ValueError(f"RuderConfig: max_size must be None or an int >= 16, got {ms!r}")
        lt = tuple(self.long_term)
        if any(not isinstance(j, int) or j < 1 for j in lt) or len(set(lt)) != len(lt):
            raise ValueError(
                f"RuderConfig: long_term must be distinct frame offsets >= 1, got {lt!r}"
            )
        object.__setattr__(self, "long_term", lt)
        if not (isinstance(self.passes, int) and self.passes >= 0):
            raise ValueError(f"RuderConfig: passes must be an int >= 0, got {self.passes!r}")
        if not 0.0 <= self.pass_blend <= 1.0:
            raise ValueError(f"RuderConfig: pass_blend must be in [0, 1], got {self.pass_blend!r}")
        check_flow_method(self.flow_method)

    @property
    def offsets(self) -> tuple[int, ...]:
        """Earlier-frame offsets the temporal loss looks at: ``(1,)`` (short-term) or
        the sorted ``long_term`` set, which always includes 1."""
        return tuple(sorted({1, *self.long_term}))


# --------------------------------------------------------------------------- pure functions


def masked_temporal_loss(x: torch.Tensor, warped: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Ruder's temporal loss ``(1/D) sum_p c(p) * ||x(p) - warped(p)||^2``.

    ``D`` is the number of elements of ``x`` (``B*3*H*W``), as in the paper; pixels
    with ``c = 0`` (occluded, out of frame) contribute nothing, not even gradient.

    Args:
        x: ``(B, C, H, W)`` the image being optimised.
        warped: ``(B, C, H, W)`` the earlier result warped onto ``x``'s frame.
        mask: ``(B, 1, H, W)`` weights ``c`` in [0, 1].
    """
    dims: dict[str, int] = {}
    check_shape("masked_temporal_loss: x", x, ("B", "C", "H", "W"), dims)
    check_shape("masked_temporal_loss: warped", warped, ("B", "C", "H", "W"), dims)
    check_shape("masked_temporal_loss: mask", mask, ("B", 1, "H", "W"), dims)
    return (mask * (x - warped).pow(2)).sum() / x.numel()


def long_term_masks(masks: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """Ruder's long-term weights: ``c_long_j = max(c_j - sum_{k < j} c_k, 0)``.

    Args:
        masks: validity masks ``c_j`` ``(B, 1, H, W)`` of the current frame with
            respect to earlier frames, ordered from the closest to the farthest.

    Returns:
        One mask per input; each pixel keeps weight only toward the closest earlier
        frame in which it is valid.
    """
    out: list[torch.Tensor] = []
    seen: torch.Tensor | None = None
    for c in masks:
        out.append(c if seen is None else (c - seen).clamp(min=0))
        seen = c if seen is None else seen + c
    return out


def working_size(h: int, w: int, max_size: int | None) -> tuple[int, int]:
    """``(h, w)`` scaled down (never up) so that the long side is at most ``max_size``."""
    if max_size is None or max(h, w) <= max_size:
        return h, w
    s = max_size / max(h, w)
    return max(1, round(h * s)), max(1, round(w * s))


def _resize_image(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    if size[0] <= x.shape[-2] and size[1] <= x.shape[-1]:
        return F.interpolate(x, size=size, mode="bilinear", antialias=True, align_corners=False)
    return F.interpolate(x, size=size, mode="bicubic", align_corners=False).clamp(0, 1)


# --------------------------------------------------------------------------- stylizer


@dataclass
class _Reference:
    """An earlier result warped onto the current frame, and the weight of each pixel."""

    warped: torch.Tensor  # (1, 3, h, w)
    mask: torch.Tensor  # (1, 1, h, w)


@dataclass
class _Frame:
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
        layers = (self.config.content_layer, *self.config.style_layers)
        deepest = max(layers, key=LAYER_NAMES.index)
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
        self._history: list[_Frame] = []  # the last max(offsets) frames, oldest first
        self._index = 0  # frames stylized since the last reset

    def reset(self) -> None:
        """Forget the previous frames (the style targets are kept)."""
        self._history = []
        self._index = 0

    # ----------------------------------------------------------------- building blocks

    def _style_grams(self, size: tuple[int, int]) -> dict[str, torch.Tensor]:
        """Gram targets of the style image scaled to ``style_scale`` times the working
        long side; computed once per working size."""
        if self._grams is None or self._grams_size != size:
            _, _, sh, sw = self.style_image.shape
            target = round(self.config.style_scale * max(size))
            s = target / max(sh, sw)
            style = _resize_image(self.style_image, (max(1, round(sh * s)), max(1, round(sw * s))))
            with torch.no_grad():
                feats = self.vgg(style.to(self.device), self.config.style_layers)
            self._grams = {n: gram_matrix(feats[n]) for n in self.config.style_layers}
            self._grams_size = size
        return self._grams

    def _make_frame(self, full: torch.Tensor) -> _Frame:
        full = full.detach().to("cpu", torch.float32).clone()  # never an inference tensor
        size = working_size(full.shape[-2], full.shape[-1], self.config.max_size)
        return _Frame(full, _resize_image(full, size))

    def _flow(self, cur: _Frame, other: _Frame) -> tuple[torch.Tensor, torch.Tensor]:
        """Flow ``cur -> other`` and ``cur``'s validity mask at the working resolution,
        on the device."""
        size = tuple(cur.work.shape[-2:])
        if self.flow_fn is None:
            fw = estimate_flow(cur.work, other.work, self.config.flow_method)
            bw = estimate_flow(other.work, cur.work, self.config.flow_method)
            mask = occlusion_mask(fw, bw)
        else:
            fw, mask = call_flow_fn(self.flow_fn, cur.full, other.full)
            if mask is None:
                bw, _ = call_flow_fn(self.flow_fn, other.full, cur.full)
                mask = occlusion_mask(fw, bw)
            # Soft: a working pixel is tied to the warped previous result in proportion
            # to the valid part of its footprint (see the module notes).
            fw, mask = resize_flow(fw, size), resize_mask(mask, size, soft=True)
        return fw.to(self.device), mask.to(self.device)

    def _references(self, cur: _Frame, earlier: Sequence[_Frame]) -> list[_Reference]:
        """Temporal references toward ``earlier`` frames (closest first), with
        long-term masks."""
        flows = [self._flow(cur, e) for e in earlier]
        masks = long_term_masks([m for _, m in flows])
        return [
            _Reference(warp(e.result, f), m) for e, (f, _), m in zip(earlier, flows, masks)
        ]

    def _random_init(self, like: torch.Tensor, index: int) -> torch.Tensor:
        g = torch.Generator().manual_seed(self.config.seed * 100003 + index)
        return torch.rand(like.shape, generator=g).to(self.device)

    def _optimize(
        self,
        content: torch.Tensor,
        init: torch.Tensor,
        references: Sequence[_Reference],
        iterations: int,
        frame_index: int,
    ) -> torch.Tensor:
        """Minimise the objective for one frame at the working resolution.

        Args:
            content: ``(1, 3, h, w)`` the input frame.
            init: ``(1, 3, h, w)`` starting image.
            references: earlier results warped onto this frame, with their masks.
            iterations: loss evaluations allowed.
            frame_index: passed to the progress callback.

        Returns:
            ``(1, 3, h, w)`` result in [0, 1] on the device.
        """
        cfg = self.config
        content = content.to(self.device)
        grams = self._style_grams(tuple(content.shape[-2:]))
        with torch.no_grad():
            content_target = self.vgg(content, [cfg.content_layer])[cfg.content_layer]
        layers = (cfg.content_layer, *cfg.style_layers)
        x = init.detach().to(self.device, torch.float32)
        x = x.clone(memory_format=torch.contiguous_format)  # L-BFGS views grads flat
        x.requires_grad_(True)
        evals = 0
        terms: dict[str, torch.Tensor] = {}

        def objective() -> torch.Tensor:
            nonlocal evals, terms
            feats = self.vgg(x, layers)
            terms = {
                "content": cfg.content_weight
                * content_loss(feats[cfg.content_layer], content_target),
                "style": cfg.style_weight
                * style_loss({n: feats[n] for n in cfg.style_layers}, grams),
                "tv": cfg.tv_weight * tv_loss(x),
            }
            if references and cfg.temporal_weight > 0:
                terms["temporal"] = cfg.temporal_weight * sum(
                    masked_temporal_loss(x, r.warped, r.mask) for r in references
                )
            loss = sum(terms.values())
            evals += 1
            if self.progress is not None:
                self.progress(frame_index, evals, float(loss.detach()))
            return loss

        if cfg.optimizer == "lbfgs":
            opt = torch.optim.LBFGS(
                [x],
                lr=1.0,
                max_iter=iterations,
                max_eval=iterations,
                history_size=cfg.history_size,
                line_search_fn="strong_wolfe" if cfg.line_search else None,
            )

            def closure() -> torch.Tensor:
                opt.zero_grad(set_to_none=True)
                loss = objective()
                loss.backward()
                return loss

            opt.step(closure)
        else:
            opt = torch.optim.Adam([x], lr=cfg.lr)
            for _ in range(iterations):
                opt.zero_grad(set_to_none=True)
                objective().backward()
                opt.step()
                with torch.no_grad():
                    x.clamp_(0, 1)
        self.last_terms = {k: float(v.detach()) for k, v in terms.items()}
        return x.detach().clamp(0, 1)

    # ----------------------------------------------------------------- streaming

    def _stylize_one(self, full: torch.Tensor) -> torch.Tensor:
        start = time.perf_counter()
        cfg = self.config
        cur = self._make_frame(full)
        if self._history and self._history[-1].work.shape != cur.work.shape:
            raise ValueError(
                "RuderStylizer: frame size changed from "
                f"{tuple(self._history[-1].full.shape[-2:])} "
                f"to {tuple(full.shape[-2:])}; call reset() between videos"
            )
        # Earlier frames at the temporal offsets, closest first.
        earlier = [self._history[-k] for k in cfg.offsets if k <= len(self._history)]
        refs = self._references(cur, earlier) if earlier and cfg.temporal_weight > 0 else []
        first = self._index == 0
        if cfg.init == "random":
            init = self._random_init(cur.work, self._index)
        elif cfg.init == "warped" and not first:
            if refs:
                init = refs[0].warped
            else:  # temporal term off: still warm-start from the warped previous result
                flow, _ = self._flow(cur, self._history[-1])
                init = warp(self._history[-1].result, flow)
        else:
            init = cur.work
        iterations = cfg.first_iterations if first else cfg.iterations
        cur.result = self._optimize(cur.work, init, refs, iterations, self._index)
        self._history = (self._history + [cur])[-max(cfg.offsets) :]
        self._index += 1
        out = _resize_image(cur.result.cpu(), tuple(full.shape[-2:]))
        self.frame_times.append(time.perf_counter() - start)
        return out

    def __call__(self, frames: torch.Tensor) -> torch.Tensor:
        """Stylize ``(B, 3, H, W)`` float frames in [0, 1], the next ``B`` frames of the
        video; returns ``(B, 3, H, W)`` float32 on the CPU at the input size.

        Works even when called under ``torch.inference_mode``/``no_grad``: the
        optimization re-enables gradients for itself."""
        check_image("stylize: frames", frames)
        with torch.inference_mode(False), torch.enable_grad():
            frames = frames.clone()  # a normal tensor even if the caller's is an inference one
            outs = [self._stylize_one(frames[i : i + 1]) for i in range(frames.shape[0])]
        return torch.cat(outs)


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
    if cfg.passes <= 1:
        outs = [st(f) for f in clip]
        if frame_times is not None:
            frame_times += st.frame_times
        return outs

    with torch.inference_mode(False), torch.enable_grad():
        outs, times = _multi_pass(st, clip)
    if frame_times is not None:
        frame_times += times
    return outs


def _multi_pass(
    st: RuderStylizer, clip: list[torch.Tensor]
) -> tuple[list[torch.Tensor], list[float]]:
    """The multi-pass algorithm (see the module docstring); returns the results at
    the input size and the seconds spent per frame over all passes."""
    cfg = st.config
    n = len(clip)
    times = [0.0] * n
    items = [st._make_frame(f) for f in clip]
    flows: dict[tuple[int, int], tuple[torch.Tensor, torch.Tensor]] = {}

    def refs_for(i: int, step: int) -> list[_Reference]:
        """References of frame ``i`` toward frames ``i + step * k`` (k in offsets)."""
        js = [i + step * k for k in cfg.offsets if 0 <= i + step * k < n]
        for j in js:
            if (i, j) not in flows:
                flows[(i, j)] = st._flow(items[i], items[j])
        masks = long_term_masks([flows[(i, j)][1] for j in js])
        return [
            _Reference(warp(items[j].result, flows[(i, j)][0]), m) for j, m in zip(js, masks)
        ]

    # Pass 1: every frame on its own.
    for i, it in enumerate(items):
        t0 = time.perf_counter()
        init = st._random_init(it.work, i) if cfg.init == "random" else it.work
        it.result = st._optimize(it.work, init, [], cfg.iterations, i)
        times[i] += time.perf_counter() - t0
    # Later passes alternate direction; the neighbour is already updated in this pass.
    for p in range(1, cfg.passes):
        step = -1 if p % 2 == 1 else 1  # forward pass looks back (i - k), backward ahead
        order = range(n) if step == -1 else range(n - 1, -1, -1)
        for i in order:
            t0 = time.perf_counter()
            it = items[i]
            refs = refs_for(i, step)
            init = it.result
            if refs:  # refs[0] is the nearest neighbour; its long-term mask is its own c
                a = cfg.pass_blend * refs[0].mask
                init = a * refs[0].warped + (1 - a) * it.result
            use = refs if cfg.temporal_weight > 0 else []
            it.result = st._optimize(it.work, init, use, cfg.iterations, i)
            times[i] += time.perf_counter() - t0
    return [_resize_image(it.result.cpu(), tuple(it.full.shape[-2:])) for it in items], times
