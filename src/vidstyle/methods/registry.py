"""The stylization methods by name: one registry that everything else reads.

timm-style: each method is a module (its stylizer) plus one :func:`register` line
at the end of this file. The command line's ``--method`` choices, ``vidstyle
evaluate``, the webcam, the app and the Python API all take their method names
and what a method needs from :data:`METHODS`; nothing else lists them.

A :class:`MethodSpec` says what a method needs:

* ``network``: the network whose weights it runs, as bundled models name it
  (``STYLE.NETWORK.pt``): its own name for the feed-forward methods, ``reconet``
  for chen (it blends that network's features), ``None`` for ruder, which has no
  network and optimises against a style *image*;
* ``onnx``: whether the onnxruntime backend can run it (one network pass per
  frame, nothing around it);
* ``lite``: whether the bundled lite networks (``S-lite``) apply;
* ``flow_guided``: whether it uses optical flow at test time (a ``flow_fn``, e.g.
  ground truth, replaces its estimator);
* ``config``: its settings dataclass (:class:`~vidstyle.methods.chen.ChenConfig`,
  :class:`~vidstyle.methods.ruder.RuderConfig`), ``None`` where it has none;
* ``build``: ``build(ref, device, config, *, half, flow_fn, progress)`` -> a
  :class:`Stylizer` in PyTorch, from a resolved
  :class:`~vidstyle.reference.StyleRef` (see :func:`vidstyle.api.create_stylizer`,
  which also picks the backend).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any, Protocol

import torch

from vidstyle.errors import VidstyleError
from vidstyle.image import load_image
from vidstyle.methods.chen import ChenConfig, ChenStylizer
from vidstyle.methods.feedforward import FeedForwardStylizer
from vidstyle.methods.ruder import RuderConfig, RuderStylizer
from vidstyle.models.checkpoint import load_checkpoint
from vidstyle.models.reconet import ReCoNet

if TYPE_CHECKING:
    from vidstyle.methods.base import FlowFn
    from vidstyle.reference import StyleRef


class Stylizer(Protocol):
    """What every method (and backend) gives :func:`vidstyle.pipeline.stylize_path`.

    ``__call__`` takes the next ``(B, 3, H, W)`` float frames in [0, 1] of one video,
    in order, and returns ``(B, 3, H, W)`` float32 on the CPU; ``reset()`` forgets
    the previous frames (between videos; a no-op for feed-forward methods).
    """

    def reset(self) -> None: ...

    def __call__(self, frames: torch.Tensor) -> torch.Tensor: ...


# build(ref, device, config, *, half, flow_fn, progress) -> Stylizer
BuildFn = Callable[..., Stylizer]


@dataclass(frozen=True)
class MethodSpec:
    """What a method needs and how to build it (see the module docstring)."""

    name: str
    summary: str  # one line, for --help
    network: str | None  # bundled network it runs (STYLE.NETWORK.pt); None: a style image
    onnx: bool  # the onnxruntime backend runs it
    lite: bool  # the bundled lite networks (S-lite) apply
    flow_guided: bool  # uses optical flow at test time
    config: type | None  # its settings dataclass, None if it has none
    build: BuildFn

    def make_config(self, config: Any = None) -> Any:
        """This method's settings: the defaults, ``config`` itself (an instance of
        :attr:`config`), or the defaults with the fields of a mapping replaced.
        ``None`` for a method without settings (and no overrides)."""
        if config is None or (isinstance(config, Mapping) and not config):
            return None if self.config is None else self.config()
        if self.config is None:
            raise VidstyleError(f"the {self.name} method has no settings", option="config")
        if isinstance(config, self.config):
            return config
        if isinstance(config, Mapping):
            known = {f.name for f in fields(self.config)}
            unknown = sorted(set(config) - known)
            if unknown:
                raise VidstyleError(f"unknown {self.name} setting(s) {', '.join(unknown)}; "
                                    f"known: {', '.join(sorted(known))}", option="config")
            return replace(self.config(), **config)
        raise TypeError(f"config of {self.name} must be a {self.config.__name__} or a mapping "
                        f"of its fields, got {type(config).__name__}")


METHODS: dict[str, MethodSpec] = {}


def register(spec: MethodSpec) -> MethodSpec:
    """Add a method to :data:`METHODS` (names are unique)."""
    if spec.name in METHODS:
        raise ValueError(f"method {spec.name!r} is registered already")
    if spec.onnx and spec.network is None:
        raise ValueError(f"method {spec.name!r}: the onnx backend runs a network, and it has none")
    METHODS[spec.name] = spec
    return spec


def get_method(name: str) -> MethodSpec:
    """The spec of method ``name``; an unknown name raises :class:`VidstyleError`."""
    try:
        return METHODS[name]
    except (KeyError, TypeError):
        raise VidstyleError(f"unknown method {name!r}; choose from {', '.join(METHODS)}",
                            option="method") from None


# ----------------------------------------------------------------------------- builders


def _network(ref: StyleRef) -> ReCoNet:
    model, _ = load_checkpoint(ref.checkpoint())
    return model


def build_feedforward(ref: StyleRef, device: torch.device, config: None, *, half: bool = False,
                      flow_fn: FlowFn | None = None, progress=None) -> Stylizer:
    """per-frame, huang, reconet: the network of ``ref``, one pass per frame."""
    return FeedForwardStylizer(_network(ref), device, half=half)


def build_chen(ref: StyleRef, device: torch.device, config: ChenConfig, *, half: bool = False,
               flow_fn: FlowFn | None = None, progress=None) -> Stylizer:
    """chen: the reconet network of ``ref`` with flow-guided feature blending."""
    return ChenStylizer(_network(ref), device, half=half, flow_fn=flow_fn,
                        flow_method=config.flow_method, blend=config.blend,
                        mask_softness=config.mask_softness)


def build_ruder(ref: StyleRef, device: torch.device, config: RuderConfig, *, half: bool = False,
                flow_fn: FlowFn | None = None, progress=None) -> Stylizer:
    """ruder: optimisation of every frame against the style image ``ref.path``
    (``progress(frame, iteration, loss)`` at every loss evaluation); it has no
    network, so ``half`` does not apply."""
    return RuderStylizer(load_image(ref.path), config, device, flow_fn=flow_fn, progress=progress)


# ----------------------------------------------------------------------------- the methods
# In the order of the comparison (README, `vidstyle evaluate`): baseline first.

register(MethodSpec("per-frame", "Johnson et al. 2016; a network, each frame alone",
                    network="per-frame", onnx=True, lite=False, flow_guided=False, config=None,
                    build=build_feedforward))
register(MethodSpec("huang", "Huang et al. 2017; the network trained with an output temporal loss",
                    network="huang", onnx=True, lite=False, flow_guided=False, config=None,
                    build=build_feedforward))
register(MethodSpec("reconet", "Gao et al. 2018 (ReCoNet); the network trained not to flicker",
                    network="reconet", onnx=True, lite=True, flow_guided=False, config=None,
                    build=build_feedforward))
register(MethodSpec("chen", "Chen et al. 2017; reconet plus flow-guided feature blending",
                    network="reconet", onnx=False, lite=True, flow_guided=True, config=ChenConfig,
                    build=build_chen))
register(MethodSpec("ruder", "Ruder et al. 2016; each frame optimised, slow; the style is an image",
                    network=None, onnx=False, lite=False, flow_guided=True, config=RuderConfig,
                    build=build_ruder))


__all__ = ["METHODS", "MethodSpec", "Stylizer", "get_method", "register"]
