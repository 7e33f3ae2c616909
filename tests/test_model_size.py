"""``--model-size lite`` (bundled ``S-lite`` models) and the ``auto`` backend."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import vidstyle
import vidstyle.pretrained as pretrained
import vidstyle.video.webcam as webcam
from vidstyle.api import load_model, make_stylizer
from vidstyle.backends import choose_backend
from vidstyle.cli import main
from vidstyle.errors import VidstyleError
from vidstyle.methods.chen import ChenStylizer
from vidstyle.methods.feedforward import FeedForwardStylizer
from vidstyle.models import ReCoNet, ReCoNetConfig, load_checkpoint, save_checkpoint
from vidstyle.pretrained import lite_styles, resolve_model
from vidstyle.reference import StyleRef, resolve_style

pytest.importorskip("onnxruntime")
from vidstyle.backends.onnx import OnnxStylizer  # noqa: E402

TINY = ReCoNetConfig(widths=(8, 16, 16), res_blocks=1, outer_kernel=3)
BUNDLE = ("candy.reconet", "candy.per-frame", "candy.huang", "candy-lite.reconet", "mosaic.reconet")


@pytest.fixture(scope="module")
def bundle_dir(tmp_path_factory) -> Path:
    """A stand-in for the pretrained folder: tiny models, each with its own weights."""
    d = tmp_path_factory.mktemp("pretrained")
    torch.manual_seed(0)
    for name in BUNDLE:
        style, _, method = name.rpartition(".")
        save_checkpoint(d / f"{name}.pt", ReCoNet(TINY), meta={"name": style, "method": method})
    return d


@pytest.fixture()
def bundled(bundle_dir, monkeypatch) -> Path:
    monkeypatch.setattr(pretrained, "PRETRAINED_DIR", bundle_dir)
    return bundle_dir


def _weights(model: ReCoNet) -> list[torch.Tensor]:
    return [p.detach().float() for p in model.state_dict().values()]


def _same_model(a: ReCoNet, b: ReCoNet) -> bool:
    return all(torch.equal(x, y) for x, y in zip(_weights(a), _weights(b), strict=True))


# ----------------------------------------------------------------------------- name mapping


def test_resolve_style_maps_bundled_names(bundled, model_path):
    assert lite_styles() == ["candy-lite"]
    assert resolve_style("candy").name == resolve_style("candy", "reconet", "full").name == "candy"
    lite = resolve_style("candy", "reconet", "lite")
    assert (lite.kind, lite.name, lite.size) == ("bundled", "candy-lite", "lite")
    assert lite.path == bundled / "candy-lite.reconet.pt"
    assert resolve_style("candy-lite", "reconet", "lite").name == "candy-lite"  # already lite: kept
    assert resolve_style("candy", "chen", "lite").path == bundled / "candy-lite.reconet.pt"
    ref = resolve_style(model_path, "huang")  # full: a file is taken as it is
    assert (ref.kind, ref.path, ref.name) == ("checkpoint", model_path, "tiny")
    assert resolve_model("candy-lite") == bundled / "candy-lite.reconet.pt"


@pytest.mark.parametrize("args, match", [  # (style, method, size)
    (("mosaic", "reconet", "lite"), r"style 'mosaic' has no bundled lite model \(lite styles: candy\)"),
    (("mosaic-lite", "reconet", "lite"), r"style 'mosaic' has no bundled lite model"),
    (("candi", "reconet", "lite"), r"unknown style 'candi'; did you mean candy"),
    (("candy", "per-frame", "lite"), r"no lite per-frame model.*reconet or chen.*candy-lite"),
    (("candy", "huang", "lite"), r"no lite huang model"),
    (("candy", "ruder", "lite"), r"no lite ruder model"),
    (("m/model.pt", "reconet", "lite"), r"lite model size applies to bundled style names"),
    (("model.pt", "reconet", "lite"), r"lite model size applies to bundled style names"),
    (("model.onnx", "reconet", "lite"), r"lite model size applies to bundled style names"),
    (("candy", "reconet", "medium"), r"unknown model size 'medium'; choose from full, lite"),
])
def test_resolve_style_lite_errors(bundled, args, match):
    with pytest.raises(VidstyleError, match=match):
        resolve_style(*args)


def test_no_lite_models_bundled(tmp_path, monkeypatch):
    monkeypatch.setattr(pretrained, "PRETRAINED_DIR", tmp_path)
    save_checkpoint(tmp_path / "candy.reconet.pt", ReCoNet(TINY))
    with pytest.raises(VidstyleError, match=r"has no bundled lite model \(lite styles: none\)"):
        resolve_style("candy", "reconet", "lite")


def test_api_loads_the_lite_model(bundled):
    lite, _ = load_checkpoint(bundled / "candy-lite.reconet.pt")
    full, _ = load_checkpoint(bundled / "candy.reconet.pt")
    assert _same_model(load_model("candy", model_size="lite"), lite)
    assert _same_model(load_model("candy-lite"), lite)
    assert _same_model(load_model("candy"), full) and not _same_model(full, lite)
    s = make_stylizer("candy", model_size="lite", backend="torch", device="cpu")
    assert isinstance(s, FeedForwardStylizer) and _same_model(s.model, lite)
    chen = make_stylizer("candy", "chen", model_size="lite", device="cpu")
    assert isinstance(chen, ChenStylizer) and _same_model(chen.model, lite)
    x = torch.rand(1, 3, 20, 24)
    onnx = make_stylizer("candy", model_size="lite", backend="onnx", device="cpu", threads=1)
    assert onnx.path.name.startswith("candy-lite.reconet-")
    assert (onnx(x) - s(x)).abs().max().item() < 1e-4
    with pytest.raises(VidstyleError, match="no lite per-frame model"):
        make_stylizer("candy", "per-frame", model_size="lite")
    with pytest.raises(VidstyleError, match="unknown model size"):
        make_stylizer("candy", model_size="small")


def test_stylize_video_api_names_the_output_after_the_lite_model(bundled, frames_dir):
    report = vidstyle.stylize_video(frames_dir / "f_000.png", model_size="lite", device="cpu")
    assert report.output == frames_dir / "f_000.candy-lite.png" and report.output.is_file()


# ----------------------------------------------------------------------------- auto backend


def _ref(method: str, kind: str = "checkpoint") -> StyleRef:
    """A resolved style for ``choose_backend``, which reads only its kind and method."""
    return StyleRef(kind, Path("model.onnx" if kind == "onnx" else "model.pt"), "model", method)


def test_auto_backend_choice(model_path, monkeypatch):
    assert choose_backend(_ref("reconet"), "cpu") == "onnx"
    assert choose_backend(_ref("per-frame"), "cpu") == choose_backend(_ref("huang"), "cpu") == "onnx"
    assert choose_backend(_ref("chen"), "cpu") == choose_backend(_ref("ruder", "image"), "cpu") == "torch"
    assert choose_backend(_ref("reconet"), "cuda") == choose_backend(_ref("reconet"), "cuda:1") == "torch"
    assert choose_backend(_ref("reconet", "onnx"), "cuda") == "onnx"  # only onnx reads one
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert choose_backend(_ref("reconet"), "auto") == "torch"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert choose_backend(_ref("reconet"), "auto") == "onnx"
    assert isinstance(make_stylizer(model_path, device="cpu", threads=1), OnnxStylizer)
    assert isinstance(make_stylizer(model_path), OnnxStylizer)  # auto device, no CUDA
    assert isinstance(make_stylizer(model_path, "chen", device="cpu"), ChenStylizer)
    assert isinstance(make_stylizer(model_path, device="cpu", backend="torch"), FeedForwardStylizer)


def test_auto_backend_falls_back_to_torch_without_onnxruntime(model_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # "import onnxruntime" now fails
    assert choose_backend(_ref("reconet"), "cpu") == "torch"
    assert isinstance(make_stylizer(model_path, device="cpu"), FeedForwardStylizer)
    with pytest.raises(VidstyleError, match="needs onnxruntime"):
        make_stylizer(model_path, device="cpu", backend="onnx")


@pytest.fixture(scope="module")
def model_path(tiny_checkpoint) -> Path:
    return tiny_checkpoint(TINY, seed=1)


# ----------------------------------------------------------------------------- CLI


def test_cli_stylize_lite(bundled, frames_dir, tmp_path, capsys):
    src = frames_dir / "f_000.png"
    assert main(["stylize", str(src), "--model-size", "lite", "-q"]) == 0  # default -s candy
    assert "f_000.candy-lite.png" in capsys.readouterr().out
    lite = np.asarray(Image.open(frames_dir / "f_000.candy-lite.png"))
    assert lite.shape == (21, 33, 3)
    outs = {}
    for name, extra in [("direct", ["-s", "candy-lite"]), ("full", ["-s", "candy"]),
                        ("torch", ["--model-size", "lite", "--backend", "torch"])]:
        outs[name] = tmp_path / f"{name}.png"
        assert main(["stylize", str(src), "-o", str(outs[name]), "-q", *extra]) == 0
    assert np.array_equal(np.asarray(Image.open(outs["direct"])), lite)
    assert np.abs(np.asarray(Image.open(outs["torch"])).astype(int) - lite).max() <= 1
    assert not np.array_equal(np.asarray(Image.open(outs["full"])), lite)
    out = tmp_path / "chen"
    assert main(["stylize", str(frames_dir), "-o", str(out), "--method", "chen",
                 "--model-size", "lite", "-q"]) == 0
    assert len(list(out.iterdir())) == len(list(frames_dir.iterdir()))  # with f_000.candy-lite.png


@pytest.mark.parametrize("extra, expect", [
    (["-s", "MODEL", "--model-size", "lite"], "lite model size applies to bundled style names"),
    (["-s", "x.onnx", "--model-size", "lite"], "lite model size applies to bundled style names"),
    (["--method", "per-frame", "--model-size", "lite"], "no lite per-frame model"),
    (["--method", "huang", "--model-size", "lite"], "no lite huang model"),
    (["-s", "mosaic", "--model-size", "lite"], "lite styles: candy"),
    (["--method", "nope", "--model-size", "lite"], "unknown method 'nope'"),
    (["-s", "candy-lite", "--method", "per-frame"], "has no bundled 'per-frame' model"),
])
def test_cli_bad_combinations_one_line(bundled, frames_dir, tmp_path, model_path, one_error_line,
                                       extra, expect):
    extra = [str(model_path) if a == "MODEL" else a for a in extra]
    out = tmp_path / "out"
    assert main(["stylize", str(frames_dir), "-o", str(out), "-q", *extra]) == 1
    assert expect in one_error_line()
    assert not out.exists()


def test_cli_model_size_choices(capsys):
    with pytest.raises(SystemExit):
        main(["stylize", "x.mp4", "--model-size", "tiny"])
    assert "invalid choice" in capsys.readouterr().err


def test_styles_shows_lite_models(bundled, capsys):
    assert main(["styles"]) == 0
    lines = capsys.readouterr().out.splitlines()
    row = next(line for line in lines if line.startswith("candy-lite "))
    assert "reconet" in row and "parameters" in row
    assert any("--model-size lite" in line for line in lines)


def test_webcam_lite_cycles_lite_styles(bundled, monkeypatch, tmp_path, capsys):
    seen = {}

    class Camera:
        fps, width, height = 10.0, 16, 12

        def __init__(self, index):
            pass

        def close(self):
            pass

    def fake_run_live(source, stylizers, **kw):
        seen["names"] = [n for n, _ in stylizers]
        seen["types"] = {type(s) for _, s in stylizers}
        kw["writer"].write(np.zeros((12, 16, 3), np.uint8), 0.0)
        return 1

    monkeypatch.setattr(webcam, "WebcamSource", Camera)
    monkeypatch.setattr(webcam, "run_live", fake_run_live)
    monkeypatch.setattr(webcam, "has_display", lambda: False)
    out = tmp_path / "live.mp4"
    assert main(["stylize", "--webcam", "0", "--model-size", "lite", "--device", "cpu",
                 "-o", str(out), "-q"]) == 0, capsys.readouterr().err
    assert seen == {"names": ["candy-lite"], "types": {OnnxStylizer}}
    assert main(["stylize", "--webcam", "0", "-s", "mosaic", "--device", "cpu", "--backend", "torch",
                 "-o", str(out), "-q", "--overwrite"]) == 0
    assert seen == {"names": ["mosaic", "candy"], "types": {FeedForwardStylizer}}


def test_bundled_lite_models_are_lite_reconets_of_their_full_models_style():
    from vidstyle.models import MODEL_SIZES

    lites = lite_styles()
    assert "candy-lite" in lites
    for name in lites:
        model, ckpt = load_checkpoint(resolve_model(name))
        base = name.removesuffix("-lite")
        # the lite network; an export-time contrast setting (composition_vii-lite) aside
        assert model.config.without_contrast() == MODEL_SIZES["lite"]
        base_model, base_ckpt = load_checkpoint(resolve_model(base))  # its style's full model
        assert ckpt["meta"]["style_image"] == base_ckpt["meta"]["style_image"]
        train_cfg = ckpt["meta"]["train_config"]
        assert train_cfg["preset"] == "reconet"
        # Distilled in its last phase (candy-lite), or trained with the VGG losses after a
        # distillation phase (the others, docs/recipe.md "Lite models"): never another teacher.
        if train_cfg.get("teacher"):
            assert train_cfg["teacher"] == base and train_cfg["weights"]["distill"] > 0
        assert sum(p.numel() for p in model.parameters()) < 0.1 * sum(
            p.numel() for p in base_model.parameters())


def test_bundled_lite_model_onnx_matches_torch():
    x = torch.rand(1, 3, 37, 53, generator=torch.Generator().manual_seed(3))
    ref = FeedForwardStylizer(load_model("candy-lite"))(x)
    out = OnnxStylizer(load_model("candy-lite"))(x)
    assert out.shape == ref.shape and (out - ref).abs().max() < 1e-4
