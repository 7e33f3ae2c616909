"""Perceptual losses (Gatys et al. 2016; Johnson et al. 2016): content, Gram style, TV.

Pure functions first; :class:`StyleLoss` and :class:`PerceptualLoss` hold state
(the loss network and the style target, computed once).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from vidstyle._checks import at_least_float32, check_image, check_shape
from vidstyle.losses.vgg import VGG19

CONTENT_LAYERS: tuple[str, ...] = ("relu3_3",)
STYLE_LAYERS: tuple[str, ...] = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """Gram matrix normalised by the number of elements of one feature map.

    ``G[b, i, j] = sum_p F[b, i, p] F[b, j, p] / (C * H * W)``. The normalisation
    makes style losses comparable across layers and image sizes (Johnson et al.).

    Args:
        features: ``(B, C, H, W)``.

    Returns:
        ``(B, C, C)``, computed in float32 even under autocast (float64 stays float64).
    """
    check_shape("gram_matrix: features", features, ("B", "C", "H", "W"))
    b, c, h, w = features.shape
    f = at_least_float32(features.reshape(b, c, h * w))
    return torch.bmm(f, f.transpose(1, 2)) / (c * h * w)


def content_loss(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error between feature maps (Johnson et al. feature reconstruction loss)."""
    return F.mse_loss(at_least_float32(features), at_least_float32(target))


def style_loss(
    features: Mapping[str, torch.Tensor],
    target_grams: Mapping[str, torch.Tensor],
    weights: Mapping[str, float] | None = None,
) -> torch.Tensor:
    """Sum over layers of the mean squared difference between Gram matrices
    (``||G - G_target||_F^2 / C^2``), averaged over the batch, each layer times its
    weight in ``weights`` (default 1). Targets of batch size 1 broadcast to the batch."""
    total = features[next(iter(features))].new_zeros((), dtype=torch.float32)
    for name, g_target in target_grams.items():
        g = gram_matrix(features[name])
        w = 1.0 if weights is None else weights[name]
        total = total + w * ((g - g_target) ** 2).mean()
    return total


def tv_loss(x: torch.Tensor) -> torch.Tensor:
    """Total variation: mean absolute difference of horizontal and vertical neighbours.

    Zero for a constant image. Args: ``x`` ``(B, C, H, W)``.
    """
    check_shape("tv_loss: x", x, ("B", None, "H", "W"))
    dh = (x[..., 1:, :] - x[..., :-1, :]).abs().mean() if x.shape[-2] > 1 else x.new_zeros(())
    dw = (x[..., :, 1:] - x[..., :, :-1]).abs().mean() if x.shape[-1] > 1 else x.new_zeros(())
    return dh + dw


class StyleLoss(nn.Module):
    """Gram style loss against one style image; the target Grams are computed once.

    Args:
        vgg: the loss network.
        style: ``(1, 3, H, W)`` style image in [0, 1].
        layers: VGG layers whose Gram matrices are matched.
        weights: one weight per layer of ``layers`` (default 1 each).
    """

    def __init__(self, vgg: VGG19, style: torch.Tensor, layers: Sequence[str] = STYLE_LAYERS,
                 weights: Sequence[float] | None = None):
        super().__init__()
        check_image("StyleLoss: style", style)
        self.vgg = vgg
        self.layers = tuple(layers)
        weights = (1.0,) * len(self.layers) if weights is None else tuple(weights)
        if len(weights) != len(self.layers) or any(not w >= 0 for w in weights):
            raise ValueError(f"StyleLoss: need {len(self.layers)} non-negative layer weights "
                             f"(one per layer of {self.layers}), got {weights}")
        self.weights = dict(zip(self.layers, weights))
        self.set_target(style)

    @torch.no_grad()
    def set_target(self, style: torch.Tensor) -> None:
        feats = self.vgg(style, self.layers)
        for name in self.layers:
            g = gram_matrix(feats[name]).mean(0, keepdim=True)
            self.register_buffer(f"target_{name}", g, persistent=False)

    @property
    def targets(self) -> dict[str, torch.Tensor]:
        return {n: getattr(self, f"target_{n}") for n in self.layers}

    def forward(self, features: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Loss for precomputed VGG ``features`` (must include ``self.layers``)."""
        return style_loss({n: features[n] for n in self.layers}, self.targets, self.weights)
