"""ONNX export and the onnxruntime backend: agreement with PyTorch, metadata, CLI, bad input."""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from vidstyle import __version__
from vidstyle.api import make_stylizer
from vidstyle.cli import main
from vidstyle.errors import VidstyleError
from vidstyle.export import export_onnx, read_onnx_metadata
from vidstyle.models import ReCoNet, ReCoNetConfig, load_checkpoint
from vidstyle.models.reconet import with_contrast

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from vidstyle.backends.onnx import OnnxStylizer, physical_cores  # noqa: E402

TINY = ReCoNetConfig(widths=(8, 16, 16), res_blocks=1)
# The "lite" candidate's code paths: separable residuals, small outer kernel,
# bilinear upsampling and the clamp output.
LITE = ReCoNetConfig(widths=(8, 8, 16), res_blocks=2, residual="separable", outer_kernel=5,
                     upsample="bilinear", output="clamp")
META = {"name": "tiny", "method": "reconet", "steps": 3}
SIZES = [(1, 37, 51), (1, 64, 64), (2, 180, 320), (2, 9, 13)]  # (B, H, W), all >= min_size


@pytest.fixture(scope="module")
def model_path(tiny_checkpoint) -> Path:
    return tiny_checkpoint(TINY, meta=META)


@pytest.fixture(scope="module")
def model(model_path) -> ReCoNet:
    """The network of ``model_path``."""
    return load_checkpoint(model_path)[0].eval()


@pytest.fixture(scope="module")
def onnx_path(tmp_path_factory, model_path) -> Path:
    return export_onnx(model_path, tmp_path_factory.mktemp("onnx") / "tiny.onnx")


def _torch(model: ReCoNet, x: torch.Tensor) -> torch.Tensor:
    with torch.inference_mode():
        return model(x)


# ----------------------------------------------------------------------------- agreement


def test_one_file_matches_torch_on_odd_sizes_and_batches(onnx_path, model):
    # The raw graph (no help from the backend) must take every size: the pad to a
    # multiple of 4 and the crop are in the file, and the axes are symbolic.
    inp = onnx.load(str(onnx_path)).graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param or d.dim_value for d in inp] == ["batch", 3, "height", "width"]
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    for b, h, w in SIZES:
        x = torch.rand(b, 3, h, w)
        y = sess.run(None, {"frames": x.numpy()})[0]
        ref = _torch(model, x).numpy()
        assert y.shape == ref.shape == (b, 3, h, w)
        assert np.abs(y - ref).max() < 1e-4, (b, h, w)
        assert y.std() > 1e-3  # a real image, not a constant that would match anything


def test_stylizer_matches_torch_including_tiny_frames(onnx_path, model):
    s = OnnxStylizer(onnx_path, threads=1)
    assert s.min_size == 8 and s.threads == 1
    # idle onnxruntime threads sleep rather than spin (they would starve the codec threads)
    assert s.session.get_session_options().get_session_config_entry(
        "session.intra_op.allow_spinning") == "0"
    s.reset()
    for b, h, w in [*SIZES, (1, 1, 1), (2, 5, 7), (1, 3, 40)]:  # tiny ones padded by the backend
        x = torch.rand(b, 3, h, w)
        before = x.clone()
        y = s(x)
        assert y.dtype == torch.float32 and y.device.type == "cpu" and y.shape == x.shape
        assert (y - _torch(model, x)).abs().max().item() < 1e-4, (b, h, w)
        assert torch.equal(x, before)
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        s(torch.rand(1, 4, 8, 8))


def test_other_architecture_options_export_exactly():
    torch.manual_seed(1)
    lite = ReCoNet(LITE).eval()
    s = OnnxStylizer(lite, threads=1)  # exported in memory
    assert s.min_size == 8 and s.metadata["model_config"] == LITE.to_dict()
    for b, h, w in [(1, 37, 51), (2, 20, 18)]:
        x = torch.rand(b, 3, h, w)
        assert (s(x) - _torch(lite, x)).abs().max().item() < 1e-4


def test_a_contrast_setting_exports_exactly():
    torch.manual_seed(2)
    low = with_contrast(ReCoNet(LITE).eval(), 0.85, (0.3, 0.4, 0.6))
    s = OnnxStylizer(low, threads=1)
    x = torch.rand(1, 3, 29, 35)
    assert (s(x) - _torch(low, x)).abs().max().item() < 1e-4


def test_half_export_keeps_float32_io_and_caller_model(tmp_path, model):
    dst = export_onnx(model, tmp_path / "half.onnx", half=True)
    assert next(model.parameters()).dtype == torch.float32 and not model.training
    assert read_onnx_metadata(dst)["precision"] == "fp16"
    s = OnnxStylizer(dst, threads=1)
    assert s.session.get_inputs()[0].type == "tensor(float)"
    x = torch.rand(1, 3, 37, 51)
    y = s(x)
    assert y.dtype == torch.float32
    assert (y - _torch(model, x)).abs().max().item() < 1e-2


# ----------------------------------------------------------------------------- metadata and cache


def test_metadata_round_trip(onnx_path, model_path):
    md = read_onnx_metadata(onnx_path)
    assert md["format"] == "vidstyle-onnx" and md["vidstyle_version"] == __version__
    assert md["model_config"] == TINY.to_dict()
    assert md["style"] == "tiny" and md["method"] == "reconet"
    assert md["checkpoint_meta"] == META
    assert md["checkpoint_sha256"] == hashlib.sha256(model_path.read_bytes()).hexdigest()
    assert md["min_size"] == 8 and md["precision"] == "fp32" and md["opset"] == 17
    assert OnnxStylizer(onnx_path, threads=1).metadata == md
    onnx.checker.check_model(str(onnx_path), full_check=True)


def test_checkpoint_is_exported_once_to_the_cache(tmp_path, model_path, model, monkeypatch):
    monkeypatch.setenv("VIDSTYLE_CACHE", str(tmp_path / "cache"))
    s = make_stylizer(model_path, backend="onnx", device="cpu", threads=1)
    assert isinstance(s, OnnxStylizer) and s.path.parent == tmp_path / "cache" / "onnx"
    first = s.path.stat().st_mtime_ns
    assert make_stylizer(model_path, backend="onnx", device="cpu").path.stat().st_mtime_ns == first
    s.path.write_bytes(b"damaged")  # a broken cache file is replaced, not fatal
    again = OnnxStylizer(model_path, threads=1)
    x = torch.rand(1, 3, 12, 20)
    assert (again(x) - _torch(model, x)).abs().max().item() < 1e-4
    assert 1 <= physical_cores() <= (os.cpu_count() or 1)
    with pytest.raises(VidstyleError, match="unknown backend"):
        make_stylizer(model_path, backend="tensorrt")
    with pytest.raises(VidstyleError, match="only the onnx backend runs it"):
        make_stylizer(s.path, backend="torch")


# ----------------------------------------------------------------------------- CLI


def test_cli_export_writes_and_refuses_overwrite(tmp_path, model_path, capsys, one_error_line):
    out = tmp_path / "out.onnx"
    assert main(["export", str(model_path), "--onnx", "-o", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out
    onnx.checker.check_model(str(out))
    data = out.read_bytes()
    assert main(["export", str(model_path), "--onnx", "-o", str(out)]) == 1
    assert "--overwrite" in one_error_line()
    assert out.read_bytes() == data
    assert main(["export", str(model_path), "--onnx", "-o", str(out), "--overwrite"]) == 0
    assert [p.name for p in tmp_path.iterdir()] == ["out.onnx"]  # no temporary files left


def test_cli_stylize_onnx_backend_matches_torch(tmp_path, frames_dir, model_path, onnx_path,
                                                monkeypatch):
    monkeypatch.setenv("VIDSTYLE_CACHE", str(tmp_path / "cache"))
    outs = {}
    for name, extra in [("torch", ["--backend", "torch"]),
                        ("onnx", ["--backend", "onnx", "--threads", "1"]),
                        ("file", ["--backend", "onnx", "-s", str(onnx_path)]),
                        ("auto", ["--device", "cpu", "--threads", "1"])]:  # default: onnx on a CPU
        outs[name] = tmp_path / f"out_{name}"
        argv = ["stylize", str(frames_dir), "-o", str(outs[name]), "-s", str(model_path), "-q", *extra]
        assert main(argv) == 0
    for f in sorted(frames_dir.iterdir()):
        ref = np.asarray(Image.open(outs["torch"] / f.name)).astype(int)
        assert ref.shape == (21, 33, 3) and ref.std() > 1
        for name in ("onnx", "file", "auto"):
            got = np.asarray(Image.open(outs[name] / f.name)).astype(int)
            assert np.abs(got - ref).max() <= 1, (name, f.name)
        assert np.array_equal(np.asarray(Image.open(outs["auto"] / f.name)),
                              np.asarray(Image.open(outs["onnx"] / f.name)))


@pytest.mark.parametrize("case", [
    "missing_model", "missing_out_folder", "unknown_style", "not_onnx_suffix",
    "missing_onnx_file", "garbage_onnx_file", "bad_opset",
])
def test_bad_input_one_line_nonzero_nothing_written(tmp_path, model_path, frames_dir,
                                                    one_error_line, case):
    model, out = str(model_path), str(tmp_path / "out.onnx")
    argv = None
    if case == "missing_model":
        model, expect = str(tmp_path / "nope.pt"), "not found"
    elif case == "missing_out_folder":
        out, expect = str(tmp_path / "no" / "out.onnx"), "does not exist"
    elif case == "unknown_style":
        model, expect = "no-such-style", "unknown style"
    elif case == "not_onnx_suffix":
        out, expect = str(tmp_path / "out.pt"), ".onnx"
    elif case == "bad_opset":
        argv, expect = ["export", model, "--onnx", "-o", out, "--opset", "9"], "opset"
    elif case in ("missing_onnx_file", "garbage_onnx_file"):
        bad = tmp_path / "bad.onnx"
        if case == "garbage_onnx_file":
            bad.write_bytes(b"not a protobuf")
        expect = "not found" if case == "missing_onnx_file" else "not a usable ONNX model"
        argv = ["stylize", str(frames_dir), "-o", str(tmp_path / "o"), "-s", str(bad),
                "--backend", "onnx", "-q"]
    before = set(tmp_path.rglob("*"))
    if case == "bad_opset":  # refused by the command line's parser: exit 2
        with pytest.raises(SystemExit) as e:
            main(argv)
        assert e.value.code == 2
    else:
        assert main(argv or ["export", model, "--onnx", "-o", out]) == 1
    assert expect in one_error_line()
    assert set(tmp_path.rglob("*")) == before


def test_clear_error_without_onnx_packages(tmp_path, model, monkeypatch, one_error_line):
    monkeypatch.setitem(sys.modules, "onnx", None)  # "import onnx" now raises ImportError
    with pytest.raises(VidstyleError, match="pip install onnx onnxruntime"):
        export_onnx(model, tmp_path / "m.onnx")
    assert main(["export", "x.pt", "--onnx", "-o", str(tmp_path / "m.onnx")]) == 1
    assert "pip install" in one_error_line()
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(VidstyleError, match="onnxruntime: pip install onnx onnxruntime"):
        OnnxStylizer(tmp_path / "m.onnx")
    assert list(tmp_path.iterdir()) == []
