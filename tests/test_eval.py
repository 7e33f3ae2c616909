"""Sintel data access and the evaluation metrics (e_stab, warping error, style/content).

The metrics run on generated data with exact flow (gendata.write_sintel, in Sintel's
layout); the tests marked ``data`` check the loader and its figures on the real Sintel
subset of the shared data."""

from __future__ import annotations

import math
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from vidstyle.data.sintel import SintelPair, load_pair, sintel_pairs
from vidstyle.errors import VidstyleError
from vidstyle.eval import (
    StyleReference,
    content_distance,
    content_distances,
    e_stab,
    e_stab_pairs,
    mean_abs_frame_difference,
    pair_stability_error,
    pair_stability_errors,
    stability_error_map,
    style_distance,
    warping_error,
    warping_errors,
)
from vidstyle.flow.warp import inside_mask, warp
from vidstyle.image import load_image
from vidstyle.losses.vgg import VGG19

SMALL = 256  # long side for real Sintel frames in tests (1024x436 -> 256x109)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def vgg() -> VGG19:
    return VGG19(last_layer="relu4_3")


@pytest.fixture(scope="module")
def layer_pairs(sintel_tree: Path) -> list[dict[str, torch.Tensor]]:
    """Both generated pairs of moving, occluding layers (final pass, frames 0001 and 0003)."""
    return [load_pair(p) for p in sintel_pairs(sintel_tree, "final", ["layers_2"])]


@pytest.fixture(scope="module")
def images(style: str, photos: str) -> dict[str, torch.Tensor]:
    """A generated painting ("candy", the style) and a generated photo."""
    return {
        "candy": load_image(style, 128),
        "photo": load_image(Path(photos) / "photo_0.png", 128),
    }


def _e_stab_of_inputs(root: Path, scene: str, pass_name: str, max_size: int | None) -> float:
    pairs = sintel_pairs(root, pass_name, [scene], fallback=False)
    errs = []
    for p in pairs:
        d = load_pair(p, max_size)
        errs.append(pair_stability_error(d["frame1"], d["frame2"], d["flow"], d["mask"]))
    return e_stab(errs)


# --------------------------------------------------------------------------- Sintel


def test_sintel_loader_on_a_generated_tree(sintel_tree: Path) -> None:
    # Discovery and pass fallback: layers_2's second pair exists in the final pass only.
    final = sintel_pairs(sintel_tree, "final")
    assert [p.name for p in final] == ["layers_2/final/0001", "layers_2/final/0003",
                                       "pan_1/final/0001", "pan_1/final/0003"]
    assert [p.name for p in sintel_pairs(sintel_tree, "clean")] == [
        "layers_2/clean/0001", "layers_2/final/0003", "pan_1/clean/0001", "pan_1/clean/0003"]
    assert len(sintel_pairs(sintel_tree, "clean", fallback=False)) == 3
    # The mask is "not occluded, not invalid, lands inside frame t+1".
    pair = final[0]
    d = load_pair(pair)
    assert d["frame1"].shape == (1, 3, 64, 96) and d["flow"].shape == (1, 2, 64, 96)
    occ = np.asarray(Image.open(pair.occlusions)) == 255
    inv = np.asarray(Image.open(pair.invalid)) == 255
    inside = inside_mask(d["flow"])[0, 0].bool().numpy()
    assert occ.any() and inv.any() and (~inside).any()  # the test would notice a missing term
    np.testing.assert_array_equal(d["mask"][0, 0].numpy(), (~occ & ~inv & inside).astype(np.float32))
    # Direction: warping frame t+1 with the forward flow reproduces frame t.
    m = d["mask"].bool().expand(-1, 3, -1, -1)
    err_warp = (warp(d["frame2"], d["flow"]) - d["frame1"]).abs()[m].mean()
    err_none = (d["frame2"] - d["frame1"]).abs()[m].mean()
    assert err_warp < 0.3 * err_none
    # Downscaled: vectors scale with the image, the mask stays conservative.
    small = load_pair(pair, 48)
    assert small["frame1"].shape == (1, 3, 32, 48) and small["mask"].shape == (1, 1, 32, 48)
    assert small["flow"].mean().item() == pytest.approx(d["flow"].mean().item() / 2, rel=0.02,
                                                        abs=1e-3)
    assert torch.all(small["mask"] <= inside_mask(small["flow"]))


@pytest.mark.data
def test_sintel_pairs_discovers_every_flow_with_its_frames(sintel_root: Path) -> None:
    pairs = sintel_pairs(sintel_root, "final")
    flows = sorted((sintel_root / "flow").glob("*/frame_*.flo"))
    assert len(pairs) == len(flows) == 13
    assert [(p.scene, p.t) for p in pairs] == sorted((p.scene, p.t) for p in pairs)
    for p in pairs:
        assert isinstance(p, SintelPair) and p.pass_name == "final"
        assert p.frame1.name == f"frame_{p.t:04d}.png" and p.frame1.is_file()
        assert p.frame2.name == f"frame_{p.t + 1:04d}.png" and p.frame2.is_file()
        assert p.occlusions is not None and p.occlusions.is_file()
    assert [p.t for p in sintel_pairs(sintel_root, "final", ["cave_2"])] == [2, 11]


@pytest.mark.data
def test_sintel_pairs_falls_back_to_the_other_pass(sintel_root: Path) -> None:
    clean = sintel_pairs(sintel_root, "clean")
    assert len(clean) == 13
    used = {p.name for p in clean}
    assert {"alley_1/clean/0002", "cave_2/clean/0002", "cave_2/final/0011"} <= used
    assert all(str(p.frame1).split("/")[-3] == p.pass_name for p in clean)
    strict = sintel_pairs(sintel_root, "clean", fallback=False)
    assert {p.name for p in strict} == {
        "alley_1/clean/0002",
        "cave_2/clean/0002",
        "market_5/clean/0002",
    }


def test_sintel_errors(sintel_tree: Path, tmp_path: Path) -> None:
    with pytest.raises(VidstyleError, match="not found"):
        sintel_pairs(tmp_path / "nowhere")
    with pytest.raises(VidstyleError, match="no flow/"):
        sintel_pairs(tmp_path)
    with pytest.raises(VidstyleError, match="alley_9"):
        sintel_pairs(sintel_tree, "final", ["alley_9"])
    with pytest.raises(ValueError, match="pass_name"):
        sintel_pairs(sintel_tree, "albedo")
    (tmp_path / "flow" / "scene").mkdir(parents=True)
    (tmp_path / "flow" / "scene" / "frame_0001.flo").write_bytes(b"")
    with pytest.raises(VidstyleError, match="no Sintel pairs"):
        sintel_pairs(tmp_path)  # a flow file but no frames


@pytest.mark.data
def test_load_pair_full_size_mask_is_occlusion_invalid_and_inside(sintel_root: Path) -> None:
    pair = sintel_pairs(sintel_root, "final", ["cave_2"])[0]
    d = load_pair(pair)
    assert d["frame1"].shape == d["frame2"].shape == (1, 3, 436, 1024)
    assert d["flow"].shape == (1, 2, 436, 1024) and d["mask"].shape == (1, 1, 436, 1024)
    occ = np.asarray(Image.open(pair.occlusions)) == 255
    inv = np.asarray(Image.open(pair.invalid)) == 255
    inside = inside_mask(d["flow"])[0, 0].bool().numpy()
    expected = ~occ & ~inv & inside
    assert occ.any() and (~inside).any()  # the test would notice a missing term
    np.testing.assert_array_equal(d["mask"][0, 0].numpy(), expected.astype(np.float32))
    # Direction: warping frame t+1 with the forward flow reproduces frame t.
    m = d["mask"].bool().expand(-1, 3, -1, -1)
    err_warp = (warp(d["frame2"], d["flow"]) - d["frame1"]).abs()[m].mean()
    err_none = (d["frame2"] - d["frame1"]).abs()[m].mean()
    assert err_warp < 0.3 * err_none


@pytest.mark.data
def test_load_pair_resizes_flow_and_mask(sintel_root: Path) -> None:
    pair = sintel_pairs(sintel_root, "final", ["cave_2"])[0]
    full, small = load_pair(pair), load_pair(pair, SMALL)
    assert small["frame1"].shape == (1, 3, 109, 256) and small["frame2"].shape == (1, 3, 109, 256)
    assert small["flow"].shape == (1, 2, 109, 256) and small["mask"].shape == (1, 1, 109, 256)
    # Vectors scale with the image: mean x/y flow shrinks by 256/1024 and 109/436.
    for c, s in ((0, 256 / 1024), (1, 109 / 436)):
        assert small["flow"][:, c].mean().item() == pytest.approx(
            full["flow"][:, c].mean().item() * s, rel=0.02, abs=1e-3
        )
    assert set(small["mask"].unique().tolist()) <= {0.0, 1.0}
    assert small["mask"].mean() <= full["mask"].mean()  # conservative
    assert torch.all(small["mask"] <= inside_mask(small["flow"]))


# --------------------------------------------------------------------------- e_stab


def test_e_stab_of_exact_warped_copies_is_zero(layer_pairs: list[dict[str, torch.Tensor]]) -> None:
    d = layer_pairs[0]
    x = torch.rand_like(d["frame1"])  # arbitrary O_{t+1}
    out_t = warp(x, d["flow"])  # O_t(p) = O_{t+1}(p + f(p)) exactly
    err = pair_stability_error(out_t, x, d["flow"], d["mask"])
    assert err < 1e-12
    assert e_stab([err, err]) < 1e-6
    # ...and the same outputs with a wrong (negated) flow are far from 0.
    assert pair_stability_error(out_t, x, -d["flow"], d["mask"]) > 0.01


def test_e_stab_of_independent_noise_is_large(layer_pairs: list[dict[str, torch.Tensor]]) -> None:
    pairs = [(torch.rand_like(d["frame1"]), torch.rand_like(d["frame1"])) for d in layer_pairs]
    value = e_stab_pairs(pairs, [d["flow"] for d in layer_pairs], [d["mask"] for d in layer_pairs])
    assert value > 0.3  # sqrt(1/6) = 0.41 for independent U(0, 1)


@pytest.mark.data
def test_e_stab_of_raw_sintel_inputs_is_small_but_nonzero(sintel_root: Path) -> None:
    # Full-size values on this data: cave_2 final 0.0171, alley_1 clean 0.0142.
    for scene, pass_name in (("cave_2", "final"), ("alley_1", "clean")):
        value = _e_stab_of_inputs(sintel_root, scene, pass_name, SMALL)
        assert 0.005 < value < 0.03, (scene, pass_name, value)


def test_e_stab_motion_compensation_matters(layer_pairs: list[dict[str, torch.Tensor]]) -> None:
    d = layer_pairs[0]
    with_flow = pair_stability_error(d["frame1"], d["frame2"], d["flow"], d["mask"])
    zero = torch.zeros_like(d["flow"])
    without = pair_stability_error(d["frame1"], d["frame2"], zero, d["mask"])
    assert with_flow < 0.3 * without


def test_stability_error_ignores_masked_out_pixels(layer_pairs: list[dict[str, torch.Tensor]]) -> None:
    d = layer_pairs[0]
    flow, mask = d["flow"], d["mask"]
    ref = pair_stability_error(d["frame1"], d["frame2"], flow, mask)
    assert (mask == 0).any()
    out_t = torch.where(mask.bool(), d["frame1"], torch.full_like(d["frame1"], float("nan")))
    assert pair_stability_error(out_t, d["frame2"], flow, mask) == pytest.approx(ref, rel=1e-9)
    wild = torch.where(mask.bool(), flow, torch.full_like(flow, 1e4))
    assert pair_stability_error(d["frame1"], d["frame2"], wild, mask) == pytest.approx(
        ref, rel=1e-9
    )
    # A corruption on valid pixels does change it (the test above could fail).
    hit = torch.where(mask.bool(), torch.ones_like(d["frame1"]), d["frame1"])
    assert pair_stability_error(hit, d["frame2"], flow, mask) > ref + 0.01


def test_stability_error_excludes_flow_leaving_the_frame() -> None:
    # Integer shift by +3 px in x: O_t(x, y) = O_{t+1}(x + 3, y) where x + 3 < W.
    x = torch.rand(1, 3, 6, 10)
    flow = torch.zeros(1, 2, 6, 10)
    flow[:, 0] = 3.0
    out_t = torch.rand(1, 3, 6, 10)  # garbage where p + flow(p) is outside...
    out_t[..., :7] = x[..., 3:]  # ...and the exact shifted copy inside
    ones = torch.ones(1, 1, 6, 10)
    assert pair_stability_error(out_t, x, flow, ones) < 1e-12


def test_stability_error_batched_equals_per_item(layer_pairs: list[dict[str, torch.Tensor]]) -> None:
    assert layer_pairs[0]["flow"].shape == layer_pairs[1]["flow"].shape
    per_item = [pair_stability_error(d["frame1"], d["frame2"], d["flow"], d["mask"]) for d in layer_pairs]
    batched = pair_stability_errors(
        *(torch.cat([d[k] for d in layer_pairs]) for k in ("frame1", "frame2", "flow", "mask"))
    )
    assert batched == pytest.approx(per_item, rel=1e-6)
    assert e_stab(batched) == pytest.approx(math.sqrt(sum(per_item) / 2), rel=1e-6)


def test_stability_error_map_is_the_metrics_pixels(layer_pairs: list[dict[str, torch.Tensor]]) -> None:
    """Its weighted mean over the pixels of weight > 0 is err_t; left-out pixels weigh 0."""
    d = layer_pairs[0]
    d2, weight = stability_error_map(d["frame1"], d["frame2"], d["flow"], d["mask"])
    assert d2.shape == weight.shape == d["mask"].shape and d2.dtype == torch.float64
    on = weight > 0
    mean = (torch.where(on, weight * d2, 0.0).sum() / weight.sum()).item()
    assert mean == pytest.approx(pair_stability_error(d["frame1"], d["frame2"], d["flow"], d["mask"]),
                                 rel=1e-9)
    assert not on[d["mask"] == 0].any() and 0 < on.sum() < on.numel()


def test_stability_error_rejects_bad_input() -> None:
    img, flow, mask = torch.rand(1, 3, 8, 8), torch.zeros(1, 2, 8, 8), torch.ones(1, 1, 8, 8)
    with pytest.raises(ValueError, match="flow_fw"):
        pair_stability_error(img, img, torch.zeros(1, 3, 8, 8), mask)
    with pytest.raises(ValueError, match="mask"):
        pair_stability_error(img, img, flow, torch.ones(1, 3, 8, 8))
    with pytest.raises(ValueError, match="out_t1"):
        pair_stability_error(img, torch.rand(1, 3, 8, 9), flow, mask)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        pair_stability_error(img, img, flow, mask * 2)
    with pytest.raises(ValueError, match="no valid pixel"):
        pair_stability_error(img, img, flow, mask * 0)
    with pytest.raises(ValueError):
        e_stab([])
    with pytest.raises(ValueError):
        e_stab([0.1, -1.0])
    with pytest.raises(ValueError, match="match"):
        e_stab_pairs([(img, img)], [flow, flow], [mask])


# --------------------------------------------------------------------------- warping error


@pytest.fixture(scope="module")
def pan_clip(sintel_tree: Path) -> list[torch.Tensor]:
    """Generated frames 0001-0004 of a panning camera (3 consecutive pairs), final pass."""
    folder = sintel_tree / "final" / "pan_1"
    return [load_image(folder / f"frame_{t:04d}.png") for t in range(1, 5)]


def test_warping_error_static_is_zero_flicker_is_not(pan_clip: list[torch.Tensor]) -> None:
    still = [pan_clip[0]] * 3
    assert warping_error(still, still) < 1e-6
    gains = (1.0, 0.8, 1.1)
    flicker = [f * g for f, g in zip(still, gains)]
    assert warping_error(flicker, still) > 1e-3


def test_warping_error_on_real_motion(pan_clip: list[torch.Tensor]) -> None:
    clip = pan_clip
    stable = warping_errors(clip, clip)
    assert len(stable) == 3 and all(0 < e < 0.01 for e in stable)
    # Motion compensation (flow t -> t-1 applied to frame t-1) must beat no warping.
    raw = [(b - a).pow(2).mean().item() for a, b in pairwise(clip)]
    assert all(e < 0.5 * r for e, r in zip(stable, raw)), (stable, raw)
    gains = (1.0, 0.75, 1.0, 0.75)
    flicker = warping_error([f * g for f, g in zip(clip, gains)], clip)
    assert flicker > 3 * (sum(stable) / 3)
    # A (T, 3, H, W) tensor is the same as a list of frames.
    assert warping_error(torch.cat(clip), clip) == pytest.approx(sum(stable) / 3, rel=1e-9)


def test_warping_error_rejects_bad_input(pan_clip: list[torch.Tensor]) -> None:
    clip = pan_clip
    with pytest.raises(ValueError, match="lengths"):
        warping_error(clip, clip[:3])
    with pytest.raises(ValueError, match="at least 2"):
        warping_error(clip[:1], clip[:1])
    with pytest.raises(ValueError, match=r"frames_out\[1\]"):
        warping_error([clip[0], clip[1][..., :-1]], clip[:2])
    with pytest.raises(ValueError):
        warping_error([torch.rand(2, 3, 8, 8)] * 2, [torch.rand(2, 3, 8, 8)] * 2)


def test_mean_abs_frame_difference() -> None:
    base = torch.full((1, 3, 4, 5), 0.2)
    frames = [base, base + 0.1, base + 0.1, base]
    assert mean_abs_frame_difference(frames) == pytest.approx([0.1, 0.0, 0.1], abs=1e-7)
    assert mean_abs_frame_difference(torch.cat(frames)) == mean_abs_frame_difference(frames)
    with pytest.raises(ValueError):
        mean_abs_frame_difference([base])
    with pytest.raises(ValueError):
        mean_abs_frame_difference([base, torch.rand(1, 3, 4, 6)])


# --------------------------------------------------------------------------- style / content


def test_style_distance_self_zero_photo_large(vgg: VGG19, images: dict) -> None:
    candy, photo = images["candy"], images["photo"]
    assert style_distance(candy, candy, vgg) < 1e-6
    assert style_distance(photo, candy, vgg) > 0.5


def test_style_reference_caches_targets(vgg: VGG19, images: dict) -> None:
    calls = []
    handle = vgg.register_forward_hook(lambda *_: calls.append(1))
    try:
        ref = StyleReference(vgg, images["candy"])
        assert len(calls) == 1
        first = ref.distance(images["photo"])
        second = ref.distance(images["photo"])
        assert len(calls) == 3  # one pass per call; the style is not run again
    finally:
        handle.remove()
    assert first == second == pytest.approx(style_distance(images["photo"], images["candy"], vgg))


def test_style_and_content_batched_equal_per_item(vgg: VGG19, images: dict) -> None:
    # 64 px frames against the 128 px style: sizes need not match.
    small = [F.interpolate(images[k], size=(64, 64), mode="area") for k in ("photo", "candy")]
    g = torch.Generator().manual_seed(1)
    batch = torch.cat([*small, torch.rand(1, 3, 64, 64, generator=g)])
    ref = StyleReference(vgg, images["candy"])
    batched = ref.distances(batch)
    per_item = ref.distances(list(batch.split(1)))
    assert batched == pytest.approx(per_item, rel=1e-5, abs=1e-6)
    assert 0 < batched[1] < batched[0]  # candy is closer to candy than a photo is

    inputs = torch.cat([small[0]] * 3)
    c_batched = content_distances(batch, inputs, vgg)
    c_items = content_distances(list(batch.split(1)), list(inputs.split(1)), vgg)
    assert c_batched == pytest.approx(c_items, rel=1e-5, abs=1e-6)
    assert c_batched[0] == pytest.approx(0.0, abs=1e-5) and c_batched[2] > 0.5


def test_content_distance_identity_zero(vgg: VGG19, images: dict) -> None:
    photo = images["photo"]
    assert content_distance(photo, photo, vgg) == 0.0
    assert (
        0
        < content_distance(photo * 0.9 + 0.05, photo, vgg)
        < content_distance(torch.rand_like(photo), photo, vgg)
    )


def test_fidelity_rejects_bad_input(vgg: VGG19, images: dict) -> None:
    candy, photo = images["candy"], images["photo"]
    with pytest.raises(ValueError, match="style_image"):
        StyleReference(vgg, torch.cat([candy, candy]))
    with pytest.raises(ValueError, match="outputs"):
        style_distance(torch.rand(1, 1, 32, 32), candy, vgg)
    with pytest.raises(ValueError, match="shape"):
        content_distance(photo, photo[..., :64], vgg)
    with pytest.raises(ValueError, match="no images"):
        style_distance([], candy, vgg)
