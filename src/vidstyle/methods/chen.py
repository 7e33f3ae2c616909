"""Online coherent stylization after Chen et al., "Coherent Online Video Style
Transfer" (ICCV 2017).

For each frame ``t`` (in order), with ``E``/``D`` the encoder/decoder of a trained
feed-forward network:

1. ``f_cur = E(I_t)``;
2. the flow ``w`` from ``I_t`` to ``I_{t-1}`` (input frames) brings the features
   that were *decoded* for frame ``t-1`` onto frame ``t``: ``W(f_{t-1})``, the flow
   resized to the feature grid (vectors scaled by the same factor);
3. a confidence ``c`` in [0, 1] says where that warp can be trusted;
4. ``f_t = (1 - s c) f_cur + s c W(f_{t-1})`` with strength ``s`` (``blend``);
5. ``O_t = D(f_t)``.

The first frame (and the first after :meth:`ChenStylizer.reset`) is plain
feed-forward. Because ``f_{t-1}`` is itself a blend, a static region carries its
stylization forward from frame to frame, which is what removes the flicker.

How this differs from the paper:

* Chen et al. train two sub-networks with a short-term consistency loss: a
  *flow* sub-network that predicts the feature flow, and a *mask*
  sub-network that predicts, from the difference between the warped previous
  frame and the current one, where the warped features should replace the
  current ones. We have neither the video training data (DESIGN.md: 13 Sintel
  pairs and a few clips) nor the training time on this hardware for them. Instead the
  flow comes from a classical estimator (OpenCV DIS, or any ``flow_fn``, e.g.
  ground truth), and the mask from the forward-backward consistency test of
  Sundaram et al. / Ruder et al. made *soft* by hand (:func:`soft_confidence`):
  confidence falls off exponentially with the forward-backward error and is
  averaged and eroded on the feature grid instead of cut hard. Hand-set, not
  learnt.
* The encoder/decoder are those of our trained ReCoNet feed-forward networks
  (per-frame, huang or reconet weights), used unchanged, so the method works
  with any of our trained models and needs no training of its own.
* The paper composites the warped and current features with its learnt mask
  alone; we add a global strength ``blend`` (``blend=0`` is plain per-frame,
  ``blend=1`` copies the warped features wherever the flow is fully trusted).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from vidstyle._checks import check_image, check_shape
from vidstyle.flow.warp import resize_flow, resize_mask, warp
from vidstyle.methods.base import FlowFn, check_flow_method, flow_to_previous
from vidstyle.models.reconet import ReCoNet


def blend_features(
    f_cur: torch.Tensor,
    f_prev_warped: torch.Tensor,
    confidence: torch.Tensor,
    strength: float,
) -> torch.Tensor:
    """``(1 - s c) * f_cur + s c * f_prev_warped``: keep the previous frame's features
    where the warp is trusted.

    Args:
        f_cur: ``(B, C, h, w)`` features of the current frame.
        f_prev_warped: ``(B, C, h, w)`` previous features warped onto the current frame.
        confidence: ``(B, 1, h, w)`` in [0, 1], 1 = the warp is fully trusted.
        strength: ``s`` in [0, 1].

    Returns:
        ``(B, C, h, w)``; equals ``f_cur`` where ``confidence`` is 0 or ``s`` is 0.
    """
    dims: dict[str, int] = {}
    check_shape("blend_features: f_cur", f_cur, ("B", "C", "h", "w"), dims)
    check_shape("blend_features: f_prev_warped", f_prev_warped, ("B", "C", "h", "w"), dims)
    check_shape("blend_features: confidence", confidence, ("B", 1, "h", "w"), dims)
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"blend_features: strength must be in [0, 1], got {strength}")
    a = (strength * confidence).to(f_cur.dtype)
    return f_cur + a * (f_prev_warped.to(f_cur.dtype) - f_cur)


def soft_confidence(
    mask: torch.Tensor,
    fb_error: torch.Tensor | None,
    size: tuple[int, int],
    softness: float,
) -> torch.Tensor:
    """Turn a binary flow-validity mask into a soft confidence on a feature grid.

    With ``softness = s > 0`` (pixels):

    1. ``c = mask * exp(-fb_error / (2 s^2))`` at image resolution: even where the
       forward-backward test passes, a round trip that misses by ``s`` pixels
       keeps only ``exp(-1/2) ~ 0.61`` of the confidence (skipped when
       ``fb_error`` is None, i.e. a ground-truth mask);
    2. area-average ``c`` onto the ``size`` grid: a feature cell that is partly
       occluded gets the fraction of its pixels that are reliable;
    3. soft erosion ``c = min(c, box3x3(c))``: a feature's receptive field reaches
       its neighbours, so cells next to unreliable ones are trusted less.

    With ``softness = 0`` the result is the hard mask min-pooled to ``size``
    (:func:`~vidstyle.flow.warp.resize_mask`).

    Args:
        mask: ``(B, 1, H, W)`` validity, 1 = valid.
        fb_error: ``(B, 1, H, W)`` forward-backward error in px^2, or None.
        size: ``(h, w)`` of the feature grid.
        softness: ``s`` in pixels, >= 0.

    Returns:
        ``(B, 1, h, w)`` confidence in [0, 1].
    """
    dims: dict[str, int] = {}
    check_shape("soft_confidence: mask", mask, ("B", 1, "H", "W"), dims)
    if fb_error is not None:
        check_shape("soft_confidence: fb_error", fb_error, ("B", 1, "H", "W"), dims)
    if not (softness >= 0 and math.isfinite(softness)):
        raise ValueError(f"soft_confidence: softness must be a finite number >= 0, got {softness}")
    if softness == 0:
        return resize_mask(mask, size)
    c = mask
    if fb_error is not None:
        c = c * torch.exp(-fb_error / (2.0 * softness**2))
    c = F.interpolate(c, size=size, mode="area") if tuple(size) != c.shape[-2:] else c
    box = F.avg_pool2d(F.pad(c, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
    return torch.minimum(c, box)


def _pad_to(x: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """Replicate-pad ``x`` at the bottom/right to ``h`` x ``w`` (as the network pads
    its input before encoding, so that the feature grid is exactly 1/4 of it)."""
    ph, pw = h - x.shape[-2], w - x.shape[-1]
    return x if ph == 0 and pw == 0 else F.pad(x, (0, pw, 0, ph), mode="replicate")


@dataclass(frozen=True)
class ChenConfig:
    """Settings of :class:`ChenStylizer` (the keyword arguments it takes), for the
    method registry (:mod:`vidstyle.methods.registry`)."""

    flow_method: str = "dis"  # estimator when no flow_fn is given: "dis" or "farneback"
    blend: float = 0.8  # strength s in [0, 1] of the previous frame's warped features
    mask_softness: float = 1.0  # pixels; 0 = the hard forward-backward mask (soft_confidence)


class ChenStylizer:
    """Stateful online stylizer: blends the previous frame's warped features in.

    Frames must arrive in order; a batch is processed frame by frame (the encoder
    and decoder run once per batch). Call :meth:`reset` between videos.

    Args:
        model: a trained :class:`ReCoNet` (moved to ``device``, eval mode).
        device: where the network runs (flow is estimated on the CPU).
        flow_method: estimator when ``flow_fn`` is None, ``"dis"`` or ``"farneback"``.
        blend: strength ``s`` in [0, 1] of the previous frame's features.
        mask_softness: ``s`` of :func:`soft_confidence` in pixels (0 = hard mask).
        half: run the network in fp16 (CUDA only).
        flow_fn: ``flow_fn(cur, prev)`` -> flow cur -> prev ``(1, 2, H, W)`` or
            ``(flow, mask)`` (see :mod:`vidstyle.methods.base`); overrides the estimator.
    """

    def __init__(
        self,
        model: ReCoNet,
        device: torch.device | str = "cpu",
        *,
        flow_method: str = ChenConfig.flow_method,
        blend: float = ChenConfig.blend,
        mask_softness: float = ChenConfig.mask_softness,
        half: bool = False,
        flow_fn: FlowFn | None = None,
    ):
        self.device = torch.device(device)
        if half and self.device.type != "cuda":
            raise ValueError("half precision needs a CUDA device")
        if not 0.0 <= blend <= 1.0:
            raise ValueError(f"blend must be in [0, 1], got {blend}")
        if not (mask_softness >= 0 and math.isfinite(mask_softness)):
            raise ValueError(f"mask_softness must be a finite number >= 0, got {mask_softness}")
        if flow_fn is not None and not callable(flow_fn):
            raise TypeError(f"flow_fn must be callable, got {type(flow_fn).__name__}")
        self.flow_method = check_flow_method(flow_method)
        self.blend = float(blend)
        self.mask_softness = float(mask_softness)
        self.flow_fn = flow_fn
        self.dtype = torch.float16 if half else torch.float32
        self.model = model.to(self.device, self.dtype).eval()
        self._prev_frame: torch.Tensor | None = None  # (1, 3, H, W) CPU float32 input
        self._prev_feat: torch.Tensor | None = None  # (1, C, h, w) blended features

    def reset(self) -> None:
        """Forget the previous frame; the next frame is stylized feed-forward."""
        self._prev_frame = None
        self._prev_feat = None

    def _warped_previous(
        self, cur: torch.Tensor, feat_size: tuple[int, int]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Previous blended features warped onto ``cur`` and their confidence, both on
        the feature grid, float32 on the device."""
        assert self._prev_frame is not None and self._prev_feat is not None
        ftp = flow_to_previous(cur, self._prev_frame, method=self.flow_method, flow_fn=self.flow_fn)
        # The encoder sees the input padded to a multiple of 4; pad flow and
        # confidence to the same size so the feature grid is exactly 1/4 of them.
        hp, wp = self.model.padded_size(*cur.shape[-2:])
        flow = resize_flow(_pad_to(ftp.flow, hp, wp), feat_size)
        fb = None if ftp.fb_error is None else _pad_to(ftp.fb_error, hp, wp)
        conf = soft_confidence(_pad_to(ftp.mask, hp, wp), fb, feat_size, self.mask_softness)
        warped = warp(self._prev_feat.float(), flow.to(self.device))
        return warped, conf.to(self.device)

    @torch.inference_mode()
    def __call__(self, frames: torch.Tensor) -> torch.Tensor:
        """Stylize ``(B, 3, H, W)`` float frames in [0, 1], the next ``B`` frames of the
        video; returns ``(B, 3, H, W)`` float32 on the CPU."""
        check_image("stylize: frames", frames)
        h, w = frames.shape[-2:]
        if self._prev_frame is not None and self._prev_frame.shape[-2:] != (h, w):
            raise ValueError(
                f"ChenStylizer: frame size changed from {tuple(self._prev_frame.shape[-2:])} "
                f"to {(h, w)}; call reset() between videos"
            )
        cpu_frames = frames.detach().to("cpu", torch.float32)
        feats = self.model.encode(frames.to(self.device, self.dtype))  # (B, C, h/4, w/4)
        feat_size = (feats.shape[-2], feats.shape[-1])
        blended = []
        for i in range(frames.shape[0]):
            f = feats[i : i + 1]
            cur = cpu_frames[i : i + 1]
            if self._prev_feat is not None and self.blend > 0:
                warped, conf = self._warped_previous(cur, feat_size)
                f = blend_features(f.float(), warped, conf, self.blend).to(self.dtype)
            blended.append(f)
            self._prev_frame, self._prev_feat = cur, f
        out = self.model.decode(torch.cat(blended), (h, w))
        return out.float().clamp_(0, 1).cpu()
