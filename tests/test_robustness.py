"""Robustness: hostile-but-realistic input to the command line and the Python API (issue 11).

Every class of input below is built here, with PyAV and Pillow (nothing from ../shared),
and held to the three promises:

1. refused input: a non-zero exit status and exactly one line on stderr;
2. nothing that existed before the run has changed (every file hashed, content and
   mode), and a refused run adds nothing;
3. accepted input: an output with the input's frame count, size, rate, duration and audio.

The numbers in the test names are those of the cases of issue 11.
"""

from __future__ import annotations

import hashlib
import math
import os
import signal
import stat
import subprocess
import sys
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import torch
from PIL import Image

from vidstyle import atomic
from vidstyle.api import make_stylizer, stylize_video
from vidstyle.cli import main
from vidstyle.errors import OptionError, OutputExistsError, VideoError, VidstyleError
from vidstyle.export import export_onnx
from vidstyle.image import read_rgb
from vidstyle.models import ReCoNet, ReCoNetConfig, save_checkpoint
from vidstyle.pipeline import stylize_path
from vidstyle.video import probe

FPS = 10
W, H = 32, 24
N_FRAMES = 20  # two seconds
TORCH = ["--backend", "torch", "-q"]  # no ONNX export: the cache case tests that path

# ----------------------------------------------------------------------------- media


@dataclass(frozen=True)
class Container:
    video: str  # encoder
    pix_fmt: str
    audio: str | None  # encoder, or None where the container holds no audio


CONTAINERS = {
    ".mp4": Container("libx264", "yuv420p", "aac"),
    ".mov": Container("libx264", "yuv420p", "aac"),
    ".mkv": Container("libx264", "yuv420p", "aac"),
    ".webm": Container("libvpx-vp9", "yuv420p", "libopus"),
    ".avi": Container("mpeg4", "yuv420p", "aac"),
    ".ts": Container("libx264", "yuv420p", "aac"),
    ".m2ts": Container("libx264", "yuv420p", "aac"),
    ".flv": Container("libx264", "yuv420p", "aac"),
    ".gif": Container("gif", "rgb8", None),
}


def frame_pattern(i: int, w: int, h: int) -> np.ndarray:
    """Smooth gradients and a square moving one step per frame: ``(h, w, 3)`` uint8."""
    x = np.linspace(0, 255, w)[None, :]
    y = np.linspace(0, 255, h)[:, None]
    img = np.stack(np.broadcast_arrays(x, y, np.full((h, w), 60.0)), axis=-1)
    s = max(2, min(w, h) // 4)
    img[(i % (h - s)):(i % (h - s)) + s, (2 * i) % (w - s):(2 * i) % (w - s) + s] = 255
    return img.round().astype(np.uint8)


def make_clip(path: Path, *, w: int = W, h: int = H, n: int = N_FRAMES, fps: int = FPS,
              audio: bool = True) -> Path:
    """A clip of ``n`` frames at ``fps`` (time base 1/fps) with a tone for the whole of it."""
    spec = CONTAINERS[path.suffix]
    with av.open(str(path), "w") as out:
        vs = out.add_stream(spec.video, rate=fps)
        vs.width, vs.height = w, h
        odd = w % 2 or h % 2  # H.264 4:2:0 codes even sizes only
        vs.pix_fmt = "yuv444p" if odd and spec.video == "libx264" else spec.pix_fmt
        vs.codec_context.time_base = Fraction(1, fps)
        if spec.video == "libx264":
            vs.options = {"preset": "ultrafast"}
        elif spec.video == "libvpx-vp9":
            vs.options = {"deadline": "realtime", "cpu-used": "8"}
        aud = None
        if audio and spec.audio:
            aud = out.add_stream(spec.audio, rate=48000)
            aud.layout = "mono"
            aud.format = "s16" if spec.audio == "libopus" else "fltp"
        pending = list(_tone(n / fps, aud)) if aud is not None else []
        for i in range(n):
            frame = av.VideoFrame.from_ndarray(frame_pattern(i, w, h), format="rgb24")
            frame = frame.reformat(format=vs.pix_fmt)
            frame.pts, frame.time_base = i, Fraction(1, fps)
            out.mux(vs.encode(frame))
            while pending and pending[0].pts / 48000 <= i / fps:
                out.mux(aud.encode(pending.pop(0)))
        out.mux(vs.encode(None))
        for f in pending:
            out.mux(aud.encode(f))
        if aud is not None:
            out.mux(aud.encode(None))
    return path


def _tone(seconds: float, stream):
    rate, fmt = 48000, stream.format.name
    total = round(seconds * rate)
    for start in range(0, total, 960):
        k = min(960, total - start)
        wave = 0.3 * np.sin(2 * math.pi * 440 * np.arange(start, start + k) / rate)
        data = (wave * 32767).astype(np.int16) if fmt == "s16" else wave.astype(np.float32)
        frame = av.AudioFrame.from_ndarray(data[None, :], format=fmt, layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = rate, start, Fraction(1, rate)
        yield frame


def make_frames(folder: Path, n: int = 3, size: tuple[int, int] = (20, 16)) -> Path:
    folder.mkdir(parents=True)
    for i in range(n):
        Image.fromarray(frame_pattern(i, *size)).save(folder / f"f_{i:03d}.png")
    return folder


def with_subtitles(path: Path, srt: Path) -> Path:
    """A Matroska copy of clip ``path`` plus the SubRip stream of ``srt``."""
    out_path = path.with_name(path.stem + ".subs.mkv")
    with av.open(str(path)) as src, av.open(str(srt)) as sub, \
            av.open(str(out_path), "w", format="matroska") as out:
        routes = {s.index: out.add_stream_from_template(s) for s in src.streams}
        sub_out = out.add_stream_from_template(sub.streams[0])
        packets = [(float(p.dts * p.time_base), p, routes[p.stream.index])
                   for p in src.demux() if p.dts is not None]
        packets += [(float(p.pts * p.time_base), p, sub_out) for p in sub.demux() if p.pts is not None]
        for _, p, stream in sorted(packets, key=lambda x: x[0]):
            p.stream = stream
            out.mux(p)
    return out_path


def with_data_stream(path: Path) -> Path:
    """An MPEG-TS copy of clip ``path`` plus a KLV data stream (as drones and cameras write)."""
    out_path = path.with_name(path.stem + ".klv.ts")
    with av.open(str(path)) as src, av.open(str(out_path), "w", format="mpegts") as out:
        routes = {s.index: out.add_stream_from_template(s) for s in src.streams}
        klv = out.add_data_stream("klv")
        packets = [(float(p.dts * p.time_base), p, routes[p.stream.index])
                   for p in src.demux() if p.dts is not None]
        for i in range(4):
            p = av.Packet(b"\x06\x0e\x2b\x34" + bytes([i]) * 12)
            p.pts = p.dts = i * 22500
            p.time_base = Fraction(1, 90000)
            packets.append((i * 0.25, p, klv))
        for _, p, stream in sorted(packets, key=lambda x: x[0]):
            p.stream = stream
            out.mux(p)
    return out_path


# ----------------------------------------------------------------------------- promises


def snapshot(root: Path) -> dict[str, tuple[str, int]]:
    """``{relative path: (sha256 or "dir", mode)}`` of everything under ``root``."""
    out = {}
    for p in sorted(root.rglob("*")):
        digest = "dir" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest()
        out[str(p.relative_to(root))] = (digest, stat.S_IMODE(p.stat().st_mode))
    return out


def assert_kept(before: dict, root: Path, *, added: bool) -> None:
    """Promise 2: every entry of ``before`` is unchanged; ``added=False``: nothing new."""
    after = snapshot(root)
    changed = [k for k, v in before.items() if after.get(k) != v]
    assert not changed, f"changed or removed: {changed}"
    if not added:
        assert set(after) == set(before), f"new: {sorted(set(after) - set(before))}"
    assert not [k for k in after if ".vidstyle-" in k], "a temporary was left"


@dataclass
class Run:
    rc: int
    out: str
    err: list[str]

    def one_error(self) -> str:
        """Promise 1: a non-zero exit and exactly one line on stderr."""
        assert self.rc != 0
        assert len(self.err) == 1, self.err
        assert self.err[0].startswith("vidstyle: error: ")
        return self.err[0]


def cli(capsys, *argv: str) -> Run:
    capsys.readouterr()
    try:
        rc = main([str(a) for a in argv])
    except SystemExit as e:  # refused by argparse
        rc = e.code
    cap = capsys.readouterr()
    return Run(rc, cap.out, cap.err.strip().splitlines())


def assert_video(out: Path, *, frames: int, size: tuple[int, int], fps: float = FPS,
                 audio: float | None = None) -> None:
    """Promise 3: frame count, size, rate, duration and audio length of an output."""
    info = probe(out)
    assert info["frames"] == frames
    assert (info["width"], info["height"]) == size
    assert info["fps"] == pytest.approx(fps, rel=1e-3)
    assert info["duration"] == pytest.approx(frames / fps, abs=0.5 / fps)
    if audio is None:
        assert not info["has_audio"]
    else:
        assert info["has_audio"] and info["audio_duration"] == pytest.approx(audio, abs=0.06)


@pytest.fixture(scope="module")
def model(model_path: Path) -> Path:
    return model_path  # the tiny checkpoint of conftest


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    """The standard 2 s clip with audio (read-only use)."""
    return make_clip(tmp_path_factory.mktemp("clip") / "clip.mp4")


# ----------------------------------------------------------------------------- 1. folders


@pytest.mark.parametrize("case", ["output_contains_input", "output_inside_input",
                                  "output_is_input"])
def test_1_output_folder_around_the_input_is_refused(tmp_path, model, capsys, case):
    frames = make_frames(tmp_path / "p" / "frames")
    (tmp_path / "p" / "notes.txt").write_text("mine")
    out, expect = {"output_contains_input": (tmp_path / "p", "contains the input"),
                   "output_inside_input": (frames / "sub", "inside the input folder"),
                   "output_is_input": (frames, "is the input")}[case]
    before = snapshot(tmp_path)
    run = cli(capsys, "stylize", frames, "-o", out, "-s", model, "--overwrite", *TORCH)
    assert expect in run.one_error()
    assert_kept(before, tmp_path, added=False)


def test_1_overwrite_replaces_only_this_runs_files(tmp_path, model, capsys):
    frames = make_frames(tmp_path / "frames")
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("not ours")
    Image.new("RGB", (4, 4)).save(out / "f_001.png")
    os.chmod(out / "f_001.png", 0o640)
    before = {k: v for k, v in snapshot(tmp_path).items() if k != "out/f_001.png"}
    run = cli(capsys, "stylize", frames, "-o", out, "-s", model, "--overwrite", *TORCH)
    assert run.rc == 0, run.err
    assert sorted(p.name for p in out.iterdir()) == ["f_000.png", "f_001.png", "f_002.png",
                                                      "keep.txt"]
    assert Image.open(out / "f_001.png").size == (20, 16)  # replaced by this run's frame ...
    assert stat.S_IMODE((out / "f_001.png").stat().st_mode) == 0o640  # ... keeping its mode
    assert_kept(before, tmp_path, added=True)


# ----------------------------------------------------------------------------- 2. permissions


@pytest.fixture()
def umask_027():
    old = os.umask(0o027)
    yield
    os.umask(old)


def test_2_outputs_get_the_umask_mode(tmp_path, model, clip, capsys, umask_027):
    frames = make_frames(tmp_path / "frames")
    runs = [("stylize", clip, "-o", tmp_path / "v.mp4"),
            ("stylize", frames / "f_000.png", "-o", tmp_path / "i.png"),
            ("stylize", frames, "-o", tmp_path / "folder")]
    for argv in runs:
        assert cli(capsys, *argv, "-s", model, *TORCH).rc == 0
    export_onnx(model, tmp_path / "m.onnx")
    save_checkpoint(tmp_path / "c.pt", ReCoNet(ReCoNetConfig(widths=(4, 4, 4), res_blocks=0)))
    for name in ("v.mp4", "i.png", "folder/f_000.png", "m.onnx", "c.pt"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o640, name
    assert stat.S_IMODE((tmp_path / "folder").stat().st_mode) == 0o750


def test_2_overwritten_file_keeps_its_mode(tmp_path, model, clip, capsys):
    for name in ("v.mp4", "m.onnx", "c.pt"):
        (tmp_path / name).write_bytes(b"old")
        os.chmod(tmp_path / name, 0o604)
    assert cli(capsys, "stylize", clip, "-o", tmp_path / "v.mp4", "-s", model, "--overwrite",
               *TORCH).rc == 0
    export_onnx(model, tmp_path / "m.onnx", overwrite=True)
    save_checkpoint(tmp_path / "c.pt", ReCoNet(ReCoNetConfig(widths=(4, 4, 4), res_blocks=0)))
    for name in ("v.mp4", "m.onnx", "c.pt"):
        assert (tmp_path / name).read_bytes() != b"old"
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o604, name


# ----------------------------------------------------------------------------- 3. signals


def test_3_sigterm_cleans_up_like_ctrl_c(tmp_path, model):
    src = make_clip(tmp_path / "long.mp4", w=320, h=240, n=400, fps=25)
    (tmp_path / "out.mp4").write_bytes(b"previous result")
    before = snapshot(tmp_path)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, "-m", "vidstyle", "stylize", str(src), "-s",
                             str(model), "-o", str(tmp_path / "out.mp4"), "--overwrite", *TORCH],
                            env=env, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]:
        assert proc.poll() is None and time.monotonic() < deadline, "no temporary appeared"
        time.sleep(0.02)
    time.sleep(0.2)  # well inside the encoding
    proc.send_signal(signal.SIGTERM)
    err = proc.communicate(timeout=60)[1].strip().splitlines()
    assert proc.returncode == 128 + signal.SIGTERM
    assert err == ["vidstyle: terminated"]
    assert_kept(before, tmp_path, added=False)


def test_3_stale_temporaries_of_dead_runs_are_removed(tmp_path, model, clip, capsys):
    dead = subprocess.Popen(["true"])
    dead.wait()

    def temporary(name: str, pid: int, folder: bool) -> Path:
        p = atomic.temp_path(tmp_path / name, folder=folder)
        return p.with_name(p.name.replace(f"-{os.getpid()}-", f"-{pid}-"))

    stale = [temporary("out.mp4", dead.pid, False), temporary("frames.tiny", dead.pid, True)]
    live = temporary("other.mp4", os.getppid(), False)  # a running process: not ours to delete
    stale[0].write_bytes(b"partial")
    stale[1].mkdir()
    (stale[1] / "f_000.png").write_bytes(b"partial")
    live.write_bytes(b"in progress")
    assert cli(capsys, "stylize", clip, "-o", tmp_path / "out.mp4", "-s", model, *TORCH).rc == 0
    assert not any(p.exists() for p in stale)
    assert live.read_bytes() == b"in progress"


# ----------------------------------------------------------------------------- 4, 5. images

# Display image D from stored image S for each EXIF orientation (EXIF 2.3, tag 0x0112).
ORIENT = {
    1: lambda s: s,
    2: lambda s: s[:, ::-1],
    3: lambda s: s[::-1, ::-1],
    4: lambda s: s[::-1],
    5: lambda s: s.transpose(1, 0, 2),
    6: lambda s: np.rot90(s, -1),
    7: lambda s: np.rot90(s.transpose(1, 0, 2), 2),
    8: lambda s: np.rot90(s, 1),
}


def blocks(h: int = 16, w: int = 24) -> np.ndarray:
    """4x4 blocks of distinct colours: any flip or rotation changes it."""
    rng = np.random.default_rng(4)
    small = rng.integers(0, 256, (h // 4, w // 4, 3), dtype=np.uint8)
    return small.repeat(4, 0).repeat(4, 1)


@pytest.mark.parametrize("orientation", sorted(ORIENT))
def test_4_exif_orientation_is_honoured(tmp_path, orientation):
    stored = blocks()
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(stored).save(tmp_path / "photo.png", exif=exif)
    np.testing.assert_array_equal(read_rgb(tmp_path / "photo.png"),
                                  np.ascontiguousarray(ORIENT[orientation](stored)))


def test_4_phone_photo_comes_out_upright(tmp_path, model, capsys):
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was held upright: stored sideways, shown rotated
    Image.fromarray(blocks(32, 48)).save(tmp_path / "phone.jpg", exif=exif, quality=95)
    before = snapshot(tmp_path)
    run = cli(capsys, "stylize", tmp_path / "phone.jpg", "-o", tmp_path / "out.png", "-s", model,
              *TORCH)
    assert run.rc == 0, run.err
    assert Image.open(tmp_path / "out.png").size == (32, 48)  # portrait, as the viewer shows it
    assert_kept(before, tmp_path, added=True)


def _modes():
    """``(mode name, build(path) -> expected (H, W, 3) uint8 RGB, file suffix)``."""
    grey16 = np.array([[0, 257 * 128, 65535, 257 * 64]], dtype=np.uint16).repeat(3, 0)
    expect16 = np.array([[0, 128, 255, 64]], dtype=np.uint8).repeat(3, 0)

    def rgb_of(grey: np.ndarray) -> np.ndarray:
        return np.repeat(grey[..., None], 3, axis=2)

    def one(p):
        a = np.array([[0, 1, 1, 0]], dtype=bool).repeat(2, 0)
        Image.fromarray(a).save(p)
        return rgb_of(a.astype(np.uint8) * 255)

    def l_(p):
        a = np.array([[0, 90, 200, 255]], dtype=np.uint8).repeat(2, 0)
        Image.fromarray(a).save(p)
        return rgb_of(a)

    def la(p):  # transparent half: white
        Image.fromarray(np.array([[[100, 255], [100, 0]]], dtype=np.uint8), "LA").save(p)
        return np.array([[[100] * 3, [255] * 3]], dtype=np.uint8)

    def palette(p):
        im = Image.new("P", (2, 1))
        im.putpalette([10, 20, 30, 200, 100, 50] + [0] * 762)
        im.putdata([0, 1])
        im.save(p)
        return np.array([[[10, 20, 30], [200, 100, 50]]], dtype=np.uint8)

    def palette_transparent(p):  # index 0 is transparent: white
        im = Image.new("P", (2, 1))
        im.putpalette([0, 0, 0, 200, 100, 50] + [0] * 762)
        im.putdata([0, 1])
        im.save(p, transparency=0)
        return np.array([[[255, 255, 255], [200, 100, 50]]], dtype=np.uint8)

    def i16(p):
        Image.fromarray(grey16).save(p)
        return rgb_of(expect16)

    def i16b(p):
        Image.frombytes("I;16B", grey16.shape[::-1], grey16.astype(">u2").tobytes()).save(p)
        return rgb_of(expect16)

    def i32(p):
        Image.fromarray(grey16.astype(np.int32)).save(p)
        return rgb_of(expect16)

    def f32(p):
        Image.fromarray(np.array([[0.0, 0.5, 1.0, 0.25]], dtype=np.float32).repeat(3, 0)).save(p)
        return rgb_of(np.array([[0, 128, 255, 64]], dtype=np.uint8).repeat(3, 0))

    def rgba(p):  # half-transparent red over white
        Image.fromarray(np.array([[[255, 0, 0, 128], [0, 0, 255, 255]]], dtype=np.uint8)).save(p)
        return np.array([[[255, 127, 127], [0, 0, 255]]], dtype=np.uint8)

    def cmyk(p):
        im = Image.new("CMYK", (2, 1))
        im.putdata([(0, 255, 255, 0), (0, 0, 0, 0)])
        im.save(p)
        return np.array([[[255, 0, 0], [255, 255, 255]]], dtype=np.uint8)

    def ycbcr(p):
        rgb = np.array([[[200, 30, 40]]], dtype=np.uint8).repeat(16, 0).repeat(16, 1)
        Image.fromarray(rgb).convert("YCbCr").save(p, quality=95)
        return rgb

    return [("1", one, ".png"), ("L", l_, ".png"), ("LA", la, ".png"), ("P", palette, ".png"),
            ("P+transparency", palette_transparent, ".png"), ("I;16", i16, ".png"),
            ("I;16B", i16b, ".tif"), ("I", i32, ".tif"), ("F", f32, ".tif"),
            ("RGBA", rgba, ".png"), ("CMYK", cmyk, ".tif"), ("YCbCr", ycbcr, ".jpg")]


@pytest.mark.parametrize(("mode", "build", "suffix"), _modes(), ids=[m[0] for m in _modes()])
def test_5_every_image_mode_reads_as_its_rgb_picture(tmp_path, mode, build, suffix):
    path = tmp_path / f"image{suffix}"
    expected = build(path)
    got = read_rgb(path)
    assert got.shape == expected.shape and got.dtype == np.uint8
    tolerance = 6 if suffix == ".jpg" else 1
    assert np.abs(got.astype(int) - expected).max() <= tolerance, (got, expected)


# ----------------------------------------------------------------------------- 6, 9. containers


@pytest.mark.parametrize("ext", sorted(CONTAINERS))
def test_6_9_start_and_duration_in_every_container(tmp_path, model, capsys, ext):
    src = make_clip(tmp_path / f"clip{ext}")
    before = snapshot(tmp_path)
    run = cli(capsys, "stylize", src, "-s", model, "--start", "1", "--duration", "0.5", *TORCH)
    assert run.rc == 0, run.err
    writable = ext in (".mp4", ".mov", ".mkv", ".webm")
    out = tmp_path / f"clip.tiny{ext if writable else '.mp4'}"  # 9: a container vidstyle writes
    if not writable:
        assert f"MP4, as vidstyle does not write {ext} files" in run.out
    has_audio = CONTAINERS[ext].audio is not None
    assert_video(out, frames=5, size=(W, H), audio=0.5 if has_audio else None)
    assert_kept(before, tmp_path, added=True)


# ----------------------------------------------------------------------------- 7. other streams


def test_7_subtitles_are_kept_or_named_in_a_warning(tmp_path, model, clip, capsys):
    srt = tmp_path / "s.srt"
    srt.write_text("1\n00:00:00,100 --> 00:00:00,900\nHello\n\n"
                   "2\n00:00:01,200 --> 00:00:01,700\nWorld\n")
    src = with_subtitles(clip, srt)
    before = snapshot(tmp_path)
    run = cli(capsys, "stylize", src, "-o", tmp_path / "o.mkv", "-s", model, "--start", "1",
              *TORCH)
    assert run.rc == 0 and run.err == [], run.err
    with av.open(str(tmp_path / "o.mkv")) as c:
        cues = [(float(p.pts * p.time_base), bytes(p)) for p in c.demux(c.streams.subtitles[0])
                if p.pts is not None]
    assert [text for _, text in cues] == [b"World"]  # cut to the span ...
    assert cues[0][0] == pytest.approx(0.2, abs=0.03)  # ... on the output's clock
    assert_video(tmp_path / "o.mkv", frames=10, size=(W, H), audio=1.0)
    run = cli(capsys, "stylize", src, "-o", tmp_path / "o.mp4", "-s", model, *TORCH)
    assert run.rc == 0
    assert run.err == [f"vidstyle: warning: mp4 output cannot hold subtitle #2 (subrip) of "
                       f"{src.name}: left out"]
    assert_video(tmp_path / "o.mp4", frames=N_FRAMES, size=(W, H), audio=2.0)
    assert_kept(before, tmp_path, added=True)


def test_7_data_streams_are_named_in_a_warning(tmp_path, model, clip, capsys):
    src = with_data_stream(clip)
    run = cli(capsys, "stylize", src, "-o", tmp_path / "o.mkv", "-s", model, *TORCH)
    assert run.rc == 0
    assert len(run.err) == 1 and "data #2 (klv)" in run.err[0] and "left out" in run.err[0]
    assert_video(tmp_path / "o.mkv", frames=N_FRAMES, size=(W, H), audio=2.0)


# ----------------------------------------------------------------------------- 8. odd sizes


@pytest.mark.parametrize(("ext", "size", "max_size", "expect"), [
    (".mp4", (33, 21), None, (33, 21)), (".mov", (33, 21), None, (33, 21)),
    (".mkv", (33, 21), None, (33, 21)), (".webm", (33, 21), None, (33, 21)),
    (".mp4", (64, 48), 33, (33, 25)),  # --max-size makes it odd
])
def test_8_output_size_is_the_input_size(tmp_path, model, capsys, ext, size, max_size, expect):
    src = make_clip(tmp_path / "in.mp4", w=size[0], h=size[1], n=5)
    extra = ["--max-size", max_size] if max_size else []
    run = cli(capsys, "stylize", src, "-o", tmp_path / f"out{ext}", "-s", model, *extra, *TORCH)
    assert run.rc == 0, run.err
    assert_video(tmp_path / f"out{ext}", frames=5, size=expect, audio=0.5)


# ----------------------------------------------------------------------------- 10. cache


def test_10_unwritable_cache_falls_back_to_memory(tmp_path, model, clip, capsys, monkeypatch):
    (tmp_path / "not_a_folder").write_text("")
    monkeypatch.setenv("VIDSTYLE_CACHE", str(tmp_path / "not_a_folder" / "cache"))
    run = cli(capsys, "stylize", clip, "-o", tmp_path / "o.mp4", "-s", model, "--backend", "onnx",
              "-q")
    assert run.rc == 0, run.err
    assert len(run.err) == 1 and run.err[0].startswith("vidstyle: warning: cannot cache")
    assert_video(tmp_path / "o.mp4", frames=N_FRAMES, size=(W, H), audio=2.0)


# ----------------------------------------------------------------------------- 11. style images


@pytest.mark.parametrize("name", ["painting.jpg", "painting.pt"])
def test_11_a_style_image_is_recognised(tmp_path, clip, capsys, name):
    Image.fromarray(blocks()).save(tmp_path / name, format="JPEG")
    before = snapshot(tmp_path)
    line = cli(capsys, "stylize", clip, "-o", tmp_path / "o.mp4", "-s", tmp_path / name,
               *TORCH).one_error()
    assert "is an image, not a style model" in line
    assert "vidstyle train --style" in line and "--method ruder" in line
    assert_kept(before, tmp_path, added=False)


def test_11_messages_are_never_cut_mid_word(tmp_path, clip, capsys):
    torch.save({"state": os.getcwd}, tmp_path / "pickled.pt")  # code: weights_only refuses it
    with pytest.raises(Exception) as e:
        torch.load(tmp_path / "pickled.pt", weights_only=True)
    words = set(str(e.value).split())
    line = cli(capsys, "stylize", clip, "-o", tmp_path / "o.mp4", "-s", tmp_path / "pickled.pt",
               *TORCH).one_error()
    assert "is not a readable checkpoint (" in line and line.endswith(")")
    detail = line.split("checkpoint (", 1)[1][:-1]
    last = detail.removesuffix(" ...").split()[-1]
    assert last in words, f"cut mid-word: {line!r}"


# ----------------------------------------------------------------------------- 12. numbers

BAD_NUMBERS = [  # (flag, value, keyword of the Python API)
    ("--crf", "60", "crf"), ("--crf", "-1", "crf"), ("--crf", "18.5", "crf"),
    ("--max-size", "0", "max_size"), ("--max-size", "-5", "max_size"),
    ("--batch-size", "0", "batch_size"), ("--threads", "0", "threads"),
    ("--start", "-1", "start"), ("--start", "nan", "start"),
    ("--duration", "0", "duration"), ("--duration", "inf", "duration"),
]


@pytest.mark.parametrize(("flag", "value", "keyword"), BAD_NUMBERS)
def test_12_numbers_are_checked_alike_in_cli_and_api(tmp_path, model, clip, capsys, flag,
                                                     value, keyword):
    before = snapshot(tmp_path)
    run = cli(capsys, "stylize", clip, "-o", tmp_path / "o.mp4", "-s", model, flag, value, *TORCH)
    line = run.one_error()
    assert run.rc == 2 and f"argument {flag}: must be " in line
    number = float(value) if keyword in ("start", "duration") or "." in value else int(value)
    with pytest.raises(OptionError) as e:
        if keyword == "threads":
            make_stylizer(model, backend="torch", threads=number)
        else:
            stylize_video(clip, tmp_path / "o.mp4", style=model, backend="torch", **{keyword: number})
    assert str(e.value).startswith(f"{keyword} must be ")
    assert e.value.problem.split(", got")[0] in line  # the same rule, in the same words
    assert_kept(before, tmp_path, added=False)


@pytest.mark.parametrize("keyword, value", [("crf", True), ("max_size", 12.0), ("batch_size", -3)])
def test_12_api_refuses_what_the_cli_cannot_express(tmp_path, model, clip, keyword, value):
    with pytest.raises(OptionError, match=f"^{keyword} must be"):
        stylize_path(clip, tmp_path / "o.mp4", lambda x: x, **{keyword: value})
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------- 13. memory


def test_13_huge_batch_size_costs_only_the_frames_read(tmp_path, model, clip, capsys):
    run = cli(capsys, "stylize", clip, "-o", tmp_path / "o.mp4", "-s", model,
              "--batch-size", "1000000000", *TORCH)
    assert run.rc == 0, run.err
    assert_video(tmp_path / "o.mp4", frames=N_FRAMES, size=(W, H), audio=2.0)


def test_13_out_of_memory_is_one_line(tmp_path, model, clip, capsys, monkeypatch):
    from vidstyle.methods import feedforward

    def exhausted(self, frames):
        raise MemoryError("cannot allocate 921 GiB")

    monkeypatch.setattr(feedforward.FeedForwardStylizer, "__call__", exhausted)
    (tmp_path / "o.mp4").write_bytes(b"previous result")
    before = snapshot(tmp_path)
    line = cli(capsys, "stylize", clip, "-o", tmp_path / "o.mp4", "-s", model, "--overwrite",
               *TORCH).one_error()
    assert "out of memory" in line and "--batch-size" in line
    assert_kept(before, tmp_path, added=False)


# ----------------------------------------------------------------------------- 14. names, spans


def test_14_stylize_dot_names_the_output_after_the_folder(tmp_path, model, capsys, monkeypatch):
    frames = make_frames(tmp_path / "shots")
    monkeypatch.chdir(frames)
    before = snapshot(tmp_path)
    run = cli(capsys, "stylize", ".", "-s", model, *TORCH)
    assert run.rc == 0, run.err
    assert sorted(p.name for p in (tmp_path / "shots.tiny").iterdir()) == sorted(
        p.name for p in frames.iterdir())
    assert_kept(before, tmp_path, added=True)


def test_14_names_near_the_length_limit(tmp_path, model, clip, capsys):
    limit = atomic.name_max(tmp_path)
    src = tmp_path / ("a" * (limit - 4) + ".mp4")  # fits; its default output does not
    src.write_bytes(clip.read_bytes())
    before = snapshot(tmp_path)
    line = cli(capsys, "stylize", src, "-s", model, *TORCH).one_error()
    assert f"bytes long; the file system allows {limit}" in line and "-o" in line
    assert_kept(before, tmp_path, added=False)
    out = tmp_path / ("b" * (limit - 4) + ".mp4")  # its temporary name must be shortened
    assert cli(capsys, "stylize", src, "-o", out, "-s", model, *TORCH).rc == 0
    assert_video(out, frames=N_FRAMES, size=(W, H), audio=2.0)


def test_14_an_empty_span_is_named(tmp_path, model, clip, capsys):
    before = snapshot(tmp_path)
    line = cli(capsys, "stylize", clip, "-o", tmp_path / "o.mp4", "-s", model, "--start", "1.95",
               *TORCH).one_error()
    assert "no frame between 1.95 s and 2 s (the video is 2 s long)" in line
    assert_kept(before, tmp_path, added=False)


# ----------------------------------------------------------------------------- 15. messages


def test_15_library_messages_are_neutral_and_the_cli_adds_the_flag(tmp_path, model, clip, capsys):
    (tmp_path / "o.mp4").write_bytes(b"previous")
    with pytest.raises(OutputExistsError) as e:
        stylize_video(clip, tmp_path / "o.mp4", style=model, backend="torch")
    assert str(e.value) == f"{tmp_path / 'o.mp4'} exists" and e.value.option == "overwrite"
    export_onnx(model, tmp_path / "m.onnx")
    problems = [
        lambda: export_onnx(model, tmp_path / "m.onnx"),
        lambda: stylize_video(clip, tmp_path / "x.mp4", style="candy", method="ruder"),
        lambda: stylize_video(clip, tmp_path / "x.mp4", style=model, model_size="lite"),
        lambda: stylize_video(clip, tmp_path / "x.mp4", style=tmp_path / "m.onnx", backend="torch"),
        lambda: stylize_video(clip, tmp_path / "x.mp4", style=model, crf=99),
    ]
    for problem in problems:
        with pytest.raises(VidstyleError) as e:
            problem()
        assert "--" not in str(e.value), str(e.value)
    line = cli(capsys, "stylize", clip, "-o", tmp_path / "o.mp4", "-s", model, *TORCH).one_error()
    assert line.endswith("o.mp4 exists; pass --overwrite to replace it")


def test_15_causes_are_chained_and_bugs_keep_their_traceback(tmp_path, model, clip, capsys,
                                                             monkeypatch):
    bad = tmp_path / "bad.mp4"
    bad.write_text("this is not a video")
    with pytest.raises(VideoError) as e:
        stylize_video(bad, tmp_path / "o.mp4", style=model, backend="torch")
    assert isinstance(e.value.__cause__, av.FFmpegError)  # --debug shows the real cause
    run = cli(capsys, "--debug", "stylize", bad, "-o", tmp_path / "o.mp4", "-s", model, *TORCH)
    assert run.rc == 1 and "direct cause" in "\n".join(run.err)
    from vidstyle.methods import feedforward

    def broken(self, frames):
        raise KeyError("a bug")

    monkeypatch.setattr(feedforward.FeedForwardStylizer, "__call__", broken)
    with pytest.raises(KeyError):  # not turned into a tidy line: it is a bug
        main(["stylize", str(clip), "-o", str(tmp_path / "o.mp4"), "-s", str(model), *TORCH])
    assert not (tmp_path / "o.mp4").exists()
