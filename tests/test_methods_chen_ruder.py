"""The flow-guided methods: chen (feature blending) and ruder (optimization).

Scenes are synthetic so that the flow and occlusion are exact: a smooth random
texture seen through a window that moves by a whole number of pixels per frame.
Frame ``t`` is ``tex[:, :, :H, t*S : t*S + W]``, so ``frame_t(p) = frame_{t-1}(p + S)``:
the flow from frame ``t`` to ``t-1`` is ``+S`` in x, from ``t`` to ``t+1`` it is ``-S``.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F

from vidstyle.eval.metrics import pair_stability_error
from vidstyle.flow.warp import inside_mask, resize_mask
from vidstyle.losses.vgg import VGG19
from vidstyle.methods.base import flow_to_previous
from vidstyle.methods.chen import ChenStylizer, blend_features, soft_confidence
from vidstyle.methods.feedforward import FeedForwardStylizer
from vidstyle.methods.ruder import (
    RuderConfig,
    RuderStylizer,
    long_term_masks,
    masked_temporal_loss,
    stylize_sequence,
)
from vidstyle.models.reconet import ReCoNet, ReCoNetConfig


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Run this module on one thread, restored afterwards. On the shared 2-core
    machine (load ~4) a VGG-19 forward+backward at 32x48 took 0.05 s on one thread
    and 0.9 s on two: each parallel region waits for a thread that another process
    has descheduled, and these tests are hundreds of small ones."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# --------------------------------------------------------------------------- helpers


def texture(h: int, w: int, seed: int = 1, cell: int = 4) -> torch.Tensor:
    """A smooth random colour texture ``(1, 3, h, w)`` in [0, 1]."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(1, 3, h // cell + 2, w // cell + 2, generator=g)
    return F.interpolate(coarse, size=(h, w), mode="bilinear", align_corners=False)


def moving_window(h: int, w: int, shift: int, n: int, noise: float = 0.0) -> list[torch.Tensor]:
    """``n`` frames of a texture panned by ``shift`` px per frame (content moves left)."""
    g = torch.Generator().manual_seed(2)
    tex = texture(h, w + shift * n)
    frames = []
    for t in range(n):
        f = tex[..., :, t * shift : t * shift + w]
        frames.append((f + noise * torch.randn(f.shape, generator=g)).clamp(0, 1))
    return frames


def shift_flow(h: int, w: int, dx: float) -> torch.Tensor:
    flow = torch.zeros(1, 2, h, w)
    flow[:, 0] = dx
    return flow


def exact_flow_fn(shift: int, first: torch.Tensor | None = None):
    """``flow_fn(cur, prev)`` for :func:`moving_window` frames: flow cur -> prev is
    ``+shift`` when ``cur`` comes after ``prev``; the mask is exact (inside the frame).
    ``first`` identifies the earlier frame of a pair when flows are asked both ways."""

    def fn(cur: torch.Tensor, prev: torch.Tensor):
        h, w = cur.shape[-2:]
        sign = -1.0 if first is not None and torch.equal(cur, first) else 1.0
        flow = shift_flow(h, w, sign * shift)
        return flow, inside_mask(flow)

    return fn


def tiny_reconet() -> ReCoNet:
    torch.manual_seed(0)
    return ReCoNet(ReCoNetConfig(widths=(8, 16, 16), res_blocks=1, outer_kernel=3)).eval()


def mean_pair_error(outs: list[torch.Tensor], shift: int) -> float:
    """Mean ``err_t`` over consecutive outputs with the exact forward flow t -> t+1."""
    h, w = outs[0].shape[-2:]
    fw = shift_flow(h, w, -shift)
    errs = [pair_stability_error(a, b, fw, inside_mask(fw)) for a, b in zip(outs, outs[1:])]
    return sum(errs) / len(errs)


# --------------------------------------------------------------------------- chen


def test_blend_features_identity_at_zero_confidence():
    f_cur, f_prev = torch.randn(2, 5, 6, 7), torch.randn(2, 5, 6, 7)
    zero = torch.zeros(2, 1, 6, 7)
    assert torch.equal(blend_features(f_cur, f_prev, zero, 0.8), f_cur)
    assert torch.equal(blend_features(f_cur, f_prev, torch.ones(2, 1, 6, 7), 0.0), f_cur)
    torch.testing.assert_close(blend_features(f_cur, f_prev, torch.ones(2, 1, 6, 7), 1.0), f_prev)
    half = blend_features(f_cur, f_prev, torch.full((2, 1, 6, 7), 0.5), 0.5)
    torch.testing.assert_close(half, 0.75 * f_cur + 0.25 * f_prev)
    with pytest.raises(ValueError, match="strength"):
        blend_features(f_cur, f_prev, zero, 1.5)
    with pytest.raises(ValueError, match="confidence"):
        blend_features(f_cur, f_prev, torch.zeros(2, 1, 3, 7), 0.5)


def test_soft_confidence():
    mask = torch.ones(1, 1, 16, 16)
    mask[..., :, :4] = 0  # an occluded strip, exactly one feature column wide
    fb = torch.zeros(1, 1, 16, 16)
    c = soft_confidence(mask, fb, (4, 4), softness=1.0)
    assert c.shape == (1, 1, 4, 4)
    assert c.min() >= 0 and c.max() <= 1
    assert torch.all(c[..., 0] == 0)  # occluded cells: no confidence
    assert torch.all(c[..., 3] == 1)  # far from the occlusion, exact flow: full confidence
    assert torch.all(c[..., 1] < 1) and torch.all(c[..., 1] > 0)  # soft next to it
    # A forward-backward error of s px keeps exp(-1/2) of the confidence.
    c_err = soft_confidence(torch.ones(1, 1, 8, 8), torch.ones(1, 1, 8, 8), (2, 2), softness=1.0)
    expected = torch.full((1, 1, 2, 2), torch.exp(torch.tensor(-0.5)).item())
    torch.testing.assert_close(c_err, expected)
    # softness 0: the hard min-pooled mask.
    assert torch.equal(soft_confidence(mask, fb, (4, 4), 0.0), resize_mask(mask, (4, 4)))


def test_flow_to_previous_forward_backward_mask_from_flow_only_fn():
    h, w, s = 16, 20, 3
    a = texture(h, w)
    b = texture(h, w, seed=5)

    def fn(cur, prev):  # a -> b is +s, b -> a is -s (consistent both ways), no mask given
        return shift_flow(h, w, s if torch.equal(cur, a) else -s)

    res = flow_to_previous(a, b, flow_fn=fn)
    assert res.fb_error is not None
    torch.testing.assert_close(res.mask, inside_mask(shift_flow(h, w, s)))
    assert float(res.fb_error[..., : w - s].max()) == 0.0

    with pytest.raises(ValueError, match="flow_fn result: flow"):
        flow_to_previous(a, b, flow_fn=lambda c, p: torch.zeros(1, 2, h, w + 1))


def test_chen_zero_motion_blend_one_holds_the_output():
    """Zero motion, exact mask, blend 1: frame 2's output is frame 1's, even though
    frame 2 carries new noise (a per-frame network's output would change)."""
    model = tiny_reconet()
    f1 = texture(32, 48)
    f2 = (f1 + 0.1 * torch.randn(f1.shape)).clamp(0, 1)

    def zero_flow(cur, prev):
        return torch.zeros(1, 2, 32, 48), torch.ones(1, 1, 32, 48)

    chen = ChenStylizer(model, blend=1.0, flow_fn=zero_flow)
    o1, o2 = chen(f1), chen(f2)
    torch.testing.assert_close(o2, o1, atol=1e-5, rtol=0)
    plain = FeedForwardStylizer(model)
    assert (plain(f2) - plain(f1)).abs().max() > 1e-3  # the test can fail
    # The same holds when both frames come in one batch.
    chen.reset()
    both = chen(torch.cat([f1, f2]))
    torch.testing.assert_close(both[1:], both[:1], atol=1e-5, rtol=0)
    torch.testing.assert_close(both[:1], o1, atol=1e-5, rtol=0)


def test_chen_blend_zero_is_per_frame_and_reset_restarts():
    model = tiny_reconet()
    frames = moving_window(32, 48, 2, 3, noise=0.05)
    plain = FeedForwardStylizer(model)
    chen0 = ChenStylizer(model, blend=0.0, flow_fn=exact_flow_fn(2))
    for f in frames:
        torch.testing.assert_close(chen0(f), plain(f), atol=1e-6, rtol=0)
    chen = ChenStylizer(model, blend=0.8, flow_fn=exact_flow_fn(2))
    chen(frames[0])
    assert (chen(frames[1]) - plain(frames[1])).abs().max() > 1e-3
    chen.reset()  # the next frame is a first frame again: plain feed-forward
    torch.testing.assert_close(chen(frames[2]), plain(frames[2]), atol=1e-6, rtol=0)


def test_chen_reduces_warped_change_on_a_moving_scene():
    shift, n = 2, 5
    model = tiny_reconet()
    frames = moving_window(48, 64, shift, n, noise=0.03)
    plain = FeedForwardStylizer(model)
    per_frame = mean_pair_error([plain(f) for f in frames], shift)
    chen = ChenStylizer(model, blend=0.8, flow_fn=exact_flow_fn(shift))
    outs = [chen(f) for f in frames]
    coherent = mean_pair_error(outs, shift)
    assert coherent < 0.7 * per_frame, (coherent, per_frame)
    # It still follows the content: the output is not a constant image.
    assert torch.cat(outs).std() > 0.5 * torch.cat([plain(f) for f in frames]).std()
    # With the flow pointing the wrong way it must not help as much.
    wrong = ChenStylizer(model, blend=0.8, flow_fn=exact_flow_fn(-shift))
    assert mean_pair_error([wrong(f) for f in frames], shift) > coherent


def test_chen_with_estimated_flow_runs():
    model = tiny_reconet()
    frames = moving_window(64, 64, 2, 3)
    chen = ChenStylizer(model)  # DIS both ways + forward-backward mask
    out = chen(torch.cat(frames))
    assert out.shape == (3, 3, 64, 64) and out.dtype == torch.float32
    assert out.min() >= 0 and out.max() <= 1


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"blend": 1.2}, "blend"),
        ({"blend": -0.1}, "blend"),
        ({"mask_softness": -1.0}, "mask_softness"),
        ({"flow_method": "raft"}, "flow method"),
        ({"half": True}, "CUDA"),
    ],
)
def test_chen_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ChenStylizer(tiny_reconet(), **kwargs)


# --------------------------------------------------------------------------- ruder


@pytest.fixture(scope="module")
def vgg() -> VGG19:
    return VGG19(last_layer="relu5_1")


@pytest.fixture(scope="module")
def style() -> torch.Tensor:
    """A colourful synthetic 'painting': diagonal stripes over a coarse texture."""
    yy, xx = torch.meshgrid(torch.arange(64.0), torch.arange(64.0), indexing="ij")
    stripes = 0.5 + 0.5 * torch.sin((xx + yy) / 3.0)
    tex = texture(64, 64, seed=7, cell=16)
    return torch.stack([stripes, tex[0, 1], 1 - stripes]).unsqueeze(0).clamp(0, 1)


# Small budgets: enough to show each effect at 32x48 in a few seconds.
FAST = RuderConfig(first_iterations=8, iterations=6, max_size=None)


@pytest.mark.parametrize("optimizer, init", [("lbfgs", "content"), ("adam", "random")])
def test_ruder_lowers_its_loss(vgg, style, optimizer, init):
    log: list[tuple[int, int, float]] = []
    cfg = RuderConfig(first_iterations=8, optimizer=optimizer, init=init, lr=0.05, max_size=None)
    st = RuderStylizer(style, cfg, vgg=vgg, progress=lambda *a: log.append(a))
    out = st(texture(32, 48))
    assert out.shape == (1, 3, 32, 48)
    assert [i for _, i, _ in log] == list(range(1, 9))
    assert all(f == 0 for f, _, _ in log)
    assert log[-1][2] < 0.8 * log[0][2], log
    assert len(st.frame_times) == 1 and st.frame_times[0] > 0


def test_ruder_beats_per_frame_stability(vgg, style):
    shift = 4
    f0, f1 = moving_window(32, 48, shift, 2)
    flow_fn = exact_flow_fn(shift, first=f0)
    per_frame_cfg = replace(FAST, temporal_weight=0.0, init="content")
    errors = {}
    for name, cfg in (("per-frame", per_frame_cfg), ("ruder", FAST)):
        st = RuderStylizer(style, cfg, vgg=vgg, flow_fn=flow_fn)
        o0, o1 = st(f0), st(f1)
        errors[name] = mean_pair_error([o0, o1], shift)
        assert "temporal" in st.last_terms or name == "per-frame"
    assert errors["ruder"] < 0.5 * errors["per-frame"], errors


def test_ruder_under_inference_mode_and_reset(vgg, style):
    """A caller's inference_mode must not break the optimization; reset() restarts."""
    f0, f1 = moving_window(32, 48, 4, 2)
    log: list[tuple[int, int, float]] = []
    cfg = RuderConfig(first_iterations=2, iterations=2, max_size=None)
    st = RuderStylizer(
        style, cfg, vgg=vgg, flow_fn=exact_flow_fn(4, first=f0), progress=lambda *a: log.append(a)
    )
    with torch.inference_mode():
        out = st(torch.cat([f0, f1]))
    assert out.shape == (2, 3, 32, 48) and not out.requires_grad
    assert "temporal" in st.last_terms and st.last_terms["temporal"] > 0
    st.reset()
    st(f1)
    assert "temporal" not in st.last_terms  # a first frame again
    assert [f for f, _, _ in log] == [0, 0, 1, 1, 0, 0]


def test_masked_temporal_loss_ignores_occluded_pixels():
    x = torch.rand(1, 3, 8, 10, requires_grad=True)
    warped = torch.rand(1, 3, 8, 10)
    mask = torch.ones(1, 1, 8, 10)
    mask[..., :, :5] = 0
    loss = masked_temporal_loss(x, warped, mask)
    expected = ((x - warped)[..., 5:] ** 2).sum() / x.numel()  # D counts every element
    torch.testing.assert_close(loss, expected)
    # Changing the occluded pixels changes nothing, and they get no gradient.
    other = warped.clone()
    other[..., :5] = 5.0
    torch.testing.assert_close(masked_temporal_loss(x, other, mask), loss)
    loss.backward()
    assert torch.all(x.grad[..., :5] == 0) and torch.all(x.grad[..., 5:] != 0)


def test_long_term_masks_give_the_closest_frame_precedence():
    c1 = torch.tensor([1.0, 0, 0, 1, 0]).view(1, 1, 1, 5)
    c2 = torch.tensor([1.0, 1, 0, 0, 0]).view(1, 1, 1, 5)
    c4 = torch.tensor([1.0, 1, 1, 0, 0]).view(1, 1, 1, 5)
    l1, l2, l4 = long_term_masks([c1, c2, c4])
    assert l1.flatten().tolist() == [1, 0, 0, 1, 0]
    assert l2.flatten().tolist() == [0, 1, 0, 0, 0]
    assert l4.flatten().tolist() == [0, 0, 1, 0, 0]


def test_stylize_sequence_long_term_multi_pass_and_resizing(vgg, style):
    frames = moving_window(40, 56, 2, 3)
    times: list[float] = []
    seen: set[int] = set()
    cfg = RuderConfig(
        first_iterations=3, iterations=2, max_size=32, long_term=(1, 2), passes=2
    )  # DIS flow at 23x32, working size 23x32, upscaled to 40x56
    outs = stylize_sequence(
        frames, style, cfg, vgg=vgg, frame_times=times, progress=lambda f, i, loss: seen.add(f)
    )
    assert [tuple(o.shape) for o in outs] == [(1, 3, 40, 56)] * 3
    assert all(0 <= float(o.min()) and float(o.max()) <= 1 for o in outs)
    assert len(times) == 3 and seen == {0, 1, 2}
    single = stylize_sequence(torch.cat(frames), style, replace(cfg, passes=1), vgg=vgg)
    assert len(single) == 3 and single[2].shape == (1, 3, 40, 56)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"optimizer": "sgd"}, "optimizer"),
        ({"content_weight": -1.0}, "content_weight"),
        ({"style_weight": -1e-5}, "style_weight"),
        ({"temporal_weight": float("nan")}, "temporal_weight"),
        ({"iterations": 0}, "iterations"),
        ({"init": "zeros"}, "init"),
        ({"long_term": (0, 2)}, "long_term"),
        ({"passes": -1}, "passes"),
        ({"content_layer": "relu9_9"}, "VGG layer"),
        ({"max_size": 4}, "max_size"),
    ],
)
def test_ruder_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RuderConfig(**kwargs)


def test_ruder_vgg_too_shallow(style):
    shallow = VGG19(last_layer="relu3_1")
    with pytest.raises(ValueError, match="relu5_1"):
        RuderStylizer(style, RuderConfig(), vgg=shallow)
