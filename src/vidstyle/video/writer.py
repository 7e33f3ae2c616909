"""Writing videos frame by frame with PyAV, keeping timestamps and audio.

* Codecs: H.264 for .mp4/.m4v/.mov/.mkv, VP9 for .webm, with fallbacks, and the
  handling of odd sizes: :mod:`vidstyle.video.codecs`.
* Size: the file has exactly the frames' size (except with the one 4:2:0-only
  fallback encoder, which pads, see :func:`~vidstyle.video.codecs.picture_format`).
* Colour: frames are converted RGB -> Y'CbCr with BT.709 coefficients, limited
  range, and the stream is tagged so.
* Timestamps: the time passed to :meth:`VideoWriter.write` is kept (variable
  frame rates survive); each frame lasts until the next one, the last one
  ``1 / fps``.
* Audio, subtitles and data streams of ``audio_from`` (usually the input video):
  copied or transcoded and cut to the processed span by
  :class:`~vidstyle.video.audio.StreamCopier`.
* Atomicity: everything goes to a hidden temporary file beside the destination
  (:mod:`vidstyle.atomic`), which replaces the destination only when
  :meth:`VideoWriter.close` succeeds; a replaced file keeps its mode.
"""

from __future__ import annotations

import contextlib
import math
import os
import warnings
import weakref
from collections.abc import Mapping
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import av
import numpy as np

from vidstyle.atomic import check_name, discard, make_temp_file, replace_file
from vidstyle.errors import VideoError
from vidstyle.options import check_option
from vidstyle.video.audio import StreamCopier
from vidstyle.video.codecs import (
    CONTAINERS,
    FF_QP2LAMBDA,
    VIDEO_ENCODERS,
    encoder_options,
    has_encoder,
    pick_encoder,
    picture_format,
)
from vidstyle.video.reader import av_problem

if TYPE_CHECKING:
    from typing_extensions import Self

_DEFAULT_TIME_BASE = Fraction(1, 90000)  # exact for 23.976, 24, 25, 29.97, 30, 50, 60 fps


def _check_destination(dst: Path) -> str:
    """Container format for ``dst``; raise unless its folder exists and is writable."""
    fmt = CONTAINERS.get(dst.suffix.lower())
    if fmt is None:
        raise VideoError(f"cannot write {dst}: unsupported extension {dst.suffix!r} "
                         f"(use one of {', '.join(sorted(CONTAINERS))})")
    folder = dst.parent
    if not folder.exists():
        raise VideoError(f"cannot write {dst}: folder {folder} does not exist")
    if not folder.is_dir():
        raise VideoError(f"cannot write {dst}: {folder} is not a folder")
    if dst.is_dir():
        raise VideoError(f"cannot write {dst}: it is a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise VideoError(f"cannot write {dst}: folder {folder} is read-only")
    check_name(dst)
    return fmt


class VideoWriter:
    """Encode RGB frames into a video file, optionally with the audio of another file.

    Args:
        path: destination; the container follows the extension
            (``.mp4 .m4v .mov .mkv .webm``).
        fps: nominal frame rate (average for VFR); used for frames written without
            a timestamp and for the duration of the last frame.
        width, height: size of the frames passed to :meth:`write`, and of the file
            (odd sizes included; see the module docstring for the one encoder that
            pads them: ``frame_width``/``frame_height`` then say the coded size).
        crf: constant quality on H.264's 0-51 scale (lower is better; mapped to
            0-63 for VP9/AV1).
        audio_from: file whose audio streams are added (copied, or transcoded
            when the container cannot hold them), with its subtitle and data
            streams where the container can hold them.
        audio_start, audio_duration: the span of that audio to keep, seconds on
            the source's container clock (as :class:`VideoReader` reports times).
        time_base: time unit of the video timestamps (default 1/90000; pass the
            source's ``VideoReader.time_base`` to keep its timestamps exactly).
        codec: force a video encoder by FFmpeg name (e.g. ``"mpeg4"``).
        options: extra encoder options (FFmpeg names, string values).

    Timestamps: with ``audio_from``, source time ``audio_start`` (default 0)
    becomes output time 0, which keeps picture and sound in sync; without it, the
    first written ``pts_seconds`` becomes 0. Timestamps must increase; a frame
    whose time is not after the previous one is moved one tick after it.

    Raises:
        VideoError: unsupported extension, missing or read-only folder, unreadable
            ``audio_from``, no usable encoder: all before any frame is encoded.

    Use as a context manager: leaving the block normally calls :meth:`close`
    (the file appears); leaving it with an exception, KeyboardInterrupt included,
    calls :meth:`abort` (the temporary file is deleted, an existing destination
    stays as it was).
    """

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        fps: float | Fraction,
        width: int,
        height: int,
        crf: int = 18,
        audio_from: str | os.PathLike | None = None,
        audio_start: float | None = None,
        audio_duration: float | None = None,
        time_base: Fraction | None = None,
        codec: str | None = None,
        options: Mapping[str, str] | None = None,
    ) -> None:
        self.path = Path(path)
        fmt = _check_destination(self.path)
        if not (isinstance(width, int) and isinstance(height, int) and width > 0 and height > 0):
            raise VideoError(f"width and height must be positive integers, got {width}x{height}")
        if not fps or not math.isfinite(float(fps)) or fps <= 0:
            raise VideoError(f"fps must be > 0, got {fps}")
        if audio_start is not None:
            check_option("start", audio_start)
        if audio_duration is not None:
            check_option("duration", audio_duration)
        crf = check_option("crf", crf)
        self.format = fmt
        self.fps = Fraction(fps).limit_denominator(1_000_000)
        self.width, self.height = width, height
        if codec is not None:
            if not has_encoder(codec):
                raise VideoError(f"video encoder {codec!r} is not available in this FFmpeg build")
            self.codec = codec
        else:
            self.codec = pick_encoder(VIDEO_ENCODERS.get(fmt, VIDEO_ENCODERS["*"]), "video", fmt)
        self.pix_fmt, self.frame_width, self.frame_height = picture_format(self.codec, width, height)
        tb = Fraction(time_base) if time_base is not None else _DEFAULT_TIME_BASE
        if self.codec == "mpeg4" and tb.denominator > 65535:  # MPEG-4 Part 2 limit
            tb = Fraction(1, 60000)
        self.time_base = tb
        self.frames_written = 0
        self._origin: float | None = 0.0 if audio_from is not None else None
        if audio_from is not None and audio_start is not None:
            self._origin = float(audio_start)
        self._last_ticks = -1
        self._pending: av.VideoFrame | None = None
        self._durations: dict[int, int] = {}
        self._closed = False
        self._copier: StreamCopier | None = None

        try:
            self._tmp = str(make_temp_file(self.path))
        except OSError as e:
            raise VideoError(f"cannot write {self.path}: {av_problem(e)}") from e
        self._finalizer = weakref.finalize(self, discard, self._tmp)
        try:
            self._out = av.open(self._tmp, "w", format=fmt)
            self._video = self._add_video_stream(crf, options)
            if audio_from is not None:
                self._copier = StreamCopier(Path(audio_from), self._out, fmt,
                                            float(audio_start or 0.0), audio_duration)
                if self._copier.dropped:
                    warnings.warn(f"{fmt} output cannot hold {', '.join(self._copier.dropped)} "
                                  f"of {Path(audio_from).name}: left out", RuntimeWarning,
                                  stacklevel=2)
        except BaseException as e:
            self.abort()
            if isinstance(e, (av.FFmpegError, OSError)):
                raise VideoError(f"cannot write {self.path}: {av_problem(e)}") from e
            raise

    def _add_video_stream(self, crf: int, options: Mapping[str, str] | None):
        s = self._out.add_stream(self.codec, rate=self.fps)
        s.width, s.height, s.pix_fmt = self.frame_width, self.frame_height, self.pix_fmt
        s.codec_context.time_base = self.time_base
        s.time_base = self.time_base  # the muxer may pick its own (Matroska: 1 ms)
        cc = s.codec_context
        cc.colorspace = av.video.reformatter.Colorspace.ITU709
        cc.color_range = av.video.reformatter.ColorRange.MPEG
        cc.color_primaries = 1  # AVCOL_PRI_BT709
        cc.color_trc = 1  # AVCOL_TRC_BT709
        opts = encoder_options(self.codec, crf, self.frame_width, self.frame_height,
                                float(self.fps))
        if self.codec == "mpeg4":  # fixed quantiser ~ crf / 6 (crf 18 -> q 3)
            cc.qscale = True
            cc.global_quality = max(1, min(31, round(crf / 6))) * FF_QP2LAMBDA
        opts.update(options or {})
        s.options = opts
        return s

    @property
    def audio_actions(self) -> list[str]:
        """What happened to each audio, subtitle and data stream, e.g.
        ``"audio #1 aac: copied"``, ``"subtitle #2 subrip: dropped"``."""
        return list(self._copier.actions) if self._copier is not None else []

    def write(self, rgb: np.ndarray, pts_seconds: float | None = None) -> None:
        """Append one ``(height, width, 3)`` uint8 RGB frame shown at ``pts_seconds``
        (source clock; ``None``: frame number / fps). Use timestamps for all frames
        or for none."""
        if self._closed:
            raise VideoError(f"cannot write to {self.path}: the writer is closed")
        if not (isinstance(rgb, np.ndarray) and rgb.dtype == np.uint8
                and rgb.shape == (self.height, self.width, 3)):
            got = f"{rgb.shape} {rgb.dtype}" if isinstance(rgb, np.ndarray) else type(rgb).__name__
            raise VideoError(f"{self.path}: expected a ({self.height}, {self.width}, 3) uint8 "
                             f"RGB frame, got {got}")
        ph, pw = self.frame_height - self.height, self.frame_width - self.width
        if ph or pw:
            rgb = np.pad(rgb, ((0, ph), (0, pw), (0, 0)), mode="edge")
        if pts_seconds is None:
            rel = self.frames_written / self.fps
        else:
            if self._origin is None:
                self._origin = float(pts_seconds)
            rel = float(pts_seconds) - self._origin
        ticks = max(round(rel / self.time_base), self._last_ticks + 1)
        self._last_ticks = ticks
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        frame = frame.reformat(format=self.pix_fmt, dst_colorspace="itu709",
                               dst_color_range=av.video.reformatter.ColorRange.MPEG)
        frame.pts = ticks
        frame.time_base = self.time_base
        try:
            # Hold one frame back: its duration is known once the next one arrives.
            if self._pending is not None:
                self._encode(self._pending, ticks - self._pending.pts)
            self._pending = frame
            self.frames_written += 1
        except av.FFmpegError as e:
            raise VideoError(f"cannot write {self.path}: {av_problem(e)}") from e

    def _encode(self, frame: av.VideoFrame | None, duration: int = 0) -> None:
        if frame is not None:
            self._durations[frame.pts] = duration
        for packet in self._video.encode(frame):
            # Packet durations make the muxers store the true length of each frame,
            # the last one included (otherwise MP4 guesses it).
            packet.duration = self._durations.pop(packet.pts, packet.duration)
            self._out.mux(packet)
        if self._copier is not None and frame is not None:
            self._copier.mux_until(self._out, float(frame.pts * self.time_base))

    def close(self) -> None:
        """Flush the encoder, add the remaining audio, and move the file into place.

        Raises VideoError (and leaves the destination untouched) if no frame was
        written or FFmpeg fails.
        """
        if self._closed:
            return
        try:
            if self._pending is None:
                raise VideoError(f"cannot write {self.path}: no frames were written")
            self._encode(self._pending, max(1, round(1 / (self.fps * self.time_base))))
            self._pending = None
            self._encode(None)
            if self._copier is not None:
                self._copier.mux_until(self._out, math.inf)
                self._copier.close()
            self._out.close()
            replace_file(self._tmp, self.path)
        except BaseException as e:
            self.abort()
            if isinstance(e, (av.FFmpegError, OSError)):
                raise VideoError(f"cannot write {self.path}: {av_problem(e)}") from e
            raise
        self._closed = True
        self._finalizer.detach()

    def abort(self) -> None:
        """Stop without producing a file: delete the temporary file, keep the destination."""
        if self._closed:
            return
        self._closed = True
        for closer in (getattr(self, "_out", None), self._copier):
            if closer is not None:
                with contextlib.suppress(Exception):  # already failing; the file is discarded
                    closer.close()
        discard(self._tmp)
        self._finalizer.detach()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def __repr__(self) -> str:
        return (f"VideoWriter({str(self.path)!r}, {self.codec}, {self.frame_width}x"
                f"{self.frame_height}, {float(self.fps):.3f} fps)")


__all__ = ["CONTAINERS", "VideoWriter"]
