"""Python API: load a model, stylize images, frame folders and videos."""

from __future__ import annotations

import os
from pathlib import Path

from vidstyle.errors import VidstyleError
from vidstyle.methods.feedforward import FEEDFORWARD_METHODS, FeedForwardStylizer
from vidstyle.models.checkpoint import load_checkpoint
from vidstyle.models.reconet import ReCoNet
from vidstyle.options import check_option
from vidstyle.pretrained import resolve_model, sized_style

METHODS = (*FEEDFORWARD_METHODS, "chen", "ruder")


def load_model(name_or_path: str | os.PathLike, method: str = "reconet", *,
               model_size: str = "full") -> ReCoNet:
    """A bundled style name (``"candy"``) or a checkpoint path -> a network in eval mode
    that maps ``(B, 3, H, W)`` in [0, 1] to the same shape and range.

    ``model_size="lite"`` loads the bundled lite model of a style name (``candy`` ->
    ``candy-lite``, see :func:`vidstyle.pretrained.sized_style`)."""
    if method not in FEEDFORWARD_METHODS:
        raise VidstyleError(f"load_model: method must be one of {', '.join(FEEDFORWARD_METHODS)}, "
                            f"got {method!r}", option="method")
    model, _ = load_checkpoint(resolve_model(sized_style(name_or_path, model_size, method), method))
    return model


def make_stylizer(style: str | os.PathLike, method: str = "reconet", *,
                  device: str = "auto", half: bool = False, backend: str = "auto",
                  model_size: str = "full", threads: int | None = None, flow_fn=None,
                  style_image: str | os.PathLike | None = None,
                  chen_blend: float | None = None, ruder_options: dict | None = None,
                  ruder_progress=None):
    """A stylizer for ``method`` with the model of ``style`` on ``device``.

    Methods: ``reconet``, ``per-frame``, ``huang`` (the bundled or given network,
    one pass per frame); ``chen`` (the ``reconet`` network of ``style`` with flow-
    guided feature blending, :mod:`vidstyle.methods.chen`; ``chen_blend`` sets its
    strength); ``ruder`` (optimisation per frame, :mod:`vidstyle.methods.ruder`; needs
    a style *image*: ``style`` itself when it is an image file, else ``style_image``;
    ``ruder_options`` override :class:`~vidstyle.methods.ruder.RuderConfig` fields).
    ``flow_fn`` replaces the DIS flow of chen and ruder (e.g. ground truth);
    ``ruder_progress(frame, iteration, loss)`` is called at every ruder loss evaluation.

    ``model_size`` is ``"full"`` or ``"lite"``: with ``lite`` a bundled style name
    ``S`` means the bundled ``S-lite`` network (methods ``reconet`` and ``chen``; see
    :func:`vidstyle.pretrained.sized_style`). ``"candy-lite"`` may also be given as
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
    from vidstyle.backends import BACKENDS, choose_backend

    if method not in METHODS:
        raise VidstyleError(f"unknown method {method!r}; choose from {', '.join(METHODS)}",
                            option="method")
    if backend not in BACKENDS:
        raise VidstyleError(f"unknown backend {backend!r}: use {', '.join(BACKENDS)}",
                            option="backend")
    if threads is not None:
        threads = check_option("threads", threads)
    style = sized_style(style, model_size, method)
    if backend == "auto":
        backend = choose_backend(method, device, style)
    if backend == "onnx":
        from vidstyle.backends.onnx import CUDA, OnnxStylizer, providers_for

        if method not in FEEDFORWARD_METHODS:
            raise VidstyleError(f"the onnx backend runs {', '.join(FEEDFORWARD_METHODS)}, "
                                f"not {method}", option="backend")
        providers = providers_for(device)
        return OnnxStylizer(style, method=method, threads=threads, providers=providers,
                            half=half and providers[0] == CUDA)

    if str(style).lower().endswith(".onnx"):
        raise VidstyleError(f"{style} is an ONNX model: only the onnx backend runs it",
                            option="backend")
    from vidstyle.training.loop import resolve_device

    dev = resolve_device(device)
    half = half and dev.type == "cuda"
    if method == "chen":
        from vidstyle.methods.chen import ChenStylizer

        extra = {} if chen_blend is None else {"blend": chen_blend}
        return ChenStylizer(load_model(style, "reconet"), dev, half=half, flow_fn=flow_fn, **extra)
    if method == "ruder":
        from dataclasses import replace

        from vidstyle.image import IMAGE_EXTENSIONS, load_image
        from vidstyle.methods.ruder import RuderConfig, RuderStylizer

        image = Path(style) if Path(style).suffix.lower() in IMAGE_EXTENSIONS else style_image
        if image is None:
            raise VidstyleError("the ruder method optimises against a style image: give an "
                                "image file as the style", option="style")
        config = replace(RuderConfig(), **(ruder_options or {}))
        return RuderStylizer(load_image(image), config, dev, flow_fn=flow_fn,
                             progress=ruder_progress)
    return FeedForwardStylizer(load_model(style, method), dev, half=half)


def stylize_video(
    src: str | os.PathLike,
    dst: str | os.PathLike | None = None,
    *,
    style: str | os.PathLike = "candy",
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
    ``crf``, ``start``, ``duration``, ``overwrite``, ``progress``). Returns a
    :class:`~vidstyle.pipeline.StylizeReport`.
    """
    from vidstyle.pipeline import default_output, style_tag, stylize_path

    src = Path(src)
    for name in ("max_size", "batch_size", "crf", "start", "duration"):
        if options.get(name) is not None:  # before the model is built, not after
            check_option(name, options[name])
    style = sized_style(style, model_size, method) if method in METHODS else style
    stylizer = make_stylizer(style, method, device=device, half=half, backend=backend)
    out = Path(dst) if dst is not None else default_output(src, style_tag(style))
    options.setdefault("progress", False)
    return stylize_path(src, out, stylizer, **options)


__all__ = ["load_model", "make_stylizer", "stylize_video"]
