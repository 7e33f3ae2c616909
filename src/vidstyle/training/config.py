"""Training configuration: one dataclass, saved inside every checkpoint.

Loss scales (measured at step 0 on photos with candy at 128x128 with a width-32
network: Caffe-scale VGG-19 features, Gram matrices divided by C*H*W, style loss =
mean squared Gram difference summed over 4 layers): content ~5e5, style ~5e6,
TV ~0.05, L_temp_o ~4e-3, L_temp_f ~0.3. With content and style weighted 1:10
the style overwhelms the content (after 100 steps the output holds no trace of
the photo); 10:1 keeps the structure with a clearly stylized palette and texture.
``vidstyle train`` prints each weighted term at step 0.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from vidstyle.models.reconet import ReCoNetConfig

PRESETS = ("per-frame", "huang", "reconet", "debug")


@dataclass(frozen=True)
class LossWeights:
    """Weights of ``L = sum_i (a Lc + b Ls + g Ltv + d Ld) + lf Lf + lo Lo`` (ReCoNet eq. 1,
    plus an optional distillation term ``Ld`` towards a teacher model's output)."""

    content: float = 1e-4  # a: VGG relu3_3 feature MSE (Caffe scale, ~5e5 at step 0)
    style: float = 1e-5  # b: Gram MSE over relu1_2..relu4_3 (~5e6 at step 0)
    # each style layer's share of b, in the order of vidstyle.losses.STYLE_LAYERS
    style_layers: tuple[float, ...] = (1.0, 1.0, 1.0, 1.0)
    tv: float = 1.0  # g: mean absolute neighbour difference of the output
    temporal_feature: float = 0.0  # lf: L_temp_f on the encoder output (reconet)
    temporal_output: float = 0.0  # lo: L_temp_o on the output (reconet, huang)
    luminance: bool = True  # L_temp_o follows the input's relative luminance (reconet)
    # weight of the temporal terms' pixels within 8 px of an occlusion relative to the
    # others, their mean kept (vidstyle.losses.weight_near_occlusions)
    occlusion: float = 1.0
    distill: float = 0.0  # d: mean squared difference to the teacher's output ([0, 1] images)

    def scaled(
        self,
        *,
        content: float | None = None,
        style: float | None = None,
        tv: float | None = None,
        temporal: float | None = None,
        distill: float | None = None,
        occlusion: float | None = None,
        style_layers: tuple[float, ...] | None = None,
    ) -> LossWeights:
        """These weights with the given ones replaced (``None`` keeps a weight).

        ``temporal`` sets the output temporal weight and scales the feature temporal
        weight with it, keeping their ratio (the preset's balance of the two terms).
        """
        new: dict[str, Any] = {
            k: v for k, v in {"content": content, "style": style, "tv": tv, "distill": distill,
                              "occlusion": occlusion, "style_layers": style_layers}.items()
            if v is not None
        }
        if temporal is not None:
            if self.temporal_output > 0:
                new["temporal_feature"] = self.temporal_feature * temporal / self.temporal_output
            new["temporal_output"] = temporal
        return replace(self, **new)


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run."""

    preset: str = "reconet"
    style: str = ""  # path of the style image
    style_size: int = 256  # long side the style image is scaled to for its Gram targets
    data: tuple[str, ...] = ()  # data specs: "photos:DIR", "clip:FILE_OR_DIR", "sintel:ROOT"
    data_weights: tuple[float, ...] = ()  # mixture weights (default: equal)
    frame_blur: float = 0.0  # photos: max sigma (px) of a blur drawn for each frame of a pair
    frame_motion_blur: float = 0.0  # photos: max motion-blur streak of a frame, times its motion
    frame_deform: float = 0.0  # photos: max px of a smooth bending of each layer (in the flow)
    frame_shading: float = 0.0  # photos: amplitude of a smooth gain field on the current frame
    frame_jitter: float = 0.0  # photos: max shift (px) of the current frame that the flow omits
    frame_motion: float = 1.0  # photos: scale of the synthetic camera and layer motion
    frame_layers: int = 2  # photos: most moving layers (occluders) in a pair
    steps: int = 2000
    size: int = 128  # training crop side (square crops)
    batch_size: int = 2  # frame pairs per step (per process)
    lr: float = 1e-3
    lr_final: float = 1e-4  # cosine decay to this learning rate at the last step
    seed: int = 0
    model: ReCoNetConfig = field(default_factory=ReCoNetConfig)
    teacher: str = ""  # model (bundled style name or .pt) whose output the distill term follows
    init: str = ""  # model (bundled style name or .pt) whose weights start the run (warm start)
    # "all": train every weight; "norm": only the instance-norm scales and shifts, the
    # rest frozen at the init model's (conditional instance normalisation, Dumoulin et al. 2017)
    fit: str = "all"
    minutes: float = 0.0  # > 0: train for this wall-clock budget; the schedule spans it, not ``steps``
    val_every: int = 50  # style distance of a fixed validation crop every N steps (0: never)
    weights: LossWeights = field(default_factory=LossWeights)
    log_every: int = 10
    sample_every: int = 100
    checkpoint_every: int = 100
    snapshot_every: int = 0  # keep an fp16 model every N steps in snapshots/ (0: never), for curves
    num_workers: int = 2
    amp: bool = True  # autocast to fp16 on CUDA (ignored on CPU)
    channels_last: bool = True  # on CUDA

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["model"] = self.model.to_dict()
        d["data"] = list(self.data)
        d["data_weights"] = list(self.data_weights)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown TrainConfig fields: {sorted(unknown)}")
        d = dict(d)
        d["model"] = ReCoNetConfig.from_dict(d.get("model", {}))
        weights = dict(d.get("weights", {}))
        if "style_layers" in weights:  # a list once through JSON
            weights["style_layers"] = tuple(weights["style_layers"])
        d["weights"] = LossWeights(**weights)
        d["data"] = tuple(d.get("data", ()))
        d["data_weights"] = tuple(d.get("data_weights", ()))
        return cls(**d)


# Temporal weights of the two temporal presets. L_temp_o is measured on [0, 1]
# images and L_temp_f on encoder features, both far smaller than the perceptual
# terms, hence the large weights.
_RECONET = LossWeights(temporal_feature=50.0, temporal_output=5000.0, luminance=True)
_HUANG = LossWeights(temporal_feature=0.0, temporal_output=5000.0, luminance=False)

# The recipe of docs/recipe.md, the defaults of the three real presets: 256x256 crops,
# batch 1, the style image at 384 px, style weight 3e-4 (x30 the first presets') and
# temporal weights x10; a warm start from a trained network is the CLI's default
# (``vidstyle train --init``, see :data:`RECIPE_INIT`).
RECIPE_STYLE_WEIGHT = 3e-4
RECIPE_TEMPORAL_SCALE = 10.0
RECIPE = {"size": 256, "batch_size": 1, "style_size": 384, "lr": 1e-3}
# The bundled model a run starts from when ``--init`` is not given, per network size:
# a new style learns fastest from a trained network (docs/recipe.md).
RECIPE_INIT = {"full": "candy", "lite": "candy-lite"}


def _recipe_weights(base: LossWeights) -> LossWeights:
    return replace(base, style=RECIPE_STYLE_WEIGHT,
                   temporal_feature=base.temporal_feature * RECIPE_TEMPORAL_SCALE,
                   temporal_output=base.temporal_output * RECIPE_TEMPORAL_SCALE)


def preset_config(preset: str, **overrides: Any) -> TrainConfig:
    """The documented defaults of a preset, with ``overrides`` applied.

    * ``per-frame``: content + style + TV (Johnson et al. 2016).
    * ``huang``: + output temporal loss without the luminance term (Huang et al. 2017).
    * ``reconet``: + feature temporal loss + luminance-aware output temporal loss.
    * ``debug``: a tiny reconet that trains in seconds on a CPU (for tests).

    The first three use the recipe (:data:`RECIPE`, :data:`RECIPE_STYLE_WEIGHT`,
    :data:`RECIPE_TEMPORAL_SCALE`); its warm start is left to the caller
    (``init``; the CLI defaults to :data:`RECIPE_INIT`).
    """
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose from {', '.join(PRESETS)}")
    if preset in ("per-frame", "huang", "reconet"):
        base = {"per-frame": LossWeights(), "huang": _HUANG, "reconet": _RECONET}[preset]
        cfg = TrainConfig(preset=preset, weights=_recipe_weights(base), **RECIPE)
    else:
        cfg = TrainConfig(
            preset="debug",
            weights=_RECONET,
            model=ReCoNetConfig(widths=(8, 16, 16), res_blocks=1, outer_kernel=3),
            steps=4,
            size=32,
            style_size=64,
            batch_size=1,
            log_every=1,
            sample_every=2,
            checkpoint_every=2,
            val_every=2,
            num_workers=0,
        )
    return replace(cfg, **overrides)

