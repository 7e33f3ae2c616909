"""The ReCoNet network and its checkpoints."""

from __future__ import annotations

import pytest
import torch

from vidstyle.errors import CheckpointError
from vidstyle.models import ReCoNet, ReCoNetConfig, load_checkpoint, save_checkpoint
from vidstyle.models.reconet import with_contrast

SMALL = ReCoNetConfig(widths=(8, 16, 24), res_blocks=2)


@pytest.mark.parametrize("h,w", [(32, 32), (37, 51), (1, 1), (5, 3), (321 // 4, 241 // 4)])
def test_any_size_in_same_size_out(h, w):
    net = ReCoNet(SMALL).eval()
    with torch.no_grad():
        y = net(torch.rand(2, 3, h, w))
    assert y.shape == (2, 3, h, w)
    assert float(y.min()) >= 0.0 and float(y.max()) <= 1.0


def test_default_config_is_the_paper_network():
    cfg = ReCoNetConfig()
    assert cfg.widths == (48, 96, 192) and cfg.res_blocks == 4
    net = ReCoNet(cfg)
    n = sum(p.numel() for p in net.parameters())
    assert 3.0e6 < n < 3.2e6  # DESIGN.md: 3.1 M parameters
    f = net.encode(torch.rand(1, 3, 64, 48))
    assert f.shape == (1, 192, 16, 12)


def test_gradients_reach_every_parameter():
    net = ReCoNet(SMALL)
    y, f = net(torch.rand(2, 3, 20, 28), return_features=True)
    (y.mean() + f.mean()).backward()
    for name, p in net.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


@pytest.mark.parametrize("kw", [
    {"residual": "separable"}, {"upsample": "bilinear"}, {"output": "tanh"}, {"output": "clamp"},
    {"outer_kernel": 3}, {"contrast": 0.8, "pivot": (0.2, 0.5, 0.9)},
])
def test_config_variants_run(kw):
    cfg = ReCoNetConfig(widths=(8, 8, 16), res_blocks=1, **kw)
    with torch.no_grad():
        y = ReCoNet(cfg).eval()(torch.rand(1, 3, 13, 17))
    assert y.shape == (1, 3, 13, 17)
    assert float(y.min()) >= 0.0 and float(y.max()) <= 1.0


@pytest.mark.parametrize("kw", [
    {"widths": (8, 16)}, {"res_blocks": -1}, {"residual": "dense"}, {"outer_kernel": 4},
    {"upsample": "cubic"}, {"output": "relu"}, {"contrast": 0.0}, {"contrast": 1.5},
    {"pivot": (0.5, 0.5)}, {"pivot": (0.5, 0.5, 1.2)},
])
def test_bad_config_rejected(kw):
    with pytest.raises(ValueError):
        ReCoNetConfig(**kw)


def test_contrast_scales_the_output_about_its_pivot_and_survives_a_checkpoint(tmp_path):
    """with_contrast: the same weights, the output ``pivot + k * (y - pivot)``, saved in the
    checkpoint's config so the loaded model computes the same."""
    torch.manual_seed(4)
    net = ReCoNet(SMALL).eval()
    low = with_contrast(net, 0.8, (0.2, 0.5, 0.9))
    assert low.config.contrast == 0.8 and low.config.pivot == (0.2, 0.5, 0.9)
    assert net.config.contrast == 1.0  # the original is left alone
    x = torch.rand(1, 3, 21, 30)
    pivot = torch.tensor([0.2, 0.5, 0.9]).view(1, 3, 1, 1)
    with torch.no_grad():
        y, y_low = net(x), low(x)
        torch.testing.assert_close(y_low, pivot + 0.8 * (y - pivot))
        # the spread about the pivot shrinks by exactly k
        torch.testing.assert_close((y_low - pivot).abs().mean(), 0.8 * (y - pivot).abs().mean())
        save_checkpoint(tmp_path / "m.pt", low)
        loaded = load_checkpoint(tmp_path / "m.pt")[0]
        torch.testing.assert_close(loaded(x), y_low)
    assert ReCoNetConfig.from_dict(low.config.to_dict()) == low.config


def test_bad_input_shape_rejected():
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        ReCoNet(SMALL)(torch.rand(1, 4, 8, 8))
    with pytest.raises(TypeError, match="floating"):
        ReCoNet(SMALL)(torch.zeros(1, 3, 8, 8, dtype=torch.uint8))


def test_checkpoint_round_trip(tmp_path):
    net = ReCoNet(SMALL).eval()
    path = tmp_path / "m.pt"
    save_checkpoint(path, net, meta={"style_image": "candy.jpg"})
    loaded, ckpt = load_checkpoint(path)
    assert loaded.config == SMALL
    assert ckpt["meta"]["style_image"] == "candy.jpg"
    x = torch.rand(1, 3, 24, 20)
    assert torch.equal(loaded(x), net(x))


def test_half_checkpoint_close_to_fp32(tmp_path):
    net = ReCoNet(SMALL).eval()
    save_checkpoint(tmp_path / "h.pt", net, half=True)
    loaded, _ = load_checkpoint(tmp_path / "h.pt")
    assert all(p.dtype == torch.float32 for p in loaded.parameters())
    x = torch.rand(1, 3, 24, 20)
    assert (loaded(x) - net(x)).abs().max() < 2e-2
    assert (tmp_path / "h.pt").stat().st_size < 0.7 * _size_fp32(tmp_path, net)


def _size_fp32(tmp_path, net):
    save_checkpoint(tmp_path / "f.pt", net)
    return (tmp_path / "f.pt").stat().st_size


def test_foreign_and_corrupt_checkpoints_refused(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "missing.pt")
    text = tmp_path / "text.pt"
    text.write_text("hello")
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(text)
    foreign = tmp_path / "foreign.pt"
    torch.save({"state_dict": {}}, foreign)
    with pytest.raises(CheckpointError, match="not a vidstyle checkpoint"):
        load_checkpoint(foreign)
    good = tmp_path / "good.pt"
    save_checkpoint(good, ReCoNet(SMALL))
    truncated = tmp_path / "trunc.pt"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(CheckpointError):
        load_checkpoint(truncated)
    ckpt = torch.load(good, weights_only=True)
    ckpt["model_config"]["widths"] = [8, 16, 32]  # weights no longer match
    mismatched = tmp_path / "mismatch.pt"
    torch.save(ckpt, mismatched)
    with pytest.raises(CheckpointError, match="do not match"):
        load_checkpoint(mismatched)


def test_save_is_atomic(tmp_path):
    path = tmp_path / "m.pt"
    path.write_bytes(b"previous")
    net = ReCoNet(SMALL)

    class Boom(Exception):
        pass

    import vidstyle.models.checkpoint as ck

    orig = ck.torch.save

    def failing(obj, f):
        orig(obj, f)
        raise Boom()

    ck.torch.save = failing
    try:
        with pytest.raises(Boom):
            save_checkpoint(path, net)
    finally:
        ck.torch.save = orig
    assert path.read_bytes() == b"previous"
    assert list(tmp_path.iterdir()) == [path]
