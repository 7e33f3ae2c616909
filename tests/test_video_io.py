"""vidstyle.video: reading, writing and round trips on tiny generated clips."""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import av
import numpy as np
import pytest

from vidstyle.errors import VideoError
from vidstyle.image import save_image
from vidstyle.video import (
    FrameFolderReader,
    FrameFolderWriter,
    VideoReader,
    VideoWriter,
    open_source,
    probe,
)

sys.path.insert(0, str(Path(__file__).parent))
from videogen import pattern, write_audio_only, write_clip, write_zero_frame_video

FPS = 25


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict:
    """Generated once per module: name -> videogen.Clip (or Path)."""
    d = tmp_path_factory.mktemp("clips")
    return {
        "cfr": write_clip(d / "cfr.mp4", n_frames=25, audio=True),
        "vfr": write_clip(d / "vfr.mp4", n_frames=25, vfr=True, audio=True),
        "odd": write_clip(d / "odd.mkv", width=321, height=241, n_frames=10, audio=True,
                          audio_codec="pcm_s16le"),
        "rot": write_clip(d / "rot.mp4", n_frames=5, rotation=90),
        "audio_only": write_audio_only(d / "tone.m4a", seconds=0.5),
        "zero": write_zero_frame_video(d / "zero.mkv"),
    }


def roundtrip(src: Path, dst: Path, *, start=None, duration=None, **kw) -> VideoWriter:
    """Copy ``src`` to ``dst`` frame by frame with its audio; return the closed writer."""
    r = VideoReader(src, start=start, duration=duration)
    with VideoWriter(dst, fps=r.fps, width=r.width, height=r.height,
                     audio_from=src if r.has_audio else None,
                     audio_start=start, audio_duration=duration, **kw) as w:
        for rgb, t in r.frames():
            w.write(rgb, t)
    return w


def read_all(path: Path) -> tuple[list[np.ndarray], list[float]]:
    frames, times = [], []
    for rgb, t in VideoReader(path).frames():
        frames.append(rgb)
        times.append(t)
    return frames, times


def dominant_hz(path: Path) -> float:
    """Strongest frequency of the first audio stream (mono mix)."""
    with av.open(str(path)) as c:
        chunks, rate = [], None
        for frame in c.decode(audio=0):
            rate = frame.sample_rate
            x = frame.to_ndarray().astype(np.float64)
            if not frame.format.is_planar:
                x = x.reshape(-1, frame.layout.nb_channels).T
            chunks.append(x.mean(axis=0))
    x = np.concatenate(chunks)
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / rate)[spectrum.argmax()])


def mad(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.float32) - b.astype(np.float32)).mean())


# ----------------------------------------------------------------------------- reading


def test_reader_properties_and_frames(clips):
    r = VideoReader(clips["cfr"].path)
    assert (r.width, r.height, r.fps, r.rotation, r.has_audio) == (64, 48, FPS, 0, True)
    assert r.frame_count == 25 and r.duration == pytest.approx(1.0)
    frames, times = read_all(clips["cfr"].path)
    assert len(frames) == 25
    assert times == pytest.approx(clips["cfr"].times, abs=1e-6)
    assert frames[7].shape == (48, 64, 3) and frames[7].dtype == np.uint8
    assert mad(frames[7], pattern(7, 64, 48)) < 6  # right frame, right colours
    assert mad(frames[7], pattern(12, 64, 48)) > mad(frames[7], pattern(7, 64, 48)) + 1


def test_start_duration_and_batches(clips):
    r = VideoReader(clips["cfr"].path, start=0.3, duration=0.4)
    times = [t for _, t in r.frames()]
    assert times == pytest.approx([0.32, 0.36, 0.40, 0.44, 0.48, 0.52, 0.56, 0.60, 0.64, 0.68])
    assert r.duration == pytest.approx(0.4) and r.frame_count == 10
    batches = list(r.batches(4))
    assert [b.shape for b, _ in batches] == [(4, 48, 64, 3), (4, 48, 64, 3), (2, 48, 64, 3)]
    assert [t for _, ts in batches for t in ts] == times
    first = next(r.frames())[0]
    assert np.array_equal(batches[0][0][0], first)
    with pytest.raises(VideoError, match="past its end"):
        VideoReader(clips["cfr"].path, start=5.0)


def test_rotation_metadata_is_honoured(clips):
    r = VideoReader(clips["rot"].path)
    assert r.rotation == 90
    assert (r.width, r.height) == (48, 64)  # stored 64x48, shown upright
    rgb = next(r.frames())[0]
    assert rgb.shape == (64, 48, 3)
    upright = np.rot90(pattern(0, 64, 48), 1)  # 90 degrees counter-clockwise
    assert mad(rgb, upright) < 6
    assert mad(rgb, np.rot90(pattern(0, 64, 48), -1)) > 20  # not the other way round


@pytest.mark.data
def test_real_clip_first_frames(shared_data):
    path = shared_data / "videos" / "chaplin_silent_film_10s_640x360.mp4"
    r = VideoReader(path)
    assert (r.width, r.height, r.has_audio) == (640, 360, True)
    assert 9 < r.duration < 11 and float(r.fps) == pytest.approx(25)
    it = r.frames()
    got = [next(it) for _ in range(3)]
    it.close()
    assert [t for _, t in got] == pytest.approx([0.0, 0.04, 0.08], abs=1e-3)
    assert all(rgb.shape == (360, 640, 3) and rgb.std() > 5 for rgb, _ in got)


def test_damaged_files_decode_what_they_can(clips, tmp_path):
    src = write_clip(tmp_path / "long.mkv", n_frames=50).path
    data = src.read_bytes()
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(data[: len(data) * 6 // 10])
    r = VideoReader(cut)
    n = sum(1 for _ in r.frames())
    assert 10 < n < 50 and r.ended_early

    full = VideoReader(src)
    assert sum(1 for _ in full.frames()) == 50 and not full.ended_early

    mp4 = bytearray(write_clip(tmp_path / "long.mp4", n_frames=50).path.read_bytes())
    rng = np.random.default_rng(0)
    start = mp4.find(b"mdat") + 2000
    for off in range(start, len(mp4) - 3000, 700):  # garble 40 bytes every 700
        mp4[off : off + 40] = rng.integers(0, 256, 40, dtype=np.uint8).tobytes()
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(bytes(mp4))
    r = VideoReader(bad)
    n = sum(1 for _ in r.frames())
    assert n > 25 and r.decode_errors > 0


@pytest.mark.parametrize("case", ["missing", "text", "audio_only", "zero", "folder", "empty_dir"])
def test_bad_inputs_raise_one_line_video_error(case, clips, tmp_path):
    if case == "missing":
        path, want = tmp_path / "nope.mp4", "not found"
    elif case == "text":
        path, want = tmp_path / "notes.mp4", "not a video"
        path.write_text("this is not a video\n" * 20)
    elif case == "audio_only":
        path, want = clips["audio_only"], "audio only"
    elif case == "zero":
        path, want = clips["zero"], "no decodable frames"
    elif case == "folder":
        path, want = tmp_path, "folder"
    else:
        path, want = tmp_path / "empty", "no images"
        path.mkdir()
        (path / "readme.txt").write_text("x")
    opener = open_source if case == "empty_dir" else VideoReader
    with pytest.raises(VideoError) as info:
        opener(path)
    msg = str(info.value)
    assert want in msg and path.name in msg and "\n" not in msg


def test_probe(clips):
    info = probe(clips["odd"].path)
    assert (info["width"], info["height"], info["frames"]) == (321, 241, 10)
    assert info["fps"] == pytest.approx(FPS) and info["duration"] == pytest.approx(0.4)
    assert info["has_audio"] and info["audio_codec"] == "pcm_s16le"
    assert info["audio_duration"] == pytest.approx(0.4, abs=0.01)


# ----------------------------------------------------------------------------- writing


def test_cfr_roundtrip_keeps_frames_rate_duration_audio(clips, tmp_path):
    src = clips["cfr"]
    out = tmp_path / "out.mp4"
    w = roundtrip(src.path, out)
    assert w.codec == "libx264" and w.audio_actions == ["audio #1 aac: copied"]
    a, b = probe(src.path), probe(out)
    assert b["frames"] == a["frames"] == 25
    assert b["fps"] == pytest.approx(FPS)
    assert abs(b["duration"] - a["duration"]) < 1 / FPS
    assert b["has_audio"] and b["audio_codec"] == "aac"
    assert abs(b["audio_duration"] - a["audio_duration"]) < 0.05
    frames, times = read_all(out)
    assert times == pytest.approx(src.times, abs=1e-3)
    assert mad(frames[20], pattern(20, 64, 48)) < 8


def test_vfr_timestamps_survive(clips, tmp_path):
    src = clips["vfr"]
    assert len(set(np.round(np.diff(src.times), 3))) > 1  # really irregular
    out = tmp_path / "vfr_out.mkv"
    roundtrip(src.path, out)
    _, times = read_all(out)
    assert times == pytest.approx(src.times, abs=1.5e-3)  # Matroska stores milliseconds
    a, b = probe(src.path), probe(out)
    assert abs(b["duration"] - a["duration"]) < 1 / FPS


@pytest.mark.parametrize(("ext", "pix_fmt"), [(".mp4", "yuv444p"), (".mkv", "yuv444p"),
                                             (".webm", "yuv420p")])
def test_odd_size_is_kept_exactly(clips, tmp_path, ext, pix_fmt):
    # H.264 4:2:0 cannot code odd sizes, so H.264 switches to 4:4:4; VP9 keeps 4:2:0.
    out = tmp_path / f"odd{ext}"
    w = roundtrip(clips["odd"].path, out)
    assert (w.frame_width, w.frame_height, w.pix_fmt) == (321, 241, pix_fmt)
    info = probe(out)
    assert (info["width"], info["height"], info["frames"]) == (321, 241, 10)
    rgb = next(VideoReader(out).frames())[0]
    assert rgb.shape == (241, 321, 3)
    assert mad(rgb, pattern(0, 321, 241)) < 6


@pytest.mark.parametrize(
    ("ext", "vcodec", "acodec", "action"),
    [(".mkv", "h264", "aac", "copied"), (".mov", "h264", "aac", "copied"),
     (".webm", "vp9", "opus", "transcoded to libopus")],
)
def test_containers(ext, vcodec, acodec, action, clips, tmp_path):
    src = clips["cfr"]
    out = tmp_path / f"out{ext}"
    w = roundtrip(src.path, out)
    assert w.audio_actions == [f"audio #1 aac: {action}"]
    info = probe(out)
    assert (info["video_codec"], info["audio_codec"], info["frames"]) == (vcodec, acodec, 25)
    assert abs(info["duration"] - 1.0) < 1 / FPS
    assert abs(info["audio_duration"] - 1.0) < 0.05
    assert dominant_hz(out) == pytest.approx(440, abs=5)  # still the tone, not noise


def test_audio_is_cut_to_the_processed_span(clips, tmp_path):
    for ext in (".mp4", ".webm"):  # packet copy and transcode
        out = tmp_path / f"cut{ext}"
        roundtrip(clips["cfr"].path, out, start=0.3, duration=0.4)
        info = probe(out)
        assert info["frames"] == 10
        assert abs(info["audio_duration"] - 0.4) < 0.05, ext


def test_pcm_into_mp4_becomes_aac_and_mpeg4_encoder(clips, tmp_path):
    out = tmp_path / "m4.mp4"
    w = roundtrip(clips["odd"].path, out, codec="mpeg4")
    assert w.audio_actions == ["audio #1 pcm_s16le: transcoded to aac"]
    info = probe(out)
    assert (info["video_codec"], info["frames"], info["width"]) == ("mpeg4", 10, 321)
    assert info["audio_codec"] == "aac" and abs(info["audio_duration"] - 0.4) < 0.05
    assert dominant_hz(out) == pytest.approx(440, abs=5)


def test_interrupted_write_leaves_destination_untouched(clips, tmp_path):
    dst = tmp_path / "result.mp4"
    dst.write_bytes(b"previous result")
    with (pytest.raises(KeyboardInterrupt),
          VideoWriter(dst, fps=FPS, width=64, height=48, audio_from=clips["cfr"].path) as w):
        for i in range(5):
            w.write(pattern(i, 64, 48), i / FPS)
        raise KeyboardInterrupt
    assert dst.read_bytes() == b"previous result"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.mp4"]

    with pytest.raises(VideoError, match="no frames"), VideoWriter(dst, fps=FPS, width=64,
                                                                   height=48):
        pass
    assert dst.read_bytes() == b"previous result"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.mp4"]

    with VideoWriter(dst, fps=FPS, width=64, height=48) as w:  # success replaces it
        w.write(pattern(0, 64, 48))
    assert probe(dst)["frames"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.mp4"]


def test_writer_rejects_bad_frames_and_destinations(tmp_path):
    with pytest.raises(VideoError, match="does not exist"):
        VideoWriter(tmp_path / "missing" / "out.mp4", fps=FPS, width=64, height=48)
    with pytest.raises(VideoError, match="unsupported extension"):
        VideoWriter(tmp_path / "out.avi", fps=FPS, width=64, height=48)
    with pytest.raises(VideoError, match="not found"):
        VideoWriter(tmp_path / "out.mp4", fps=FPS, width=64, height=48,
                    audio_from=tmp_path / "nope.mp4")
    with VideoWriter(tmp_path / "out.mp4", fps=FPS, width=64, height=48) as w:
        with pytest.raises(VideoError, match=r"\(48, 64, 3\) uint8"):
            w.write(np.zeros((48, 64, 3), np.float32))
        w.write(pattern(0, 64, 48))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4"]


def _drop_dac_capabilities() -> None:
    """In a child process started by root: lose the right to ignore file permissions
    (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH) for the program it executes."""
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2):
        if libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def test_read_only_output_folder(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    code = textwrap.dedent(f"""
        from vidstyle.errors import VideoError
        from vidstyle.video import VideoWriter
        try:
            VideoWriter({str(ro / "out.mp4")!r}, fps=25, width=64, height=48)
        except VideoError as e:
            print("VideoError:", e)
    """)
    # root ignores permission bits, so run the check as root without that privilege.
    preexec = _drop_dac_capabilities if os.geteuid() == 0 else None
    try:
        res = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True,
                             text=True, timeout=60, preexec_fn=preexec)
    except subprocess.SubprocessError as e:
        pytest.skip(f"cannot drop privileges here: {e}")
    finally:
        ro.chmod(0o755)
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("VideoError:") and "read-only" in res.stdout, res.stdout
    assert list(ro.iterdir()) == []


# ----------------------------------------------------------------------------- folders


def test_frame_folders_and_open_source(clips, tmp_path):
    src = tmp_path / "frames"
    src.mkdir()
    names = ["b_001.png", "b_002.png", "b_003.jpg"]
    for i, name in enumerate(names):
        save_image(pattern(i, 33, 21), src / name)
    (src / "notes.txt").write_text("ignored")
    r = open_source(src, fps=10)
    assert isinstance(r, FrameFolderReader)
    assert (r.width, r.height, r.frame_count, r.names) == (33, 21, 3, names)
    got = list(r.frames())
    assert [t for _, t in got] == pytest.approx([0.0, 0.1, 0.2])
    assert np.array_equal(got[0][0], pattern(0, 33, 21))  # PNG is lossless
    assert [b.shape for b, _ in r.batches(2)] == [(2, 21, 33, 3), (1, 21, 33, 3)]

    out = tmp_path / "styled"
    with FrameFolderWriter(out, names=r.names) as w:
        for rgb, t in r.frames():
            w.write(255 - rgb, t)
    assert sorted(p.name for p in out.iterdir()) == names
    assert np.array_equal(next(FrameFolderReader(out).frames())[0], 255 - got[0][0])

    single = open_source(src / "b_002.png")
    assert isinstance(single, FrameFolderReader) and single.frame_count == 1
    assert isinstance(open_source(clips["cfr"].path), VideoReader)

    save_image(pattern(0, 40, 21), src / "c_004.png")
    with pytest.raises(VideoError, match="40x21"):
        list(FrameFolderReader(src).frames())
    with pytest.raises(VideoError, match="does not exist"):
        FrameFolderWriter(tmp_path / "missing" / "out")


# ----------------------------------------------------------------------------- memory

MEMORY_PROBE = """
import sys
from vidstyle.video import VideoReader

def peak_kib():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])

frames = VideoReader(sys.argv[1]).frames()
next(frames)  # decoder and conversion buffers now exist
base, n = peak_kib(), 1
for rgb, t in frames:
    n += 1
print(n, base, peak_kib())
"""


def test_memory_stays_bounded_on_a_longer_clip(tmp_path):
    """Peak RSS while reading 600 frames of 320x240 must stay far below the 138 MB
    that all frames together take (a reader that buffered them would fail)."""
    clip = write_clip(tmp_path / "long.mp4", width=320, height=240, n_frames=600)
    res = subprocess.run([sys.executable, "-c", MEMORY_PROBE, str(clip.path)],
                         check=False, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    n, base, peak = map(int, res.stdout.split())
    all_frames_kib = 600 * 320 * 240 * 3 // 1024
    assert n == 600
    assert peak - base < all_frames_kib // 8, (peak - base, all_frames_kib)
