"""Loss network and losses: perceptual (content, style, TV) and temporal."""

from vidstyle.losses.perceptual import (
    CONTENT_LAYERS,
    STYLE_LAYERS,
    StyleLoss,
    content_loss,
    gram_matrix,
    style_loss,
    tv_loss,
)
from vidstyle.losses.temporal import (
    feature_temporal_loss,
    masked_temporal_loss,
    output_temporal_loss,
    plain_output_temporal_loss,
    weight_near_occlusions,
)
from vidstyle.losses.vgg import VGG19

__all__ = [
    "CONTENT_LAYERS",
    "STYLE_LAYERS",
    "StyleLoss",
    "VGG19",
    "content_loss",
    "feature_temporal_loss",
    "gram_matrix",
    "masked_temporal_loss",
    "output_temporal_loss",
    "plain_output_temporal_loss",
    "style_loss",
    "tv_loss",
    "weight_near_occlusions",
]
