"""The method registry: every entry builds a working stylizer, and the command line,
the evaluation, the backends and the app read their method names from it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from vidstyle.api import create_stylizer, make_stylizer
from vidstyle.backends import choose_backend
from vidstyle.cli import build_parser, main
from vidstyle.errors import VidstyleError
from vidstyle.eval.compare import ALL_METHODS
from vidstyle.methods import METHODS, MethodSpec, get_method, register
from vidstyle.methods.chen import ChenConfig
from vidstyle.methods.ruder import RuderConfig
from vidstyle.models import ReCoNet, ReCoNetConfig, save_checkpoint
from vidstyle.reference import StyleRef, resolve_style

TINY = ReCoNetConfig(widths=(8, 16, 16), res_blocks=1, outer_kernel=3)
# Settings that make each method quick on two 32x48 frames.
QUICK = {"ruder": {"first_iterations": 2, "iterations": 1, "max_size": None}}


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> dict[str, Path]:
    """A tiny checkpoint (for the methods with a network) and a painting (without)."""
    d = tmp_path_factory.mktemp("sources")
    torch.manual_seed(3)
    save_checkpoint(d / "tiny.pt", ReCoNet(TINY))
    rng = np.random.default_rng(3)
    Image.fromarray(rng.integers(0, 255, (40, 56, 3), dtype=np.uint8)).save(d / "painting.png")
    return {"network": d / "tiny.pt", "image": d / "painting.png"}


def _ref(name: str, sources: dict[str, Path]) -> StyleRef:
    spec = METHODS[name]
    return resolve_style(sources["network" if spec.network else "image"], name)


def _two_frames() -> torch.Tensor:
    """Two 32x48 frames, the second the first moved 2 pixels to the right."""
    g = torch.Generator().manual_seed(5)
    base = torch.nn.functional.interpolate(torch.rand(1, 3, 8, 14, generator=g), size=(32, 52),
                                           mode="bilinear", align_corners=False)
    return torch.cat([base[..., 2:50], base[..., 0:48]])


@pytest.mark.parametrize("name", list(METHODS))
def test_each_method_builds_and_stylizes_two_frames(name, sources):
    spec = METHODS[name]
    calls: list[tuple] = []
    st = create_stylizer(_ref(name, sources), device="cpu", backend="torch",
                         config=QUICK.get(name), progress=lambda *a: calls.append(a))
    frames = _two_frames()
    out = st(frames)
    assert out.shape == frames.shape and out.dtype == torch.float32 and out.device.type == "cpu"
    assert torch.isfinite(out).all() and 0 <= out.min() and out.max() <= 1
    assert not torch.equal(out, frames)
    st.reset()
    again = st(frames[:1])
    if spec.network is not None:  # deterministic: after reset, frame 0 comes out the same
        assert torch.allclose(again, out[:1], atol=1e-6)
    if name == "ruder":  # its progress callback sees both frames' evaluations
        assert {c[0] for c in calls} == {0, 1}


@pytest.mark.parametrize("name", [n for n, s in METHODS.items() if s.onnx])
def test_each_onnx_method_matches_torch(name, sources):
    pytest.importorskip("onnxruntime")
    ref = _ref(name, sources)
    frames = _two_frames()
    torch_out = create_stylizer(ref, device="cpu", backend="torch")(frames)
    onnx_out = create_stylizer(ref, device="cpu", backend="onnx", threads=1)(frames)
    assert (onnx_out - torch_out).abs().max().item() < 1e-4


def test_spec_fields_are_consistent():
    for name, spec in METHODS.items():
        assert spec.name == name and get_method(name) is spec
        assert spec.summary and "\n" not in spec.summary
        if spec.onnx or spec.lite:
            assert spec.network is not None  # both are about a network
        if spec.lite:
            assert spec.network == "reconet"  # the bundled lite models are reconet networks
        if spec.config is not None:
            assert dataclasses.is_dataclass(spec.config)
            assert spec.config.__dataclass_params__.frozen
        ref = StyleRef("image" if spec.network is None else "checkpoint", Path("x"), "x", name)
        assert choose_backend(ref, "cpu") in (("onnx", "torch") if spec.onnx else ("torch",))
    assert METHODS["chen"].config is ChenConfig and METHODS["ruder"].config is RuderConfig


def test_the_cli_evaluation_and_app_read_the_registry():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices
    stylize_help = next(a for a in sub["stylize"]._actions if a.dest == "method").help
    evaluate_help = next(a for a in sub["evaluate"]._actions if a.dest == "methods").help
    for name in METHODS:
        assert name in stylize_help and name in evaluate_help
    assert ALL_METHODS == tuple(METHODS)

    from vidstyle.app.gallery import Style

    painting = Path(__file__)  # any existing file: methods() only asks whether one is known
    assert set(Style("own", painting, Path("own.pt")).methods()) == {
        n for n, s in METHODS.items() if s.network in ("reconet", None)}


def test_settings_come_from_the_methods_config():
    assert METHODS["chen"].make_config({"blend": 0.5}) == ChenConfig(blend=0.5)
    assert METHODS["ruder"].make_config(None) == RuderConfig()
    assert METHODS["ruder"].make_config({}) == RuderConfig()
    cfg = RuderConfig(iterations=3)
    assert METHODS["ruder"].make_config(cfg) is cfg
    assert METHODS["reconet"].make_config(None) is None
    with pytest.raises(VidstyleError, match=r"unknown chen setting\(s\) blnd; known: blend"):
        METHODS["chen"].make_config({"blnd": 0.5})
    with pytest.raises(VidstyleError, match="the huang method has no settings"):
        METHODS["huang"].make_config({"blend": 0.5})
    with pytest.raises(TypeError, match="must be a ChenConfig"):
        METHODS["chen"].make_config(RuderConfig())


def test_chen_settings_reach_the_stylizer(sources):
    st = make_stylizer(sources["network"], "chen", device="cpu",
                       config=ChenConfig(blend=0.25, mask_softness=0.0))
    assert (st.blend, st.mask_softness, st.flow_method) == (0.25, 0.0, "dis")


def test_names_are_unique_and_unknown_ones_refused():
    with pytest.raises(ValueError, match="registered already"):
        register(METHODS["reconet"])
    with pytest.raises(ValueError, match="runs a network"):
        register(dataclasses.replace(METHODS["ruder"], name="x", onnx=True))
    with pytest.raises(VidstyleError, match=r"unknown method 'nope'; choose from per-frame"):
        get_method("nope")


class _Negative:
    """A toy method: the photographic negative of each frame."""

    def reset(self) -> None:
        pass

    def __call__(self, frames: torch.Tensor) -> torch.Tensor:
        return 1.0 - frames


def test_a_new_method_is_one_registry_entry(monkeypatch, sources, frames_dir, tmp_path, capsys):
    spec = MethodSpec("negative", "the negative of each frame", network="reconet", onnx=False,
                      lite=False, flow_guided=False, config=None,
                      build=lambda ref, device, config, **kw: _Negative())
    monkeypatch.setitem(METHODS, "negative", spec)
    out = tmp_path / "neg"
    assert main(["stylize", str(frames_dir), "-o", str(out), "-s", str(sources["network"]),
                 "--method", "negative", "-q"]) == 0, capsys.readouterr().err
    for f in sorted(frames_dir.iterdir()):
        got = np.asarray(Image.open(out / f.name)).astype(int)
        assert np.abs(got - (255 - np.asarray(Image.open(f)).astype(int))).max() <= 1
