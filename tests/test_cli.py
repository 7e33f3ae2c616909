"""The command line: stylize folders, images and videos; evaluate; flow; bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from videogen import write_clip

from vidstyle.cli import main
from vidstyle.video import probe


@pytest.fixture()
def frames_dir(frames_dir: Path) -> Path:
    """The shared three PNG frames plus a JPEG, to check names and formats survive."""
    rng = np.random.default_rng(1)
    Image.fromarray(rng.integers(0, 255, (21, 33, 3), dtype=np.uint8)).save(frames_dir / "z.jpg")
    return frames_dir


def test_stylize_folder_keeps_names(tmp_path, frames_dir, model_path, capsys):
    out = tmp_path / "out"
    rc = main(["stylize", str(frames_dir), "-o", str(out), "-s", str(model_path), "-q"])
    assert rc == 0, capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in frames_dir.iterdir())
    img = np.asarray(Image.open(out / "f_000.png"))
    assert img.shape == (21, 33, 3)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_stylize_single_image_and_default_name(tmp_path, frames_dir, model_path):
    src = frames_dir / "f_001.png"
    assert main(["stylize", str(src), "-s", str(model_path), "-q"]) == 0
    assert (frames_dir / "f_001.tiny.png").is_file()


def test_stylize_max_size(tmp_path, frames_dir, model_path):
    out = tmp_path / "small.png"
    assert main(["stylize", str(frames_dir / "f_000.png"), "-o", str(out), "-s",
                 str(model_path), "--max-size", "16", "-q"]) == 0
    assert Image.open(out).size == (16, 10)


def test_stylize_video_keeps_frames_rate_and_audio(tmp_path, model_path):
    src = tmp_path / "in.mp4"
    write_clip(src, width=48, height=32, fps=12, n_frames=12, audio=True)
    out = tmp_path / "out.mp4"
    assert main(["stylize", str(src), "-o", str(out), "-s", str(model_path), "-q"]) == 0
    a, b = probe(src), probe(out)
    assert b["frames"] == a["frames"] == 12
    assert b["fps"] == pytest.approx(a["fps"], rel=1e-3)
    assert b["duration"] == pytest.approx(a["duration"], abs=1 / 12)
    assert b["has_audio"] and b["audio_duration"] == pytest.approx(a["audio_duration"], abs=0.06)


def test_existing_output_needs_overwrite(tmp_path, frames_dir, model_path, one_error_line):
    out = tmp_path / "o.png"
    out.write_bytes(b"keep me")
    rc = main(["stylize", str(frames_dir / "f_000.png"), "-o", str(out), "-s", str(model_path)])
    assert rc == 1 and "--overwrite" in one_error_line()
    assert out.read_bytes() == b"keep me"
    assert main(["stylize", str(frames_dir / "f_000.png"), "-o", str(out), "-s",
                 str(model_path), "--overwrite", "-q"]) == 0
    assert out.read_bytes() != b"keep me"


@pytest.mark.parametrize("case", [
    "missing", "empty_dir", "unreadable_image", "text_as_mp4", "wrong_checkpoint",
    "missing_checkpoint", "unknown_style", "output_is_input", "missing_out_folder",
    "cuda_without_cuda",
])
def test_bad_input_one_line_nonzero_nothing_written(tmp_path, frames_dir, model_path,
                                                    one_error_line, case):
    before = set(tmp_path.rglob("*"))
    style = str(model_path)
    src = str(frames_dir)
    out = str(tmp_path / "out")
    extra: list[str] = []
    expect = ""
    if case == "missing":
        src, expect = str(tmp_path / "nope.mp4"), "not found"
    elif case == "empty_dir":
        (tmp_path / "empty").mkdir()
        before = set(tmp_path.rglob("*"))
        src, expect = str(tmp_path / "empty"), "no images"
    elif case == "unreadable_image":
        bad = tmp_path / "bad.png"
        bad.write_text("not a png")
        before = set(tmp_path.rglob("*"))
        src, out, expect = str(bad), str(tmp_path / "bad_out.png"), "cannot read"
    elif case == "text_as_mp4":
        bad = tmp_path / "bad.mp4"
        bad.write_text("hello")
        before = set(tmp_path.rglob("*"))
        src, out, expect = str(bad), str(tmp_path / "o.mp4"), "bad.mp4"
    elif case == "wrong_checkpoint":
        bad = tmp_path / "bad.pt"
        torch.save({"hello": 1}, bad)
        before = set(tmp_path.rglob("*"))
        style, expect = str(bad), "not a vidstyle checkpoint"
    elif case == "missing_checkpoint":
        style, expect = str(tmp_path / "none.pt"), "not found"
    elif case == "unknown_style":
        style, expect = "candyy", "unknown style"
    elif case == "output_is_input":
        out, extra, expect = src, ["--overwrite"], "is the input"
    elif case == "missing_out_folder":
        out, expect = str(tmp_path / "no" / "such" / "out"), "does not exist"
    elif case == "cuda_without_cuda":
        if torch.cuda.is_available():
            pytest.skip("CUDA is available here")
        extra, expect = ["--device", "cuda"], "CUDA is not available"
    rc = main(["stylize", src, "-o", out, "-s", style, "-q", *extra])
    assert rc == 1
    assert expect in one_error_line()
    assert set(tmp_path.rglob("*")) == before


def test_evaluate_folder_on_sintel(tmp_path, sintel_tree, style, capsys):
    # "Stylized" frames = the (generated) Sintel input frames themselves, downscaled.
    scene = sintel_tree / "final" / "pan_1"
    out = tmp_path / "styl"
    out.mkdir()
    for p in sorted(scene.glob("frame_000[1-4].png")):
        Image.open(p).resize((64, 43)).save(out / p.name)
    rc = main(["evaluate", str(out), "--sintel", str(sintel_tree), "--scene", "pan_1",
               "--style-image", style])
    text = capsys.readouterr().out
    assert rc == 0
    vals = dict(line.split() for line in text.strip().splitlines())
    assert 0.002 < float(vals["e_stab"]) < 0.05
    assert float(vals["content_distance"]) < 0.2  # same frames, only resized
    assert float(vals["style_distance"]) > 0.3
    assert "warping_error" in vals


def test_evaluate_bad_args(tmp_path, one_error_line):
    assert main(["evaluate", str(tmp_path / "none")]) == 1
    assert "not found" in one_error_line()


def test_flow_command(tmp_path, sintel_tree, capsys):
    a = sintel_tree / "clean" / "layers_2" / "frame_0001.png"  # camera and layers moving
    b = sintel_tree / "clean" / "layers_2" / "frame_0002.png"
    rc = main(["flow", str(a), str(b), "-o", str(tmp_path / "f"), "--max-size", "256"])
    assert rc == 0
    text = capsys.readouterr().out
    vals = {k.strip(): v for k, v in (line.rsplit(None, 1) for line in text.splitlines())}
    assert float(vals["masked error, warped"]) < 0.5 * float(vals["masked error, no warp"])
    assert (tmp_path / "f" / "flow.png").is_file() and (tmp_path / "f" / "mask.png").is_file()


def test_styles_lists_bundled(capsys):
    assert main(["styles"]) == 0
    assert capsys.readouterr().out.strip()


def test_stylize_chen_and_ruder_methods(tmp_path, frames_dir, model_path, style, capsys,
                                        one_error_line):
    out = tmp_path / "chen"
    rc = main(["stylize", str(frames_dir), "-o", str(out), "-s", str(model_path),
               "--method", "chen", "-q"])
    # chen needs the reconet network of a style: a checkpoint path serves any method
    assert rc == 0, capsys.readouterr().err
    assert len(list(out.iterdir())) == 4
    out = tmp_path / "ruder.png"
    rc = main(["stylize", str(frames_dir / "f_000.png"), "-o", str(out), "-s", style,
               "--method", "ruder", "--ruder-iters", "3", "--ruder-size", "32"])
    assert rc == 0
    assert Image.open(out).size == (33, 21)
    assert "ruder: frame 0:" in capsys.readouterr().err
    rc = main(["stylize", str(frames_dir), "-o", str(tmp_path / "r2"), "-s", "candy",
               "--method", "ruder"])
    assert rc == 1 and "style image" in one_error_line()
    rc = main(["stylize", str(frames_dir), "-o", str(tmp_path / "r3"), "--method", "nope"])
    assert rc == 1 and "unknown method" in one_error_line()


def test_stylize_ruder_multi_pass(tmp_path, frames_dir, style, capsys):
    # --ruder-passes 2: a forward and a backward pass over the whole folder, every frame out
    out = tmp_path / "mp"
    rc = main(["stylize", str(frames_dir), "-o", str(out), "-s", style, "--method", "ruder",
               "--ruder-iters", "2", "--ruder-size", "32", "--ruder-passes", "2"])
    assert rc == 0, capsys.readouterr().err
    assert len(list(out.iterdir())) == 4
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(["stylize", str(frames_dir), "-o", str(tmp_path / "bad"), "-s", style,
              "--method", "ruder", "--ruder-passes", "0.5"])
    assert "--ruder-passes: must be an integer >= 1" in capsys.readouterr().err
