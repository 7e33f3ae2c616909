"""vidstyle: temporally coherent video style transfer.

Conventions (used by every function in this package; see DESIGN.md):

* **Images** are ``float32`` RGB tensors in ``[0, 1]`` with shape ``(B, 3, H, W)``.
  Frames on disk are ``uint8`` RGB.
* **Flow** is a ``(B, 2, H, W)`` tensor in *pixels*; channel 0 is the x (column)
  displacement, channel 1 the y (row) displacement.
  ``warp(x, flow)`` samples ``x`` at ``p + flow(p)`` (backward warping with
  ``grid_sample``): to bring frame ``t-1`` onto frame ``t``, pass the flow from
  ``t`` to ``t-1``.
* **Masks** are ``(B, 1, H, W)`` with 1 = valid (visible in both frames) and
  0 = occluded or out of frame.
* **Occlusion from estimated flow** uses forward-backward consistency (Sundaram
  et al. 2010, Ruder et al. 2016): a pixel is occluded where
  ``|w + w^|^2 > 0.01 (|w|^2 + |w^|^2) + 0.5`` and lies on a motion boundary where
  ``|grad u^|^2 + |grad v^|^2 > 0.01 |w^|^2 + 0.002``.
* **Sintel layout**: ``flow/SCENE/frame_%04d.flo`` is the *forward* flow from frame
  ``t`` to ``t+1``; ``occlusions/SCENE/frame_%04d.png`` marks (255) pixels of frame
  ``t`` not visible in ``t+1``.
* **Relative luminance**: ``Y = 0.2126 R + 0.7152 G + 0.0722 B``.

No function modifies its inputs in place.
"""

from __future__ import annotations

__version__ = "0.1.0"

from vidstyle.api import load_model, stylize_video  # noqa: E402
from vidstyle.errors import VidstyleError  # noqa: E402

__all__ = ["VidstyleError", "__version__", "load_model", "stylize_video"]
