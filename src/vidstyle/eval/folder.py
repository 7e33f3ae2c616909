"""Metrics of a folder of stylized frames against its inputs (``vidstyle evaluate``)."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from vidstyle.data.sintel import load_pair, sintel_pairs
from vidstyle.errors import VidstyleError
from vidstyle.eval.metrics import (
    StyleReference,
    content_distance,
    e_stab,
    pair_stability_error,
    warping_error,
)
from vidstyle.flow.warp import resize_flow, resize_mask
from vidstyle.image import list_images, load_image, resize_images
from vidstyle.losses.vgg import VGG19


def _load_resized(path: Path, size: tuple[int, int] | None) -> torch.Tensor:
    x = load_image(path)
    return x if size is None else resize_images(x, size, "area")


def evaluate_folder(
    stylized: str | os.PathLike,
    *,
    inputs: str | os.PathLike | None = None,
    style: str | os.PathLike | None = None,
    sintel: str | os.PathLike | None = None,
    scene: str | None = None,
    pass_name: str = "final",
    max_size: int | None = None,
) -> dict[str, float | int]:
    """e_stab (with Sintel GT flow), warping error and content distance (with the
    inputs), style distance (with the style image) of the frames in ``stylized``.

    Frames are matched by file name. With ``sintel`` and ``scene`` and no
    ``inputs``, the inputs are the Sintel frames of that scene.
    """
    out_dir = Path(stylized)
    if not out_dir.is_dir():
        raise VidstyleError(f"stylized frames folder not found: {out_dir}")
    outputs = list_images(out_dir)
    if not outputs:
        raise VidstyleError(f"no images in {out_dir}")
    by_name = {p.name: p for p in outputs}
    results: dict[str, float | int] = {"frames": len(outputs)}
    if (sintel is None) != (scene is None):
        raise VidstyleError("a Sintel root and a scene go together: give both or neither",
                            option="scene")

    first = load_image(outputs[0], max_size=max_size)
    size = tuple(first.shape[-2:])

    if sintel is not None:
        errs = []
        for pair in sintel_pairs(sintel, pass_name, scenes=[scene]):
            a, b = by_name.get(pair.frame1.name), by_name.get(pair.frame2.name)
            if a is None or b is None:
                continue
            d = load_pair(pair)
            o1, o2 = _load_resized(a, size), _load_resized(b, size)
            flow = resize_flow(d["flow"], size)
            mask = resize_mask(d["mask"], size)
            errs.append(pair_stability_error(o1, o2, flow, mask))
        if not errs:
            raise VidstyleError(
                f"no Sintel pair of scene {scene!r} has both its frames in {out_dir}"
            )
        results["sintel_pairs"] = len(errs)
        results["e_stab"] = e_stab(errs)
        if inputs is None:
            inputs = Path(sintel) / pass_name / scene

    vgg = None
    if inputs is not None:
        in_dir = Path(inputs)
        if not in_dir.is_dir():
            raise VidstyleError(f"input frames folder not found: {in_dir}")
        names = [p.name for p in outputs if (in_dir / p.name).is_file()]
        if not names:
            raise VidstyleError(f"no file in {in_dir} has the name of a stylized frame")
        outs = [_load_resized(out_dir / n, size) for n in names]
        ins = [_load_resized(in_dir / n, size) for n in names]
        if len(names) >= 2:
            results["warping_error"] = warping_error(outs, ins)
        vgg = VGG19(last_layer="relu4_3")
        results["content_distance"] = content_distance(outs, ins, vgg)
    if style is not None:
        vgg = vgg or VGG19(last_layer="relu4_3")
        ref = StyleReference(vgg, load_image(style, max_size=512))
        results["style_distance"] = ref.distance(
            [_load_resized(p, size) for p in outputs]
        )
    return results
