"""Stylize with onnxruntime: an exported ReCoNet graph behind the stylizer interface.

The graph (see :mod:`vidstyle.export`) pads to a multiple of 4 itself; frames
smaller than its ``min_size`` on either side are padded here first, with the exact
rule of :meth:`ReCoNet.pad_input <vidstyle.models.reconet.ReCoNet.pad_input>`, and the
output cropped back.

Checkpoints are exported on the fly and cached as ``.onnx`` files keyed by the
checkpoint's SHA-256, in ``$VIDSTYLE_CACHE/onnx`` or ``~/.cache/vidstyle/onnx``
(``$XDG_CACHE_HOME`` respected). Where that folder cannot be created or written
(a read-only home, a bad ``$VIDSTYLE_CACHE``), the export is made in memory for
this run instead, with one warning.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import torch

from vidstyle import __version__
from vidstyle._checks import check_image
from vidstyle.cache import cache_dir
from vidstyle.device import check_device
from vidstyle.errors import VidstyleError, first_line
from vidstyle.export import (
    FORMAT,
    FORMAT_VERSION,
    INSTALL_HINT,
    decode_metadata,
    export_onnx,
    onnx_model_bytes,
)
from vidstyle.files import file_digest
from vidstyle.models.reconet import ReCoNet
from vidstyle.options import check_option
from vidstyle.reference import StyleRef, resolve_style

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"


def _import_ort():
    try:
        import onnxruntime
    except ImportError as e:
        raise VidstyleError(f"the onnx backend needs onnxruntime: {INSTALL_HINT}") from e
    return onnxruntime


def physical_cores() -> int:
    """Physical CPU cores this process may use (hyper-threads not counted).

    Counts distinct ``(physical id, core id)`` pairs in ``/proc/cpuinfo``, bounded by
    the CPU affinity; falls back to ``os.cpu_count()`` where that file is missing.
    """
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    cores: set[tuple[str, str]] = set()
    try:
        phys = core = ""
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            key = key.strip()
            if key == "physical id":
                phys = value.strip()
            elif key == "core id":
                core = value.strip()
                cores.add((phys, core))
    except OSError:
        pass
    return max(1, min(len(cores) or usable, usable))


def default_cache_dir() -> Path:
    """Where checkpoint exports are cached (:func:`vidstyle.cache.cache_dir`)."""
    return cache_dir("onnx")


def providers_for(device: str) -> list[str]:
    """onnxruntime execution providers for a vidstyle ``device`` (``auto``, ``cpu``, ``cuda``)."""
    device = check_device(device)
    available = _import_ort().get_available_providers()
    if device == "cpu":
        return [CPU]
    if device == "auto":
        return [CUDA, CPU] if CUDA in available else [CPU]
    if CUDA not in available:  # cuda, cuda:N
        raise VidstyleError("device cuda was asked for but onnxruntime has no CUDA provider "
                            "(install onnxruntime-gpu)", option="device")
    return [CUDA, CPU]


def cached_export(
    model: StyleRef | str | os.PathLike,
    *,
    method: str = "reconet",
    opset: int = 17,
    half: bool = False,
    cache_dir: str | os.PathLike | None = None,
    sha256: str | None = None,
) -> Path:
    """The cached ``.onnx`` export of a checkpoint (a :class:`StyleRef`, or a path or
    bundled style name resolved with ``method``), exported once.

    The cache key holds the checkpoint's SHA-256 (``sha256`` when the caller has
    read it already), which is also the export's ``checkpoint_sha256``: the file is
    hashed once."""
    ref = resolve_style(model, method)
    src = ref.checkpoint()
    digest = sha256 or file_digest(src)
    # The key holds everything the exported file depends on besides the weights.
    tag = f"v{__version__}-f{FORMAT_VERSION}-op{opset}{'-fp16' if half else ''}"
    dst = Path(cache_dir or default_cache_dir()) / f"{src.stem}-{digest[:20]}-{tag}.onnx"
    if not dst.is_file():
        dst.parent.mkdir(parents=True, exist_ok=True)
        export_onnx(ref, dst, opset=opset, half=half, overwrite=True, sha256=digest)
    return dst


class OnnxStylizer:
    """Applies an exported ReCoNet with onnxruntime to batches of frames.

    Args:
        path_or_model: a :class:`ReCoNet` (exported in memory), or a
            :class:`~vidstyle.reference.StyleRef` (or a name or path that
            :func:`~vidstyle.reference.resolve_style` resolves with ``method``): an
            exported ``.onnx`` file, or a checkpoint exported once to the cache (see
            :func:`cached_export`).
        method: the method a name or path is resolved for.
        threads: intra-op threads (default: the physical cores, :func:`physical_cores`).
        providers: onnxruntime execution providers in order of preference
            (default ``["CPUExecutionProvider"]``; see :func:`providers_for`).
        half: fp16 weights when exporting here (for CUDA); ignored for ``.onnx`` files.
        cache_dir: where checkpoint exports are cached (default :func:`default_cache_dir`).
    """

    def __init__(
        self,
        path_or_model: ReCoNet | StyleRef | str | os.PathLike,
        *,
        method: str = "reconet",
        threads: int | None = None,
        providers: Sequence[str] | None = None,
        half: bool = False,
        cache_dir: str | os.PathLike | None = None,
    ):
        ort = _import_ort()
        self.threads = physical_cores() if threads is None else check_option("threads", threads)
        providers = list(providers or [CPU])
        missing = [p for p in providers if p not in ort.get_available_providers()]
        if missing:
            raise VidstyleError(
                f"onnxruntime provider(s) {', '.join(missing)} not available "
                f"(available: {', '.join(ort.get_available_providers())})"
            )
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.intra_op_num_threads = self.threads
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3  # errors only: no provider-assignment notices on stderr
        # Idle intra-op threads sleep instead of spinning, so that they leave the CPU to
        # the video decoder and encoder threads between batches.
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")

        def session(model):
            return ort.InferenceSession(model, sess_options=opts, providers=providers)

        if isinstance(path_or_model, ReCoNet):
            self.path = None
            self.session = session(onnx_model_bytes(path_or_model, half=half))
        elif (ref := resolve_style(path_or_model, method)).kind == "onnx":
            self.path = ref.path
            try:
                self.session = session(str(self.path))
            except Exception as e:  # onnxruntime raises several unrelated types
                raise VidstyleError(f"{self.path} is not a usable ONNX model ({first_line(e, 120)})") from e
        else:
            digest = file_digest(ref.checkpoint())
            try:
                self.path = cached_export(ref, half=half, cache_dir=cache_dir, sha256=digest)
                try:
                    self.session = session(str(self.path))
                except Exception:  # a damaged cache file: export again, once
                    export_onnx(ref, self.path, half=half, overwrite=True, sha256=digest)
                    self.session = session(str(self.path))
            except OSError as e:  # the cache folder cannot be written: export for this run only
                folder = Path(cache_dir or default_cache_dir())
                warnings.warn(f"cannot cache the ONNX export in {folder} ({first_line(e)}); "
                              "exporting in memory for this run", RuntimeWarning, stacklevel=2)
                self.path = None
                self.session = session(onnx_model_bytes(ref, half=half, sha256=digest))

        self.metadata = decode_metadata(self.session.get_modelmeta().custom_metadata_map)
        if self.metadata.get("format") != FORMAT:
            where = self.path or "the model"
            raise VidstyleError(f"{where} is not a vidstyle ONNX export (no vidstyle metadata)")
        if self.metadata.get("format_version", 0) > FORMAT_VERSION:
            raise VidstyleError(
                f"{self.path} has vidstyle ONNX format {self.metadata['format_version']}; "
                f"this vidstyle reads <= {FORMAT_VERSION}"
            )
        self.min_size = int(self.metadata["min_size"])
        self.providers = self.session.get_providers()
        self._input = self.session.get_inputs()[0].name
        self._output = self.session.get_outputs()[0].name

    def reset(self) -> None:
        """Forget the previous frames (nothing to forget for a feed-forward method)."""

    def __call__(self, frames: torch.Tensor) -> torch.Tensor:
        """Stylize ``(B, 3, H, W)`` float frames in [0, 1]; returns the same shape,
        float32 on the CPU."""
        check_image("stylize: frames", frames)
        x = frames.detach().to("cpu", torch.float32)
        h, w = x.shape[-2:]
        if min(h, w) < self.min_size:  # the graph pads the larger ones itself
            x = ReCoNet.pad_input(x, self.min_size)
        y = self.session.run([self._output], {self._input: x.contiguous().numpy()})[0]
        y = torch.from_numpy(y).clamp_(0, 1)
        return y if y.shape[-2:] == (h, w) else y[..., :h, :w].contiguous()


__all__ = ["OnnxStylizer", "cached_export", "default_cache_dir", "physical_cores", "providers_for"]
