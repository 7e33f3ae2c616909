"""The audio, subtitle and data streams of a source file, muxed into a video being
written (:class:`~vidstyle.video.writer.VideoWriter`'s ``audio_from``).

* Audio: streams are copied packet by packet when the output container accepts
  their codec, otherwise transcoded to AAC (MP4/MOV/MKV) or Opus (WebM) (the
  choice is :mod:`vidstyle.video.codecs`'); a start and duration cut them to the
  processed span, to the nearest audio frame (~20-30 ms).
* Subtitles and data streams (timecode, KLV, ...) are copied where the output
  container can hold them (Matroska takes SubRip/ASS, MP4 takes mov_text), cut to
  the span; the others are listed in :attr:`StreamCopier.dropped` (the writer warns
  once, naming them). Attachments (fonts) are not copied.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from vidstyle.video.codecs import AUDIO_ENCODERS, codec_name, container_accepts, pick_encoder
from vidstyle.video.reader import av_problem, open_input

_OPUS_RATES = (48000, 24000, 16000, 12000, 8000)


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


class StreamCopier:
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
        name = codec_name(s)
        if container_accepts(fmt, s):
            self.actions.append(f"{s.type} #{s.index} {name}: copied")
            return out.add_stream_from_template(s), None
        if s.type != "audio":
            self.actions.append(f"{s.type} #{s.index} {name}: dropped")
            self.dropped.append(f"{s.type} #{s.index} ({name})")
            return None
        enc = pick_encoder(AUDIO_ENCODERS.get(fmt, AUDIO_ENCODERS["*"]), "audio", fmt)
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
