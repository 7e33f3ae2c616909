"""Evaluation metrics: temporal stability, warping error, style and content fidelity.

Temporal metrics (lower is more stable; images in [0, 1]):

* :func:`pair_stability_error` / :func:`e_stab`: the e_stab of ReCoNet (Gao et al.
  2018, Table 2), computed with *ground-truth* flow and occlusion (MPI Sintel).
* :func:`warping_error`: E_warp of Lai et al., "Learning Blind Video Temporal
  Consistency" (ECCV 2018), with flow *estimated* on the input frames and a
  forward-backward occlusion mask, for clips without ground truth.
* :func:`mean_abs_frame_difference`: raw frame-to-frame change, for flicker plots.

Fidelity metrics, always reported beside the temporal ones so that a blurrier or
weaker stylization cannot pass for a more stable one (lower is closer):

* :func:`style_distance` (and :class:`StyleReference`, which caches the style's
  Gram matrices): relative Gram-matrix distance to the style image.
* :func:`content_distance`: relative VGG feature distance to the input frame.

All functions are pure: they run under ``torch.no_grad`` and never modify inputs.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from itertools import zip_longest

import torch

from vidstyle._checks import check_image, check_shape
from vidstyle.flow.estimate import estimated_occlusion
from vidstyle.flow.warp import inside_mask, warp
from vidstyle.losses.perceptual import STYLE_LAYERS, gram_matrix
from vidstyle.losses.vgg import VGG19

# Images for the fidelity metrics: one (B, 3, H, W) batch, or several batches
# (possibly of different sizes), each image counting as one frame.
Images = torch.Tensor | Iterable[torch.Tensor]

CONTENT_LAYER = "relu4_2"  # Gatys et al. 2016's content layer


# --------------------------------------------------------------------------- helpers


def _masked_mean_sq(a: torch.Tensor, b: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per item, the mask-weighted mean over pixels and channels of ``(a - b)^2``.

    ``a``, ``b``: ``(B, C, H, W)``; ``mask``: ``(B, 1, H, W)`` in [0, 1]. Pixels where
    the mask is 0 are excluded with ``torch.where`` (not multiplied), so even NaN or
    inf there cannot leak into the result. Returns ``(B,)`` float64; NaN for an item
    without any valid pixel.
    """
    return _masked_mean(_sq_diff(a, b), mask)


def _sq_diff(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``(B, 1, H, W)`` float64: the mean over channels of ``(a - b)^2``."""
    return (a.double() - b.double()).pow(2).mean(dim=1, keepdim=True)


def _masked_mean(d2: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per item, the mask-weighted mean of ``d2`` ``(B, 1, H, W)`` (see :func:`_masked_mean_sq`)."""
    m = mask.double()
    valid = m > 0
    num = torch.where(valid, m * d2, 0.0).sum(dim=(1, 2, 3))
    den = torch.where(valid, m, 0.0).sum(dim=(1, 2, 3))
    return num / den


def _check_mask_values(name: str, mask: torch.Tensor) -> None:
    if not bool(((mask >= 0) & (mask <= 1)).all()):
        raise ValueError(f"{name} must hold values in [0, 1] (1 = valid)")


def _frames(name: str, frames: torch.Tensor | Iterable[torch.Tensor]) -> Iterator[torch.Tensor]:
    """Yield ``(1, 3, H, W)`` frames from a ``(T, 3, H, W)`` tensor or an iterable of
    ``(1, 3, H, W)`` tensors, checking that all have the same size."""
    dims: dict[str, int] = {}
    if isinstance(frames, torch.Tensor):
        check_shape(name, frames, (None, 3, "H", "W"), dims)
        yield from frames.split(1)
        return
    for i, f in enumerate(frames):
        yield check_shape(f"{name}[{i}]", f, (1, 3, "H", "W"), dims)


def _image_batches(name: str, images: Images) -> list[torch.Tensor]:
    """``images`` as a list of checked ``(B_i, 3, H_i, W_i)`` batches."""
    batches = [images] if isinstance(images, torch.Tensor) else list(images)
    if not batches:
        raise ValueError(f"{name}: no images given")
    for i, x in enumerate(batches):
        check_image(f"{name}[{i}]" if len(batches) > 1 else name, x)
    return batches


def _vgg_device(vgg: VGG19) -> torch.device:
    return next(vgg.parameters()).device


# --------------------------------------------------------------------------- e_stab


@torch.no_grad()
def stability_error_map(
    out_t: torch.Tensor, out_t1: torch.Tensor, flow_fw: torch.Tensor, mask: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The per-pixel terms of :func:`pair_stability_error` and the weights it averages them with.

    Returns:
        ``(d2, weight)``, each ``(B, 1, H, W)``: ``d2`` (float64) the mean over channels of
        ``(O_t(p) - O_{t+1}(p + f(p)))^2``; ``weight`` the mask times 0 where ``p + f(p)``
        leaves the frame. ``err_t`` is the ``weight``-weighted mean of ``d2`` over the
        pixels where ``weight > 0``; elsewhere ``d2`` may be anything, even NaN.
    """
    dims: dict[str, int] = {}
    check_shape("pair_stability_error: out_t", out_t, ("B", "C", "H", "W"), dims)
    check_shape("pair_stability_error: out_t1", out_t1, ("B", "C", "H", "W"), dims)
    check_shape("pair_stability_error: flow_fw", flow_fw, ("B", 2, "H", "W"), dims)
    check_shape("pair_stability_error: mask", mask, ("B", 1, "H", "W"), dims)
    _check_mask_values("pair_stability_error: mask", mask)
    warped = warp(out_t1, flow_fw.to(out_t1.dtype))  # O_{t+1}(p + flow(p)) on frame t's grid
    return _sq_diff(out_t, warped), mask * inside_mask(flow_fw).to(mask.dtype)


@torch.no_grad()
def pair_stability_errors(
    out_t: torch.Tensor, out_t1: torch.Tensor, flow_fw: torch.Tensor, mask: torch.Tensor
) -> list[float]:
    """Per-item temporal error of a batch of output pairs; see :func:`pair_stability_error`.

    Returns:
        ``B`` floats, one ``err_t`` per item.
    """
    err = _masked_mean(*stability_error_map(out_t, out_t1, flow_fw, mask))
    empty = torch.nonzero(torch.isnan(err)).flatten().tolist()
    if empty:
        raise ValueError(f"pair_stability_error: mask has no valid pixel for item(s) {empty}")
    return err.tolist()


def pair_stability_error(
    out_t: torch.Tensor, out_t1: torch.Tensor, flow_fw: torch.Tensor, mask: torch.Tensor
) -> float:
    """Temporal error ``err_t`` of one pair of stylized frames (ReCoNet's e_stab term).

    ``err_t = sum_p M(p) * mean_c (O_t(p) - O_{t+1}(p + f(p)))_c^2 / sum_p M(p)``,
    i.e. the mean over valid pixels and channels of the squared difference between
    ``O_t`` and ``warp(O_{t+1}, f)``, where ``f`` is the forward flow ``t -> t+1`` on
    frame ``t``'s grid and ``M`` the mask. Pixels whose ``p + f(p)`` leaves the frame
    are excluded even if ``mask`` says 1. Masked-out pixels never influence the
    result (not even NaN there), except through bilinear sampling of ``O_{t+1}``
    next to where valid pixels land.

    Args:
        out_t: ``(B, C, H, W)`` output for frame ``t``, values in [0, 1].
        out_t1: ``(B, C, H, W)`` output for frame ``t+1``.
        flow_fw: ``(B, 2, H, W)`` forward flow ``t -> t+1`` in pixels (Sintel ``.flo``).
        mask: ``(B, 1, H, W)`` in [0, 1], 1 = valid (not occluded, flow defined).

    Returns:
        ``err_t``; for ``B > 1`` the mean of the per-item errors (each item a pair).

    Raises:
        ValueError: shapes disagree, mask values outside [0, 1], or an item has no
            valid pixel.
    """
    errs = pair_stability_errors(out_t, out_t1, flow_fw, mask)
    return sum(errs) / len(errs)


def e_stab(errors: Sequence[float]) -> float:
    """ReCoNet's stability error ``e_stab = sqrt(mean_t err_t)``.

    Args:
        errors: per-pair errors ``err_t`` (:func:`pair_stability_error`), each >= 0.
    """
    errs = [float(e) for e in errors]
    if not errs:
        raise ValueError("e_stab: no errors given")
    bad = [e for e in errs if not math.isfinite(e) or e < 0]
    if bad:
        raise ValueError(f"e_stab: errors must be finite and >= 0, got {bad[:3]}")
    return math.sqrt(sum(errs) / len(errs))


def e_stab_pairs(
    pairs_of_outputs: Sequence[tuple[torch.Tensor, torch.Tensor]],
    flows: Sequence[torch.Tensor],
    masks: Sequence[torch.Tensor],
) -> float:
    """e_stab over several pairs: ``sqrt`` of the mean of every pair's ``err_t``.

    Args:
        pairs_of_outputs: ``[(O_t, O_{t+1}), ...]``, each ``(B, C, H, W)`` (sizes may
            differ between pairs; every batch item counts as one pair).
        flows: matching forward flows, ``(B, 2, H, W)`` each.
        masks: matching masks, ``(B, 1, H, W)`` each.
    """
    if not (len(pairs_of_outputs) == len(flows) == len(masks)):
        raise ValueError(
            f"e_stab_pairs: got {len(pairs_of_outputs)} output pairs, {len(flows)} flows "
            f"and {len(masks)} masks; they must match"
        )
    errs: list[float] = []
    for i, (pair, flow, mask) in enumerate(zip(pairs_of_outputs, flows, masks)):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise ValueError(f"e_stab_pairs: pairs_of_outputs[{i}] must be (out_t, out_t1)")
        errs += pair_stability_errors(pair[0], pair[1], flow, mask)
    return e_stab(errs)


# --------------------------------------------------------------------------- warping error


@torch.no_grad()
def warping_errors(
    frames_out: torch.Tensor | Iterable[torch.Tensor],
    frames_in: torch.Tensor | Iterable[torch.Tensor],
    flow_method: str = "dis",
) -> list[float]:
    """Per-pair warping error ``E_pair(O_t, O_{t-1})`` for ``t = 1 .. T-1``.

    See :func:`warping_error`. Pairs whose mask has no valid pixel (e.g. at a
    scene cut) are returned as NaN.
    """
    errs: list[float] = []
    prev: tuple[torch.Tensor, torch.Tensor] | None = None
    pairs = zip_longest(
        _frames("warping_error: frames_out", frames_out),
        _frames("warping_error: frames_in", frames_in),
    )
    n = 0
    for n, (o, i) in enumerate(pairs, start=1):
        if o is None or i is None:
            raise ValueError("warping_error: frames_out and frames_in have different lengths")
        if o.shape != i.shape:
            raise ValueError(
                f"warping_error: output frame {n - 1} has shape {tuple(o.shape)}, "
                f"its input frame {tuple(i.shape)}"
            )
        if prev is not None:
            o_prev, i_prev = prev
            # Flow t -> t-1 on frame t's grid, from the *input* frames: warp(I_{t-1}, f) ~ I_t.
            # t -> t-1 on t's grid, with the forward-backward mask of t's pixels.
            to_prev, mask = estimated_occlusion(i, i_prev, flow_method)
            # The mask already drops out-of-frame pixels; inside_mask restates it
            # because the metric's definition depends on it.
            mask = mask * inside_mask(to_prev)
            warped = warp(o_prev, to_prev.to(device=o_prev.device, dtype=o_prev.dtype))
            errs.append(float(_masked_mean_sq(o, warped, mask.to(o.device))[0]))
        prev = (o, i)
    if n < 2:
        raise ValueError(f"warping_error: needs at least 2 frames, got {n}")
    return errs


def warping_error(
    frames_out: torch.Tensor | Iterable[torch.Tensor],
    frames_in: torch.Tensor | Iterable[torch.Tensor],
    flow_method: str = "dis",
) -> float:
    """Warping error E_warp of Lai et al. 2018 on a stylized sequence.

    ``E_warp = mean_t E_pair(O_t, O_{t-1})`` over ``t = 1 .. T-1`` with
    ``E_pair = sum_p M_t(p) * mean_c (O_t(p) - warp(O_{t-1}, f_t)(p))_c^2 / sum_p M_t(p)``.

    Direction (as Lai et al.): ``f_t`` is the flow from frame ``t`` to frame ``t-1``
    on frame ``t``'s grid, estimated on the *input* frames,
    ``f_t = estimate_flow(I_t, I_{t-1})``, so ``warp(I_{t-1}, f_t) ~ I_t``.
    ``M_t`` is the forward-backward validity mask
    ``occlusion_mask(f_t, estimate_flow(I_{t-1}, I_t))`` (occlusions, motion
    boundaries and out-of-frame pixels are 0).

    Normalisation: the squared difference is averaged over the RGB channels (as in
    e_stab), where Lai et al.'s formula sums it over the pixel's colour vector; a
    value here is 1/3 of that. Pairs without any valid pixel (NaN in
    :func:`warping_errors`) are left out of the mean.

    Args:
        frames_out: stylized frames, a ``(T, 3, H, W)`` tensor or an iterable of
            ``(1, 3, H, W)`` tensors in [0, 1] (streamed: only two frames are held).
        frames_in: the input frames they were made from, same form and size.
        flow_method: estimator for :func:`~vidstyle.flow.estimate.estimate_flow`.

    Raises:
        ValueError: fewer than 2 frames, lengths or sizes differ, or no pair had a
            valid pixel.
    """
    errs = [e for e in warping_errors(frames_out, frames_in, flow_method) if not math.isnan(e)]
    if not errs:
        raise ValueError("warping_error: no frame pair had a valid (non-occluded) pixel")
    return sum(errs) / len(errs)


# --------------------------------------------------------------------------- flicker


@torch.no_grad()
def mean_abs_frame_difference(frames: torch.Tensor | Iterable[torch.Tensor]) -> list[float]:
    """``mean |F_{t+1} - F_t|`` over pixels and channels, for ``t = 0 .. T-2``.

    No motion compensation: a flicker curve, not a consistency metric.

    Args:
        frames: a ``(T, 3, H, W)`` tensor or an iterable of ``(1, 3, H, W)`` tensors.

    Returns:
        ``T - 1`` floats.
    """
    diffs: list[float] = []
    prev: torch.Tensor | None = None
    n = 0
    for f in _frames("mean_abs_frame_difference: frames", frames):
        if prev is not None:
            diffs.append(float((f.double() - prev.double()).abs().mean()))
        prev = f
        n += 1
    if n < 2:
        raise ValueError(f"mean_abs_frame_difference: needs at least 2 frames, got {n}")
    return diffs


# --------------------------------------------------------------------------- style / content


class StyleReference:
    """The Gram matrices of one style image, computed once, for :func:`style_distance`.

    The style Grams are taken at the style image's own size (``gram_matrix``
    normalises by ``C*H*W``, so outputs of any size compare with them).

    Args:
        vgg: the loss network (built at least up to the deepest of ``layers``).
        style_image: ``(1, 3, H, W)`` in [0, 1].
        layers: VGG layers whose Gram matrices are compared.
    """

    def __init__(self, vgg: VGG19, style_image: torch.Tensor, layers: Sequence[str] = STYLE_LAYERS):
        check_shape("StyleReference: style_image", style_image, (1, 3, None, None))
        self.vgg = vgg
        self.layers = tuple(layers)
        if not self.layers:
            raise ValueError("StyleReference: layers is empty")
        with torch.no_grad():
            feats = vgg(style_image.to(_vgg_device(vgg), torch.float32), self.layers)
        self.grams = {n: gram_matrix(feats[n]) for n in self.layers}  # each (1, C, C)
        self.norms = {n: torch.linalg.matrix_norm(g)[0] for n, g in self.grams.items()}

    @torch.no_grad()
    def distances(self, outputs: Images) -> list[float]:
        """Per-image relative Gram distance (see :func:`style_distance`).

        Args:
            outputs: a ``(B, 3, H, W)`` batch or an iterable of such batches.
        """
        out: list[float] = []
        for x in _image_batches("style_distance: outputs", outputs):
            feats = self.vgg(x.to(_vgg_device(self.vgg), torch.float32), self.layers)
            d = torch.zeros(x.shape[0], dtype=torch.float64)
            for n in self.layers:
                diff = gram_matrix(feats[n]) - self.grams[n]  # (B, C, C)
                d = d + (torch.linalg.matrix_norm(diff) / self.norms[n]).double().cpu()
            out += (d / len(self.layers)).tolist()
        return out

    def distance(self, outputs: Images) -> float:
        """Mean of :meth:`distances` over all given images."""
        d = self.distances(outputs)
        return sum(d) / len(d)


def style_distance(
    outputs: Images, style_image: torch.Tensor, vgg: VGG19, layers: Sequence[str] = STYLE_LAYERS
) -> float:
    """Relative Gram-matrix distance of output frames to a style image.

    For each output image ``O``:
    ``d(O) = mean over layers l of ||G_l(O) - G_l(S)||_F / ||G_l(S)||_F``, with
    ``G_l`` the Gram matrix of VGG features at layer ``l`` normalised by ``C*H*W``
    (:func:`~vidstyle.losses.perceptual.gram_matrix`) and ``G_l(S)`` computed on the
    style image at its own size. The result is the mean of ``d`` over all images
    (every batch item is one frame), so batched and per-image calls agree. 0 means
    the same style statistics; use :class:`StyleReference` to score many batches
    against one style.

    Args:
        outputs: a ``(B, 3, H, W)`` batch in [0, 1], or an iterable of such batches.
        style_image: ``(1, 3, H, W)`` in [0, 1].
        vgg: the loss network.
        layers: VGG layers (default the style layers of ReCoNet).
    """
    return StyleReference(vgg, style_image, layers).distance(outputs)


@torch.no_grad()
def content_distances(
    outputs: Images, inputs: Images, vgg: VGG19, layer: str = CONTENT_LAYER
) -> list[float]:
    """Per-image relative feature distance (see :func:`content_distance`)."""
    outs = _image_batches("content_distance: outputs", outputs)
    ins = _image_batches("content_distance: inputs", inputs)
    if len(outs) != len(ins):
        raise ValueError(
            f"content_distance: {len(outs)} output batches but {len(ins)} input batches"
        )
    device = _vgg_device(vgg)
    res: list[float] = []
    for k, (o, i) in enumerate(zip(outs, ins)):
        if o.shape != i.shape:
            raise ValueError(
                f"content_distance: outputs[{k}] has shape {tuple(o.shape)} but "
                f"inputs[{k}] has {tuple(i.shape)}"
            )
        f_o = vgg(o.to(device, torch.float32), [layer])[layer].flatten(1).double()
        f_i = vgg(i.to(device, torch.float32), [layer])[layer].flatten(1).double()
        ref = f_i.norm(dim=1)
        if bool((ref == 0).any()):
            raise ValueError(f"content_distance: inputs[{k}] has all-zero {layer} features")
        res += ((f_o - f_i).norm(dim=1) / ref).tolist()
    return res


def content_distance(
    outputs: Images, inputs: Images, vgg: VGG19, layer: str = CONTENT_LAYER
) -> float:
    """Relative VGG feature distance of output frames to their input frames.

    For each output ``O`` and its input ``I`` (same size):
    ``d(O, I) = ||F(O) - F(I)||_F / ||F(I)||_F`` with ``F`` the VGG features at
    ``layer``; the result is the mean of ``d`` over all images (every batch item is
    one frame), so batched and per-image calls agree. 0 means identical features.

    Args:
        outputs: a ``(B, 3, H, W)`` batch in [0, 1], or an iterable of such batches.
        inputs: the matching input frames, same structure and shapes.
        vgg: the loss network (built at least up to ``layer``).
        layer: VGG layer, default ``relu4_2`` (Gatys et al.'s content layer).
    """
    d = content_distances(outputs, inputs, vgg, layer)
    return sum(d) / len(d)
