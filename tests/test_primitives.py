"""The shared primitives, one home each: uint8 <-> float batches, long-side fitting
and resizing (vidstyle.image), the forward-backward flow validity (vidstyle.flow),
the masked temporal loss (vidstyle.losses.temporal), ReCoNet's pad rule and the
cache folder (vidstyle.cache). No shared data needed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from vidstyle.cache import cache_dir
from vidstyle.flow.estimate import estimate_flow, estimated_occlusion
from vidstyle.flow.occlusion import consistency_mask, forward_backward_error, occlusion_mask
from vidstyle.flow.warp import warp
from vidstyle.image import (
    fit_long_side,
    resize_images,
    resize_rgb,
    to_float_batch,
    to_tensor,
    to_uint8,
    to_uint8_batch,
)
from vidstyle.losses.temporal import masked_temporal_loss, plain_output_temporal_loss
from vidstyle.models.reconet import ReCoNet, ReCoNetConfig

# --------------------------------------------------------------------------- uint8 <-> float


def test_uint8_float_round_trip_is_exact_for_every_value():
    rgb = np.arange(256, dtype=np.uint8).repeat(3).reshape(1, 16, 16, 3)
    x = to_float_batch(rgb)
    assert x.shape == (1, 3, 16, 16) and x.dtype == torch.float32
    assert float(x.min()) == 0.0 and float(x.max()) == 1.0
    np.testing.assert_array_equal(to_uint8_batch(x), rgb)


def test_to_uint8_batch_clamps_and_rounds():
    x = torch.tensor([-0.5, 0.0, 0.499 / 255, 0.501 / 255, 1.0, 2.0]).view(1, 1, 1, 6).expand(2, 3, 1, 6)
    out = to_uint8_batch(x)
    assert out.shape == (2, 1, 6, 3) and out.dtype == np.uint8
    assert out[0, 0, :, 0].tolist() == [0, 0, 0, 1, 255, 255]


def test_single_image_helpers_are_the_batch_pair_of_one():
    rgb = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    torch.testing.assert_close(to_tensor(rgb), to_float_batch(rgb[None]), rtol=0, atol=0)
    np.testing.assert_array_equal(to_uint8(to_tensor(rgb)), rgb)
    np.testing.assert_array_equal(to_uint8(to_tensor(rgb)[0]), rgb)


def test_conversion_errors_name_the_shape():
    with pytest.raises(ValueError, match=r"\(N, H, W, 3\) uint8"):
        to_float_batch(np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(ValueError, match=r"\(N, H, W, 3\) uint8"):
        to_float_batch(np.zeros((1, 4, 4, 3), np.float32))
    with pytest.raises(ValueError, match="to_uint8_batch"):
        to_uint8_batch(torch.zeros(1, 1, 4, 4))
    with pytest.raises(ValueError, match="batch of 2"):
        to_uint8(torch.zeros(2, 3, 4, 4))


# --------------------------------------------------------------------------- fitting, resizing


@pytest.mark.parametrize(
    ("h", "w", "long_side", "expected"),
    [
        (360, 640, 320, (180, 320)),  # landscape
        (640, 360, 320, (320, 180)),  # portrait: the argument order is (h, w) both ways
        (436, 1024, 512, (218, 512)),  # rounded to the nearest pixel
        (100, 200, 200, (100, 200)),  # already fits
        (100, 200, 400, (100, 200)),  # never enlarged by default
        (100, 200, None, (100, 200)),
        (1, 1000, 10, (1, 10)),  # at least one pixel
    ],
)
def test_fit_long_side(h, w, long_side, expected):
    assert fit_long_side(h, w, long_side) == expected


def test_fit_long_side_enlarges_when_asked():
    assert fit_long_side(100, 200, 400, enlarge=True) == (200, 400)
    assert fit_long_side(100, 200, 100, enlarge=True) == (50, 100)


@pytest.mark.parametrize("resample", ["area", "lanczos", "cubic"])
def test_resize_rgb_size_order_and_constant_images(resample):
    rgb = np.full((30, 40, 3), (10, 128, 250), np.uint8)
    assert resize_rgb(rgb, (30, 40), resample) is rgb  # nothing to do
    out = resize_rgb(rgb, (15, 20), resample)
    assert out.shape == (15, 20, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out, np.full((15, 20, 3), (10, 128, 250), np.uint8))
    assert resize_rgb(rgb, (45, 60), resample).shape == (45, 60, 3)


def test_resize_rgb_area_averages():
    rgb = np.zeros((2, 2, 3), np.uint8)
    rgb[0, 0] = 200
    assert resize_rgb(rgb, (1, 1), "area")[0, 0].tolist() == [50, 50, 50]
    with pytest.raises(ValueError, match="unknown resampler"):
        resize_rgb(rgb, (1, 1), "nearest")


def test_resize_images_shrinks_smoothly_and_enlarges_in_range():
    x = torch.rand(2, 3, 16, 24, generator=torch.Generator().manual_seed(0))
    assert resize_images(x, (16, 24)) is x
    small = resize_images(x, (8, 12))
    assert small.shape == (2, 3, 8, 12)
    big = resize_images(x, (32, 48))  # bicubic overshoots; the result is clamped
    assert big.shape == (2, 3, 32, 48) and float(big.min()) >= 0 and float(big.max()) <= 1
    area = resize_images(x, (8, 12), "area")
    torch.testing.assert_close(area, torch.nn.functional.avg_pool2d(x, 2))
    const = torch.full((1, 3, 9, 13), 0.25)
    torch.testing.assert_close(resize_images(const, (4, 5)), torch.full((1, 3, 4, 5), 0.25))
    with pytest.raises(ValueError, match="unknown resampler"):
        resize_images(x, (8, 12), "lanczos")


# --------------------------------------------------------------------------- flow validity


def _shift_flow(h: int, w: int, dx: float) -> torch.Tensor:
    flow = torch.zeros(1, 2, h, w)
    flow[:, 0] = dx
    return flow


def test_forward_backward_error_zero_for_consistent_pair_and_large_otherwise():
    fw, bw = _shift_flow(8, 12, 3.0), _shift_flow(8, 12, -3.0)
    err = forward_backward_error(fw, bw)
    assert err.shape == (1, 1, 8, 12)
    assert float(err[..., :8].abs().max()) == 0.0  # where the pixel lands inside the frame
    inconsistent = forward_backward_error(fw, _shift_flow(8, 12, 3.0))
    torch.testing.assert_close(inconsistent[..., :8], torch.full((1, 1, 8, 8), 36.0))
    # consistency_mask thresholds this very quantity
    assert bool((consistency_mask(fw, bw)[..., :8] == 1).all())
    with pytest.raises(ValueError, match="forward_backward_error: flow_bw"):
        forward_backward_error(fw, torch.zeros(1, 2, 8, 11))


def test_estimated_occlusion_is_estimate_both_ways_and_occlusion_mask():
    g = torch.Generator().manual_seed(3)
    base = torch.nn.functional.interpolate(torch.rand(1, 3, 12, 16, generator=g), size=(48, 64),
                                           mode="bilinear", align_corners=False)
    a, b = base[..., :, 4:], base[..., :, :-4]  # b is a moved 4 px to the right
    flow, mask = estimated_occlusion(a, b, "farneback")
    torch.testing.assert_close(flow, estimate_flow(a, b, "farneback"), rtol=0, atol=0)
    expected = occlusion_mask(estimate_flow(a, b, "farneback"), estimate_flow(b, a, "farneback"))
    torch.testing.assert_close(mask, expected, rtol=0, atol=0)


# --------------------------------------------------------------------------- temporal loss


def test_masked_temporal_loss_is_the_output_loss_after_warping():
    g = torch.Generator().manual_seed(1)
    cur, prev = torch.rand(2, 3, 6, 9, generator=g), torch.rand(2, 3, 6, 9, generator=g)
    flow = torch.randn(2, 2, 6, 9, generator=g)
    mask = (torch.rand(2, 1, 6, 9, generator=g) > 0.3).float()
    torch.testing.assert_close(masked_temporal_loss(cur, warp(prev, flow), mask),
                               plain_output_temporal_loss(cur, prev, flow, mask))
    # (1/D) sum over the valid pixels, D counting every element
    expected = ((cur - prev) ** 2 * mask).sum() / cur.numel()
    torch.testing.assert_close(masked_temporal_loss(cur, prev, mask), expected)


def test_masked_temporal_loss_gradient_only_where_valid():
    x = torch.rand(1, 3, 4, 5, dtype=torch.float64, requires_grad=True)
    warped = torch.rand(1, 3, 4, 5, dtype=torch.float64)
    mask = torch.zeros(1, 1, 4, 5, dtype=torch.float64)
    mask[..., 1:3, 2:4] = 1
    masked_temporal_loss(x, warped, mask).backward()
    assert bool((x.grad * (1 - mask) == 0).all()) and bool((x.grad * mask != 0).any())
    leaf = x.detach().requires_grad_()
    assert torch.autograd.gradcheck(lambda t: masked_temporal_loss(t, warped, mask), (leaf,))
    with pytest.raises(ValueError, match="masked_temporal_loss: mask"):
        masked_temporal_loss(x, warped, mask[:, :, :3])


# --------------------------------------------------------------------------- pad rule


@pytest.mark.parametrize(("h", "w"), [(1, 1), (3, 30), (7, 9), (8, 8), (33, 50), (64, 64)])
def test_pad_rule_sizes_and_feature_grid(h, w):
    net = ReCoNet(ReCoNetConfig(widths=(4, 8, 8), res_blocks=1))
    x = torch.rand(1, 3, h, w)
    padded = ReCoNet.pad_input(x, net.min_size)
    hp, wp = net.padded_size(h, w)
    assert padded.shape[-2:] == (hp, wp)
    assert hp % 4 == 0 and wp % 4 == 0 and hp >= max(h, net.min_size) and wp >= max(w, net.min_size)
    assert hp - h < 4 or hp == 8  # no more than the next multiple, or the minimum
    torch.testing.assert_close(padded[..., :h, :w], x)
    with torch.no_grad():
        assert net.encode(x).shape[-2:] == (hp // 4, wp // 4)


def test_pad_rule_reflects_large_inputs_replicates_tiny_ones_and_skips_multiples():
    same = torch.zeros(1, 3, 12, 16)
    assert ReCoNet.pad_input(same, 8) is same
    big = torch.arange(90.0).view(1, 1, 9, 10).expand(1, 3, 9, 10)
    padded = ReCoNet.pad_input(big, 8)  # to 12x12: the image is larger than the pad, reflect
    assert padded.shape[-2:] == (12, 12)
    torch.testing.assert_close(padded[..., 9, :10], big[..., 7, :])
    tiny = torch.arange(12.0).view(1, 1, 2, 6).expand(1, 3, 2, 6)
    padded = ReCoNet.pad_input(tiny, 8)  # to 8x8: 6 rows from 2, replicate
    assert padded.shape[-2:] == (8, 8)
    torch.testing.assert_close(padded[..., 7, :6], tiny[..., 1, :])
    assert ReCoNet(ReCoNetConfig(outer_kernel=19)).min_size == 10


# --------------------------------------------------------------------------- cache folder


def test_cache_dir_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv("VIDSTYLE_CACHE", str(tmp_path / "v"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert cache_dir("onnx") == tmp_path / "v" / "onnx"
    monkeypatch.setenv("VIDSTYLE_CACHE", "")
    assert cache_dir("onnx") == tmp_path / "x" / "vidstyle" / "onnx"
    monkeypatch.delenv("VIDSTYLE_CACHE")
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir("clip_pairs") == tmp_path / "home" / ".cache" / "vidstyle" / "clip_pairs"
    assert not (tmp_path / "home").exists()  # nothing created


def test_cache_users_share_the_rule(monkeypatch, tmp_path):
    from vidstyle.backends.onnx import default_cache_dir as onnx_cache
    from vidstyle.data.clips import default_cache_dir as clip_cache

    monkeypatch.setenv("VIDSTYLE_CACHE", str(tmp_path))
    assert onnx_cache() == Path(tmp_path) / "onnx"
    assert clip_cache() == Path(tmp_path) / "clip_pairs"
