"""One image by optimisation over its pixels, in the manner of pystiche's
``image_optimization``: Gatys et al.'s objective plus Ruder et al.'s temporal terms.

    L(x) = a L_content(x, I) + b L_style(x, S) + g L_tv(x) + c sum_j L_temporal(x, r_j)

with ``L_temporal`` the masked temporal loss
(:func:`~vidstyle.losses.temporal.masked_temporal_loss`) toward each earlier result
``r_j`` warped onto this frame (:class:`TemporalReference`). Nothing here knows
about frames, flow or resolution: :class:`~vidstyle.methods.ruder.RuderStylizer`
builds the references and calls :func:`optimize_image` once per frame.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import torch

from vidstyle._checks import check_shape
from vidstyle.losses.perceptual import content_loss, gram_matrix, style_loss, tv_loss
from vidstyle.losses.temporal import masked_temporal_loss
from vidstyle.losses.vgg import LAYER_NAMES, VGG19
from vidstyle.methods.ruder.config import RuderConfig


@dataclass(frozen=True)
class TemporalReference:
    """An earlier result warped onto the current frame, and the weight of each pixel.

    Attributes:
        warped: ``(1, 3, h, w)`` the earlier result, warped.
        mask: ``(1, 1, h, w)`` weights in [0, 1] (0 = occluded or out of frame).
    """

    warped: torch.Tensor
    mask: torch.Tensor


class OptimizedImage(NamedTuple):
    """What :func:`optimize_image` returns."""

    image: torch.Tensor  # (1, 3, h, w) in [0, 1], detached
    terms: dict[str, float]  # weighted loss terms at the last evaluation


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


def style_targets(vgg: VGG19, style: torch.Tensor, layers: Sequence[str]) -> dict[str, torch.Tensor]:
    """Gram targets of ``style`` ``(1, 3, H, W)`` at ``layers``, computed once, on the
    device of ``style``."""
    with torch.no_grad():
        feats = vgg(style, layers)
    return {n: gram_matrix(feats[n]) for n in layers}


def optimize_image(
    content: torch.Tensor,
    style: torch.Tensor | Mapping[str, torch.Tensor],
    init: torch.Tensor,
    *,
    vgg: VGG19,
    config: RuderConfig | None = None,
    references: Sequence[TemporalReference] = (),
    iterations: int | None = None,
    progress: Callable[[int, float], None] | None = None,
) -> OptimizedImage:
    """Minimise the objective over the pixels of one image.

    Args:
        content: ``(1, 3, h, w)`` the content frame in [0, 1]; the optimisation runs
            on its device (where ``vgg`` must be).
        style: the style image ``(1, 3, H, W)`` in [0, 1] (its Grams are taken at its
            own size), or Gram targets per style layer from :func:`style_targets`.
        init: ``(1, 3, h, w)`` starting image (the content, the warped previous
            result, noise).
        vgg: the loss network, built at least up to ``config.deepest_layer``.
        config: weights, layers and optimizer (:class:`RuderConfig`); its frame
            settings (sizes, flow, passes) are not used here.
        references: earlier results warped onto this frame, with their masks; the
            temporal term is their sum, weighted by ``config.temporal_weight``.
        iterations: loss evaluations allowed (default ``config.iterations``).
        progress: ``progress(evaluation, loss)`` after every loss evaluation,
            counting from 1.

    Returns:
        :class:`OptimizedImage`: the result ``(1, 3, h, w)`` in [0, 1] (detached) and
        the weighted terms at the last evaluation (``content``, ``style``, ``tv``,
        and ``temporal`` when there were references and a temporal weight).
    """
    cfg = config or RuderConfig()
    dims: dict[str, int] = {}
    check_shape("optimize_image: content", content, (1, 3, "h", "w"), dims)
    check_shape("optimize_image: init", init, (1, 3, "h", "w"), dims)
    if LAYER_NAMES.index(vgg.last_layer) < LAYER_NAMES.index(cfg.deepest_layer):
        raise ValueError(f"vgg is built up to {vgg.last_layer} but the loss needs {cfg.deepest_layer}")
    iterations = cfg.iterations if iterations is None else iterations
    device = content.device
    if isinstance(style, torch.Tensor):
        check_shape("optimize_image: style", style, (1, 3, None, None))
        grams = style_targets(vgg, style.to(device), cfg.style_layers)
    else:
        grams = {n: style[n].to(device) for n in cfg.style_layers}
    refs = [TemporalReference(r.warped.to(device), r.mask.to(device)) for r in references]
    with torch.no_grad():
        content_target = vgg(content, [cfg.content_layer])[cfg.content_layer]
    layers = (cfg.content_layer, *cfg.style_layers)
    x = init.detach().to(device, torch.float32)
    x = x.clone(memory_format=torch.contiguous_format)  # L-BFGS views grads flat
    x.requires_grad_(True)
    evals = 0
    terms: dict[str, torch.Tensor] = {}

    def objective() -> torch.Tensor:
        nonlocal evals, terms
        feats = vgg(x, layers)
        terms = {
            "content": cfg.content_weight * content_loss(feats[cfg.content_layer], content_target),
            "style": cfg.style_weight * style_loss({n: feats[n] for n in cfg.style_layers}, grams),
            "tv": cfg.tv_weight * tv_loss(x),
        }
        if refs and cfg.temporal_weight > 0:
            terms["temporal"] = cfg.temporal_weight * sum(
                masked_temporal_loss(x, r.warped, r.mask) for r in refs
            )
        loss = sum(terms.values())
        evals += 1
        if progress is not None:
            progress(evals, float(loss.detach()))
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
    return OptimizedImage(x.detach().clamp(0, 1), {k: float(v.detach()) for k, v in terms.items()})
