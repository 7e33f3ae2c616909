"""Reading videos frame by frame with PyAV.

Timestamps: every time this module returns is in seconds from the start of the
*container* (the earliest stream), so that video times and audio times share one
clock; :class:`~vidstyle.video.writer.VideoWriter` measures its ``audio_start``
on the same clock.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from vidstyle.errors import VideoError
from vidstyle.options import check_option

# Half a microsecond: slack for float round-off when comparing a frame time with
# the start/end of the requested span.
_EPS = 5e-7


def av_problem(e: BaseException) -> str:
    """One readable line for a PyAV/FFmpeg or OS error (no errno, no path)."""
    msg = getattr(e, "strerror", None) or str(e) or type(e).__name__
    return str(msg).strip().splitlines()[0]


def open_input(path: Path):
    """``av.open`` for reading, every failure turned into :class:`VideoError`."""
    if not path.exists():
        raise VideoError(f"video not found: {path}")
    if path.is_dir():
        raise VideoError(f"expected a video file, got a folder: {path}")
    if path.stat().st_size == 0:
        raise VideoError(f"cannot read video {path}: the file is empty")
    try:
        return av.open(str(path), "r")
    except av.error.EOFError as e:
        raise VideoError(f"cannot read video {path}: no data (empty or truncated file)") from e
    except (av.FFmpegError, OSError, ValueError) as e:
        raise VideoError(f"cannot read video {path}: {av_problem(e)} "
                         "(not a video file, or a damaged one)") from e


def _rotation(frame: av.VideoFrame, stream) -> int:
    """Display rotation, counter-clockwise degrees in {0, 90, 180, 270}.

    Taken from the display-matrix side data FFmpeg attaches to decoded frames
    (what phones write); older files may only carry a ``rotate`` tag, which counts
    *clockwise* degrees. Flips in the display matrix are ignored.
    """
    deg = frame.rotation or 0
    if not deg and "rotate" in stream.metadata:
        try:
            deg = -int(float(stream.metadata["rotate"]))
        except ValueError:
            deg = 0
    return round(deg / 90.0) * 90 % 360


class FrameSource:
    """What every frame source offers (video file, folder of frames, single image).

    Subclasses set ``path``, ``width``, ``height`` (as returned, i.e. upright),
    ``fps`` (``Fraction``), ``frame_count`` (``int | None``, an estimate for
    videos), ``duration`` (seconds or ``None``), ``rotation`` and ``has_audio``,
    and implement :meth:`frames`.
    """

    path: Path
    width: int
    height: int
    fps: Fraction
    frame_count: int | None
    duration: float | None
    rotation: int = 0
    has_audio: bool = False

    def frames(self) -> Iterator[tuple[np.ndarray, float]]:
        """Yield ``(rgb, t)``: a ``(H, W, 3)`` uint8 RGB frame and its time in seconds."""
        raise NotImplementedError

    def __iter__(self) -> Iterator[tuple[np.ndarray, float]]:
        return self.frames()

    def batches(self, n: int) -> Iterator[tuple[np.ndarray, list[float]]]:
        """Yield ``(frames, times)``: ``(k, H, W, 3)`` uint8 and ``k`` times, ``k = n``
        except for the last batch, which holds the remaining ``1 <= k <= n`` frames.

        Each batch is a new array (it may be kept); at most one batch is held, and it
        holds only the frames actually read, so a batch size far beyond the clip's
        length costs nothing.
        """
        n = check_option("batch_size", n)
        frames: list[np.ndarray] = []
        times: list[float] = []
        for rgb, t in self.frames():
            frames.append(rgb)
            times.append(t)
            if len(times) == n:
                yield np.stack(frames), times
                frames, times = [], []
        if times:
            yield np.stack(frames), times

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Release resources (nothing is held between iterations; kept for symmetry)."""


class VideoReader(FrameSource):
    """Stream frames out of a video file, upright and as RGB.

    Args:
        path: the video file.
        start: skip frames before this time (seconds, container clock). The reader
            seeks to the key frame before ``start`` and decodes forward from there.
        duration: stop before ``start + duration`` seconds.

    Raises:
        VideoError: missing file, not a video, no video stream (e.g. audio only),
            or a video stream without a single decodable frame.

    Properties describe the *selected span*: ``duration`` is the length of
    ``[start, start + duration)`` clipped to the file, ``frame_count`` the number of
    frames in it (exact from the container when the whole file is read and the
    container knows it, otherwise ``round(duration * fps)``, or ``None``).
    ``width``/``height`` are those of the returned, rotated frames.

    Damaged input: frames are decoded as far as possible; packets the decoder
    rejects, frames it marks corrupt and a demuxer that gives up early are counted
    in :attr:`decode_errors` (for the latest :meth:`frames` pass) rather than
    raised, because a stylized video of 99 % of a damaged clip is more useful than
    none. Check ``decode_errors`` after iterating if that matters. A file cut off
    at the end usually decodes without any error; :attr:`ended_early` then tells
    that the frames stopped well before (> max(0.5 s, 3 frames)) the duration the
    container declares: a truncated file, or a container whose audio outlasts its
    video.

    Nothing is held open between iterations: each :meth:`frames` call opens the
    file, and closes it when the iteration ends or the generator is closed.
    """

    def __init__(
        self, path: str | os.PathLike, *, start: float | None = None, duration: float | None = None
    ) -> None:
        self.path = Path(path)
        if start is not None:
            start = check_option("start", start)
        if duration is not None:
            duration = check_option("duration", duration)
        self.start = float(start or 0.0)
        self.decode_errors = 0
        self.ended_early = False
        with open_input(self.path) as c:
            if not c.streams.video:
                kind = "audio only" if c.streams.audio else "no video stream"
                raise VideoError(f"cannot read video {self.path}: {kind}")
            v = c.streams.video[0]
            self._origin = c.start_time / 1e6 if c.start_time is not None else 0.0
            self.time_base: Fraction = v.time_base
            rate = v.average_rate or v.guessed_rate or v.base_rate
            self.fps: Fraction = Fraction(rate) if rate else Fraction(25)
            self.has_audio = bool(c.streams.audio)
            # Audio, subtitles, data, attachments: what VideoWriter(audio_from=...) takes over.
            self.has_extra_streams = any(s.type != "video" for s in c.streams)
            self.codec = v.codec_context.name
            first = next(self._decode(c, v), None)
            if first is None:
                raise VideoError(f"cannot read video {self.path}: the video stream has no "
                                 "decodable frames")
            self.rotation = _rotation(first, v)
            self._k = self.rotation // 90  # np.rot90 turns counter-clockwise
            w, h = first.width, first.height
            self.width, self.height = (h, w) if self._k % 2 else (w, h)
            if v.duration is not None:  # end of the video stream on the container clock
                total = float(((v.start_time or 0) + v.duration) * v.time_base) - self._origin
            elif c.duration is not None:
                total = c.duration / 1e6
            else:
                total = None
            self.file_duration: float | None = total
            whole_file = start is None and duration is None
            self.frame_count: int | None = v.frames if (v.frames and whole_file) else None
        if total is not None and self.start >= total:
            raise VideoError(f"cannot read video {self.path}: start {self.start:g} s is past "
                             f"its end ({total:g} s)")
        end = self.start + duration if duration is not None else None
        if total is not None:
            end = total if end is None else min(end, total)
        self.end: float | None = end  # end of the span (exclusive), container clock
        self.duration: float | None = None if end is None else max(0.0, end - self.start)
        if self.frame_count is None and self.duration is not None:
            self.frame_count = round(self.duration * self.fps)
        self.decode_errors = 0

    def __repr__(self) -> str:
        return (f"VideoReader({str(self.path)!r}, {self.width}x{self.height}, "
                f"{float(self.fps):.3f} fps, duration={self.duration}, rotation={self.rotation})")

    def _decode(self, c, v) -> Iterator[av.VideoFrame]:
        """Decode ``v``, counting instead of raising decoder/demuxer errors."""
        packets = c.demux(v)
        while True:
            try:
                packet = next(packets)
            except StopIteration:
                return
            except av.FFmpegError:  # the demuxer cannot go on: flush what is buffered
                self.decode_errors += 1
                try:
                    yield from v.codec_context.decode(None)
                except av.FFmpegError:
                    pass
                return
            try:
                frames = packet.decode()
            except av.FFmpegError:
                self.decode_errors += 1
                continue
            for frame in frames:
                if frame.is_corrupt:
                    self.decode_errors += 1
                yield frame

    def _to_rgb(self, frame: av.VideoFrame) -> np.ndarray:
        kw = {}
        if frame.color_range:  # 0 = unspecified; pass full/limited range on when known
            kw["src_color_range"] = frame.color_range
        rgb = frame.to_ndarray(format="rgb24", **kw)
        if self._k:
            rgb = np.rot90(rgb, self._k)
        return np.ascontiguousarray(rgb)

    def frames(self) -> Iterator[tuple[np.ndarray, float]]:
        """Yield ``(rgb, t)`` for each frame of the span, one at a time.

        ``rgb`` is a new ``(height, width, 3)`` uint8 array, ``t`` the presentation
        time in seconds (container clock; frames without a timestamp get the previous
        one plus ``1 / fps``).

        A ``start`` seeks to the key frame before it; where the container's seek
        misses (lands after ``start``, or on nothing: MPEG-TS, some AVI and FLV
        files), the file is decoded from its beginning instead.
        """
        seek = self.start > 0
        while True:
            self.decode_errors = 0
            self.ended_early = False
            missed = yield from self._frames_of_span(seek)
            if not missed:
                return
            seek = False

    def _frames_of_span(self, seek: bool):
        """One pass of :meth:`frames`; returns True, having yielded nothing, when a
        seek missed and the caller must decode from the beginning."""
        with open_input(self.path) as c:
            v = c.streams.video[0]
            v.thread_type = "AUTO"
            if seek:
                try:
                    target = int((self.start + self._origin) / v.time_base)
                    c.seek(target, stream=v, backward=True, any_frame=False)
                except (av.FFmpegError, OverflowError):
                    return True
            t_prev = None
            for frame in self._decode(c, v):
                if frame.pts is not None:
                    t = float(frame.pts * frame.time_base) - self._origin
                else:
                    t = 0.0 if t_prev is None else t_prev + 1.0 / float(self.fps)
                if seek and t_prev is None and t > self.start + _EPS:
                    return True  # landed after start: frames before it were skipped
                t_prev = t
                if t < self.start - _EPS:
                    continue
                if self.end is not None and t >= self.end - _EPS:
                    return False
                yield self._to_rgb(frame), t
            if seek and t_prev is None:
                return True  # the seek landed on nothing
            if self.end is not None and t_prev is not None:
                slack = max(0.5, 3 / float(self.fps))
                self.ended_early = t_prev + slack < self.end
            return False


def probe(path: str | os.PathLike) -> dict:
    """Facts about a video, measured by reading its packets (no decoding but one frame).

    Returns a dict with ``frames`` (video packets, = frames for all common codecs),
    ``fps`` (average, float), ``duration`` (video: first pts to end of last frame,
    seconds), ``width``/``height`` (upright, after rotation), ``rotation``,
    ``video_codec``, ``has_audio``, ``audio_codec`` (first audio stream or None),
    ``audio_duration`` (seconds, first audio stream, 0.0 without audio; the stream's
    declared duration when the container has one, else its packet span) and
    ``audio_streams`` (count).
    """
    reader = VideoReader(path)
    info = {"width": reader.width, "height": reader.height, "rotation": reader.rotation,
            "fps": float(reader.fps), "video_codec": reader.codec, "has_audio": reader.has_audio}
    with open_input(reader.path) as c:
        v = c.streams.video[0]
        a = c.streams.audio[0] if c.streams.audio else None
        streams = [v] if a is None else [v, a]
        spans = {s.index: _Span() for s in streams}
        try:
            for p in c.demux(*streams):
                if p.pts is not None:
                    spans[p.stream.index].add(p.pts * p.time_base, p.duration * p.time_base)
        except av.FFmpegError:
            pass
        info["frames"] = spans[v.index].count
        info["duration"] = spans[v.index].length()
        info["audio_codec"] = a.codec_context.name if a is not None else None
        if a is None:
            info["audio_duration"] = 0.0
        elif a.duration:  # the container's own figure honours MP4 edit lists (AAC priming)
            info["audio_duration"] = float(a.duration * a.time_base)
        else:
            info["audio_duration"] = spans[a.index].length()
        info["audio_streams"] = len(c.streams.audio)
    return info


class _Span:
    """Running extent of a stream's packets: first pts to end of the last one."""

    def __init__(self) -> None:
        self.count = 0
        self.first = math.inf
        self.last = -math.inf  # largest pts
        self.end = -math.inf  # largest pts + duration

    def add(self, pts: Fraction, dur: Fraction) -> None:
        self.count += 1
        self.first = min(self.first, float(pts))
        self.last = max(self.last, float(pts))
        self.end = max(self.end, float(pts + dur))

    def length(self) -> float:
        if self.count == 0:
            return 0.0
        if self.end > self.last:
            return self.end - self.first
        # No packet durations (some Matroska files): extrapolate the mean interval.
        span = self.last - self.first
        return span * self.count / (self.count - 1) if self.count > 1 else 0.0
