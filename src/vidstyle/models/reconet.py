"""The ReCoNet image transformation network (Gao et al. 2018, Fig. 2 / Table 1).

Encoder: conv 9x9 (w0) -> conv 3x3 s2 (w1) -> conv 3x3 s2 (w2) -> N residual blocks.
Decoder: upsample + conv 3x3 (w1) -> upsample + conv 3x3 (w0) -> conv 9x9 (3).
Reflection padding, instance normalisation, ReLU. The encoder output is the
feature map on which the feature temporal loss acts. The same network serves the
per-frame (Johnson et al.) and Huang et al. methods, which differ only in training.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields, replace

import torch
import torch.nn as nn
import torch.nn.functional as F

from vidstyle._checks import check_image

UPSAMPLE_MODES = ("nearest", "bilinear")
OUTPUT_ACTIVATIONS = ("sigmoid", "tanh", "clamp")
RESIDUAL_KINDS = ("standard", "separable")


@dataclass(frozen=True)
class ReCoNetConfig:
    """Architecture of a ReCoNet-family network; saved inside every checkpoint."""

    widths: tuple[int, int, int] = (48, 96, 192)  # channels at full, 1/2 and 1/4 resolution
    res_blocks: int = 4  # residual blocks at 1/4 resolution
    residual: str = "standard"  # "standard" (two 3x3 convs) or "separable" (depthwise + 1x1)
    outer_kernel: int = 9  # kernel of the first and last convolution (full resolution)
    upsample: str = "nearest"  # "nearest" or "bilinear" upsampling before each decoder conv
    output: str = "sigmoid"  # maps the last conv to [0, 1]: "sigmoid", "tanh" (rescaled) or "clamp"
    # The output's contrast, scaled about ``pivot`` (an RGB colour) after the activation:
    # ``pivot + contrast * (y - pivot)``: a fixed linear map, set at export time
    # (:func:`with_contrast`), that trades a little of the look for steadiness (docs/recipe.md).
    contrast: float = 1.0
    pivot: tuple[float, float, float] = (0.5, 0.5, 0.5)

    def __post_init__(self) -> None:
        if len(self.widths) != 3 or any(int(w) <= 0 for w in self.widths):
            raise ValueError(f"widths must be three positive ints, got {self.widths}")
        object.__setattr__(self, "widths", tuple(int(w) for w in self.widths))
        if self.res_blocks < 0:
            raise ValueError(f"res_blocks must be >= 0, got {self.res_blocks}")
        if self.residual not in RESIDUAL_KINDS:
            raise ValueError(f"residual must be one of {RESIDUAL_KINDS}, got {self.residual!r}")
        if self.outer_kernel % 2 != 1:
            raise ValueError(f"outer_kernel must be odd, got {self.outer_kernel}")
        if self.upsample not in UPSAMPLE_MODES:
            raise ValueError(f"upsample must be one of {UPSAMPLE_MODES}, got {self.upsample!r}")
        if self.output not in OUTPUT_ACTIVATIONS:
            raise ValueError(f"output must be one of {OUTPUT_ACTIVATIONS}, got {self.output!r}")
        if not 0.0 < self.contrast <= 1.0:
            raise ValueError(f"contrast must be in (0, 1], got {self.contrast}")
        if len(self.pivot) != 3 or any(not 0.0 <= float(v) <= 1.0 for v in self.pivot):
            raise ValueError(f"pivot must be three values in [0, 1], got {self.pivot}")
        object.__setattr__(self, "pivot", tuple(float(v) for v in self.pivot))

    def without_contrast(self) -> ReCoNetConfig:
        """This network with the output at its full, trained contrast (no export setting)."""
        return replace(self, contrast=1.0, pivot=(0.5, 0.5, 0.5))

    def to_dict(self) -> dict:
        d = asdict(self)
        d["widths"] = list(self.widths)
        d["pivot"] = list(self.pivot)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> ReCoNetConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown ReCoNetConfig fields: {sorted(unknown)}")
        return cls(**{k: tuple(v) if k in ("widths", "pivot") else v for k, v in d.items()})


# Named architectures. ``full`` is the bundled models' network (the paper's
# layout at two thirds of its width, ~2x faster on a CPU); ``lite`` was chosen with
# ``benchmarks/lite_search.py`` (docs/lite_search.md, speed of untrained variants on a
# 2-core CPU at 640x360): width 8 at full resolution, where most of the time goes;
# 5x5 outer kernels kept although 3x3 measured faster. Only this variant was trained
# (its candy model meets the quality targets, benchmarks/cpu_fps.py).
MODEL_SIZES: dict[str, ReCoNetConfig] = {
    "full": ReCoNetConfig(widths=(32, 64, 128)),
    "lite": ReCoNetConfig(widths=(8, 16, 32), res_blocks=2, outer_kernel=5),
}


def model_size_config(name: str) -> ReCoNetConfig:
    """The :class:`ReCoNetConfig` of a named model size (``full`` or ``lite``)."""
    if name not in MODEL_SIZES:
        raise ValueError(f"unknown model size {name!r}; choose from {', '.join(MODEL_SIZES)}")
    return MODEL_SIZES[name]


# Each output activation written as the sigmoid of a logit ``z = a * y + c`` of the last
# convolution's output ``y``: the rescaled tanh is exactly ``sigmoid(2y)``; the clamp
# ``y`` matches the sigmoid's value and slope at mid-grey (``0.5 + z / 4``).
_AS_LOGIT: dict[str, tuple[float, float]] = {"sigmoid": (1.0, 0.0), "tanh": (2.0, 0.0),
                                             "clamp": (4.0, -2.0)}


def retarget_output(conv: nn.Conv2d, src: str, dst: str) -> None:
    """Rescale the last convolution ``conv`` in place so that a network trained for the
    output activation ``src`` computes (nearly) the same image under ``dst``.

    Between sigmoid and tanh the result is exact; to or from the clamp it is the
    sigmoid's first-order expansion at mid-grey, exact there and close in the mid-tones,
    so a warm start keeps the init model's picture while training adapts the extremes.
    """
    for name in (src, dst):
        if name not in _AS_LOGIT:
            raise ValueError(f"output must be one of {OUTPUT_ACTIVATIONS}, got {name!r}")
    (a0, c0), (a1, c1) = _AS_LOGIT[src], _AS_LOGIT[dst]
    with torch.no_grad():  # y' = (a0 * y + c0 - c1) / a1
        conv.weight.mul_(a0 / a1)
        if conv.bias is not None:
            conv.bias.mul_(a0 / a1).add_((c0 - c1) / a1)


def with_contrast(model: ReCoNet, contrast: float, pivot: Sequence[float]) -> ReCoNet:
    """A copy of ``model`` whose output contrast is scaled by ``contrast`` about ``pivot``
    (an RGB colour in [0, 1], e.g. the painting's mean): the same weights, a config that
    says so (:attr:`ReCoNetConfig.contrast`). A stylization's e_stab scales by
    ``contrast`` exactly; its style distance rises (docs/recipe.md)."""
    config = replace(model.config, contrast=float(contrast), pivot=tuple(float(v) for v in pivot))
    out = ReCoNet(config)
    out.load_state_dict(model.state_dict())
    return out.train(model.training)


class ConvNormAct(nn.Sequential):
    """Reflection pad -> conv -> instance norm -> ReLU (norm/act optional)."""

    def __init__(self, cin: int, cout: int, k: int, stride: int = 1, *, norm: bool = True,
                 act: bool = True, groups: int = 1):
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(k // 2),
            nn.Conv2d(cin, cout, k, stride=stride, groups=groups),
        ]
        if norm:
            layers.append(nn.InstanceNorm2d(cout, affine=True))
        if act:
            layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)


class ResidualBlock(nn.Module):
    """``x + body(x)``; body is two 3x3 convs, or (separable) two depthwise 3x3 + 1x1 pairs."""

    def __init__(self, ch: int, kind: str = "standard"):
        super().__init__()
        if kind == "standard":
            self.body = nn.Sequential(
                ConvNormAct(ch, ch, 3), ConvNormAct(ch, ch, 3, act=False)
            )
        else:
            self.body = nn.Sequential(
                ConvNormAct(ch, ch, 3, groups=ch, norm=False, act=False),
                ConvNormAct(ch, ch, 1),
                ConvNormAct(ch, ch, 3, groups=ch, norm=False, act=False),
                ConvNormAct(ch, ch, 1, act=False),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class Upsample(nn.Module):
    def __init__(self, mode: str):
        super().__init__()
        self.mode = mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        kwargs = {"align_corners": False} if self.mode == "bilinear" else {}
        return F.interpolate(x, scale_factor=2.0, mode=self.mode, **kwargs)


class ReCoNet(nn.Module):
    """Feed-forward stylization network; ``(B, 3, H, W)`` in [0, 1] -> same shape.

    Any ``H, W`` is accepted: the input is padded to a multiple of 4 (:meth:`pad_input`)
    and the output cropped back. :meth:`encode` and :meth:`decode` expose the encoder
    feature map used by ReCoNet's feature temporal loss and by the Chen method.
    """

    MULTIPLE = 4  # two stride-2 convolutions

    def __init__(self, config: ReCoNetConfig | None = None):
        super().__init__()
        self.config = config or ReCoNetConfig()
        c = self.config
        w0, w1, w2 = c.widths
        k = c.outer_kernel
        self.encoder = nn.Sequential(
            ConvNormAct(3, w0, k),
            ConvNormAct(w0, w1, 3, stride=2),
            ConvNormAct(w1, w2, 3, stride=2),
            *[ResidualBlock(w2, c.residual) for _ in range(c.res_blocks)],
        )
        self.decoder = nn.Sequential(
            Upsample(c.upsample),
            ConvNormAct(w2, w1, 3),
            Upsample(c.upsample),
            ConvNormAct(w1, w0, 3),
            ConvNormAct(w0, 3, k, norm=False, act=False),
        )

    @property
    def output_conv(self) -> nn.Conv2d:
        """The last convolution, whose output the activation ``config.output`` maps to [0, 1]."""
        return self.decoder[-1][1]

    @property
    def min_size(self) -> int:
        """Smallest ``H`` and ``W`` that :meth:`pad_input` only pads to the next multiple
        of 4 (by reflection): at least 8 and more than the outer kernel's reflection
        padding. Smaller inputs are padded up to it."""
        return max(8, self.config.outer_kernel // 2 + 1)

    @classmethod
    def pad_amounts(cls, h: int, w: int, min_size: int) -> tuple[int, int]:
        """Rows and columns :meth:`pad_input` adds at the bottom and right of an
        ``h`` x ``w`` input: to the next multiple of :attr:`MULTIPLE` (two stride-2
        convolutions), and to at least ``min_size`` rounded up to one.

        Under ``torch.jit`` tracing (the ONNX export) only the first part applies,
        written as shape arithmetic that stays dynamic (see :meth:`pad_input`).
        """
        m = cls.MULTIPLE
        ph, pw = (m - h % m) % m, (m - w % m) % m
        if torch.jit.is_tracing():
            return ph, pw
        least = -(-min_size // m) * m
        return max(ph, least - h), max(pw, least - w)

    @classmethod
    def pad_input(cls, x: torch.Tensor, min_size: int) -> torch.Tensor:
        """Pad ``x`` at the bottom and right as the network needs: the one rule that
        the PyTorch model, its ONNX export and the ONNX runtime's caller share.

        The sizes come from :meth:`pad_amounts`. The pad reflects where the input is
        larger than the pad, else it replicates, so tiny inputs (even 1x1) survive.
        The traced ONNX graph holds only the reflecting pad to a multiple of 4, which
        is exact for ``H, W >= min_size``; its callers pad smaller frames with this
        method first (:class:`~vidstyle.backends.onnx.OnnxStylizer`).

        Args:
            x: ``(B, C, H, W)``.
            min_size: the network's :attr:`min_size`.

        Returns:
            ``(B, C, H + ph, W + pw)``; ``x`` itself when nothing is padded.
        """
        h, w = x.shape[-2], x.shape[-1]  # traced as Shape ops when exporting
        ph, pw = cls.pad_amounts(h, w, min_size)
        if torch.jit.is_tracing():
            return F.pad(x, (0, pw, 0, ph), mode="reflect")
        if ph == 0 and pw == 0:
            return x
        mode = "reflect" if h > ph and w > pw else "replicate"
        return F.pad(x, (0, pw, 0, ph), mode=mode)

    def padded_size(self, h: int, w: int) -> tuple[int, int]:
        """The size :meth:`pad_input` pads an ``h`` x ``w`` input to; the encoder
        features are exactly a quarter of it."""
        ph, pw = self.pad_amounts(h, w, self.min_size)
        return h + ph, w + pw

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Encoder features ``(B, w2, ceil(H/4), ceil(W/4))`` (at least 2x2) of ``x`` ``(B, 3, H, W)``."""
        check_image("ReCoNet.encode: x", x)
        return self.encoder(self.pad_input(x, self.min_size))

    def decode(self, features: torch.Tensor, size: tuple[int, int] | None = None) -> torch.Tensor:
        """Decode features to an image in [0, 1], cropped to ``size = (H, W)`` if given."""
        y = self.decoder(features)
        if self.config.output == "sigmoid":
            y = torch.sigmoid(y)
        elif self.config.output == "tanh":
            y = 0.5 * (torch.tanh(y) + 1.0)
        elif not self.training:  # "clamp": unbounded in training, clamped for use
            y = y.clamp(0.0, 1.0)
        if self.config.contrast != 1.0:
            pivot = y.new_tensor(self.config.pivot).view(1, 3, 1, 1)
            y = pivot + self.config.contrast * (y - pivot)
        if size is not None:
            y = y[..., : size[0], : size[1]]
        return y

    def forward(
        self, x: torch.Tensor, return_features: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Stylize ``x``; with ``return_features`` also return the encoder features
        (one pass, for the feature temporal loss; works through DDP)."""
        f = self.encode(x)
        y = self.decode(f, x.shape[-2:])
        return (y, f) if return_features else y
