"""The stylization methods, selectable by name.

* ``per-frame``: Johnson et al. (2016) feed-forward network, each frame alone.
* ``huang``: the same network trained with Huang et al.'s (2017) output temporal loss.
* ``reconet``: ReCoNet (Gao et al. 2018), trained with feature and luminance-aware
  output temporal losses.

All three run the same way at test time (one network pass per frame); they differ
in the weights, i.e. in how the bundled model was trained.
"""

from vidstyle.methods.feedforward import FEEDFORWARD_METHODS, FeedForwardStylizer

METHODS = FEEDFORWARD_METHODS

__all__ = ["FEEDFORWARD_METHODS", "METHODS", "FeedForwardStylizer"]
