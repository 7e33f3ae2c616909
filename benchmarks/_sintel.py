"""The bundled-model metric, shared by the benchmark scripts: a model on the 13 shared
Sintel pairs at 1024x436 (final pass), ground-truth flow and occlusion.

* e_stab (ReCoNet Table 2) of the model's outputs;
* style distance: mean over relu1_2..relu4_3 of ||G(O)-G(S)||/||G(S)||, style image at 512 px;
* content distance: ||F(O)-F(I)||/||F(I)|| at relu4_2.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import torch

from vidstyle.data.sintel import load_pair, sintel_pairs
from vidstyle.eval.metrics import StyleReference, content_distances, e_stab, pair_stability_error
from vidstyle.image import load_image
from vidstyle.losses.vgg import VGG19
from vidstyle.models import load_checkpoint
from vidstyle.pretrained import resolve_model

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
STYLES = DATA / "styles"
# The style image of each bundled style (shared/data/styles).
STYLE_FILES = {
    "candy": "candy.jpg", "mosaic": "mosaic.jpg",
    "starry_night": "vangogh_starry_night.jpg", "great_wave": "hokusai_great_wave.jpg",
    "udnie": "picabia_udnie.jpg", "the_scream": "munch_the_scream.jpg",
    "la_muse": "picasso_la_muse.jpg", "rain_princess": "afremov_rain_princess.jpg",
    "composition_vii": "kandinsky_composition_vii.jpg",
    "shipwreck": "turner_shipwreck_of_the_minotaur.jpg",
}
STYLE_EVAL_SIZE = 512  # long side of the style image whose Grams the outputs are compared with


def input_and_models(names: list[str]) -> Iterator[tuple[str, Callable[[torch.Tensor], torch.Tensor]]]:
    """``("input frames", identity)``, then each model by its name (a bundled style's reconet
    model or a model file), loaded in float32 for evaluation when its turn comes."""
    yield "input frames", lambda x: x
    for name in names:
        yield name, load_checkpoint(resolve_model(name))[0].float().eval()


class SintelBench:
    """The shared Sintel pairs loaded once, and the loss network to measure outputs with."""

    def __init__(self, max_size: int = 1024, pass_name: str = "final"):
        self.max_size = max_size
        self.pairs = sintel_pairs(DATA / "sintel", pass_name)
        self.loaded = [load_pair(p, max_size=max_size) for p in self.pairs]
        self.vgg = VGG19(last_layer="relu4_3")

    @torch.no_grad()
    def measure(self, fn: Callable[[torch.Tensor], torch.Tensor],
                style_image: str | Path | None) -> dict:
        """``fn`` maps a ``(1, 3, H, W)`` frame to its stylization. Returns e_stab, and with a
        style image also the style and content distances, plus the outputs of each pair's
        first frame (``outs``) and those frames (``ins``)."""
        errs, outs, ins = [], [], []
        for d in self.loaded:
            o1, o2 = fn(d["frame1"]).clamp(0, 1), fn(d["frame2"]).clamp(0, 1)
            errs.append(pair_stability_error(o1, o2, d["flow"], d["mask"]))
            outs.append(o1)
            ins.append(d["frame1"])
        res = {"e_stab": e_stab(errs), "outs": outs, "ins": ins}
        if style_image is not None:
            ref = StyleReference(self.vgg, load_image(style_image, max_size=STYLE_EVAL_SIZE))
            res["style"] = sum(ref.distances(outs)) / len(outs)
            res["content"] = sum(content_distances(outs, ins, self.vgg)) / len(outs)
        return res


def look_inputs(bench: SintelBench) -> list[torch.Tensor]:
    """The two full-size inputs whose 1:1 crops show a model's strokes (as in
    ``shared/reference/look.png``): a Sintel frame at 1024x436 and the Tuebingen photo
    at 1024x768."""
    market = next(d for p, d in zip(bench.pairs, bench.loaded) if p.name.startswith("market_5"))
    photo = load_image(DATA / "photos" / "style_transfer_content" / "tubingen.jpg", max_size=1024)
    return [market["frame1"], photo]


LOOK_CROPS = ((90, 256), (380, 384))  # (top, left) of the 256x512 crop in each look input


@torch.no_grad()
def look_strip(fn: Callable[[torch.Tensor], torch.Tensor], inputs: list[torch.Tensor]) -> torch.Tensor:
    """``fn``'s outputs on the look inputs, cropped 256x512 at full size, side by side:
    ``(1, 3, 256, 1024)``."""
    crops = []
    for x, (top, left) in zip(inputs, LOOK_CROPS):
        y = fn(x).clamp(0, 1)
        crops.append(y[..., top: top + 256, left: left + 512])
    return torch.cat(crops, dim=-1)


def save_jpeg(x: torch.Tensor, path: Path, quality: int = 88) -> None:
    """Save a ``(1, 3, H, W)`` image in [0, 1] as JPEG (pictures for docs: small files)."""
    from PIL import Image

    arr = (x[0].permute(1, 2, 0).clamp(0, 1) * 255 + 0.5).byte().numpy()
    Image.fromarray(arr).save(path, quality=quality)
