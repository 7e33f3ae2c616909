"""Shape and dtype checks for public entry points.

Each raises a ``ValueError`` or ``TypeError`` whose message names the argument,
what was expected and what was received, e.g.
``warp: flow must have shape (B, 2, H, W), got (1, 3, 8, 8)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

# A dimension spec is an int (exact size), a str (a named size that must agree
# across calls to ``check_shape`` sharing the same ``dims`` dict) or None (any).
Dim = int | str | None


def check_tensor(name: str, x: object, *, floating: bool = True) -> torch.Tensor:
    """Raise ``TypeError`` unless ``x`` is a tensor (of a floating dtype if ``floating``)."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if floating and not x.is_floating_point():
        raise TypeError(f"{name} must have a floating dtype, got {x.dtype}")
    return x


def at_least_float32(x: torch.Tensor) -> torch.Tensor:
    """``x`` as float32, or float64 if it is: losses promote half precision (autocast) to
    float32 but keep double precision (float64 ``gradcheck``)."""
    return x.to(torch.promote_types(x.dtype, torch.float32))


def _fmt(spec: Sequence[Dim]) -> str:
    return "(" + ", ".join("*" if d is None else str(d) for d in spec) + ")"


def check_shape(
    name: str,
    x: object,
    spec: Sequence[Dim],
    dims: dict[str, int] | None = None,
    *,
    floating: bool = True,
) -> torch.Tensor:
    """Check that tensor ``x`` matches ``spec``, e.g. ``("B", 3, "H", "W")``.

    Named dimensions are bound in ``dims`` on first use, so several tensors can be
    checked against each other::

        dims = {}
        check_shape("x", x, ("B", "C", "H", "W"), dims)
        check_shape("flow", flow, ("B", 2, "H", "W"), dims)
    """
    t = check_tensor(name, x, floating=floating)
    bound = {} if dims is None else dims
    expected = _fmt(spec)
    if t.dim() != len(spec):
        raise ValueError(f"{name} must have shape {expected}, got {tuple(t.shape)}")
    for size, d in zip(t.shape, spec):
        if d is None:
            continue
        if isinstance(d, int):
            ok = size == d
        else:
            ok = bound.setdefault(d, size) == size
        if not ok:
            got = tuple(t.shape)
            known = ", ".join(f"{k}={v}" for k, v in bound.items())
            raise ValueError(f"{name} must have shape {expected} ({known}), got {got}")
    return t


def check_image(name: str, x: object, dims: dict[str, int] | None = None) -> torch.Tensor:
    """Check an image batch: floating ``(B, 3, H, W)``."""
    return check_shape(name, x, ("B", 3, "H", "W"), dims)
