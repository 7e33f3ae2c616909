"""The ruder package's public pieces: optimize_image (one image, pystiche-style) and
multi-pass through the stylizer interface (RuderConfig.passes), down to stylize_path."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from vidstyle.image import save_image, to_uint8
from vidstyle.losses.vgg import VGG19
from vidstyle.methods.ruder import (
    RuderConfig,
    RuderStylizer,
    TemporalReference,
    optimize_image,
    style_targets,
    stylize_sequence,
)
from vidstyle.pipeline import stylize_path


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """One thread, restored afterwards: many small VGG passes (see test_methods_chen_ruder)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def vgg() -> VGG19:
    return VGG19(last_layer="relu5_1")


def _texture(h: int, w: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(1, 3, h // 4 + 2, w // 4 + 2, generator=g)
    return F.interpolate(coarse, size=(h, w), mode="bilinear", align_corners=False)


@pytest.fixture(scope="module")
def style() -> torch.Tensor:
    return _texture(48, 48, seed=7)


def _clip(n: int = 3, shift: int = 2) -> list[torch.Tensor]:
    tex = _texture(24, 32 + shift * n, seed=1)
    return [tex[..., :, t * shift : t * shift + 32] for t in range(n)]


CFG = RuderConfig(first_iterations=3, iterations=2, max_size=None)


def test_optimize_image_lowers_the_loss_and_takes_a_style_image_or_its_grams(vgg, style):
    content = _texture(24, 32, seed=3)
    seen: list[tuple[int, float]] = []
    res = optimize_image(content, style, content, vgg=vgg, config=CFG, iterations=6,
                         progress=lambda i, loss: seen.append((i, loss)))
    assert res.image.shape == (1, 3, 24, 32) and not res.image.requires_grad
    assert [i for i, _ in seen] == list(range(1, 7)) and seen[-1][1] < seen[0][1]
    assert set(res.terms) == {"content", "style", "tv"}
    grams = style_targets(vgg, style, CFG.style_layers)
    again = optimize_image(content, grams, content, vgg=vgg, config=CFG, iterations=6)
    torch.testing.assert_close(again.image, res.image)


def test_optimize_image_temporal_term_pulls_toward_the_reference(vgg, style):
    content = _texture(24, 32, seed=3)
    target = torch.full_like(content, 0.5)
    ref = TemporalReference(target, torch.ones(1, 1, 24, 32))
    free = optimize_image(content, style, content, vgg=vgg, config=CFG, iterations=4)
    tied = optimize_image(content, style, content, vgg=vgg, config=replace(CFG, temporal_weight=1e5),
                          references=[ref], iterations=4)
    assert "temporal" in tied.terms and "temporal" not in free.terms
    assert float((tied.image - target).abs().mean()) < float((free.image - target).abs().mean())


def test_optimize_image_checks_its_inputs(vgg, style):
    content = _texture(24, 32, seed=3)
    with pytest.raises(ValueError, match="optimize_image: init"):
        optimize_image(content, style, content[..., :16], vgg=vgg, config=CFG)
    with pytest.raises(ValueError, match="relu5_1"):
        optimize_image(content, style, content, vgg=VGG19(last_layer="relu3_1"), config=CFG)


def test_multi_pass_through_the_stylizer_interface(vgg, style):
    clip = _clip()
    cfg = replace(CFG, passes=2)
    st = RuderStylizer(style, cfg, vgg=vgg)
    assert st.whole_clip and not RuderStylizer(style, CFG, vgg=vgg).whole_clip
    out = st(torch.cat(clip))
    assert out.shape == (3, 3, 24, 32) and len(st.frame_times) == 3
    with pytest.raises(ValueError, match="reset"):
        st(clip[0])
    st.reset()
    torch.testing.assert_close(st(torch.cat(clip)), out)
    seq = stylize_sequence(clip, style, cfg, vgg=vgg)
    torch.testing.assert_close(torch.cat(seq), out)


def test_stylize_path_gives_a_multi_pass_stylizer_the_whole_clip(vgg, style, tmp_path):
    clip = _clip()
    src = tmp_path / "frames"
    src.mkdir()
    for i, f in enumerate(clip):
        save_image(f, src / f"frame_{i:03d}.png")
    cfg = replace(CFG, passes=2)
    calls: list[int] = []

    class Counting(RuderStylizer):
        def __call__(self, frames: torch.Tensor) -> torch.Tensor:
            calls.append(frames.shape[0])
            return super().__call__(frames)

    report = stylize_path(src, tmp_path / "out", Counting(style, cfg, vgg=vgg), batch_size=1,
                          progress=False)
    assert report.frames == 3 and calls == [3]
    # The same as the clip stylized in memory, up to the frames' uint8 rounding.
    from vidstyle.image import load_image

    loaded = [load_image(src / f"frame_{i:03d}.png") for i in range(3)]
    expected = stylize_sequence(loaded, style, cfg, vgg=vgg)
    for i, e in enumerate(expected):
        got = load_image(tmp_path / "out" / f"frame_{i:03d}.png")
        assert np.abs(to_uint8(got).astype(int) - to_uint8(e).astype(int)).max() <= 1
