"""Export a ReCoNet to ONNX with dynamic batch, height and width.

The exported graph maps ``frames`` (float32 ``(B, 3, H, W)`` RGB in [0, 1]) to
``stylized`` (same shape and range), like :class:`~vidstyle.models.ReCoNet`.

Padding. ReCoNet reflection-pads its input to a multiple of 4 (two stride-2
convolutions) and crops the output back. That pad is expressed in the graph with
shape arithmetic (``Shape -> Mod -> Pad(reflect) ... Slice``), so the file alone
handles any ``H, W >= min_size`` (stored in the metadata; 8 for the usual
``outer_kernel`` 9), odd sizes included. For tinier frames the model switches to a
larger, sometimes replicate, pad, a data-dependent choice a traced graph cannot
hold; :class:`~vidstyle.backends.onnx.OnnxStylizer` does that pad itself before
running the graph.

Exporter: the TorchScript-based one (``torch.onnx.export(..., dynamo=False)``).
The torch.export-based exporter needs ``onnxscript``, which the ``onnx`` extra does
not install; the traced graph is checked numerically against PyTorch in the tests.

Metadata (``metadata_props``, all strings; :func:`read_onnx_metadata` decodes them):
``format``, ``format_version``, ``vidstyle_version``, ``arch``, ``model_config``
(JSON), ``style`` and ``method`` (when known), ``checkpoint_meta`` (JSON),
``checkpoint_sha256`` (when exported from a file), ``min_size``, ``precision``
(``fp32`` or ``fp16``; the graph's input and output are float32 either way), ``opset``.
"""

from __future__ import annotations

import copy
import io
import json
import os
import warnings
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

from vidstyle import __version__
from vidstyle.atomic import atomic_write, check_name
from vidstyle.errors import OutputExistsError, VidstyleError
from vidstyle.files import file_digest
from vidstyle.models.checkpoint import load_checkpoint
from vidstyle.models.reconet import ReCoNet
from vidstyle.options import check_option
from vidstyle.reference import StyleRef, resolve_style

FORMAT = "vidstyle-onnx"
FORMAT_VERSION = 1  # bump when the graph's inputs, outputs or padding contract change
INPUT_NAME = "frames"
OUTPUT_NAME = "stylized"
INSTALL_HINT = "pip install onnx onnxruntime"


def min_graph_size(model: ReCoNet) -> int:
    """Smallest ``H`` and ``W`` the exported graph handles exactly like ``model``.

    From this size on, ``ReCoNet.pad_input`` only reflect-pads to the next multiple of 4.
    """
    return model.min_size


class _ExportGraph(nn.Module):
    """ReCoNet forward with the pad to a multiple of 4 written as traceable shape arithmetic.

    Equal to ``ReCoNet.forward`` for ``H, W >= min_graph_size(model)``; see the module
    docstring for smaller inputs.
    """

    def __init__(self, model: ReCoNet, half: bool):
        super().__init__()
        self.model = model
        self.half = half

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[2], x.shape[3]  # traced as Shape ops: stay dynamic
        if self.half:
            x = x.half()
        x = ReCoNet.pad_input(x, self.model.min_size)  # traced: the pad to a multiple of 4
        y = self.model.decode(self.model.encoder(x))
        return y[:, :, :h, :w].float()


def _import_onnx():
    try:
        import onnx
    except ImportError as e:
        raise VidstyleError(f"ONNX export needs the onnx package: {INSTALL_HINT}") from e
    return onnx


Source = ReCoNet | StyleRef | str | os.PathLike


def _load(source: Source, method: str, sha256: str | None) -> tuple[ReCoNet, dict[str, str]]:
    """The model and the metadata that describes where it came from.

    A name or path is resolved here (:func:`~vidstyle.reference.resolve_style`); the
    checkpoint's SHA-256 is read unless the caller passes it (``sha256``)."""
    if isinstance(source, ReCoNet):
        return source, {}
    ref = resolve_style(source, method)
    path = ref.checkpoint()
    model, ckpt = load_checkpoint(path)
    meta = dict(ckpt.get("meta") or {})
    props = {"checkpoint_meta": json.dumps(meta, sort_keys=True, default=str),
             "checkpoint_sha256": sha256 or file_digest(path)}
    # Bundled checkpoints name their style "name" (and their file STYLE.METHOD.pt).
    style = meta.get("name") or meta.get("style")
    if style is None and ref.kind == "bundled":
        style = ref.name
    if style is not None:
        props["style"] = str(style)
    if "method" in meta:
        props["method"] = str(meta["method"])
    return model, props


def onnx_model_bytes(
    model_or_path: Source,
    *,
    method: str = "reconet",
    opset: int = 17,
    half: bool = False,
    sha256: str | None = None,
) -> bytes:
    """Export to a checked, serialized ONNX model in memory (see :func:`export_onnx`)."""
    onnx = _import_onnx()
    opset = check_option("opset", opset)
    src, props = _load(model_or_path, method, sha256)
    # Export a CPU copy: never move, cast or re-mode the caller's model.
    model = copy.deepcopy(src).cpu().eval()
    model = model.half() if half else model.float()
    least = min_graph_size(model)
    # A size that is not a multiple of 4 on either side, so the pad is really traced.
    example = torch.rand(1, 3, 4 * least + 1, 4 * least + 3)
    buf = io.BytesIO()
    with warnings.catch_warnings():
        # Known and harmless: InstanceNorm's size checks (TracerWarning), the legacy
        # exporter's deprecation notice, "instance_norm train=True" (InstanceNorm has no
        # running stats, so train and eval agree) and unfolded dynamic Slices.
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.filterwarnings("ignore", message=r"(?s).*(Constant folding|instance_norm)")
        torch.onnx.export(
            _ExportGraph(model, half), (example,), buf, dynamo=False, opset_version=opset,
            input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
            dynamic_axes={n: {0: "batch", 2: "height", 3: "width"} for n in (INPUT_NAME, OUTPUT_NAME)},
            do_constant_folding=True,
        )
    proto = onnx.load_from_string(buf.getvalue())
    props.update(
        format=FORMAT, format_version=str(FORMAT_VERSION), vidstyle_version=__version__,
        arch="reconet", model_config=json.dumps(model.config.to_dict(), sort_keys=True),
        min_size=str(least), precision="fp16" if half else "fp32", opset=str(opset),
    )
    for k, v in sorted(props.items()):
        entry = proto.metadata_props.add()
        entry.key, entry.value = k, v
    proto.doc_string = (
        "vidstyle ReCoNet: frames float32 (B, 3, H, W) RGB in [0, 1] -> stylized, same shape; "
        f"H and W >= {least} (smaller inputs need the caller's pad, see vidstyle.export)"
    )
    onnx.checker.check_model(proto, full_check=True)
    return proto.SerializeToString()


def export_onnx(
    model_or_path: Source,
    dst: str | os.PathLike,
    *,
    method: str = "reconet",
    opset: int = 17,
    half: bool = False,
    overwrite: bool = False,
    sha256: str | None = None,
) -> Path:
    """Export a ReCoNet to an ONNX file with dynamic batch, height and width.

    Args:
        model_or_path: a :class:`ReCoNet`, a resolved
            :class:`~vidstyle.reference.StyleRef`, or a checkpoint ``.pt`` path or
            bundled style name (resolved with ``method`` by
            :func:`~vidstyle.reference.resolve_style`).
        dst: the ``.onnx`` file to write (atomically; its folder must exist).
        method: the method of a bundled style name.
        opset: ONNX opset version (13 to 20).
        half: store weights and compute in fp16 (for GPU execution providers); the
            graph's input and output stay float32.
        overwrite: replace an existing ``dst``.
        sha256: the checkpoint's SHA-256 when the caller has it (the ONNX cache
            does), so that the file is not read twice; computed here otherwise.

    Returns:
        ``dst`` as a :class:`~pathlib.Path`.
    """
    out = Path(dst)
    if out.suffix.lower() != ".onnx":
        raise VidstyleError(f"ONNX output {out.name} must end in .onnx", option="dst")
    if not out.parent.is_dir():
        raise VidstyleError(f"output folder {out.parent} does not exist", option="dst")
    check_name(out)
    if out.exists() and not overwrite:
        raise OutputExistsError(out)
    data = onnx_model_bytes(model_or_path, method=method, opset=opset, half=half, sha256=sha256)
    atomic_write(out, lambda tmp: Path(tmp).write_bytes(data))
    return out


def decode_metadata(props: dict[str, str]) -> dict[str, Any]:
    """Metadata strings -> values: JSON fields decoded, ``min_size``/``opset`` as ints."""
    out: dict[str, Any] = dict(props)
    for k in ("model_config", "checkpoint_meta"):
        if k in out:
            out[k] = json.loads(out[k])
    for k in ("min_size", "opset", "format_version"):
        if k in out:
            out[k] = int(out[k])
    return out


def read_onnx_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The vidstyle metadata of an exported ``.onnx`` file (see the module docstring)."""
    onnx = _import_onnx()
    p = Path(path)
    if not p.is_file():
        raise VidstyleError(f"ONNX model not found: {p}")
    try:
        proto = onnx.load(str(p), load_external_data=False)
    except Exception as e:  # protobuf decode errors of several types
        raise VidstyleError(f"{p} is not a readable ONNX model ({type(e).__name__})") from e
    return decode_metadata({e.key: e.value for e in proto.metadata_props})


__all__ = ["export_onnx", "onnx_model_bytes", "read_onnx_metadata"]
