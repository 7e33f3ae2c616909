"""The look of each bundled model, pinned: style distance and e_stab on the bundled demo clip.

    python tests/lookpin.py      # rewrite tests/golden/bundled_look.json after retraining models

``tests/test_bundled_look.py`` recomputes these figures and fails when a bundled model
drifts by more than 5% from them (a model replaced without regenerating the golden file,
or a change in the network, the loader or the fp16 export).

Figures: the first :data:`FRAMES` frames of ``assets/demo.mp4`` scaled to a long side of
:data:`SIZE`; e_stab over consecutive pairs with OpenCV DIS flow and its forward-backward
mask (estimated once on the input frames); style distance (relative Gram distance,
relu1_2..relu4_3) to the model's own style image at :data:`STYLE_SIZE`, from
``../shared/data/styles``.
"""

from __future__ import annotations

import json
import os
import sys
from functools import cache
from pathlib import Path

import torch
import torch.nn.functional as F

REPO = Path(__file__).resolve().parents[1]
GOLDEN = REPO / "tests" / "golden" / "bundled_look.json"
STYLES = Path(os.environ.get("VIDSTYLE_SHARED_DATA", REPO.parent / "shared" / "data")) / "styles"
FRAMES = 6
SIZE = 320
STYLE_SIZE = 256


@cache
def demo_frames() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(frames (N, 3, H, W), flow (N-1, 2, H, W) t -> t+1, mask (N-1, 1, H, W))``."""
    from vidstyle.demo import demo_clip
    from vidstyle.flow.estimate import estimated_occlusion
    from vidstyle.video import open_source

    frames = []
    with open_source(demo_clip()) as src:
        for rgb, _ in src.frames():
            frames.append(torch.from_numpy(rgb).permute(2, 0, 1).float().div(255))
            if len(frames) == FRAMES:
                break
    x = torch.stack(frames)
    h, w = x.shape[-2:]
    s = SIZE / max(h, w)
    x = F.interpolate(x, size=(round(h * s), round(w * s)), mode="area")
    flow, mask = estimated_occlusion(x[:-1], x[1:])
    return x, flow, mask


@cache
def _vgg():
    from vidstyle.losses.vgg import VGG19

    return VGG19(last_layer="relu4_3")


@torch.no_grad()
def measure(path: str | os.PathLike) -> dict[str, float]:
    """``{"style": ..., "e_stab": ...}`` of the bundled model file ``path``."""
    from vidstyle.eval.metrics import StyleReference, e_stab, pair_stability_errors
    from vidstyle.image import load_image
    from vidstyle.models import load_checkpoint

    model, ckpt = load_checkpoint(path)
    x, flow, mask = demo_frames()
    out = model(x).clamp(0, 1)
    ref = StyleReference(_vgg(), load_image(STYLES / ckpt["meta"]["style_image"], max_size=STYLE_SIZE))
    return {"style": round(ref.distance(out), 5),
            "e_stab": round(e_stab(pair_stability_errors(out[:-1], out[1:], flow, mask)), 5)}


def main() -> int:
    from vidstyle.pretrained import bundled_models

    torch.set_num_threads(min(2, torch.get_num_threads()))
    golden = {f"{s}.{m}": measure(p) for (s, m), p in sorted(bundled_models().items())}
    GOLDEN.parent.mkdir(exist_ok=True)
    GOLDEN.write_text(json.dumps(golden, indent=1) + "\n")
    for k, v in golden.items():
        print(f"{k:28s} style {v['style']:.4f}  e_stab {v['e_stab']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
