"""Writing videos frame by frame with PyAV, keeping timestamps and audio.

* Video: H.264 yuv420p for .mp4/.m4v/.mov/.mkv (``libx264``; if this FFmpeg lacks
  it, ``libopenh264`` or MPEG-4 Part 2, with a warning), VP9 for .webm (else AV1
  or VP8).
* Size: the file has exactly the frames' size. H.264 4:2:0 cannot code an odd
  width or height, so odd-sized frames are coded in H.264 4:4:4 (High 4:4:4
  Predictive profile, exact size, read by FFmpeg-based players such as VLC and
  mpv, but not by QuickTime, Safari or most hardware decoders); VP9, AV1 and
  MPEG-4 Part 2 keep odd sizes in 4:2:0. Only ``libopenh264`` (4:2:0 only) pads:
  the last column/row is repeated once and a warning says so.
* Colour: frames are converted RGB -> Y'CbCr with BT.709 coefficients, limited
  range, and the stream is tagged so.
* Timestamps: the time passed to :meth:`VideoWriter.write` is kept (variable
  frame rates survive); each frame lasts until the next one, the last one
  ``1 / fps``.
* Audio: the audio streams of ``audio_from`` (usually the input video) are copied
  packet by packet when the output container accepts their codec, otherwise
  transcoded to AAC (MP4/MOV/MKV) or Opus (WebM); ``audio_start``/``audio_duration``
  cut them to the processed span, to the nearest audio frame (~20-30 ms).
* Subtitles and data streams (timecode, KLV, ...) of ``audio_from`` are copied
  where the output container can hold them (Matroska takes SubRip/ASS, MP4
  takes mov_text), cut to the span; the others are dropped with one warning
  that names them. Attachments (fonts) are not copied (also warned).
* Atomicity: everything goes to a hidden temporary file beside the destination
  (:mod:`vidstyle.atomic`), which replaces the destination only when
  :meth:`VideoWriter.close` succeeds; a replaced file keeps its mode.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import warnings
import weakref
from collections.abc import Iterator, Mapping
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import av
import numpy as np

from vidstyle.atomic import check_name, discard, make_temp_file, replace_file
from vidstyle.errors import VideoError
from vidstyle.options import check_option
from vidstyle.video.reader import av_problem, open_input

if TYPE_CHECKING:
    from typing_extensions import Self

CONTAINERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".webm": "webm"}

# Encoders in order of preference per container format; the first one this
# FFmpeg build has is used. The first entry is the intended one.
_VIDEO_ENCODERS = {
    "webm": ("libvpx-vp9", "libsvtav1", "libaom-av1", "libvpx"),
    "*": ("libx264", "libopenh264", "mpeg4"),
}
_AUDIO_ENCODERS = {"webm": ("libopus", "libvorbis"), "*": ("aac", "libfdk_aac")}

# FFmpeg's lambda per quantiser step, for fixed-quality MPEG-4 Part 2.
_FF_QP2LAMBDA = 118
_DEFAULT_TIME_BASE = Fraction(1, 90000)  # exact for 23.976, 24, 25, 29.97, 30, 50, 60 fps
_OPUS_RATES = (48000, 24000, 16000, 12000, 8000)
# FFmpeg can put more into MP4 (PCM, FLAC, Opus, Vorbis) than common players
# (QuickTime, browsers, phones) can play; copy only these there, transcode the rest.
_MP4_PLAYABLE_AUDIO = frozenset({"aac", "mp3", "ac3", "eac3", "alac"})
# Encoders that code 4:2:0 only, so odd sizes must be padded (H.264 has 4:4:4 in libx264).
_EVEN_ONLY = frozenset({"libopenh264"})


def _has_encoder(name: str) -> bool:
    if name not in av.codecs_available:
        return False
    try:
        av.Codec(name, "w")
    except (av.FFmpegError, ValueError):
        return False
    return True


def _pick_encoder(candidates: tuple[str, ...], kind: str, fmt: str) -> str:
    for i, name in enumerate(candidates):
        if _has_encoder(name):
            if i > 0:
                warnings.warn(f"{candidates[0]} is not available in this FFmpeg build; "
                              f"encoding {kind} for {fmt} with {name}", RuntimeWarning,
                              stacklevel=3)
            return name
    raise VideoError(f"no {kind} encoder for {fmt} in this FFmpeg build "
                     f"(tried {', '.join(candidates)})")


def _encoder_options(codec: str, crf: int, width: int, height: int, fps: float) -> dict:
    """Constant-quality settings; ``crf`` is on H.264's 0-51 scale."""
    if codec == "libx264":
        return {"crf": str(crf)}
    if codec in ("libvpx-vp9", "libaom-av1", "libsvtav1"):
        q = str(min(63, round(crf * 63 / 51)))  # their scale is 0-63
        opts = {"crf": q, "b": "0"}
        if codec == "libvpx-vp9":
            opts.update({"row-mt": "1", "deadline": "good", "cpu-used": "4"})
        elif codec == "libaom-av1":
            opts["cpu-used"] = "6"
        else:
            opts["preset"] = "8"
        return opts
    if codec == "libvpx":
        return {"crf": str(min(63, round(crf * 63 / 51))), "b": "4M"}
    # libopenh264 and anything else: a generous bit rate (0.25 bit per pixel).
    return {"b": str(int(width * height * fps * 0.25))}


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


_SUPPORTED: dict[str, frozenset] = {}


def _codec_name(stream) -> str:
    """``aac``, ``subrip``, ``klv``, ...: data streams have no codec context, only a name."""
    cc = stream.codec_context
    return cc.codec.canonical_name if cc is not None else (stream.name or "unknown")


def _container_accepts(fmt: str, stream) -> bool:
    """Whether ``fmt`` can hold ``stream``'s packets as they are: the muxer must know
    the codec and write a header with it (FFmpeg decides), and for MP4 audio the
    codec must be one that common players read."""
    if fmt not in _SUPPORTED:
        with av.open(io.BytesIO(), "w", format=fmt) as c:
            _SUPPORTED[fmt] = frozenset(c.supported_codecs)
    name = _codec_name(stream)
    if stream.type != "data" and name not in _SUPPORTED[fmt]:
        return False
    if stream.type == "audio" and fmt == "mp4" and name not in _MP4_PLAYABLE_AUDIO:
        return False
    try:
        with av.open(io.BytesIO(), "w", format=fmt) as c:
            c.add_stream_from_template(stream)
            c.start_encoding()
    except (av.FFmpegError, ValueError):
        return False
    return True


def _slice_audio(frame: av.AudioFrame, a: int, b: int) -> av.AudioFrame:
    """Samples ``[a, b)`` of an audio frame, as a new frame."""
    data = frame.to_ndarray()  # planar: (channels, samples); packed: (1, samples * channels)
    if frame.format.is_planar:
        data = data[:, a:b]
    else:
        ch = frame.layout.nb_channels
        data = data[:, a * ch : b * ch]
    out = av.AudioFrame.from_ndarray(np.ascontiguousarray(data), format=frame.format.name,
                                     layout=frame.layout.name)
    out.sample_rate = frame.sample_rate
    return out


class _StreamCopier:
    """Feeds the audio, subtitle and data streams of a source file into an output
    container, in time order, cut to ``[start, start + duration)`` and shifted so
    ``start`` is 0.

    Copied audio packets are kept when their midpoint lies inside the span (so the
    cut is exact to half an audio frame); transcoded audio is cut to the sample;
    subtitles are kept when they overlap the span, data packets when they start in it.
    Streams the output container cannot hold are listed in :attr:`dropped`.
    """

    def __init__(self, src: Path, out, fmt: str, start: float, duration: float | None) -> None:
        self.src = src
        self._in = open_input(src)
        self.actions: list[str] = []
        self.dropped: list[str] = []
        self.errors = 0
        try:
            self._origin = self._in.start_time / 1e6 if self._in.start_time is not None else 0.0
            self._t0 = start
            self._t1 = start + duration if duration is not None else math.inf
            self._routes = {}
            for s in self._in.streams:
                if s.type in ("audio", "subtitle", "data"):
                    route = self._add_output_stream(s, out, fmt)
                    if route is not None:
                        self._routes[s.index] = route
                elif s.type != "video":
                    self.dropped.append(f"{s.type} #{s.index}")
            self._indices = sorted(self._routes)
        except BaseException:
            self._in.close()
            raise
        self._gen = self._packets()
        self._next: tuple[float, list] | None = None

    def _add_output_stream(self, s, out, fmt: str):
        """``(output stream, transcoder state or None)``, or None for a dropped stream."""
        name = _codec_name(s)
        if _container_accepts(fmt, s):
            self.actions.append(f"{s.type} #{s.index} {name}: copied")
            return out.add_stream_from_template(s), None
        if s.type != "audio":
            self.actions.append(f"{s.type} #{s.index} {name}: dropped")
            self.dropped.append(f"{s.type} #{s.index} ({name})")
            return None
        enc = _pick_encoder(_AUDIO_ENCODERS.get(fmt, _AUDIO_ENCODERS["*"]), "audio", fmt)
        rate = s.codec_context.sample_rate or 48000
        channels = s.codec_context.channels or 2
        # A named layout: sources may only say "2 channels", which encoders refuse.
        layout = {1: "mono", 2: "stereo", 6: "5.1", 8: "7.1"}.get(channels, "stereo")
        if enc == "libopus":
            rate = rate if rate in _OPUS_RATES else 48000
            if channels > 2:
                layout = "stereo"  # multichannel Opus needs a mapping family; keep it simple
        o = out.add_stream(enc, rate=rate)
        o.layout = layout
        self.actions.append(f"audio #{s.index} {name}: transcoded to {enc}")
        # Where the source stream ends by its own account (an MP4 edit list trims the
        # AAC padding that the decoder still outputs).
        end = math.inf
        if s.duration is not None:
            end = float(((s.start_time or 0) + s.duration) * s.time_base) - self._origin
        return o, {"next_pts": None, "end": end}

    def _demux(self) -> Iterator:
        """The packets of the copied streams, from ``start`` on. The seek is checked on
        the first audio packet: where it lands after ``start``, or on nothing (MPEG-TS
        and others), the file is read from its beginning instead."""
        streams = [self._in.streams[i] for i in self._indices]
        audio = [s for s in streams if s.type == "audio"]
        if self._t0 > 0 and audio:
            try:  # container clock in microseconds, to the key frame before start
                self._in.seek(int((self._t0 + self._origin) * 1e6), backward=True)
            except av.FFmpegError:
                pass  # nothing moved: reading from the beginning
            else:
                packets = self._in.demux(*streams)
                head = []
                for p in packets:
                    head.append(p)
                    if p.stream.type == "audio" and p.pts is not None:
                        t = float(p.pts * p.time_base) - self._origin
                        if t <= self._t0 + 1e-3:
                            yield from head
                            yield from packets
                            return
                        break
                packets.close()
                self._in.close()
                self._in = open_input(self.src)
                streams = [self._in.streams[i] for i in self._indices]
        yield from self._in.demux(*streams)

    def _packets(self) -> Iterator[tuple[float, list]]:
        """Yield ``(t, packets)``: output packets and their time on the output clock."""
        if not self._routes:
            return
        try:
            for packet in self._demux():
                out_stream, enc = self._routes[packet.stream.index]
                if packet.pts is None:  # end-of-stream marker: flush a transcoder's decoder
                    if enc is not None:
                        for frame in packet.decode():
                            yield from self._encode(frame, out_stream, enc)
                    continue
                t = float(packet.pts * packet.time_base) - self._origin
                if t > self._t1 + 5.0:  # well past the span in every interleaved stream
                    break
                if enc is None:
                    if self._keep(packet, t):
                        yield t - self._t0, [self._shift(packet, out_stream)]
                    continue
                try:
                    frames = packet.decode()
                except av.FFmpegError:  # a damaged packet: skip it, as the reader does
                    self.errors += 1
                    continue
                for frame in frames:
                    yield from self._encode(frame, out_stream, enc)
        except av.FFmpegError as e:  # the demuxer cannot go on
            self.errors += 1
            warnings.warn(f"the audio of {self.src} is damaged ({av_problem(e)}); "
                          "it stops there", RuntimeWarning, stacklevel=2)
        for out_stream, enc in self._routes.values():
            if enc is not None:
                yield math.inf, out_stream.encode(None)

    def _keep(self, packet, t: float) -> bool:
        """Whether a copied packet at ``t`` belongs to the span (see the class docstring)."""
        dur = float(packet.duration * packet.time_base) if packet.duration else 0.0
        kind = packet.stream.type
        if kind == "audio":
            return self._t0 <= t + dur / 2 < self._t1
        if kind == "subtitle" and dur > 0:
            return t < self._t1 and t + dur > self._t0
        return self._t0 <= t < self._t1

    def _shift(self, packet, out_stream):
        shift = round((self._t0 + self._origin) / packet.time_base)
        pts = max(0, packet.pts - shift)  # a packet straddling start begins at 0
        if packet.stream.type == "subtitle" and packet.duration:
            packet.duration = max(1, packet.duration - (pts - (packet.pts - shift)))
        if packet.dts is not None:
            packet.dts = min(pts, max(0, packet.dts - shift))
        packet.pts = pts
        packet.stream = out_stream
        return packet

    def _encode(self, frame, out_stream, enc) -> Iterator[tuple[float, list]]:
        if frame.pts is None:
            return
        sr = frame.sample_rate
        t = float(frame.pts * frame.time_base) - self._origin
        # Transcoding decodes anyway, so cut to the sample: keep [a, b) of this frame.
        a = max(0, round((self._t0 - t) * sr))
        end = min(self._t1, enc["end"])
        b = frame.samples if end == math.inf else min(frame.samples, round((end - t) * sr))
        if b <= a:
            return
        if (a, b) != (0, frame.samples):
            frame = _slice_audio(frame, a, b)
        # Contiguous output samples, starting where the first kept sample starts.
        if enc["next_pts"] is None:
            enc["next_pts"] = max(0, round((t - self._t0) * sr) + a)
        frame.pts = enc["next_pts"]
        frame.time_base = Fraction(1, sr)
        enc["next_pts"] += frame.samples
        yield t - self._t0, out_stream.encode(frame)

    def mux_until(self, out, t: float) -> None:
        """Mux every pending audio packet up to output time ``t`` (seconds)."""
        while True:
            if self._next is None:
                self._next = next(self._gen, None)
                if self._next is None:
                    return
            tt, packets = self._next
            if tt > t:
                return
            if packets:
                out.mux(packets)
            self._next = None

    def close(self) -> None:
        self._gen.close()
        self._in.close()


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
            if not _has_encoder(codec):
                raise VideoError(f"video encoder {codec!r} is not available in this FFmpeg build")
            self.codec = codec
        else:
            self.codec = _pick_encoder(_VIDEO_ENCODERS.get(fmt, _VIDEO_ENCODERS["*"]), "video", fmt)
        odd = width % 2 or height % 2
        # H.264 codes odd sizes in 4:4:4 only; the other encoders take them in 4:2:0.
        self.pix_fmt = "yuv444p" if odd and self.codec == "libx264" else "yuv420p"
        if odd and self.codec in _EVEN_ONLY:
            self.frame_width, self.frame_height = width + width % 2, height + height % 2
            warnings.warn(f"{self.codec} codes even sizes only: {width}x{height} frames are "
                          f"written as {self.frame_width}x{self.frame_height}", RuntimeWarning,
                          stacklevel=2)
        else:
            self.frame_width, self.frame_height = width, height
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
        self._copier: _StreamCopier | None = None

        try:
            self._tmp = str(make_temp_file(self.path))
        except OSError as e:
            raise VideoError(f"cannot write {self.path}: {av_problem(e)}") from e
        self._finalizer = weakref.finalize(self, discard, self._tmp)
        try:
            self._out = av.open(self._tmp, "w", format=fmt)
            self._video = self._add_video_stream(crf, options)
            if audio_from is not None:
                self._copier = _StreamCopier(Path(audio_from), self._out, fmt,
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
        opts = _encoder_options(self.codec, crf, self.frame_width, self.frame_height,
                                float(self.fps))
        if self.codec == "mpeg4":  # fixed quantiser ~ crf / 6 (crf 18 -> q 3)
            cc.qscale = True
            cc.global_quality = max(1, min(31, round(crf / 6))) * _FF_QP2LAMBDA
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
