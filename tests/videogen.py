"""Tiny synthetic clips for tests and benchmarks, written directly with PyAV.

Deliberately independent of ``vidstyle.video`` so that reader/writer tests do not
check the package against itself. Every clip shows a deterministic, codec-friendly
pattern (smooth colour gradients plus a bright square that moves one step per
frame), optionally with a sine tone. Typical use::

    clip = write_clip(tmp_path / "a.mp4", width=64, height=48, fps=25, n_frames=25, audio=True)
    clip.times        # presentation time of every frame, seconds
    clip.audio_seconds

Available: constant frame rate (CFR), variable frame rate (``vfr=True``, irregular
timestamps), odd sizes, rotation (display-matrix side data, as phones write it),
no-audio clips, audio-only files and a video stream without frames.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

# Stream time base used for every generated video stream: milliseconds, so that
# VFR timestamps are exact integers.
MS = Fraction(1, 1000)

_AUDIO_DEFAULT = {".mp4": "aac", ".m4a": "aac", ".mov": "aac", ".mkv": "aac", ".webm": "libopus",
                  ".mp3": "libmp3lame", ".wav": "pcm_s16le", ".ogg": "libopus"}
_VIDEO_DEFAULT = {".webm": "libvpx-vp9"}
# Sample formats each audio encoder accepts (first choice first).
_SAMPLE_FMT = {"aac": "fltp", "libopus": "s16", "libmp3lame": "s16p", "pcm_s16le": "s16",
               "flac": "s16", "libvorbis": "fltp"}


@dataclass
class Clip:
    """What :func:`write_clip` wrote."""

    path: Path
    width: int
    height: int
    fps: float
    times: list[float] = field(default_factory=list)  # pts of each frame, seconds
    audio_seconds: float = 0.0  # length of the tone written (0 = no audio)
    rotation: int = 0  # display-matrix rotation written (counter-clockwise degrees)

    @property
    def n_frames(self) -> int:
        return len(self.times)

    @property
    def duration(self) -> float:
        """Video duration: last pts plus one nominal frame."""
        return self.times[-1] + 1.0 / self.fps if self.times else 0.0


def pattern(i: int, width: int, height: int) -> np.ndarray:
    """Frame ``i`` of the test pattern, ``(height, width, 3)`` uint8 RGB.

    Red grows left to right, green top to bottom, blue is a square of side
    ``max(4, min(w, h) // 4)`` that moves 2 px right and 1 px down per frame
    (wrapping). The top-left 1/4 x 1/4 corner is darkened, so that rotations and
    flips are visible.
    """
    x = np.linspace(0, 255, width, dtype=np.float32)[None, :]
    y = np.linspace(0, 255, height, dtype=np.float32)[:, None]
    img = np.zeros((height, width, 3), np.float32)
    img[..., 0] = x
    img[..., 1] = y
    img[..., 2] = 40
    img[: max(1, height // 4), : max(1, width // 4)] *= 0.2
    s = max(4, min(width, height) // 4)
    cx, cy = (2 * i) % max(1, width - s), i % max(1, height - s)
    img[cy : cy + s, cx : cx + s, 2] = 255
    return img.round().astype(np.uint8)


def vfr_times(n: int, seed: int = 0) -> list[float]:
    """``n`` irregular, strictly increasing timestamps (ms steps of 20, 40 or 80)."""
    rng = np.random.default_rng(seed)
    steps = rng.choice([20, 40, 80], size=max(0, n - 1))
    return [0.0] + [float(t) / 1000 for t in np.cumsum(steps)]


def _add_audio(container, codec: str, sample_rate: int, channels: int):
    if "opus" in codec:
        sample_rate = 48000  # Opus encodes 48/24/16/12/8 kHz only
    stream = container.add_stream(codec, rate=sample_rate)
    stream.layout = "mono" if channels == 1 else "stereo"
    stream.format = _SAMPLE_FMT.get(codec, "fltp")
    return stream


def _tone_frames(n_samples: int, sample_rate: int, channels: int, fmt: str, hz: float):
    """Yield AudioFrames of a sine tone (amplitude 0.3), 1024 samples each."""
    for start in range(0, n_samples, 1024):
        n = min(1024, n_samples - start)
        t = (np.arange(start, start + n) / sample_rate).astype(np.float64)
        mono = 0.3 * np.sin(2 * math.pi * hz * t)
        data = np.repeat(mono[None, :], channels, axis=0)  # (C, n) planar
        af = av.AudioFormat(fmt)
        if af.name.startswith("s16"):
            data = (data * 32767).round().astype(np.int16)
        else:
            data = data.astype(np.float32)
        if not af.is_planar:
            data = data.T.reshape(1, -1)  # interleaved
        frame = av.AudioFrame.from_ndarray(
            data, format=fmt, layout="mono" if channels == 1 else "stereo"
        )
        frame.sample_rate = sample_rate
        frame.pts = start
        frame.time_base = Fraction(1, sample_rate)
        yield frame


def write_clip(
    path: str | Path,
    *,
    width: int = 64,
    height: int = 48,
    fps: float = 25.0,
    n_frames: int = 25,
    vfr: bool = False,
    rotation: int = 0,
    audio: bool = False,
    audio_codec: str | None = None,
    sample_rate: int = 44100,
    channels: int = 1,
    tone_hz: float = 440.0,
    video_codec: str | None = None,
    crf: int = 20,
    seed: int = 0,
) -> Clip:
    """Write a test clip; the container follows the extension (.mp4, .mkv, .mov, .webm).

    ``vfr=True`` uses :func:`vfr_times` instead of ``i / fps``; ``rotation`` (a
    multiple of 90, counter-clockwise as PyAV's ``VideoFrame.rotation``) stores a
    display matrix, the frames themselves stay ``width x height``. With ``audio``
    a tone covering the video duration is added.
    """
    path = Path(path)
    ext = path.suffix.lower()
    times = vfr_times(n_frames, seed) if vfr else [i / fps for i in range(n_frames)]
    clip = Clip(path, width, height, fps, times, rotation=rotation)
    vcodec = video_codec or _VIDEO_DEFAULT.get(ext, "libx264")
    with av.open(str(path), "w") as out:
        vs = out.add_stream(vcodec, rate=Fraction(fps).limit_denominator(1001))
        # 4:2:0 needs even sizes; odd test sizes are stored 4:4:4 (x264 High 4:4:4).
        even = width % 2 == 0 and height % 2 == 0
        vs.width, vs.height, vs.pix_fmt = width, height, "yuv420p" if even else "yuv444p"
        vs.codec_context.time_base = MS
        vs.time_base = MS
        if vcodec == "libx264":
            vs.options = {"crf": str(crf), "preset": "ultrafast"}
        elif vcodec.startswith("libvpx"):
            vs.options = {"crf": "30", "b": "0", "deadline": "realtime", "cpu-used": "8"}
        if rotation:
            vs.set_display_rotation(rotation)
        aframes, astream = iter(()), None
        if audio:
            acodec = audio_codec or _AUDIO_DEFAULT.get(ext, "aac")
            astream = _add_audio(out, acodec, sample_rate, channels)
            sample_rate = astream.codec_context.sample_rate
            clip.audio_seconds = clip.duration
            n_samples = round(clip.audio_seconds * sample_rate)
            aframes = _tone_frames(n_samples, sample_rate, channels, astream.format.name, tone_hz)
        pending = next(aframes, None)
        for i, t in enumerate(times):
            frame = av.VideoFrame.from_ndarray(pattern(i, width, height), format="rgb24")
            frame.pts = round(t * 1000)
            frame.time_base = MS
            out.mux(vs.encode(frame))
            # Interleave: audio up to the current video time.
            while pending is not None and pending.pts / sample_rate <= t:
                out.mux(astream.encode(pending))
                pending = next(aframes, None)
        out.mux(vs.encode(None))
        while pending is not None:
            out.mux(astream.encode(pending))
            pending = next(aframes, None)
        if astream is not None:
            out.mux(astream.encode(None))
    return clip


def write_audio_only(
    path: str | Path, *, seconds: float = 1.0, sample_rate: int = 44100, codec: str | None = None
) -> Path:
    """A file with one sine-tone audio stream and no video (.m4a, .mp4, .mkv, .wav ...)."""
    path = Path(path)
    codec = codec or _AUDIO_DEFAULT.get(path.suffix.lower(), "aac")
    with av.open(str(path), "w") as out:
        stream = _add_audio(out, codec, sample_rate, 1)
        sample_rate = stream.codec_context.sample_rate
        for frame in _tone_frames(round(seconds * sample_rate), sample_rate, 1,
                                  stream.format.name, 440.0):
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def write_zero_frame_video(path: str | Path, *, width: int = 64, height: int = 48) -> Path:
    """A Matroska file whose video stream exists but holds no frames (plus 0.5 s of audio,
    so that the file is otherwise valid)."""
    path = Path(path)
    with av.open(str(path), "w", format="matroska") as out:
        vs = out.add_stream("libx264", rate=25)
        vs.width, vs.height, vs.pix_fmt = width, height, "yuv420p"
        astream = _add_audio(out, "aac", 44100, 1)
        out.start_encoding()
        for frame in _tone_frames(22050, 44100, 1, "fltp", 440.0):
            out.mux(astream.encode(frame))
        out.mux(astream.encode(None))
        out.mux(vs.encode(None))
    return path
