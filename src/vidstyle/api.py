"""Python API: load a model, stylize images, frame folders and videos.

The edge where names are resolved: :func:`load_model`, :func:`make_stylizer` and
:func:`stylize_video` take a style as the user gives it and resolve it once
(:func:`vidstyle.reference.resolve_style`); :func:`create_stylizer` builds a
stylizer from the resolved :class:`~vidstyle.reference.StyleRef` with the method's
registry entry (:data:`vidstyle.methods.METHODS`) or the onnxruntime backend.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from vidstyle.errors import VidstyleError
from vidstyle.methods.registry import METHODS, Stylizer
from vidstyle.models.checkpoint import load_checkpoint
from vidstyle.models.reconet import ReCoNet
from vidstyle.options import check_option
from vidstyle.reference import StyleRef, resolve_style


def load_model(name_or_path: str | os.PathLike | StyleRef, method: str = "reconet", *,
               model_size: str = "full") -> ReCoNet:
    """A bundled style name (``"candy"``) or a checkpoint path -> a network in eval mode
    that maps ``(B, 3, H, W)`` in [0, 1] to the same shape and range.

    ``method`` picks the bundled network of a style name (``chen`` runs the
    ``reconet`` one); ``model_size="lite"`` loads the bundled lite model of a style
    name (``candy`` -> ``candy-lite``, see :func:`vidstyle.reference.resolve_style`)."""
    model, _ = load_checkpoint(resolve_style(name_or_path, method, model_size).checkpoint())
    return model


def create_stylizer(ref: StyleRef, *, device: str = "auto", half: bool = False,
                    backend: str = "auto", threads: int | None = None, config: Any = None,
                    flow_fn=None, progress=None) -> Stylizer:
    """A stylizer for the resolved style ``ref`` (its method, file and model size).

    ``backend`` is ``"auto"`` (:func:`vidstyle.backends.choose_backend`), ``"torch"``
    (the method's own stylizer, built by its registry entry) or ``"onnx"``
    (onnxruntime; methods whose spec has ``onnx``). ``config`` is the method's
    settings (its config dataclass, or a mapping of fields to change, e.g.
    ``{"iterations": 10}`` for ruder); ``flow_fn`` replaces the flow estimator of a
    flow-guided method; ``progress`` is the method's progress callback (ruder:
    ``progress(frame, iteration, loss)`` at every loss evaluation). Other arguments
    as for :func:`make_stylizer`.
    """
    from vidstyle.backends import BACKENDS, choose_backend
    from vidstyle.device import resolve_device

    spec = ref.spec
    if backend not in BACKENDS:
        raise VidstyleError(f"unknown backend {backend!r}: use {', '.join(BACKENDS)}",
                            option="backend")
    if threads is not None:
        threads = check_option("threads", threads)
    settings = spec.make_config(config)
    if backend == "auto":
        backend = choose_backend(ref, device)
    if backend == "onnx":
        from vidstyle.backends.onnx import CUDA, OnnxStylizer, providers_for

        if not spec.onnx:
            runs = ", ".join(name for name, m in METHODS.items() if m.onnx)
            raise VidstyleError(f"the onnx backend runs {runs}, not {spec.name}", option="backend")
        providers = providers_for(device)
        return OnnxStylizer(ref, threads=threads, providers=providers,
                            half=half and providers[0] == CUDA)
    if ref.kind == "onnx":
        raise VidstyleError(f"{ref.path} is an ONNX model: only the onnx backend runs it",
                            option="backend")
    dev = resolve_device(device)
    return spec.build(ref, dev, settings, half=half and dev.type == "cuda", flow_fn=flow_fn,
                      progress=progress)


def make_stylizer(style: str | os.PathLike | StyleRef, method: str = "reconet", *,
                  device: str = "auto", half: bool = False, backend: str = "auto",
                  model_size: str = "full", threads: int | None = None, config: Any = None,
                  flow_fn=None, style_image: str | os.PathLike | None = None,
                  progress=None) -> Stylizer:
    """A stylizer for ``method`` with the model of ``style`` on ``device``.

    Methods (:data:`vidstyle.methods.METHODS`): ``reconet``, ``per-frame``, ``huang``
    (the bundled or given network, one pass per frame); ``chen`` (the ``reconet``
    network of ``style`` with flow-guided feature blending,
    :mod:`vidstyle.methods.chen`; ``config`` a
    :class:`~vidstyle.methods.chen.ChenConfig` or its fields); ``ruder``
    (optimisation per frame, :mod:`vidstyle.methods.ruder`; needs a style *image*:
    ``style`` itself when it is an image file, else ``style_image``; ``config`` a
    :class:`~vidstyle.methods.ruder.RuderConfig` or its fields). ``flow_fn``
    replaces the DIS flow of chen and ruder (e.g. ground truth);
    ``progress(frame, iteration, loss)`` is called at every ruder loss evaluation.

    ``model_size`` is ``"full"`` or ``"lite"``: with ``lite`` a bundled style name
    ``S`` means the bundled ``S-lite`` network (methods ``reconet`` and ``chen``; see
    :func:`vidstyle.reference.resolve_style`). ``"candy-lite"`` may also be given as
    ``style`` directly.

    ``backend`` is ``"auto"`` (default), ``"torch"`` (PyTorch eager) or ``"onnx"``
    (onnxruntime, feed-forward methods only; ``style`` may then also be an exported
    ``.onnx`` file, and checkpoints are exported once to a cache). ``auto`` is
    :func:`vidstyle.backends.choose_backend`: onnx for ``reconet``, ``per-frame`` and
    ``huang`` on the CPU when onnxruntime is installed (faster than PyTorch eager there,
    measured by ``benchmarks/cpu_paths.py``), torch on CUDA and for ``chen`` and ``ruder``.
    ``threads`` sets onnxruntime's intra-op threads (default: physical cores);
    PyTorch's are process-wide, see ``torch.set_num_threads``. ``half`` applies on
    CUDA only.
    """
    ref = resolve_style(style, method, model_size, style_image=style_image)
    return create_stylizer(ref, device=device, half=half, backend=backend, threads=threads,
                           config=config, flow_fn=flow_fn, progress=progress)


def stylize_video(
    src: str | os.PathLike,
    dst: str | os.PathLike | None = None,
    *,
    style: str | os.PathLike | StyleRef = "candy",
    method: str = "reconet",
    device: str = "auto",
    half: bool = False,
    backend: str = "auto",
    model_size: str = "full",
    **options,
):
    """Stylize a video file, an image or a folder of frames into ``dst``.

    ``method``, ``device``, ``half``, ``backend`` and ``model_size`` are those of
    :func:`make_stylizer`. ``dst`` defaults to ``INPUT.STYLE.EXT`` (or ``FOLDER.STYLE``;
    ``STYLE`` is ``candy-lite`` for ``candy`` with ``model_size="lite"``). ``options`` are
    those of :func:`vidstyle.pipeline.stylize_path` (``max_size``, ``batch_size``,
    ``crf``, ``start``, ``duration``, ``overwrite``, ``progress``, ``on_progress``).
    Returns a :class:`~vidstyle.pipeline.StylizeReport`.
    """
    from vidstyle.pipeline import default_output, stylize_path

    src = Path(src)
    for name in ("max_size", "batch_size", "crf", "start", "duration"):
        if options.get(name) is not None:  # before the model is built, not after
            check_option(name, options[name])
    ref = resolve_style(style, method, model_size)
    stylizer = create_stylizer(ref, device=device, half=half, backend=backend)
    out = Path(dst) if dst is not None else default_output(src, ref.name)
    options.setdefault("progress", False)
    return stylize_path(src, out, stylizer, **options)


__all__ = ["create_stylizer", "load_model", "make_stylizer", "stylize_video"]
