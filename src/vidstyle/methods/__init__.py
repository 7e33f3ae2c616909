"""The stylization methods, selectable by name (:data:`METHODS`, the registry in
:mod:`vidstyle.methods.registry`).

* ``per-frame``: Johnson et al. (2016) feed-forward network, each frame alone.
* ``huang``: the same network trained with Huang et al.'s (2017) output temporal loss.
* ``reconet``: ReCoNet (Gao et al. 2018), trained with feature and luminance-aware
  output temporal losses.
* ``chen``: Chen et al. (2017): a trained network whose features are blended with
  the previous frame's, warped by optical flow (:mod:`vidstyle.methods.chen`).
* ``ruder``: Ruder et al. (2016): every frame optimised against a style image,
  initialised from the warped previous result (:mod:`vidstyle.methods.ruder`).

The three feed-forward methods run the same way at test time (one network pass per
frame, :class:`FeedForwardStylizer`); they differ in the weights, i.e. in how the
bundled model was trained. Every method's stylizer follows :class:`Stylizer`.
"""

from vidstyle.methods.feedforward import FeedForwardStylizer
from vidstyle.methods.registry import METHODS, MethodSpec, Stylizer, get_method, register

__all__ = ["METHODS", "FeedForwardStylizer", "MethodSpec", "Stylizer", "get_method", "register"]
