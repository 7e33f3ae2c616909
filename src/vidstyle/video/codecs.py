"""Codec choice: which encoder writes a container's video and audio, with which
settings, and which source streams a container can hold as they are.

* Video: H.264 yuv420p for .mp4/.m4v/.mov/.mkv (``libx264``; if this FFmpeg lacks
  it, ``libopenh264`` or MPEG-4 Part 2, with a warning), VP9 for .webm (else AV1
  or VP8).
* Odd sizes: H.264 4:2:0 cannot code an odd width or height, so odd-sized frames
  are coded in H.264 4:4:4 (High 4:4:4 Predictive profile, exact size, read by
  FFmpeg-based players such as VLC and mpv, but not by QuickTime, Safari or most
  hardware decoders); VP9, AV1 and MPEG-4 Part 2 keep odd sizes in 4:2:0. Only
  ``libopenh264`` (4:2:0 only) pads: the last column/row is repeated once and a
  warning says so (:func:`picture_format`).
* Audio: a stream is copied when the container accepts its codec
  (:func:`container_accepts`), otherwise transcoded to AAC (MP4/MOV/MKV) or Opus
  (WebM) (:data:`AUDIO_ENCODERS`).
"""

from __future__ import annotations

import io
import warnings

import av

from vidstyle.errors import VideoError

CONTAINERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".webm": "webm"}

# Encoders in order of preference per container format; the first one this
# FFmpeg build has is used. The first entry is the intended one.
VIDEO_ENCODERS = {
    "webm": ("libvpx-vp9", "libsvtav1", "libaom-av1", "libvpx"),
    "*": ("libx264", "libopenh264", "mpeg4"),
}
AUDIO_ENCODERS = {"webm": ("libopus", "libvorbis"), "*": ("aac", "libfdk_aac")}

# FFmpeg's lambda per quantiser step, for fixed-quality MPEG-4 Part 2.
FF_QP2LAMBDA = 118
# FFmpeg can put more into MP4 (PCM, FLAC, Opus, Vorbis) than common players
# (QuickTime, browsers, phones) can play; copy only these there, transcode the rest.
_MP4_PLAYABLE_AUDIO = frozenset({"aac", "mp3", "ac3", "eac3", "alac"})
# Encoders that code 4:2:0 only, so odd sizes must be padded (H.264 has 4:4:4 in libx264).
_EVEN_ONLY = frozenset({"libopenh264"})


def has_encoder(name: str) -> bool:
    if name not in av.codecs_available:
        return False
    try:
        av.Codec(name, "w")
    except (av.FFmpegError, ValueError):
        return False
    return True


def pick_encoder(candidates: tuple[str, ...], kind: str, fmt: str) -> str:
    for i, name in enumerate(candidates):
        if has_encoder(name):
            if i > 0:
                warnings.warn(f"{candidates[0]} is not available in this FFmpeg build; "
                              f"encoding {kind} for {fmt} with {name}", RuntimeWarning,
                              stacklevel=3)
            return name
    raise VideoError(f"no {kind} encoder for {fmt} in this FFmpeg build "
                     f"(tried {', '.join(candidates)})")


def encoder_options(codec: str, crf: int, width: int, height: int, fps: float) -> dict:
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


def picture_format(codec: str, width: int, height: int) -> tuple[str, int, int]:
    """``(pix_fmt, coded width, coded height)`` for ``width`` x ``height`` frames.

    H.264 codes odd sizes in 4:4:4 only; the other encoders take them in 4:2:0,
    except the 4:2:0-only ones, which get the frame padded by one row/column (with a
    warning naming the coded size).
    """
    odd = width % 2 or height % 2
    pix_fmt = "yuv444p" if odd and codec == "libx264" else "yuv420p"
    if odd and codec in _EVEN_ONLY:
        coded_w, coded_h = width + width % 2, height + height % 2
        warnings.warn(f"{codec} codes even sizes only: {width}x{height} frames are "
                      f"written as {coded_w}x{coded_h}", RuntimeWarning, stacklevel=3)
        return pix_fmt, coded_w, coded_h
    return pix_fmt, width, height


_SUPPORTED: dict[str, frozenset] = {}


def codec_name(stream) -> str:
    """``aac``, ``subrip``, ``klv``, ...: data streams have no codec context, only a name."""
    cc = stream.codec_context
    return cc.codec.canonical_name if cc is not None else (stream.name or "unknown")


def container_accepts(fmt: str, stream) -> bool:
    """Whether ``fmt`` can hold ``stream``'s packets as they are: the muxer must know
    the codec and write a header with it (FFmpeg decides), and for MP4 audio the
    codec must be one that common players read."""
    if fmt not in _SUPPORTED:
        with av.open(io.BytesIO(), "w", format=fmt) as c:
            _SUPPORTED[fmt] = frozenset(c.supported_codecs)
    name = codec_name(stream)
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
