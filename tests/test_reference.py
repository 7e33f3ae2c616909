"""``resolve_style``: every kind of style, one "is this a file?" rule, one error per mistake."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest
import torch
from PIL import Image

import vidstyle.pretrained as pretrained
from vidstyle.cli import main
from vidstyle.errors import VidstyleError
from vidstyle.methods import METHODS
from vidstyle.models import ReCoNet, ReCoNetConfig, save_checkpoint
from vidstyle.reference import StyleImageError, StyleRef, is_file_reference, resolve_style

TINY = ReCoNetConfig(widths=(8, 16, 16), res_blocks=1, outer_kernel=3)


@pytest.fixture()
def bundled(tmp_path, monkeypatch) -> Path:
    """A stand-in for the pretrained folder: candy (reconet, per-frame), candy-lite."""
    d = tmp_path / "pretrained"
    d.mkdir()
    for name in ("candy.reconet", "candy.per-frame", "candy-lite.reconet"):
        save_checkpoint(d / f"{name}.pt", ReCoNet(TINY))
    monkeypatch.setattr(pretrained, "PRETRAINED_DIR", d)
    return d


@pytest.fixture()
def files(tmp_path) -> dict[str, Path]:
    """A checkpoint, an (unchecked) ONNX file and a painting, with upper-case suffixes,
    and a painting whose name has no suffix."""
    out = {"pt": tmp_path / "Mine.PT", "onnx": tmp_path / "mine.Onnx",
           "jpg": tmp_path / "painting.JPG", "bare": tmp_path / "painting"}
    save_checkpoint(out["pt"], ReCoNet(TINY))
    out["onnx"].write_bytes(b"resolving does not read the graph")
    Image.new("RGB", (40, 30), (200, 40, 40)).save(out["jpg"], format="JPEG")
    shutil.copy(out["jpg"], out["bare"])
    return out


def test_every_kind(bundled, files):
    ref = resolve_style("candy")
    assert ref == StyleRef("bundled", bundled / "candy.reconet.pt", "candy", "reconet", "full")
    assert resolve_style("candy", "per-frame").path == bundled / "candy.per-frame.pt"
    assert resolve_style("candy", "chen").path == bundled / "candy.reconet.pt"  # chen runs reconet's
    lite = resolve_style("candy", "reconet", "lite")
    assert (lite.kind, lite.name, lite.path) == ("bundled", "candy-lite", bundled / "candy-lite.reconet.pt")
    assert resolve_style(files["pt"], "huang") == StyleRef("checkpoint", files["pt"], "Mine", "huang")
    assert resolve_style(str(files["onnx"])) == StyleRef("onnx", files["onnx"], "mine", "reconet")
    assert resolve_style(files["jpg"], "ruder") == StyleRef("image", files["jpg"], "painting", "ruder")
    assert resolve_style(files["bare"], "ruder").kind == "image"  # an image by its content
    # ruder with a bundled name takes the image it is given for it
    assert resolve_style("candy", "ruder", style_image=files["jpg"]).path == files["jpg"]
    assert resolve_style(ref, "huang", "lite") is ref  # a reference is already resolved


def test_one_rule_for_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("x.pt", "x.PT", "x.Onnx", "x.JPEG", "x.webp", "runs/mine", "./candy"):
        assert is_file_reference(name), name
    for name in ("candy", "candy-lite", "starry_night"):
        assert not is_file_reference(name), name
    (tmp_path / "candy").write_bytes(b"")  # an existing path is a file, whatever its name
    assert is_file_reference("candy")


def test_suffixes_are_case_insensitive(bundled, files):
    assert resolve_style(files["pt"]).kind == "checkpoint"
    assert resolve_style(files["onnx"]).kind == "onnx"
    with pytest.raises(StyleImageError, match="is an image, not a style model"):
        resolve_style(files["jpg"])
    with pytest.raises(StyleImageError):
        resolve_style(files["bare"])  # no suffix: recognised by its content
    with pytest.raises(VidstyleError, match="lite model size applies to bundled style names"):
        resolve_style(files["pt"], "reconet", "lite")


@pytest.mark.parametrize("name, method, match", [
    ("none.pt", "reconet", "model file not found: "),
    ("none.PT", "per-frame", "model file not found: "),
    ("none.onnx", "huang", "model file not found: "),
    ("dir/none", "reconet", "model file not found: "),
    ("none.jpg", "ruder", "style image not found: "),
])
def test_a_missing_file_is_one_clear_error(tmp_path, name, method, match):
    with pytest.raises(VidstyleError, match=match) as e:
        resolve_style(tmp_path / name, method)
    assert str(tmp_path / name) in str(e.value) and "\n" not in str(e.value)


def test_a_missing_file_on_the_command_line(tmp_path, frames_dir, capsys):
    out = tmp_path / "out"
    assert main(["stylize", str(frames_dir), "-o", str(out), "-s", str(tmp_path / "none.PT"),
                 "-q"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("vidstyle: error: model file not found: ")
    assert not out.exists()


def test_what_a_method_cannot_take(bundled, files):
    with pytest.raises(VidstyleError, match=r"unknown method 'nope'; choose from "
                                            r"per-frame, huang, reconet, chen, ruder"):
        resolve_style("candy", "nope")
    with pytest.raises(VidstyleError, match="the chen method needs a PyTorch checkpoint"):
        resolve_style(files["onnx"], "chen")
    with pytest.raises(VidstyleError, match="optimises against a style image"):
        resolve_style("candy", "ruder")
    with pytest.raises(VidstyleError, match="optimises against a style image"):
        resolve_style(files["pt"], "ruder")
    with pytest.raises(VidstyleError, match=r"style 'candy' has no bundled 'huang' model "
                                            r"\(has: per-frame, reconet\)"):
        resolve_style("candy", "huang")
    with pytest.raises(VidstyleError, match=r"unknown style 'candi'; did you mean candy"):
        resolve_style("candi")
    with pytest.raises(VidstyleError, match="a PyTorch checkpoint"):
        resolve_style(files["onnx"]).checkpoint()


def test_a_reference_is_immutable_and_knows_its_method(bundled):
    ref = resolve_style("candy", "chen", "lite")
    with pytest.raises(dataclasses.FrozenInstanceError):
        ref.path = Path("elsewhere.pt")  # type: ignore[misc]
    assert ref.spec is METHODS["chen"] and ref.checkpoint() == ref.path
    with pytest.raises(ValueError, match="kind must be one of"):
        StyleRef("video", Path("x.mp4"), "x", "reconet")


def test_the_output_name_comes_from_the_reference(bundled, files, frames_dir):
    import vidstyle

    src = frames_dir / "f_000.png"
    report = vidstyle.stylize_video(src, style=files["pt"], backend="torch", device="cpu")
    assert report.output == frames_dir / "f_000.Mine.png"
    report = vidstyle.stylize_video(src, model_size="lite", backend="torch", device="cpu")
    assert report.output == frames_dir / "f_000.candy-lite.png"
    chen, reconet = vidstyle.load_model("candy", "chen"), vidstyle.load_model("candy")
    assert all(torch.equal(a, b) for a, b in zip(chen.state_dict().values(),
                                                   reconet.state_dict().values(), strict=True))
