"""Settings of Ruder's method: one frozen dataclass with documented defaults."""

from __future__ import annotations

import math
from dataclasses import dataclass

from vidstyle.losses.vgg import LAYER_NAMES
from vidstyle.methods.base import check_flow_method

OPTIMIZERS = ("lbfgs", "adam")
INITS = ("warped", "content", "random")
GATYS_STYLE_LAYERS: tuple[str, ...] = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")


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
      On the shared Sintel pairs 3000 gave a lower e_stab than 1000 at the same
      style distance, hence 3000 (figures and command: ``docs/timings.md``).

    "Iterations" count loss evaluations (VGG forward + backward), the unit of
    cost: with ``line_search`` off, one L-BFGS step is one evaluation. Measured
    at 128x128 over 60 evaluations from the content image (total loss after
    10/30/60): L-BFGS 15.2/9.9/9.06, L-BFGS with strong-Wolfe line search
    17.5/10.1/9.03, Adam lr 0.05 18.8/11.9/9.88, Adam lr 0.02 18.8/12.0/10.25;
    hence L-BFGS without line search by default. Seconds per evaluation and per
    frame: ``docs/timings.md``.

    Multi-pass (``passes > 1``) needs the whole clip before the first result:
    :class:`~vidstyle.methods.ruder.RuderStylizer` then takes the clip in one call
    (its ``whole_clip`` is true, and ``vidstyle.pipeline.stylize_path`` hands it every
    frame at once), as does :func:`~vidstyle.methods.ruder.stylize_sequence`.
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
    passes: int = 1  # multi-pass count (0 or 1 = single forward pass, streaming)
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

    @property
    def deepest_layer(self) -> str:
        """The deepest VGG layer the objective reads (the loss network must reach it)."""
        return max((self.content_layer, *self.style_layers), key=LAYER_NAMES.index)
