"""Stylizing videos end to end: timing, sizes, rotation, audio, atomicity, memory."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from videogen import write_audio_only, write_clip, write_zero_frame_video

import vidstyle
from vidstyle.errors import VideoError, VidstyleError
from vidstyle.methods.feedforward import FeedForwardStylizer
from vidstyle.models import ReCoNet, ReCoNetConfig
from vidstyle.pipeline import stylize_path
from vidstyle.video import VideoReader, probe

TINY = ReCoNetConfig(widths=(8, 16, 16), res_blocks=1)


@pytest.fixture()
def stylizer() -> FeedForwardStylizer:
    torch.manual_seed(0)
    return FeedForwardStylizer(ReCoNet(TINY))


def _same_timing(src: Path, out: Path, fps: float) -> None:
    a, b = probe(src), probe(out)
    assert b["frames"] == a["frames"]
    assert b["duration"] == pytest.approx(a["duration"], abs=1.0 / fps)


def test_vfr_timestamps_survive(tmp_path, stylizer):
    src = write_clip(tmp_path / "vfr.mkv", width=64, height=48, fps=25, n_frames=20, vfr=True).path
    out = tmp_path / "out.mkv"
    stylize_path(src, out, stylizer, progress=False)
    _same_timing(src, out, 25)
    with VideoReader(src) as a, VideoReader(out) as b:
        ta = [t for _, t in a.frames()]
        tb = [t for _, t in b.frames()]
    assert tb == pytest.approx(ta, abs=2e-3)


def test_odd_size_and_audio(tmp_path, stylizer):
    src = write_clip(tmp_path / "odd.mp4", width=321, height=241, fps=10, n_frames=8,
                     audio=True).path
    out = tmp_path / "out.mp4"
    stylize_path(src, out, stylizer, progress=False, batch_size=3)
    b = probe(out)
    assert (b["width"], b["height"]) == (321, 241)  # exactly the input's size
    assert b["has_audio"]
    assert b["audio_duration"] == pytest.approx(probe(src)["audio_duration"], abs=0.06)
    _same_timing(src, out, 10)


def test_rotation_metadata_honoured(tmp_path, stylizer):
    src = write_clip(tmp_path / "rot.mp4", width=64, height=32, fps=10, n_frames=5,
                     rotation=90).path
    out = tmp_path / "out.mp4"
    stylize_path(src, out, stylizer, progress=False)
    b = probe(out)
    assert (b["width"], b["height"]) == (32, 64)  # written upright


def test_start_duration_and_max_size(tmp_path, stylizer):
    src = write_clip(tmp_path / "a.mp4", width=96, height=64, fps=10, n_frames=30,
                     audio=True).path
    out = tmp_path / "part.mp4"
    stylize_path(src, out, stylizer, progress=False, start=1.0, duration=1.0, max_size=48)
    b = probe(out)
    assert b["frames"] == 10
    assert (b["width"], b["height"]) == (48, 32)
    assert b["audio_duration"] == pytest.approx(1.0, abs=0.1)


def _interrupt_at(stylizer, n: int):
    """A stylizer that raises KeyboardInterrupt (as Ctrl-C would) on its n-th batch."""
    calls = {"n": 0}

    def interrupted(frames):
        calls["n"] += 1
        if calls["n"] == n:
            raise KeyboardInterrupt
        return stylizer(frames)

    interrupted.reset = lambda: None
    return interrupted


def test_interrupted_run_leaves_destination_untouched(tmp_path, stylizer):
    src = write_clip(tmp_path / "a.mp4", width=64, height=48, fps=10, n_frames=20).path
    out = tmp_path / "out.mp4"
    out.write_bytes(b"previous result")
    with pytest.raises(KeyboardInterrupt):
        stylize_path(src, out, _interrupt_at(stylizer, 3), progress=False, batch_size=2,
                     overwrite=True)
    assert out.read_bytes() == b"previous result"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.mp4", "out.mp4"]


def test_interrupted_folder_run_leaves_destination_untouched(tmp_path, stylizer):
    from PIL import Image

    frames = tmp_path / "frames"
    frames.mkdir()
    for i in range(6):
        Image.new("RGB", (20, 16), (i * 40, 10, 10)).save(frames / f"{i}.png")
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("old")
    with pytest.raises(KeyboardInterrupt):
        stylize_path(frames, out, _interrupt_at(stylizer, 2), progress=False, batch_size=2,
                     overwrite=True)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["frames", "out"]


@pytest.mark.parametrize("case", ["audio_only", "zero_frames", "text", "no_images"])
def test_bad_inputs(tmp_path, stylizer, case):
    if case == "audio_only":
        src = write_audio_only(tmp_path / "a.m4a")
    elif case == "zero_frames":
        src = write_zero_frame_video(tmp_path / "z.mkv")
    elif case == "text":
        src = tmp_path / "t.mp4"
        src.write_text("this is not a video")
    else:
        src = tmp_path / "empty"
        src.mkdir()
    out = tmp_path / ("o.mp4" if case != "no_images" else "o")
    with pytest.raises((VideoError, VidstyleError)) as e:
        stylize_path(src, out, stylizer, progress=False)
    assert "\n" not in str(e.value)
    assert not out.exists()


def test_truncated_video_reports_or_fails_cleanly(tmp_path, stylizer):
    src = write_clip(tmp_path / "a.mkv", width=64, height=48, fps=10, n_frames=40).path
    data = src.read_bytes()
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(data[: len(data) * 2 // 3])
    out = tmp_path / "o.mkv"
    report = stylize_path(cut, out, stylizer, progress=False)
    # Matroska truncated mid-stream: what decodes is stylized, and the loss is reported.
    assert 0 < report.frames < 40
    assert report.ended_early or report.decode_errors > 0


def test_stylize_video_api(tmp_path, model_path):
    src = write_clip(tmp_path / "a.mp4", width=48, height=32, fps=10, n_frames=6).path
    report = vidstyle.stylize_video(src, style=str(model_path))
    assert report.output == tmp_path / "a.tiny.mp4" and report.frames == 6
    model = vidstyle.load_model(str(model_path))
    assert model(torch.rand(1, 3, 10, 14)).shape == (1, 3, 10, 14)


_MEMORY_CHILD = textwrap.dedent("""
    import sys, torch
    sys.path.insert(0, sys.argv[4])
    from videogen import write_clip
    from vidstyle.methods.feedforward import FeedForwardStylizer
    from vidstyle.models import ReCoNet, ReCoNetConfig
    from vidstyle.pipeline import stylize_path
    n = int(sys.argv[1])
    src = write_clip(sys.argv[2] + "/in.mp4", width=320, height=240, fps=30, n_frames=n).path
    def peak():
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM"):
                return int(line.split()[1])
    torch.manual_seed(0)
    s = FeedForwardStylizer(ReCoNet(ReCoNetConfig(widths=(4, 8, 8), res_blocks=0)))
    stylize_path(src, sys.argv[3], s, progress=False, batch_size=4)
    print(peak())
""")


@pytest.mark.slow
def test_memory_stays_flat_on_a_longer_clip(tmp_path):
    """Peak RSS for 600 frames must stay close to that for 60 frames: 540 more frames of
    320x240 are 124 MB as uint8 and 500 MB as float tensors, if they were ever held."""
    peaks = []
    for n in (60, 600):
        d = tmp_path / str(n)
        d.mkdir()
        r = subprocess.run(
            [sys.executable, "-c", _MEMORY_CHILD, str(n), str(d), str(d / "out.mp4"),
             str(Path(__file__).parent)],
            capture_output=True, text=True, check=True, timeout=600,
        )
        peaks.append(int(r.stdout.strip().splitlines()[-1]) / 1024)
    assert peaks[1] - peaks[0] < 40, f"peak RSS grew from {peaks[0]:.0f} to {peaks[1]:.0f} MB"
