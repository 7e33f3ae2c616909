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
  See :func:`~vidstyle.losses.temporal.masked_temporal_loss`.
* Long-term, with ``long_term = J`` (e.g. ``(1, 2, 4)``): one such term
  per earlier frame ``t - j``, with masks ``c_long_j = max(c_j - sum_{k in J, k <
  j} c_k, 0)`` so that every pixel is tied to the *closest* earlier frame in which
  it is visible (:func:`long_term_masks`).

Frame 0 starts from the content frame (or noise); later frames from the warped
previous result (Ruder et al.'s initialisation from the warped previous frame),
which is both the key to consistency and a warm start: a frame needs far fewer
iterations than the first.

The package, one part per module:

* :mod:`~vidstyle.methods.ruder.config`: :class:`RuderConfig`, the settings;
* :mod:`~vidstyle.methods.ruder.optimize`: :func:`optimize_image`, one image by
  optimisation (pystiche's ``image_optimization`` for this objective);
* :mod:`~vidstyle.methods.ruder.stylizer`: :class:`RuderStylizer` (frames, working
  size, flow and temporal references; the streaming stylizer interface) and
  :func:`stylize_sequence`;
* :mod:`~vidstyle.methods.ruder.multipass`: the multi-pass algorithm (``passes > 1``).

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
  whose footprint is partly occluded keeps a partial temporal weight; min-pooling
  left every pixel touching a motion boundary free, and after upscaling those
  pixels dominated e_stab (figures: ``docs/timings.md``).
* Multi-pass: see :mod:`~vidstyle.methods.ruder.multipass`.
"""

from vidstyle.losses.temporal import masked_temporal_loss
from vidstyle.methods.ruder.config import GATYS_STYLE_LAYERS, INITS, OPTIMIZERS, RuderConfig
from vidstyle.methods.ruder.multipass import multi_pass
from vidstyle.methods.ruder.optimize import (
    OptimizedImage,
    TemporalReference,
    long_term_masks,
    optimize_image,
    style_targets,
)
from vidstyle.methods.ruder.stylizer import Frame, ProgressFn, RuderStylizer, stylize_sequence

__all__ = [
    "GATYS_STYLE_LAYERS",
    "INITS",
    "OPTIMIZERS",
    "Frame",
    "OptimizedImage",
    "ProgressFn",
    "RuderConfig",
    "RuderStylizer",
    "TemporalReference",
    "long_term_masks",
    "masked_temporal_loss",
    "multi_pass",
    "optimize_image",
    "style_targets",
    "stylize_sequence",
]
